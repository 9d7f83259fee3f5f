//! Text-backed enums matching the `CHECK` constraints of the schema.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum ConnectionKind {
    #[sea_orm(string_value = "social")]
    Social,
    #[sea_orm(string_value = "commerce")]
    Commerce,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    #[sea_orm(string_value = "active")]
    Active,
    #[sea_orm(string_value = "needs_reauth")]
    NeedsReauth,
    #[sea_orm(string_value = "revoked")]
    Revoked,
    #[sea_orm(string_value = "error")]
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    #[sea_orm(string_value = "active")]
    Active,
    #[sea_orm(string_value = "draft")]
    Draft,
    #[sea_orm(string_value = "archived")]
    Archived,
    #[sea_orm(string_value = "hidden")]
    Hidden,
    #[sea_orm(string_value = "sold_out")]
    SoldOut,
    #[sea_orm(string_value = "expired")]
    Expired,
    #[sea_orm(string_value = "other")]
    Other,
    /// Gone from the shop; kept for the posts made from it.
    #[sea_orm(string_value = "removed")]
    Removed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    #[sea_orm(string_value = "image")]
    Image,
    #[sea_orm(string_value = "video")]
    Video,
}

/// A post's status, derived from its targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum PostStatus {
    #[sea_orm(string_value = "draft")]
    Draft,
    #[sea_orm(string_value = "scheduled")]
    Scheduled,
    #[sea_orm(string_value = "publishing")]
    Publishing,
    #[sea_orm(string_value = "published")]
    Published,
    #[sea_orm(string_value = "partial")]
    Partial,
    #[sea_orm(string_value = "failed")]
    Failed,
    #[sea_orm(string_value = "unknown")]
    Unknown,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

/// A target's place in the publishing life cycle (DESIGN.md, "A post's life").
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum TargetStatus {
    #[sea_orm(string_value = "draft")]
    Draft,
    #[sea_orm(string_value = "scheduled")]
    Scheduled,
    #[sea_orm(string_value = "queued")]
    Queued,
    #[sea_orm(string_value = "publishing")]
    Publishing,
    #[sea_orm(string_value = "published")]
    Published,
    #[sea_orm(string_value = "retry_wait")]
    RetryWait,
    #[sea_orm(string_value = "failed")]
    Failed,
    #[sea_orm(string_value = "unknown")]
    Unknown,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    #[sea_orm(string_value = "retryable")]
    Retryable,
    #[sea_orm(string_value = "auth")]
    Auth,
    #[sea_orm(string_value = "permanent")]
    Permanent,
    #[sea_orm(string_value = "unknown")]
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    #[sea_orm(string_value = "publish")]
    Publish,
    #[sea_orm(string_value = "reconcile")]
    Reconcile,
    #[sea_orm(string_value = "refresh_token")]
    RefreshToken,
    #[sea_orm(string_value = "sync_catalog")]
    SyncCatalog,
    #[sea_orm(string_value = "collect_metrics")]
    CollectMetrics,
    #[sea_orm(string_value = "rollup")]
    Rollup,
    #[sea_orm(string_value = "webhook")]
    Webhook,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum JobOutcome {
    #[sea_orm(string_value = "running")]
    Running,
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    #[sea_orm(string_value = "retry")]
    Retry,
    #[sea_orm(string_value = "failed")]
    Failed,
    #[sea_orm(string_value = "unknown")]
    Unknown,
    #[sea_orm(string_value = "skipped")]
    Skipped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// Every product is read; those not seen are marked removed.
    #[sea_orm(string_value = "full")]
    Full,
    /// Only products changed since the last sync, where the platform can filter.
    #[sea_orm(string_value = "changes")]
    Changes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum SyncTrigger {
    #[sea_orm(string_value = "connect")]
    Connect,
    #[sea_orm(string_value = "manual")]
    Manual,
    #[sea_orm(string_value = "schedule")]
    Schedule,
    #[sea_orm(string_value = "api")]
    Api,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    #[sea_orm(string_value = "queued")]
    Queued,
    #[sea_orm(string_value = "running")]
    Running,
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    #[sea_orm(string_value = "failed")]
    Failed,
}

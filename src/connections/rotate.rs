//! `picscripter rotate-keys`: re-encrypts every stored token under `ENCRYPTION_KEY_CURRENT`.
//!
//! Row by row, each in its own transaction with the row locked, and only rows whose key version
//! differs from the current one — so an interrupted run resumes where it stopped, two runs at
//! once don't trip over each other, and running it again when done changes nothing.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, Condition, DatabaseConnection, EntityTrait as _,
    PaginatorTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _, Set,
    TransactionTrait as _,
};
use serde_json::json;

use super::aad;
use crate::entities::connections;
use crate::entities::enums::ConnectionStatus;
use crate::security::audit::{self, Action};
use crate::security::cipher::TokenCipher;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RotationReport {
    pub rotated: u64,
    /// Tokens that no key in the ring opens: their connections now need re-authorization.
    pub unreadable: u64,
    /// Rows still on an old key (only when `limit` stopped the run early).
    pub remaining: u64,
}

/// Rotates up to `limit` rows (all when `None`).
pub async fn rotate_keys(
    db: &DatabaseConnection,
    cipher: &TokenCipher,
    limit: Option<u64>,
) -> Result<RotationReport, sea_orm::DbErr> {
    let current = cipher.current_version() as i32;
    let stale = || {
        Condition::all()
            .add(
                Condition::any()
                    .add(connections::Column::AccessTokenEnc.is_not_null())
                    .add(connections::Column::RefreshTokenEnc.is_not_null()),
            )
            .add(
                Condition::any()
                    .add(connections::Column::KeyVersion.ne(current))
                    .add(connections::Column::KeyVersion.is_null()),
            )
    };
    let mut report = RotationReport::default();
    loop {
        if limit.is_some_and(|l| report.rotated + report.unreadable >= l) {
            break;
        }
        let batch: Vec<uuid::Uuid> = connections::Entity::find()
            .select_only()
            .column(connections::Column::Id)
            .filter(stale())
            .order_by_asc(connections::Column::Id)
            .limit(100)
            .into_tuple()
            .all(db)
            .await?;
        if batch.is_empty() {
            break;
        }
        let before = report;
        for id in batch {
            if limit.is_some_and(|l| report.rotated + report.unreadable >= l) {
                break;
            }
            let txn = db.begin().await?;
            let Some(row) = connections::Entity::find_by_id(id)
                .filter(stale())
                .lock_exclusive()
                .one(&txn)
                .await?
            else {
                // Someone else rotated it meanwhile.
                txn.commit().await?;
                continue;
            };
            let access = row
                .access_token_enc
                .as_deref()
                .map(|c| cipher.decrypt(c, &aad(id, "access")))
                .transpose();
            let refresh = row
                .refresh_token_enc
                .as_deref()
                .map(|c| cipher.decrypt(c, &aad(id, "refresh")))
                .transpose();
            let mut active: connections::ActiveModel = row.clone().into();
            match (access, refresh) {
                (Ok(a), Ok(r)) => {
                    active.access_token_enc =
                        Set(a.map(|t| cipher.encrypt(&t, &aad(id, "access"))));
                    active.refresh_token_enc =
                        Set(r.map(|t| cipher.encrypt(&t, &aad(id, "refresh"))));
                    active.key_version = Set(Some(current));
                    report.rotated += 1;
                }
                _ => {
                    active.access_token_enc = Set(None);
                    active.refresh_token_enc = Set(None);
                    active.key_version = Set(None);
                    active.status = Set(ConnectionStatus::NeedsReauth);
                    active.last_error = Set(Some("We couldn't read the stored sign-in for this account. Please connect it again.".into()));
                    audit::record(
                        &txn,
                        audit::Event::new(Action::ConnectionTokenUndecryptable)
                            .actor(row.user_id)
                            .subject(&row.platform)
                            .details(json!({ "connection_id": id, "during": "rotate-keys" })),
                    )
                    .await?;
                    report.unreadable += 1;
                }
            }
            active.updated_at = Set(Utc::now());
            active.update(&txn).await?;
            txn.commit().await?;
        }
        if report == before {
            break;
        }
    }
    report.remaining = connections::Entity::find()
        .filter(stale())
        .count(db)
        .await?;
    audit::record(
        db,
        audit::Event::new(Action::KeysRotated).details(json!({
            "to_key": current,
            "rotated": report.rotated,
            "unreadable": report.unreadable,
            "remaining": report.remaining,
        })),
    )
    .await?;
    Ok(report)
}

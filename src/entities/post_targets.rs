use sea_orm::entity::prelude::*;

use super::enums::{ErrorClass, TargetStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "post_targets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub post_id: Uuid,
    pub connection_id: Uuid,
    pub caption: Option<String>,
    pub options: Json,
    pub status: TargetStatus,
    pub attempt_count: i32,
    pub next_attempt_at: Option<ChronoDateTimeUtc>,
    pub queued_at: Option<ChronoDateTimeUtc>,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<ChronoDateTimeUtc>,
    pub remote_id: Option<String>,
    pub remote_url: Option<String>,
    pub progress: Json,
    pub published_at: Option<ChronoDateTimeUtc>,
    pub last_error: Option<String>,
    pub last_error_class: Option<ErrorClass>,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::posts::Entity",
        from = "Column::PostId",
        to = "super::posts::Column::Id",
        on_delete = "Cascade"
    )]
    Post,
    #[sea_orm(
        belongs_to = "super::connections::Entity",
        from = "Column::ConnectionId",
        to = "super::connections::Column::Id",
        on_delete = "Cascade"
    )]
    Connection,
    #[sea_orm(has_many = "super::jobs::Entity")]
    Jobs,
    #[sea_orm(has_many = "super::post_metrics::Entity")]
    PostMetrics,
}

impl Related<super::posts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Post.def()
    }
}

impl Related<super::connections::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Connection.def()
    }
}

impl Related<super::jobs::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Jobs.def()
    }
}

impl Related<super::post_metrics::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PostMetrics.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

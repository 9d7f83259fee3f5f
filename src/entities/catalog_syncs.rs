use sea_orm::entity::prelude::*;

use super::enums::{SyncMode, SyncStatus, SyncTrigger};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "catalog_syncs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub connection_id: Uuid,
    pub mode: SyncMode,
    pub trigger: SyncTrigger,
    pub status: SyncStatus,
    pub updated_since: Option<ChronoDateTimeUtc>,
    /// A serialized `PageCursor`: where the next page starts.
    pub checkpoint: Option<Json>,
    pub pages: i32,
    pub total: Option<i32>,
    pub processed: i32,
    pub created: i32,
    pub updated: i32,
    pub unchanged: i32,
    pub removed: i32,
    pub skipped: i32,
    pub note: Option<String>,
    pub error: Option<String>,
    pub attempts: i32,
    pub worker: Option<String>,
    pub lease_until: Option<ChronoDateTimeUtc>,
    pub started_at: Option<ChronoDateTimeUtc>,
    pub finished_at: Option<ChronoDateTimeUtc>,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::connections::Entity",
        from = "Column::ConnectionId",
        to = "super::connections::Column::Id",
        on_delete = "Cascade"
    )]
    Connection,
}

impl Related<super::connections::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Connection.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

use super::enums::{ErrorClass, JobKind, JobOutcome};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: JobKind,
    pub user_id: Option<Uuid>,
    pub target_id: Option<Uuid>,
    pub connection_id: Option<Uuid>,
    pub attempt: i32,
    pub worker: String,
    pub started_at: ChronoDateTimeUtc,
    pub finished_at: Option<ChronoDateTimeUtc>,
    pub outcome: JobOutcome,
    pub http_status: Option<i32>,
    pub error_class: Option<ErrorClass>,
    pub error_message: Option<String>,
    pub details: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::post_targets::Entity",
        from = "Column::TargetId",
        to = "super::post_targets::Column::Id",
        on_delete = "Cascade"
    )]
    PostTarget,
}

impl Related<super::post_targets::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PostTarget.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "post_metrics")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub target_id: Uuid,
    pub captured_at: ChronoDateTimeUtc,
    pub likes: Option<i64>,
    pub reposts: Option<i64>,
    pub replies: Option<i64>,
    pub quotes: Option<i64>,
    pub impressions: Option<i64>,
    pub saves: Option<i64>,
    pub clicks: Option<i64>,
    pub views: Option<i64>,
    pub raw: Json,
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

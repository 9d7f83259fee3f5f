use sea_orm::entity::prelude::*;

use super::enums::PostStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "posts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub body: String,
    pub product_id: Option<Uuid>,
    pub template_id: Option<Uuid>,
    pub scheduled_at: Option<ChronoDateTimeUtc>,
    pub status: PostStatus,
    /// Product links get UTM parameters when the post is published.
    pub utm_enabled: bool,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::UserId",
        to = "super::users::Column::Id",
        on_delete = "Cascade"
    )]
    User,
    #[sea_orm(
        belongs_to = "super::products::Entity",
        from = "Column::ProductId",
        to = "super::products::Column::Id",
        on_delete = "SetNull"
    )]
    Product,
    #[sea_orm(has_many = "super::post_targets::Entity")]
    PostTargets,
    #[sea_orm(has_many = "super::post_media::Entity")]
    PostMedia,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl Related<super::products::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Product.def()
    }
}

impl Related<super::post_targets::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PostTargets.def()
    }
}

impl Related<super::post_media::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PostMedia.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

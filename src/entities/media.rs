use sea_orm::entity::prelude::*;

use super::enums::MediaKind;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "media")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub kind: MediaKind,
    pub mime: String,
    pub size_bytes: i64,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub duration_ms: Option<i32>,
    pub sha256: String,
    pub storage_key: String,
    pub thumbnail_key: Option<String>,
    pub original_filename: String,
    pub alt_text: String,
    pub category_check: Option<Json>,
    pub created_at: ChronoDateTimeUtc,
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
    #[sea_orm(has_many = "super::post_media::Entity")]
    PostMedia,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl Related<super::post_media::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PostMedia.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

use super::enums::{ConnectionKind, ConnectionStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "connections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// A `domain::Platform` name.
    pub platform: String,
    pub kind: ConnectionKind,
    pub account_id: String,
    pub display_name: String,
    pub avatar_url: Option<String>,
    pub access_token_enc: Option<Vec<u8>>,
    pub refresh_token_enc: Option<Vec<u8>>,
    pub key_version: Option<i32>,
    pub expires_at: Option<ChronoDateTimeUtc>,
    pub refresh_expires_at: Option<ChronoDateTimeUtc>,
    pub scopes: Vec<String>,
    pub status: ConnectionStatus,
    pub last_error: Option<String>,
    pub last_refreshed_at: Option<ChronoDateTimeUtc>,
    pub metadata: Json,
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
    #[sea_orm(has_many = "super::products::Entity")]
    Products,
    #[sea_orm(has_many = "super::post_targets::Entity")]
    PostTargets,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl Related<super::products::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Products.def()
    }
}

impl Related<super::post_targets::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PostTargets.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

use super::enums::ProductStatus;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "products")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub connection_id: Uuid,
    pub external_id: String,
    pub title: String,
    pub description: String,
    pub url: Option<String>,
    pub price: Option<Decimal>,
    pub currency: Option<String>,
    pub image_urls: Vec<String>,
    pub tags: Vec<String>,
    pub status: ProductStatus,
    /// The platform's own word for a status we don't know (`status` is `other`).
    pub remote_status: Option<String>,
    /// A hash of the stored fields, so an unchanged product isn't rewritten.
    pub fingerprint: String,
    /// The last full sync that saw this product.
    pub seen_by_sync: Option<Uuid>,
    pub remote_updated_at: Option<ChronoDateTimeUtc>,
    pub synced_at: ChronoDateTimeUtc,
    pub removed_at: Option<ChronoDateTimeUtc>,
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
    #[sea_orm(has_many = "super::posts::Entity")]
    Posts,
}

impl Related<super::connections::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Connection.def()
    }
}

impl Related<super::posts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Posts.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

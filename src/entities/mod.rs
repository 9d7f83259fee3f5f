//! SeaORM entities, one per table, in the generated style: columns and relations, no behaviour.
//!
//! Behaviour lives next to the code that needs it (named query functions in `web`, `jobs`…),
//! and enums stored as `text` are mapped to Rust enums in `enums` so a bad status can't be
//! written from Rust.

pub mod analytics;
pub mod api_tokens;
pub mod audit_events;
pub mod catalog_syncs;
pub mod connections;
pub mod enums;
pub mod jobs;
pub mod media;
pub mod post_media;
pub mod post_metrics;
pub mod post_targets;
pub mod posts;
pub mod products;
pub mod templates;
pub mod users;

pub mod prelude {
    pub use super::analytics::Entity as Analytics;
    pub use super::api_tokens::Entity as ApiTokens;
    pub use super::audit_events::Entity as AuditEvents;
    pub use super::catalog_syncs::Entity as CatalogSyncs;
    pub use super::connections::Entity as Connections;
    pub use super::jobs::Entity as Jobs;
    pub use super::media::Entity as Media;
    pub use super::post_media::Entity as PostMedia;
    pub use super::post_metrics::Entity as PostMetrics;
    pub use super::post_targets::Entity as PostTargets;
    pub use super::posts::Entity as Posts;
    pub use super::products::Entity as Products;
    pub use super::templates::Entity as Templates;
    pub use super::users::Entity as Users;
}

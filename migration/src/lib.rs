//! Database migrations for Picscripter, one file per migration, applied in order.
//!
//! Migrations are plain SQL executed through SeaORM's migration runner: the schema reads as
//! Postgres DDL (check constraints, partial indexes) rather than as a builder DSL.
//! The crate doubles as a CLI (`cargo run -p migration -- up`), though `picscripter migrate`
//! is the supported way to apply them.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_initial_schema;
mod m20261125_000002_post_networks;
mod m20261125_000003_catalog_sync;
mod m20261207_000004_metrics_collection;
mod m20261208_000005_metrics_latest;
mod m20261208_000007_webhooks;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_initial_schema::Migration),
            Box::new(m20261125_000002_post_networks::Migration),
            Box::new(m20261125_000003_catalog_sync::Migration),
            Box::new(m20261207_000004_metrics_collection::Migration),
            Box::new(m20261208_000005_metrics_latest::Migration),
            Box::new(m20261208_000007_webhooks::Migration),
        ]
    }
}

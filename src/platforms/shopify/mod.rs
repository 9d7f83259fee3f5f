//! Shopify: its OAuth now; publishing, catalog and metrics clients join it here.

pub mod bulk;
pub mod catalog;
pub mod oauth;

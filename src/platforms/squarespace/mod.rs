//! Squarespace: its OAuth now; publishing, catalog and metrics clients join it here.

pub mod catalog;
pub mod oauth;

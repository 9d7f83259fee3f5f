//! YouTube: its OAuth now; publishing, catalog and metrics clients join it here.

pub mod oauth;
pub mod publish;

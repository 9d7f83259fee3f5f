//! X: its OAuth, publishing and metrics clients.

pub mod metrics;
pub mod oauth;
pub mod publish;

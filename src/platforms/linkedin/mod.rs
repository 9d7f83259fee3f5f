//! LinkedIn: OAuth, publishing, and company pages' post statistics.

pub mod metrics;
pub mod oauth;
pub mod publish;

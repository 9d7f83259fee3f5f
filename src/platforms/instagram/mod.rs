//! Instagram: its OAuth, publishing and per-post insights clients.

pub mod metrics;
pub mod oauth;
pub mod publish;

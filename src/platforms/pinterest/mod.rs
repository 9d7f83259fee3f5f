//! Pinterest: its OAuth, publishing and pin analytics clients.

pub mod metrics;
pub mod oauth;
pub mod publish;

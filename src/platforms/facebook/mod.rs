//! Facebook: OAuth, publishing on Pages and their posts' engagement numbers.

pub mod metrics;
pub mod oauth;
pub mod publish;

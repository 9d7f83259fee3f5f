//! TikTok: its OAuth, the Content Posting publisher and the `video/query` numbers reader.

pub mod metrics;
pub mod oauth;
pub mod publish;

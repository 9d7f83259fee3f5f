//! YouTube: its OAuth, the resumable-upload publisher and the `videos.list` statistics reader.

pub mod metrics;
pub mod oauth;
pub mod publish;

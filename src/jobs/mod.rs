//! Background work run by `picscripter-worker`, one file per job: its arguments, its handler and
//! the function that enqueues it. apalis stays behind this module; nothing else names it.

pub mod collect_metrics;
pub mod deliver_webhooks;
pub mod dispatch;
pub mod heartbeat;
pub mod publish;
pub mod refresh_tokens;
pub mod sync_catalog;

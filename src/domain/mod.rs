//! Rules with no I/O: the vocabulary the rest of the crate speaks.
//!
//! Types here are parsed, never merely validated: an `Email` is always well-formed, a `TimeZone`
//! is always a real IANA zone, a `Platform` is always one of the ten we support. Nothing in this
//! module touches the database, the network or the clock, so everything is unit-testable.

pub mod account;
pub mod caption;
pub mod limits;
pub mod media;
pub mod options;
pub mod platform;
pub mod preflight;
pub mod schedule;
pub mod status;
pub mod template;
pub mod time_zone;
mod words;

pub use account::{Email, NewPassword};
pub use platform::{Platform, PlatformKind};
pub use time_zone::TimeZone;

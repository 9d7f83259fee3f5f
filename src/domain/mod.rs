//! Rules with no I/O: the vocabulary the rest of the crate speaks.
//!
//! Types here are parsed, never merely validated: an `Email` is always well-formed, a `TimeZone`
//! is always a real IANA zone, a `Platform` is always one of the ten we support. Nothing in this
//! module touches the database, the network or the clock, so everything is unit-testable.
//!
//! The composer's rules live here so the form, its htmx live checks, the JSON API and the worker
//! all agree: `caption` counts text the way each platform does, `limits` is the table of media
//! rules, `options` the per-platform settings of a target, `preflight` puts them together into
//! the issues a seller sees, `schedule` turns a local date and time into an instant, `status` is
//! the publishing life cycle, `template` fills captions in from products and `calendar` lays
//! days out in the user's zone, `utm` tags product links and `price` writes prices.
//! `authenticity` rewrites generated captions so they read like the seller wrote them.

pub mod account;
pub mod authenticity;
pub mod calendar;
pub mod caption;
pub mod limits;
pub mod media;
pub mod options;
pub mod platform;
pub mod preflight;
pub mod price;
pub mod product_post;
pub mod schedule;
pub mod status;
pub mod template;
pub mod time_zone;
pub mod utm;
pub mod words;

pub use account::{Email, NewPassword};
pub use caption::{CaptionCount, CountUnit, TextField};
pub use limits::Format;
pub use media::{MediaFacts, MediaKind, Mime};
pub use options::TargetOptions;
pub use platform::{Platform, PlatformKind};
pub use preflight::{Issue, Severity, TargetContext, TargetDraft};
pub use schedule::{Fold, ScheduleAt};
pub use status::{PostStatus, TargetStatus};
pub use template::Template;
pub use time_zone::TimeZone;

//! Outbound HTTP to addresses users supply: [`SafeFetch`] refuses anything that points inside our
//! network, on every redirect hop, and caps time and size. Calls to the platforms' own APIs use
//! their clients in `crate::platforms`; everything else a user or shop chose goes through here.

pub mod address;
pub mod safe_fetch;

pub use safe_fetch::{
    FetchError, Fetched, FixedAnswers, Limits, MAX_REDIRECTS, Resolver, SafeFetch, SystemResolver,
};

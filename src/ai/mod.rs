//! Writing help for the AI Studio. Caption providers live here: [`gemini`] when
//! `GEMINI_API_KEY` is set, and the built-in writer ([`builtin`]) when it isn't — labelled
//! "Built-in writer", never presented as AI. [`proofread`] is the rule-based proofreading used
//! without a key; [`emoji`] and [`resize`] are the built-in emoji suggestions and shorten /
//! lengthen.
//!
//! Everything but [`gemini`] is pure: no I/O, no clock, and the same inputs always give the same
//! text.

pub mod builtin;
pub mod emoji;
pub mod gemini;
pub mod proofread;
pub mod resize;

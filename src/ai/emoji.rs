//! Emoji suggestions for a caption. INTERFACE ONLY — filled in by the emoji-resize branch.

use crate::ai::builtin::{ProductFacts, Tone};
use crate::domain::platform::Platform;

/// The caption with emoji added, and which ones (in the order they appear).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Added {
    pub text: String,
    pub emoji: Vec<String>,
}

/// Adds emoji that fit the words of `text` (and the product), where they fit (after the
/// sentence or line they illustrate), never past the network's cap counting those already there.
pub fn add(
    _text: &str,
    _platform: Platform,
    _product: Option<&ProductFacts<'_>>,
    _tone: Tone,
) -> Added {
    todo!()
}

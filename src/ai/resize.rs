//! Built-in shorten / lengthen. INTERFACE ONLY — filled in by the emoji-resize branch.

use crate::ai::builtin::Brief;
use crate::domain::platform::Platform;

/// A shorter version of `text`: the least important sentences and surplus hashtags go first;
/// links, prices, the call to action and the first sentence stay.
pub fn shorten(_text: &str, _platform: Platform) -> String {
    todo!()
}

/// A longer version of `text`, adding only what the brief says (a description sentence not yet
/// used, the price, the link); unchanged when there is nothing true left to add.
pub fn lengthen(_text: &str, _platform: Platform, _brief: &Brief<'_>) -> String {
    todo!()
}

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

use std::ops::Range;

/// The sentences of one line, as byte ranges of `text`: each ends at `.`, `!`, `?` or `…` (with
/// any closing quotes or brackets) followed by a space, or at the end of the line.
pub(crate) fn line_sentences(text: &str, line: &Range<usize>) -> Vec<Range<usize>> {
    let content = text[line.clone()].trim_end();
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut chars = content.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let at = line.start + i;
        if start.is_none() {
            if c.is_whitespace() {
                continue;
            }
            start = Some(at);
        }
        if !matches!(c, '.' | '!' | '?' | '…') {
            continue;
        }
        let mut end = at + c.len_utf8();
        while let Some(&(j, d)) = chars.peek() {
            if matches!(
                d,
                '.' | '!' | '?' | '…' | '"' | '\'' | '”' | '’' | ')' | ']'
            ) {
                end = line.start + j + d.len_utf8();
                chars.next();
            } else {
                break;
            }
        }
        if chars.peek().is_none_or(|&(_, d)| d.is_whitespace())
            && let Some(s) = start.take()
        {
            out.push(s..end);
        }
    }
    if let Some(s) = start {
        out.push(s..line.start + content.len());
    }
    out
}

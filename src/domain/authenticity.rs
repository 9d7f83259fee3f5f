//! The Human Authenticity Engine: small, explainable edits that make a caption read like the
//! shop owner wrote it, whichever provider drafted it.
//!
//! [`humanize`] applies a fixed set of rules (stock phrases, dash and exclamation overuse, emoji
//! and hashtag caps per network, repeated sentence openers, generic calls to action) and reports
//! each edit with a reason the seller sees under "What we changed and why".
//!
//! Three promises hold for every input:
//! - nothing inside a protected span is edited: links, prices and other numbers, @mentions,
//!   hashtags (rule 4 may drop a whole one), the seller's call to action and every
//!   `Context::protected` string;
//! - the output is never longer, in bytes, than the input plus the call to action;
//! - running it on its own output changes nothing and reports nothing (the rules are applied
//!   until the text stops changing).

use std::ops::Range;

use serde::{Deserialize, Serialize};
use unicode_segmentation::UnicodeSegmentation;

use crate::domain::caption::{hashtags, is_extended_pictographic, mentions, url_spans};
use crate::domain::platform::Platform;

/// How hard the engine pushes. Light only removes stock phrases and applies lenient emoji and
/// hashtag caps; Standard applies every rule; Strong applies every rule with stricter caps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strength {
    Light,
    Standard,
    Strong,
}

/// What the engine needs to know about the post.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    pub platform: Platform,
    pub strength: Strength,
    /// The product's concrete call to action ("Order yours at https://…"), used in place of a
    /// generic one. It is never edited once it is in the text.
    pub call_to_action: Option<&'a str>,
    /// Product names, prices and anything else that must survive verbatim.
    pub protected: &'a [&'a str],
}

/// Which rule made a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    StockPhrase,
    EmDash,
    Exclamation,
    Emoji,
    Hashtag,
    RepeatedOpener,
    GenericCallToAction,
}

/// One edit: what was there, what is there now, and why, in plain words for the seller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub rule: Rule,
    pub before: String,
    pub after: String,
    pub reason: String,
}

/// The new text and the edits that produced it, in the order they were made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub text: String,
    pub changes: Vec<Change>,
}

/// How many emoji `platform` reads well with at `strength`, or `None` for the shops.
pub fn emoji_cap(platform: Platform, strength: Strength) -> Option<usize> {
    let base = match platform {
        Platform::X => 2,
        Platform::Linkedin => 3,
        Platform::Facebook => 4,
        Platform::Instagram => 6,
        Platform::Pinterest => 3,
        Platform::Tiktok => 5,
        Platform::Youtube => 3,
        Platform::Shopify | Platform::Etsy | Platform::Squarespace => return None,
    };
    Some(match strength {
        Strength::Light => base + 2,
        Strength::Standard => base,
        Strength::Strong => base / 2,
    })
}

/// How many hashtags `platform` reads well with at `strength`, or `None` for the shops.
/// Instagram's current guidance is 3–5; Strong keeps to the lower end.
pub fn hashtag_cap(platform: Platform, strength: Strength) -> Option<usize> {
    let base: usize = match platform {
        Platform::Instagram => 5,
        Platform::X => 2,
        Platform::Linkedin => 3,
        Platform::Facebook => 3,
        Platform::Pinterest => 5,
        Platform::Tiktok => 5,
        Platform::Youtube => 3,
        Platform::Shopify | Platform::Etsy | Platform::Squarespace => return None,
    };
    Some(match strength {
        Strength::Light => base + 2,
        Strength::Standard => base,
        Strength::Strong => base.div_ceil(2),
    })
}

/// `text` with the authenticity rules applied for `ctx`, and what changed and why.
pub fn humanize(text: &str, ctx: &Context) -> Outcome {
    let mut text = text.to_owned();
    let mut changes = Vec::new();
    // Each rule removes or shortens something, so this settles in a pass or two; the bound only
    // guards against a rule bug looping forever.
    for _ in 0..8 {
        let before = changes.len();
        let full = ctx.strength != Strength::Light;
        if full {
            call_to_action(&mut text, ctx, &mut changes);
        }
        stock_phrases(&mut text, ctx, &mut changes);
        if full {
            repeated_openers(&mut text, ctx, &mut changes);
            em_dashes(&mut text, ctx, &mut changes);
            exclamations(&mut text, ctx, &mut changes);
        }
        emoji(&mut text, ctx, &mut changes);
        hashtag_limit(&mut text, ctx, &mut changes);
        if changes.len() == before {
            break;
        }
        tidy(&mut text, ctx);
    }
    Outcome { text, changes }
}

// ---------------------------------------------------------------------------------------------
// Protected spans

/// Byte ranges of `text` that no rule may edit inside.
fn protected_spans(text: &str, ctx: &Context) -> Vec<Range<usize>> {
    let mut spans = protected_but_hashtags(text, ctx);
    spans.extend(hashtag_spans(text));
    spans
}

/// The protected spans apart from the hashtags themselves, which rule 4 may remove whole.
fn protected_but_hashtags(text: &str, ctx: &Context) -> Vec<Range<usize>> {
    let mut spans = url_spans(text);
    spans.extend(number_spans(text));
    for name in mentions(text) {
        let start = offset_in(text, name);
        let marker = text[..start].chars().next_back().map_or(0, char::len_utf8);
        spans.push(start - marker..start + name.len());
    }
    for fixed in ctx.protected.iter().copied().chain(ctx.call_to_action) {
        let fixed = fixed.trim();
        if fixed.is_empty() {
            continue;
        }
        spans.extend(text.match_indices(fixed).map(|(i, s)| i..i + s.len()));
    }
    spans
}

fn offset_in(text: &str, part: &str) -> usize {
    part.as_ptr() as usize - text.as_ptr() as usize
}

/// Each hashtag's range, `#` included.
fn hashtag_spans(text: &str) -> Vec<Range<usize>> {
    hashtags(text)
        .into_iter()
        .map(|tag| {
            let start = offset_in(text, tag);
            let marker = text[..start].chars().next_back().map_or(0, char::len_utf8);
            start - marker..start + tag.len()
        })
        .collect()
}

const CURRENCY_SIGNS: &[char] = &['$', '€', '£', '¥', '₹', '₩', '₺', '₽', '¢'];
const CURRENCY_CODES: &[&str] = &[
    "USD", "EUR", "GBP", "CAD", "AUD", "NZD", "CHF", "JPY", "SEK", "NOK", "DKK", "PLN", "INR",
    "MXN", "BRL", "ZAR",
];

/// Every number (`12`, `1,299.00`, `9,99`) with a currency sign or code written beside it, so
/// prices like `$19.99`, `19,99 €` and `USD 12.50` stay exactly as written.
fn number_spans(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let mut start = i;
        let mut end = i;
        while end < bytes.len()
            && (bytes[end].is_ascii_digit()
                || (matches!(bytes[end], b'.' | b',')
                    && bytes.get(end + 1).is_some_and(u8::is_ascii_digit)))
        {
            end += 1;
        }
        i = end;
        // A sign or code before, with at most one space between.
        let before = &text[..start];
        let trimmed = before.strip_suffix(' ').unwrap_or(before);
        if let Some(c) = trimmed.chars().next_back()
            && CURRENCY_SIGNS.contains(&c)
        {
            start = trimmed.len() - c.len_utf8();
        } else if let Some(code) = CURRENCY_CODES.iter().find(|c| trimmed.ends_with(*c)) {
            start = trimmed.len() - code.len();
        }
        let after = &text[end..];
        let gap = usize::from(after.starts_with(' '));
        let rest = &after[gap..];
        if let Some(c) = rest.chars().next()
            && CURRENCY_SIGNS.contains(&c)
        {
            end += gap + c.len_utf8();
        } else if let Some(code) = CURRENCY_CODES.iter().find(|c| rest.starts_with(*c)) {
            end += gap + code.len();
        }
        spans.push(start..end);
    }
    spans
}

fn overlaps(spans: &[Range<usize>], r: &Range<usize>) -> bool {
    spans.iter().any(|s| s.start < r.end && r.start < s.end)
        || (r.is_empty() && spans.iter().any(|s| s.contains(&r.start)))
}

fn inside(spans: &[Range<usize>], at: usize) -> bool {
    spans.iter().any(|s| s.contains(&at))
}

// ---------------------------------------------------------------------------------------------
// Matching words

/// Where `phrase` occurs in `text` from `from` on, as whole words, ignoring case; a space in the
/// phrase matches any run of spaces, a `'` matches `’` too and `-` matches a space.
fn find_phrase(text: &str, phrase: &str, from: usize) -> Option<Range<usize>> {
    let mut start = from;
    while start < text.len() {
        if text.is_char_boundary(start)
            && text[..start]
                .chars()
                .next_back()
                .is_none_or(|c| !is_word_char(c))
            && let Some(end) = match_at(text, start, phrase)
            && text[end..].chars().next().is_none_or(|c| !is_word_char(c))
        {
            return Some(start..end);
        }
        start += text[start..].chars().next().map_or(1, char::len_utf8);
    }
    None
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '\'' || c == '’'
}

fn match_at(text: &str, start: usize, phrase: &str) -> Option<usize> {
    let mut chars = text[start..].char_indices().peekable();
    let mut end = start;
    for p in phrase.chars() {
        let (i, c) = chars.next()?;
        let ok = match p {
            ' ' | '-' => c == ' ' || c == '-',
            '\'' => c == '\'' || c == '’',
            _ => c.to_lowercase().eq(p.to_lowercase()),
        };
        if !ok {
            return None;
        }
        end = start + i + c.len_utf8();
        if p == ' ' {
            while let Some(&(j, ' ')) = chars.peek() {
                end = start + j + 1;
                chars.next();
            }
        }
    }
    Some(end)
}

/// Whether a sentence starts at `at`: the text before it is empty or ends a sentence or line.
fn starts_sentence(text: &str, at: usize) -> bool {
    text[..at]
        .trim_end_matches([' ', '\t'])
        .chars()
        .next_back()
        .is_none_or(|c| matches!(c, '\n' | '.' | '!' | '?' | '…'))
}

fn capitalize_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Upper-cases the first letter at or after `at` if it is the first thing there (after spaces).
fn capitalize_at(text: &mut String, at: usize, ctx: &Context) {
    let rest = &text[at..];
    let skipped = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    let pos = at + skipped;
    if let Some(c) = text[pos..].chars().next()
        && c.is_lowercase()
        && !inside(&protected_spans(text, ctx), pos)
    {
        let upper: String = c.to_uppercase().collect();
        text.replace_range(pos..pos + c.len_utf8(), &upper);
    }
}

// ---------------------------------------------------------------------------------------------
// Rule 1: stock phrases

/// A stock phrase and what replaces it; an empty replacement removes it, together with the
/// punctuation right after it when `eat` says so.
struct Stock {
    phrase: &'static str,
    replacement: &'static str,
    eat: &'static [char],
}

const STOCK: &[Stock] = &[
    Stock {
        phrase: "in today's fast-paced world",
        replacement: "",
        eat: &[',', ':'],
    },
    Stock {
        phrase: "in today's fast paced world",
        replacement: "",
        eat: &[',', ':'],
    },
    Stock {
        phrase: "look no further than",
        replacement: "try",
        eat: &[],
    },
    Stock {
        phrase: "look no further",
        replacement: "",
        eat: &['!', '.', ',', ':'],
    },
    Stock {
        phrase: "unlock the power of",
        replacement: "discover",
        eat: &[],
    },
    Stock {
        phrase: "unleash the power of",
        replacement: "discover",
        eat: &[],
    },
    Stock {
        phrase: "harness the power of",
        replacement: "use",
        eat: &[],
    },
    Stock {
        phrase: "unleash your",
        replacement: "bring out your",
        eat: &[],
    },
    Stock {
        phrase: "unleash",
        replacement: "bring out",
        eat: &[],
    },
    Stock {
        phrase: "elevate your",
        replacement: "upgrade your",
        eat: &[],
    },
    Stock {
        phrase: "a game-changer",
        replacement: "a real help",
        eat: &[],
    },
    Stock {
        phrase: "a true game-changer",
        replacement: "a real help",
        eat: &[],
    },
    Stock {
        phrase: "a real game-changer",
        replacement: "a real help",
        eat: &[],
    },
    Stock {
        phrase: "game-changer",
        replacement: "big help",
        eat: &[],
    },
    Stock {
        phrase: "game-changing",
        replacement: "useful",
        eat: &[],
    },
    Stock {
        phrase: "dive into",
        replacement: "explore",
        eat: &[],
    },
    Stock {
        phrase: "delve into",
        replacement: "explore",
        eat: &[],
    },
    Stock {
        phrase: "delve",
        replacement: "look",
        eat: &[],
    },
    Stock {
        phrase: "seamlessly",
        replacement: "",
        eat: &[],
    },
    Stock {
        phrase: "meticulously crafted",
        replacement: "carefully made",
        eat: &[],
    },
    Stock {
        phrase: "a testament to",
        replacement: "proof of",
        eat: &[],
    },
];

fn stock_reason(phrase: &str) -> String {
    format!(
        "“{phrase}” is a stock phrase readers link with machine-written posts; plainer words sound \
         like you."
    )
}

fn stock_phrases(text: &mut String, ctx: &Context, changes: &mut Vec<Change>) {
    for stock in STOCK {
        let mut from = 0;
        while let Some(found) = find_phrase(text, stock.phrase, from) {
            let protected = protected_spans(text, ctx);
            if overlaps(&protected, &found) {
                from = found.end;
                continue;
            }
            let at_start = starts_sentence(text, found.start);
            let mut end = found.end;
            // Punctuation that closed the phrase goes with it only when the phrase opened the
            // sentence; mid-sentence it ends what came before.
            if at_start
                && let Some(c) = text[end..].chars().next()
                && stock.eat.contains(&c)
            {
                end += c.len_utf8();
            }
            // Removing an opener that is the whole sentence ("Seamlessly.") would leave a bare
            // full stop.
            let next = text[end..].trim_start_matches(' ').chars().next();
            if stock.replacement.is_empty()
                && at_start
                && next.is_none_or(|c| matches!(c, '.' | '!' | '?' | ',' | ';' | ':' | '\n'))
                && end == found.end
            {
                from = found.end;
                continue;
            }
            let before = text[found.start..end].to_owned();
            let original_capital = before.chars().next().is_some_and(char::is_uppercase);
            let replacement = if original_capital {
                capitalize_first(stock.replacement)
            } else {
                stock.replacement.to_owned()
            };
            text.replace_range(found.start..end, &replacement);
            if replacement.is_empty() && at_start {
                capitalize_at(text, found.start, ctx);
            }
            from = found.start + replacement.len();
            changes.push(Change {
                rule: Rule::StockPhrase,
                before,
                after: replacement,
                reason: stock_reason(stock.phrase),
            });
        }
    }
    whether_clauses(text, ctx, changes);
    next_level(text, ctx, changes);
}

/// "Take your mornings to the next level" → "Improve your mornings", when "take" is at most
/// four words before "to the next level".
fn next_level(text: &mut String, ctx: &Context, changes: &mut Vec<Change>) {
    let mut from = 0;
    while let Some(tail) = find_phrase(text, "to the next level", from) {
        from = tail.end;
        let head = text[..tail.start].trim_end_matches(' ');
        let words: Vec<&str> = head.rsplitn(6, ' ').collect();
        let Some(k) = words.iter().position(|w| w.eq_ignore_ascii_case("take")) else {
            continue;
        };
        if k == 0
            || k > 4
            || words[..k]
                .iter()
                .any(|w| !w.chars().all(char::is_alphabetic))
        {
            continue;
        }
        let take = offset_in(text, words[k]);
        let object = &text[take + 4..head.len()];
        let span = take..tail.end;
        if overlaps(&protected_spans(text, ctx), &span) {
            continue;
        }
        let verb = if words[k].starts_with('T') {
            "Improve"
        } else {
            "improve"
        };
        let after = format!("{verb}{object}");
        let before = text[span.clone()].to_owned();
        text.replace_range(span, &after);
        from = take + after.len();
        changes.push(Change {
            rule: Rule::StockPhrase,
            before,
            after,
            reason: stock_reason("take … to the next level"),
        });
    }
}

/// "Whether you're a tea lover or a coffee fan, this mug…" → "This mug…", and
/// "…fits any desk, whether you're a student or a CEO." → "…fits any desk." A clause without
/// the comma that closes or opens it is left alone: cutting it could leave a broken sentence.
fn whether_clauses(text: &mut String, ctx: &Context, changes: &mut Vec<Change>) {
    let mut from = 0;
    loop {
        let found = ["whether you're", "whether you are"]
            .iter()
            .filter_map(|p| find_phrase(text, p, from))
            .min_by_key(|r| r.start);
        let Some(found) = found else { return };
        from = found.end;
        let sentence_end = text[found.end..]
            .find(['.', '!', '?', '\n'])
            .map_or(text.len(), |i| found.end + i);
        let clause = if starts_sentence(text, found.start) {
            // Up to and including the comma that closes it.
            let Some(comma) = text[found.end..sentence_end].find(',') else {
                continue;
            };
            let comma = found.end + comma;
            let after = &text[comma + 1..];
            let spaces = after.len() - after.trim_start_matches(' ').len();
            found.start..comma + 1 + spaces
        } else {
            // From the comma before it to the end of the sentence.
            let head = text[..found.start].trim_end_matches(' ');
            if !head.ends_with(',') {
                continue;
            }
            head.len() - 1..sentence_end
        };
        let body = &text[found.end..clause.end];
        if find_phrase(body, "or", 0).is_none() {
            continue;
        }
        // A sentence-ending clause must leave something before it.
        if clause.end - clause.start >= text.len() {
            continue;
        }
        let protected = protected_spans(text, ctx);
        if overlaps(&protected, &clause) {
            continue;
        }
        let before = text[clause.clone()].trim().to_owned();
        text.replace_range(clause.clone(), "");
        if starts_sentence(text, clause.start) {
            capitalize_at(text, clause.start, ctx);
        }
        from = clause.start;
        changes.push(Change {
            rule: Rule::StockPhrase,
            before,
            after: String::new(),
            reason: "A “whether you're … or …” clause is filler common in generated posts; the \
                     sentence says the same without it."
                .into(),
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Rule 2: dashes and exclamation marks

fn em_dashes(text: &mut String, ctx: &Context, changes: &mut Vec<Change>) {
    let mut seen = 0;
    let mut from = 0;
    loop {
        let next = [text[from..].find('—'), text[from..].find(" -- ")]
            .into_iter()
            .flatten()
            .min();
        let Some(i) = next else { return };
        let at = from + i;
        let dash_len = if text[at..].starts_with('—') {
            '—'.len_utf8()
        } else {
            4
        };
        let protected = protected_spans(text, ctx);
        if inside(&protected, at) {
            from = at + dash_len;
            continue;
        }
        seen += 1;
        if seen == 1 {
            from = at + dash_len;
            continue;
        }
        // The dash with the spaces around it.
        let start = text[..at].trim_end_matches(' ').len();
        let after = &text[at + dash_len..];
        let end = at + dash_len + (after.len() - after.trim_start_matches(' ').len());
        let line_goes_on = text[end..]
            .chars()
            .next()
            .is_some_and(|c| c != '\n' && !matches!(c, '.' | '!' | '?' | ','));
        let prev_is_punct = text[..start]
            .chars()
            .next_back()
            .is_some_and(|c| matches!(c, ',' | '.' | '!' | '?' | ':' | ';'));
        let replacement = if line_goes_on && !prev_is_punct && start > 0 {
            ", "
        } else if line_goes_on && start > 0 {
            " "
        } else {
            ""
        };
        let before = text[start..end].to_owned();
        text.replace_range(start..end, replacement);
        from = start + replacement.len();
        changes.push(Change {
            rule: Rule::EmDash,
            before,
            after: replacement.trim_end().to_owned(),
            reason: "Lots of dashes in one post is a tell-tale of generated text; a comma reads \
                     more naturally."
                .into(),
        });
    }
}

fn exclamations(text: &mut String, ctx: &Context, changes: &mut Vec<Change>) {
    let mut seen = 0;
    let mut from = 0;
    while let Some(i) = text[from..].find('!') {
        let at = from + i;
        let run = text[at..].len() - text[at..].trim_start_matches('!').len();
        let protected = protected_spans(text, ctx);
        if overlaps(&protected, &(at..at + run)) {
            from = at + run;
            continue;
        }
        seen += 1;
        let after_question = text[..at].ends_with('?');
        let replacement = if seen == 1 {
            "!"
        } else if after_question {
            ""
        } else {
            "."
        };
        let before = text[at..at + run].to_owned();
        if before == replacement {
            from = at + run;
            continue;
        }
        text.replace_range(at..at + run, replacement);
        from = at + replacement.len();
        let reason = if seen == 1 {
            "One exclamation mark is enthusiastic; several in a row feel like shouting."
        } else {
            "One exclamation mark per post keeps it warm; more make it sound like an ad."
        };
        changes.push(Change {
            rule: Rule::Exclamation,
            before,
            after: replacement.to_owned(),
            reason: reason.into(),
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Rule 3: emoji

/// Whether a grapheme is an emoji: a pictograph shown as one (not bare `©`, `™` or arrows that
/// read as text), a flag, or a keycap.
fn is_emoji(grapheme: &str) -> bool {
    let Some(first) = grapheme.chars().next() else {
        return false;
    };
    let presented = grapheme.contains('\u{FE0F}') || first as u32 >= 0x2300;
    (is_extended_pictographic(first) && presented)
        || ('\u{1F1E6}'..='\u{1F1FF}').contains(&first)
        || grapheme.contains('\u{20E3}')
}

fn emoji(text: &mut String, ctx: &Context, changes: &mut Vec<Change>) {
    let Some(cap) = emoji_cap(ctx.platform, ctx.strength) else {
        return;
    };
    let protected = protected_spans(text, ctx);
    let found: Vec<Range<usize>> = text
        .grapheme_indices(true)
        .filter(|(i, g)| is_emoji(g) && !inside(&protected, *i))
        .map(|(i, g)| i..i + g.len())
        .collect();
    if found.len() <= cap {
        return;
    }
    let reason = format!(
        "{} posts read best with no more than {cap} emoji, so we kept the first {cap}.",
        ctx.platform.display_name()
    );
    for r in found[cap..].iter().rev() {
        changes.push(Change {
            rule: Rule::Emoji,
            before: text[r.clone()].to_owned(),
            after: String::new(),
            reason: reason.clone(),
        });
        text.replace_range(r.clone(), "");
    }
}

// ---------------------------------------------------------------------------------------------
// Rule 4: hashtags

fn hashtag_limit(text: &mut String, ctx: &Context, changes: &mut Vec<Change>) {
    let Some(cap) = hashtag_cap(ctx.platform, ctx.strength) else {
        return;
    };
    let spans = hashtag_spans(text);
    // A hashtag inside a link or a protected name ("Mug #MugLife") is part of it.
    let others = protected_but_hashtags(text, ctx);
    let mut seen: Vec<String> = Vec::new();
    let mut drop: Vec<(Range<usize>, String)> = Vec::new();
    for span in spans {
        if overlaps(&others, &span) {
            continue;
        }
        let tag = text[span.clone()]
            .trim_start_matches(['#', '＃'])
            .to_lowercase();
        if seen.contains(&tag) {
            drop.push((
                span,
                "This hashtag was already in the post; repeating it doesn't help.".into(),
            ));
        } else if seen.len() >= cap {
            let guidance = if ctx.platform == Platform::Instagram {
                " (Instagram's current advice is 3–5)"
            } else {
                ""
            };
            drop.push((
                span,
                format!(
                    "{} posts do best with no more than {cap} hashtags{guidance}, so we kept the \
                     first {cap}.",
                    ctx.platform.display_name()
                ),
            ));
        } else {
            seen.push(tag);
        }
    }
    for (span, reason) in drop.into_iter().rev() {
        changes.push(Change {
            rule: Rule::Hashtag,
            before: text[span.clone()].to_owned(),
            after: String::new(),
            reason,
        });
        text.replace_range(span, "");
    }
}

// ---------------------------------------------------------------------------------------------
// Rule 5: repeated sentence openers

const DETERMINERS: &[&str] = &["our", "my", "your", "the", "these", "this", "those"];

/// The sentences of `text` as byte ranges, each starting at its first non-space character.
fn sentences(text: &str, protected: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if start.is_none() && !c.is_whitespace() {
            start = Some(i);
        }
        let ends = c == '\n'
            || (matches!(c, '.' | '!' | '?')
                && !inside(protected, i)
                && chars.peek().is_none_or(|&(_, d)| d.is_whitespace()));
        if ends && let Some(s) = start.take() {
            out.push(s..i + c.len_utf8());
        }
    }
    if let Some(s) = start {
        out.push(s..text.len());
    }
    out
}

/// "Our mugs are" → ("our", "mugs", "are") when a sentence opens with a determiner, a noun and
/// a verb whose number we know.
fn subject(sentence: &str) -> Option<(String, String, &str, bool)> {
    let mut words = sentence.splitn(4, ' ');
    let det = words.next()?;
    let noun = words.next()?;
    let verb = words.next()?;
    words.next()?;
    if !DETERMINERS.contains(&det.to_lowercase().as_str())
        || !noun.chars().all(char::is_alphabetic)
        || noun.is_empty()
    {
        return None;
    }
    let plural = match verb {
        "are" | "were" | "have" => true,
        "is" | "was" | "has" => false,
        "will" | "can" => noun.ends_with('s') && !noun.ends_with("ss"),
        _ => return None,
    };
    Some((det.to_lowercase(), noun.to_lowercase(), verb, plural))
}

fn repeated_openers(text: &mut String, ctx: &Context, changes: &mut Vec<Change>) {
    let mut i = 1;
    loop {
        let protected = protected_spans(text, ctx);
        let all = sentences(text, &protected);
        if i >= all.len() {
            return;
        }
        let (prev, cur) = (all[i - 1].clone(), all[i].clone());
        i += 1;
        let (Some(a), Some(b)) = (subject(&text[prev]), subject(&text[cur.clone()])) else {
            continue;
        };
        if (&a.0, &a.1) != (&b.0, &b.1) {
            continue;
        }
        let opener_len = text[cur.start..].find(' ').unwrap_or(0);
        let noun_end =
            cur.start + opener_len + 1 + text[cur.start + opener_len + 1..].find(' ').unwrap_or(0);
        let replaced = cur.start..noun_end;
        if overlaps(&protected, &replaced) {
            continue;
        }
        let pronoun = if b.3 { "They" } else { "It" };
        let before = text[replaced.clone()].to_owned();
        text.replace_range(replaced, pronoun);
        changes.push(Change {
            rule: Rule::RepeatedOpener,
            before: before.clone(),
            after: pronoun.to_owned(),
            reason: format!(
                "Two sentences in a row started with “{before}”; varying the start reads less \
                 like a template."
            ),
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Rule 6: generic calls to action

const GENERIC_CTAS: &[&str] = &[
    "click the link in our bio",
    "click the link in bio",
    "tap the link in bio",
    "check it out",
    "don't miss out",
    "shop now",
    "buy now",
];

fn call_to_action(text: &mut String, ctx: &Context, changes: &mut Vec<Change>) {
    let Some(cta) = ctx.call_to_action.map(str::trim).filter(|c| !c.is_empty()) else {
        return;
    };
    for generic in GENERIC_CTAS {
        let mut from = 0;
        while let Some(found) = find_phrase(text, generic, from) {
            let protected = protected_spans(text, ctx);
            if overlaps(&protected, &found) {
                from = found.end;
                continue;
            }
            let rest = &text[found.end..];
            let punct = rest.len() - rest.trim_start_matches(['!', '.']).len();
            let end = found.end + punct;
            // Only a generic call to action that is a sentence of its own is replaced: "Shop now
            // and save" or "Check it out: <link>" would not survive the swap.
            let whole_sentence = starts_sentence(text, found.start)
                && text[end..]
                    .chars()
                    .next()
                    .is_none_or(|c| c == '\n' || (punct > 0 && c.is_whitespace()));
            if !whole_sentence {
                from = found.end;
                continue;
            }
            let before = text[found.start..end].to_owned();
            let present = text.to_lowercase().contains(&cta.to_lowercase());
            let replacement = if present {
                String::new()
            } else {
                let line_goes_on = text[end..]
                    .trim_start_matches(' ')
                    .chars()
                    .next()
                    .is_some_and(|c| c != '\n');
                let ends_sentence = cta.ends_with(['.', '!', '?']);
                if line_goes_on && !ends_sentence {
                    format!("{cta}.")
                } else {
                    cta.to_owned()
                }
            };
            text.replace_range(found.start..end, &replacement);
            if replacement.is_empty() && starts_sentence(text, found.start) {
                capitalize_at(text, found.start, ctx);
            }
            from = found.start + replacement.len();
            let reason = if present {
                "Your own call to action is already in the post, so the generic one was removed."
            } else {
                "A generic call to action says little; yours tells people exactly what to do."
            };
            changes.push(Change {
                rule: Rule::GenericCallToAction,
                before,
                after: replacement,
                reason: reason.into(),
            });
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tidying up after removals

/// Collapses the doubled spaces, stray spaces before punctuation, doubled commas and empty
/// lines' spaces that removals leave, outside protected spans.
fn tidy(text: &mut String, ctx: &Context) {
    let protected = protected_spans(text, ctx);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if inside(&protected, i) {
            out.push(c);
            continue;
        }
        match c {
            ' ' | '\t' => {
                // Treat the whole run of spaces at once.
                while chars
                    .peek()
                    .is_some_and(|&(j, d)| matches!(d, ' ' | '\t') && !inside(&protected, j))
                {
                    chars.next();
                }
                let next = chars.peek().map(|&(_, d)| d);
                let next_protected = chars.peek().is_some_and(|&(j, _)| inside(&protected, j));
                let at_line_start = out.is_empty() || out.ends_with('\n');
                let before_punct = next
                    .is_some_and(|d| matches!(d, ',' | '.' | '!' | '?' | ';' | ':'))
                    && !next_protected;
                let at_line_end = next.is_none_or(|d| d == '\n');
                if !(at_line_start || before_punct || at_line_end) {
                    out.push(' ');
                }
            }
            ',' => {
                // ", ." or ",," or a comma opening a line: drop this comma.
                let rest = &text[i + 1..];
                let next = rest.trim_start_matches(' ').chars().next();
                let line_start = out.trim_end_matches(' ').is_empty()
                    || out.trim_end_matches(' ').ends_with('\n');
                if next.is_none_or(|d| matches!(d, ',' | '.' | '!' | '?' | ';' | ':' | '\n'))
                    || line_start
                {
                    continue;
                }
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    *text = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(platform: Platform, strength: Strength) -> Context<'static> {
        Context {
            platform,
            strength,
            call_to_action: None,
            protected: &[],
        }
    }

    fn standard() -> Context<'static> {
        ctx(Platform::Instagram, Strength::Standard)
    }

    #[test]
    fn text_with_nothing_to_fix_is_left_exactly_as_it_is() {
        for text in [
            "",
            "New linen towels, $24.00 each. They dry fast and get softer with every wash.",
            "Handmade in Leeds — glazed by hand.\n\nhttps://shop.example/p/towel?utm_source=x",
            "Our mugs are stoneware. Our bowls are porcelain.",
            "Sale on now 🎉 #pottery #handmade",
        ] {
            let out = humanize(text, &standard());
            assert_eq!(out.text, text);
            assert!(out.changes.is_empty(), "{text:?}: {:?}", out.changes);
        }
    }

    #[test]
    fn each_rule_rewrites_its_pattern_and_says_why() {
        let cta = Some("Order yours at https://shop.example/p/mug");
        for (text, call_to_action, want, rule) in [
            (
                "Elevate your kitchen with our mug.",
                None,
                "Upgrade your kitchen with our mug.",
                Rule::StockPhrase,
            ),
            (
                "Look no further! Our towels dry fast.",
                None,
                "Our towels dry fast.",
                Rule::StockPhrase,
            ),
            (
                "In today's fast-paced world, a good mug matters.",
                None,
                "A good mug matters.",
                Rule::StockPhrase,
            ),
            (
                "This towel is a game changer.",
                None,
                "This towel is a real help.",
                Rule::StockPhrase,
            ),
            (
                "Dive into our new range. It blends seamlessly with any kitchen.",
                None,
                "Explore our new range. It blends with any kitchen.",
                Rule::StockPhrase,
            ),
            (
                "Whether you're a tea lover or a coffee fan, this mug fits.",
                None,
                "This mug fits.",
                Rule::StockPhrase,
            ),
            (
                "This mug fits any desk, whether you're a student or a CEO.",
                None,
                "This mug fits any desk.",
                Rule::StockPhrase,
            ),
            (
                "Take your mornings to the next level.",
                None,
                "Improve your mornings.",
                Rule::StockPhrase,
            ),
            (
                "Soft — warm — and handmade — in Leeds.",
                None,
                "Soft — warm, and handmade, in Leeds.",
                Rule::EmDash,
            ),
            (
                "New in!! Just restocked! Grab one!!!",
                None,
                "New in! Just restocked. Grab one.",
                Rule::Exclamation,
            ),
            (
                "Our mugs are handmade. Our mugs are dishwasher safe.",
                None,
                "Our mugs are handmade. They are dishwasher safe.",
                Rule::RepeatedOpener,
            ),
            (
                "New mugs are in, look no further.",
                None,
                "New mugs are in.",
                Rule::StockPhrase,
            ),
            ("Seamlessly.", None, "Seamlessly.", Rule::StockPhrase),
            (
                "Shop now and save 10%.",
                cta,
                "Shop now and save 10%.",
                Rule::GenericCallToAction,
            ),
            (
                "Check it out: https://shop.example/p/cup",
                cta,
                "Check it out: https://shop.example/p/cup",
                Rule::GenericCallToAction,
            ),
            (
                "Buy now! Only $12.50.",
                cta,
                "Order yours at https://shop.example/p/mug. Only $12.50.",
                Rule::GenericCallToAction,
            ),
            (
                "Fresh stock. Shop now!",
                cta,
                "Fresh stock. Order yours at https://shop.example/p/mug",
                Rule::GenericCallToAction,
            ),
            (
                "Check it out! Order yours at https://shop.example/p/mug",
                cta,
                "Order yours at https://shop.example/p/mug",
                Rule::GenericCallToAction,
            ),
        ] {
            let c = Context {
                call_to_action,
                ..standard()
            };
            let out = humanize(text, &c);
            assert_eq!(out.text, want, "{text:?}");
            if text != want {
                assert!(out.changes.iter().any(|ch| ch.rule == rule), "{text:?}");
                assert!(out.changes.iter().all(|ch| !ch.reason.is_empty()));
            }
        }
    }

    #[test]
    fn emoji_are_capped_per_network_from_the_end() {
        let text = "Sale 🎉🎉🎉 today 😀 ok";
        for (platform, strength, want) in [
            (Platform::X, Strength::Standard, "Sale 🎉🎉 today ok"),
            (Platform::X, Strength::Strong, "Sale 🎉 today ok"),
            (Platform::X, Strength::Light, text),
            (Platform::Instagram, Strength::Standard, text),
            (
                Platform::Linkedin,
                Strength::Standard,
                "Sale 🎉🎉🎉 today ok",
            ),
        ] {
            let out = humanize(text, &ctx(platform, strength));
            assert_eq!(out.text, want, "{platform} {strength:?}");
            assert!(out.changes.iter().all(|c| c.rule == Rule::Emoji));
        }
        // © and ™ read as text, not emoji.
        let out = humanize("© Kiln™ 🎉", &ctx(Platform::X, Strength::Strong));
        assert_eq!(out.text, "© Kiln™ 🎉");
    }

    #[test]
    fn hashtags_are_capped_per_network_and_duplicates_dropped() {
        let text = "Mugs\n#pottery #Handmade #pottery #mug #gift #kiln #clay";
        for (platform, strength, want) in [
            (
                Platform::Instagram,
                Strength::Standard,
                "Mugs\n#pottery #Handmade #mug #gift #kiln",
            ),
            (
                Platform::Instagram,
                Strength::Strong,
                "Mugs\n#pottery #Handmade #mug",
            ),
            (Platform::X, Strength::Standard, "Mugs\n#pottery #Handmade"),
        ] {
            let out = humanize(text, &ctx(platform, strength));
            assert_eq!(out.text, want, "{platform} {strength:?}");
            assert!(out.changes.iter().all(|c| c.rule == Rule::Hashtag));
            assert!(out.changes.iter().any(|c| c.reason.contains("already")));
        }
    }

    #[test]
    fn light_strength_only_touches_phrases_emoji_and_hashtags() {
        let text = "Elevate your desk!! Soft — warm — handmade. Shop now!";
        let c = Context {
            call_to_action: Some("Shop the linen towel"),
            ..ctx(Platform::Instagram, Strength::Light)
        };
        let out = humanize(text, &c);
        assert_eq!(
            out.text,
            "Upgrade your desk!! Soft — warm — handmade. Shop now!"
        );
    }

    #[test]
    fn protected_names_prices_and_links_are_never_edited() {
        let c = Context {
            protected: &["Unleash Mug"],
            ..standard()
        };
        let text = "The Unleash Mug — $19.99 or 19,99 € or USD 12.50 — see \
                    https://shop.example/p/dive-into?utm_source=x — @seamlessly";
        let out = humanize(text, &c);
        for kept in [
            "Unleash Mug",
            "$19.99",
            "19,99 €",
            "USD 12.50",
            "https://shop.example/p/dive-into?utm_source=x",
            "@seamlessly",
        ] {
            assert!(out.text.contains(kept), "{kept} in {:?}", out.text);
        }
    }

    #[test]
    fn a_protected_hashtag_is_kept_even_over_the_cap() {
        let c = Context {
            protected: &["#MugLife"],
            ..ctx(Platform::X, Strength::Standard)
        };
        let out = humanize("#one #two #MugLife #three", &c);
        assert_eq!(out.text, "#one #two #MugLife");
    }

    #[test]
    fn changes_serialise_with_snake_case_rules() {
        let out = humanize(
            "Shop now!",
            &Context {
                call_to_action: Some("Shop the linen towel"),
                ..standard()
            },
        );
        let json = serde_json::to_value(&out.changes[0]).unwrap();
        assert_eq!(json["rule"], "generic_call_to_action");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn caption_text() -> impl Strategy<Value = String> {
            proptest::collection::vec(
                prop_oneof![
                    Just("mug".to_string()),
                    Just("Our".to_string()),
                    Just("mugs".to_string()),
                    Just("are".to_string()),
                    Just("towel".to_string()),
                    Just("or".to_string()),
                    Just("Elevate your".to_string()),
                    Just("look no further!".to_string()),
                    Just("In today's fast-paced world,".to_string()),
                    Just("dive into".to_string()),
                    Just("whether you're".to_string()),
                    Just("game-changer".to_string()),
                    Just("seamlessly".to_string()),
                    Just("Shop now!".to_string()),
                    Just("Check it out".to_string()),
                    Just("https://shop.example/p/mug-1?utm_source=x".to_string()),
                    Just("https://shop.example/p/towel?utm_source=x&utm_medium=social".to_string()),
                    Just("$12.50".to_string()),
                    Just("9,99 €".to_string()),
                    Just("USD 12.50".to_string()),
                    Just("Linen Towel".to_string()),
                    Just("🎉".to_string()),
                    Just("👍🏽".to_string()),
                    Just("🇩🇪".to_string()),
                    Just("#handmade".to_string()),
                    Just("#Handmade".to_string()),
                    Just("#mug".to_string()),
                    Just("@studio.kiln".to_string()),
                    Just("—".to_string()),
                    Just("!".to_string()),
                    Just(".".to_string()),
                    Just(",".to_string()),
                    Just("\n".to_string()),
                ],
                0..30,
            )
            .prop_map(|parts| parts.join(" "))
        }

        /// The same pieces glued together without spaces, mixed with arbitrary characters, so
        /// the scanners meet awkward boundaries.
        fn glued_text() -> impl Strategy<Value = String> {
            proptest::collection::vec(
                prop_oneof![
                    caption_text(),
                    "\\PC{0,4}",
                    Just("—".to_string()),
                    Just("!!".to_string()),
                    Just(" -- ".to_string()),
                    Just("  ".to_string()),
                ],
                0..6,
            )
            .prop_map(|parts| parts.concat())
        }

        fn any_context() -> impl Strategy<Value = Context<'static>> {
            (
                prop::sample::select(Platform::ALL.to_vec()),
                prop::sample::select(vec![Strength::Light, Strength::Standard, Strength::Strong]),
                prop::option::of(prop::sample::select(vec![
                    "Order yours at https://shop.example/p/mug-1",
                    "Shop the linen towel",
                ])),
            )
                .prop_map(|(platform, strength, call_to_action)| Context {
                    platform,
                    strength,
                    call_to_action,
                    protected: &["Linen Towel"],
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn links_and_prices_survive_verbatim(text in caption_text(), c in any_context()) {
                let out = humanize(&text, &c);
                for url in crate::domain::caption::urls(&text) {
                    prop_assert!(out.text.contains(url), "{url} lost from {:?}", out.text);
                }
                for fixed in ["$12.50", "9,99 €", "USD 12.50", "Linen Towel"] {
                    prop_assert_eq!(text.matches(fixed).count(), out.text.matches(fixed).count());
                }
            }

            #[test]
            fn any_text_keeps_its_links_and_settles_in_one_pass(
                text in glued_text(),
                c in any_context(),
            ) {
                let once = humanize(&text, &c);
                for url in crate::domain::caption::urls(&text) {
                    prop_assert!(once.text.contains(url), "{url} lost from {:?}", once.text);
                }
                let twice = humanize(&once.text, &c);
                prop_assert_eq!(&twice.text, &once.text);
                prop_assert!(twice.changes.is_empty(), "{:?}", twice.changes);
            }

            #[test]
            fn a_second_pass_changes_nothing(text in caption_text(), c in any_context()) {
                let once = humanize(&text, &c);
                let twice = humanize(&once.text, &c);
                prop_assert_eq!(&twice.text, &once.text);
                prop_assert!(twice.changes.is_empty(), "{:?}", twice.changes);
            }

            #[test]
            fn output_is_never_longer_than_input_and_call_to_action(
                text in caption_text(),
                c in any_context(),
            ) {
                let out = humanize(&text, &c);
                let allowance = c.call_to_action.map_or(0, |s| s.len() + 1);
                prop_assert!(out.text.len() <= text.len() + allowance);
            }

            #[test]
            fn no_double_spaces_are_introduced(text in caption_text(), c in any_context()) {
                let out = humanize(&text, &c);
                prop_assert!(!out.text.contains("  ") || text.contains("  "), "{:?}", out.text);
            }
        }
    }
}

//! Caption lengths counted the way each platform counts them, and the links, hashtags and
//! @mentions found in a caption.
//!
//! The composer form, the htmx live counters and the JSON API all call [`count`], so a counter
//! never disagrees with the check that blocks scheduling. Limits and their units come from
//! `shared/PLATFORMS.md`; where it marks a unit as UNCONFIRMED we pick the stricter reading.

use std::ops::Range;

use serde::Serialize;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;
use unicode_segmentation::UnicodeSegmentation;

use crate::domain::platform::Platform;
use crate::domain::words::thousands;

/// What a platform counts when it measures text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CountUnit {
    /// X's weighted length (twitter-text v3): most Latin text counts 1, CJK and emoji 2, links 23.
    Weighted,
    /// Unicode code points, which is what people mean by characters in almost every case.
    Characters,
    /// UTF-16 code units: emoji and other characters outside the basic plane count 2.
    Utf16,
    /// UTF-8 bytes: accented letters take 2, most emoji 4.
    Bytes,
}

impl CountUnit {
    /// The word for this unit in a message. Weighted and UTF-16 counts are still "characters"
    /// to a person; the platform's own counter shows them that way.
    pub fn noun(self, n: u64) -> &'static str {
        match (self, n) {
            (CountUnit::Bytes, 1) => "byte",
            (CountUnit::Bytes, _) => "bytes",
            (_, 1) => "character",
            (_, _) => "characters",
        }
    }
}

/// A piece of text a platform limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TextField {
    /// The post's text as the platform receives it: X's text, Instagram's caption, Facebook's
    /// message, LinkedIn's commentary, a pin's description, a TikTok video's caption, a YouTube
    /// video's description.
    Caption,
    /// A TikTok photo post keeps its text in a separate, longer description.
    PhotoCaption,
    /// A pin's title or a YouTube video's title.
    Title,
    /// A TikTok photo post's title.
    PhotoTitle,
    /// A pin's destination link.
    Link,
    /// YouTube's tags, counted together.
    Tags,
}

impl TextField {
    /// The word for this field in a message.
    pub fn label(self) -> &'static str {
        match self {
            TextField::Caption | TextField::PhotoCaption => "caption",
            TextField::Title | TextField::PhotoTitle => "title",
            TextField::Link => "link",
            TextField::Tags => "tags",
        }
    }
}

/// How long a field may be, and in what unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TextLimit {
    pub min: usize,
    pub max: usize,
    pub unit: CountUnit,
}

/// X's limit, in its weighted units (twitter-text v3 `maxWeightedTweetLength`).
pub const X_MAX_WEIGHTED: usize = 280;
/// Every link on X counts as this long, however long it is (`transformedURLLength`).
pub const X_URL_LENGTH: usize = 23;
/// Instagram's documented hard limits on hashtags and @tags in one caption (ig-user/media).
pub const INSTAGRAM_MAX_HASHTAGS: usize = 30;
pub const INSTAGRAM_MAX_MENTIONS: usize = 20;
/// Instagram's Dec 2025 guidance: more than this many hashtags may not help (API behaviour
/// UNCONFIRMED in PLATFORMS.md), so we warn rather than refuse.
pub const INSTAGRAM_ADVISED_HASHTAGS: usize = 5;

/// The limit for `field` on `platform`, or `None` when the platform has no such field (X has no
/// title) or isn't somewhere we post (the shops).
pub fn limit(platform: Platform, field: TextField) -> Option<TextLimit> {
    use CountUnit::{Bytes, Characters, Utf16, Weighted};
    use TextField::{Caption, Link, PhotoCaption, PhotoTitle, Tags, Title};
    let (min, max, unit) = match (platform, field) {
        (Platform::X, Caption) => (0, X_MAX_WEIGHTED, Weighted),
        // "Maximum 2200 characters" (ig-user/media). Whether Meta counts UTF-16 units or code
        // points is UNCONFIRMED; UTF-16 is the stricter of the two, so a caption we pass
        // can't be refused for length.
        (Platform::Instagram, Caption) => (0, 2_200, Utf16),
        // Facebook's and LinkedIn's limits come from Postiz's `maxLength`; both count
        // characters in their own composers.
        (Platform::Facebook, Caption) => (0, 63_206, Characters),
        (Platform::Linkedin, Caption) => (0, 3_000, Characters),
        // Pinterest's OpenAPI `maxLength` values; JSON Schema counts code points.
        (Platform::Pinterest, Caption) => (0, 800, Characters),
        (Platform::Pinterest, Title) => (0, 100, Characters),
        (Platform::Pinterest, Link) => (0, 2_048, Characters),
        // TikTok documents its limits in "UTF-16 runes".
        (Platform::Tiktok, Caption) => (0, 2_200, Utf16),
        (Platform::Tiktok, PhotoTitle) => (0, 90, Utf16),
        // The 4000 for photo descriptions is UNCONFIRMED; counted as strictly as the rest.
        (Platform::Tiktok, PhotoCaption) => (0, 4_000, Utf16),
        (Platform::Youtube, Title) => (1, 100, Characters),
        // YouTube measures descriptions in bytes, not characters.
        (Platform::Youtube, Caption) => (0, 5_000, Bytes),
        (Platform::Youtube, Tags) => (0, 500, Characters),
        _ => return None,
    };
    Some(TextLimit { min, max, unit })
}

/// How much of a limit a text uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct CaptionCount {
    pub used: usize,
    pub limit: usize,
    pub unit: CountUnit,
}

impl CaptionCount {
    /// What's left; negative once the text is too long, which is what a live counter shows.
    pub fn remaining(&self) -> i64 {
        self.limit as i64 - self.used as i64
    }

    pub fn is_over(&self) -> bool {
        self.used > self.limit
    }
}

/// Measures `text` for `field` on `platform`, or `None` when the platform has no such field.
///
/// For [`TextField::Tags`] the text is the tags as typed, separated by commas.
pub fn count(platform: Platform, field: TextField, text: &str) -> Option<CaptionCount> {
    let limit = limit(platform, field)?;
    let used = if field == TextField::Tags {
        youtube_tags_length(split_tags(text))
    } else {
        measure(limit.unit, text)
    };
    Some(CaptionCount {
        used,
        limit: limit.max,
        unit: limit.unit,
    })
}

/// "That's 12 characters over X's limit of 280." — or `None` when the text fits.
pub fn over_limit_message(
    platform: Platform,
    field: TextField,
    count: &CaptionCount,
) -> Option<String> {
    if !count.is_over() {
        return None;
    }
    let over = (count.used - count.limit) as u64;
    let what = match field {
        TextField::Caption | TextField::PhotoCaption => String::new(),
        other => format!(" for the {}", other.label()),
    };
    Some(format!(
        "That's {} {} over {}'s limit of {}{what}.",
        thousands(over),
        count.unit.noun(over),
        platform.display_name(),
        with_unit(count.limit as u64, count.unit),
    ))
}

fn with_unit(n: u64, unit: CountUnit) -> String {
    match unit {
        CountUnit::Bytes => format!("{} bytes", thousands(n)),
        _ => thousands(n),
    }
}

/// Measures `text` in `unit`.
pub fn measure(unit: CountUnit, text: &str) -> usize {
    match unit {
        CountUnit::Weighted => x_weighted_length(text),
        CountUnit::Characters => text.chars().count(),
        CountUnit::Utf16 => text.encode_utf16().count(),
        CountUnit::Bytes => text.len(),
    }
}

/// X's weighted length of `text`, following twitter-text v3.
///
/// The text is normalised to NFC first, as X does, so `e` + combining accent counts like `é`.
/// Every link counts [`X_URL_LENGTH`]; a whole emoji sequence (family, flag, keycap, skin tone)
/// counts 2; other code points count 1 in the ranges X weighs 100 and 2 everywhere else.
pub fn x_weighted_length(text: &str) -> usize {
    const SCALE: usize = 100;
    const DEFAULT_WEIGHT: usize = 200;
    let text: String = text.nfc().collect();
    let links = url_spans(&text);
    let mut weighted = 0;
    let mut pos = 0;
    for link in &links {
        weighted += weigh_plain(&text[pos..link.start], DEFAULT_WEIGHT);
        weighted += X_URL_LENGTH * SCALE;
        pos = link.end;
    }
    weighted += weigh_plain(&text[pos..], DEFAULT_WEIGHT);
    weighted / SCALE
}

fn weigh_plain(text: &str, emoji_weight: usize) -> usize {
    text.graphemes(true)
        .map(|g| {
            if is_emoji_sequence(g) {
                emoji_weight
            } else {
                g.chars().map(x_char_weight).sum()
            }
        })
        .sum()
}

/// twitter-text v3 `ranges`: these count 1 (weight 100), everything else 2.
fn x_char_weight(c: char) -> usize {
    match c as u32 {
        0..=4351 | 8192..=8205 | 8208..=8223 | 8242..=8247 => 100,
        _ => 200,
    }
}

/// A grapheme of several code points that X's emoji parser treats as one emoji. Single code
/// points need no special case: every pictograph at or above U+2000 already weighs 2, and bare
/// `©`/`®` aren't emoji to X unless followed by the emoji variation selector.
fn is_emoji_sequence(grapheme: &str) -> bool {
    let mut chars = grapheme.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if chars.next().is_none() {
        return false;
    }
    is_extended_pictographic(first) || is_regional_indicator(first) || grapheme.contains('\u{20E3}')
}

fn is_regional_indicator(c: char) -> bool {
    ('\u{1F1E6}'..='\u{1F1FF}').contains(&c)
}

/// Unicode 16.0 `Extended_Pictographic` (emoji-data.txt), as ranges of code points.
pub(crate) fn is_extended_pictographic(c: char) -> bool {
    const RANGES: &[(u32, u32)] = &[
        (0x00A9, 0x00A9),
        (0x00AE, 0x00AE),
        (0x203C, 0x203C),
        (0x2049, 0x2049),
        (0x2122, 0x2122),
        (0x2139, 0x2139),
        (0x2194, 0x2199),
        (0x21A9, 0x21AA),
        (0x231A, 0x231B),
        (0x2328, 0x2328),
        (0x2388, 0x2388),
        (0x23CF, 0x23CF),
        (0x23E9, 0x23F3),
        (0x23F8, 0x23FA),
        (0x24C2, 0x24C2),
        (0x25AA, 0x25AB),
        (0x25B6, 0x25B6),
        (0x25C0, 0x25C0),
        (0x25FB, 0x25FE),
        (0x2600, 0x2605),
        (0x2607, 0x2612),
        (0x2614, 0x2685),
        (0x2690, 0x2705),
        (0x2708, 0x2712),
        (0x2714, 0x2714),
        (0x2716, 0x2716),
        (0x271D, 0x271D),
        (0x2721, 0x2721),
        (0x2728, 0x2728),
        (0x2733, 0x2734),
        (0x2744, 0x2744),
        (0x2747, 0x2747),
        (0x274C, 0x274C),
        (0x274E, 0x274E),
        (0x2753, 0x2755),
        (0x2757, 0x2757),
        (0x2763, 0x2767),
        (0x2795, 0x2797),
        (0x27A1, 0x27A1),
        (0x27B0, 0x27B0),
        (0x27BF, 0x27BF),
        (0x2934, 0x2935),
        (0x2B05, 0x2B07),
        (0x2B1B, 0x2B1C),
        (0x2B50, 0x2B50),
        (0x2B55, 0x2B55),
        (0x3030, 0x3030),
        (0x303D, 0x303D),
        (0x3297, 0x3297),
        (0x3299, 0x3299),
        (0x1F000, 0x1F0FF),
        (0x1F10D, 0x1F10F),
        (0x1F12F, 0x1F12F),
        (0x1F16C, 0x1F171),
        (0x1F17E, 0x1F17F),
        (0x1F18E, 0x1F18E),
        (0x1F191, 0x1F19A),
        (0x1F1AD, 0x1F1E5),
        (0x1F201, 0x1F20F),
        (0x1F21A, 0x1F21A),
        (0x1F22F, 0x1F22F),
        (0x1F232, 0x1F23A),
        (0x1F23C, 0x1F23F),
        (0x1F249, 0x1F3FA),
        (0x1F400, 0x1F53D),
        (0x1F546, 0x1F64F),
        (0x1F680, 0x1F6FF),
        (0x1F774, 0x1F77F),
        (0x1F7D5, 0x1F7FF),
        (0x1F80C, 0x1F80F),
        (0x1F848, 0x1F84F),
        (0x1F85A, 0x1F85F),
        (0x1F888, 0x1F88F),
        (0x1F8AE, 0x1F8FF),
        (0x1F90C, 0x1F93A),
        (0x1F93C, 0x1F945),
        (0x1F947, 0x1FAFF),
        (0x1FC00, 0x1FFFD),
    ];
    let c = c as u32;
    RANGES
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// The links in `text`, with or without a scheme (`https://shop.example/a`, `example.com/x`).
pub fn urls(text: &str) -> Vec<&str> {
    url_spans(text).into_iter().map(|r| &text[r]).collect()
}

/// The hashtags in `text`, without the `#`, in order, repeats included (Instagram's limit counts
/// every hashtag written). A `#` inside a link (`example.com/page#top`) isn't a hashtag, nor is
/// one made only of digits (`#1`).
pub fn hashtags(text: &str) -> Vec<&str> {
    let links = url_spans(text);
    tagged_words(text, &['#', '＃'], false, &links, |prev| {
        !(prev.is_alphanumeric()
            || is_combining_mark(prev)
            || matches!(prev, '_' | '&' | '#' | '＃'))
    })
    .into_iter()
    // `#1` and the keycap emoji `#️⃣` aren't hashtags: a tag needs a letter.
    .filter(|tag| tag.chars().any(char::is_alphabetic))
    .collect()
}

/// The @mentions in `text`, without the `@`. An address like `ann@example.com` isn't a mention.
pub fn mentions(text: &str) -> Vec<&str> {
    let links = url_spans(text);
    tagged_words(text, &['@', '＠'], true, &links, |prev| {
        !(prev.is_alphanumeric()
            || is_combining_mark(prev)
            || matches!(
                prev,
                '_' | '!' | '#' | '$' | '%' | '&' | '*' | '@' | '＠' | '.'
            ))
    })
    .into_iter()
    // Usernames may contain dots (Instagram) but a dot at the end ends the sentence instead.
    .map(|name| name.trim_end_matches('.'))
    .filter(|name| !name.is_empty())
    .collect()
}

/// Words that follow one of `markers`, where the character before the marker passes
/// `boundary_ok`, and the marker isn't inside a link. Dots belong to the word only when
/// `dots` is set: usernames have them (`@studio.kiln`), hashtags end at one.
fn tagged_words<'t>(
    text: &'t str,
    markers: &[char],
    dots: bool,
    links: &[Range<usize>],
    boundary_ok: impl Fn(char) -> bool,
) -> Vec<&'t str> {
    let is_word_char = |c: char| {
        c.is_alphanumeric()
            || is_combining_mark(c)
            || c == '_'
            || c == '\u{200C}'
            || (dots && c == '.')
    };
    let mut found = Vec::new();
    let mut prev: Option<char> = None;
    let mut iter = text.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let starts_here = markers.contains(&c)
            && prev.is_none_or(&boundary_ok)
            && !links.iter().any(|l| l.contains(&i));
        prev = Some(c);
        if !starts_here {
            continue;
        }
        let start = i + c.len_utf8();
        let mut end = start;
        while let Some(&(j, d)) = iter.peek() {
            if !is_word_char(d) {
                break;
            }
            end = j + d.len_utf8();
            prev = Some(d);
            iter.next();
        }
        if end > start {
            found.push(&text[start..end]);
        }
    }
    found
}

/// Byte ranges of the links in `text`.
///
/// A reasonable approximation of twitter-text's extractor rather than a port: a link starts at a
/// word boundary, either with `http://`/`https://` or as a bare ASCII domain whose last label is
/// a known top-level domain (any two-letter country code, or a common generic one), and may
/// carry a port and a path. Trailing punctuation and unbalanced closing brackets are left out,
/// so "see example.com." links `example.com`.
pub(crate) fn url_spans(text: &str) -> Vec<Range<usize>> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let at_boundary = i == 0 || {
            let p = chars[i - 1].1;
            !(p.is_alphanumeric()
                || matches!(p, '@' | '＠' | '#' | '＃' | '$' | '_' | '-' | '.' | '/'))
        };
        if at_boundary && let Some(end) = match_url(text, &chars, i) {
            let start_byte = chars[i].0;
            let end_byte = chars.get(end).map_or(text.len(), |&(b, _)| b);
            spans.push(start_byte..end_byte);
            i = end;
            continue;
        }
        i += 1;
    }
    spans
}

/// If a link starts at char index `i`, the char index just past its end.
fn match_url(text: &str, chars: &[(usize, char)], i: usize) -> Option<usize> {
    let rest = &text[chars[i].0..];
    let scheme_len = ["https://", "http://"]
        .iter()
        .find(|s| {
            rest.get(..s.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(s))
        })
        .map(|s| s.len());
    let has_scheme = scheme_len.is_some();
    let mut j = i + scheme_len.unwrap_or(0);

    // The host: labels separated by dots.
    let label_char = |c: char| {
        if has_scheme {
            c.is_alphanumeric() || c == '-' || c == '_'
        } else {
            c.is_ascii_alphanumeric() || c == '-' || c == '_'
        }
    };
    let mut labels: Vec<(usize, usize)> = Vec::new();
    loop {
        let start = j;
        while j < chars.len() && label_char(chars[j].1) {
            j += 1;
        }
        if j == start {
            // An empty label: a dot we took ends the sentence rather than continuing the host.
            break;
        }
        labels.push((start, j));
        if j < chars.len() && chars[j].1 == '.' {
            j += 1;
        } else {
            break;
        }
    }
    if labels.len() < 2 {
        return None;
    }
    let (tld_start, tld_end) = labels[labels.len() - 1];
    let tld: String = chars[tld_start..tld_end].iter().map(|&(_, c)| c).collect();
    let tld_ok = if has_scheme {
        tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic)
    } else {
        is_known_tld(&tld)
    };
    if !tld_ok
        || labels
            .iter()
            .any(|&(s, e)| chars[s].1 == '-' || chars[e - 1].1 == '-')
    {
        return None;
    }
    let host_end = tld_end;
    // A bare domain glued to an address (`example.com@…`) isn't a link.
    if !has_scheme && chars.get(host_end).is_some_and(|&(_, c)| c == '@') {
        return None;
    }
    let mut end = host_end;

    // Port.
    if chars.get(end).is_some_and(|&(_, c)| c == ':') {
        let digits = chars[end + 1..]
            .iter()
            .take_while(|&&(_, c)| c.is_ascii_digit())
            .count();
        if digits > 0 {
            end += 1 + digits;
        }
    }

    // Path, query and fragment: everything up to whitespace, less trailing punctuation.
    if chars
        .get(end)
        .is_some_and(|&(_, c)| matches!(c, '/' | '?' | '#'))
    {
        let mut k = end;
        while k < chars.len()
            && !chars[k].1.is_whitespace()
            && !matches!(chars[k].1, '<' | '>' | '"')
        {
            k += 1;
        }
        while k > end + 1 {
            let c = chars[k - 1].1;
            let trailing_punct = matches!(c, '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '*' | '…');
            let unbalanced = match c {
                ')' => unbalanced(&chars[end..k], '(', ')'),
                ']' => unbalanced(&chars[end..k], '[', ']'),
                '}' => unbalanced(&chars[end..k], '{', '}'),
                _ => false,
            };
            if trailing_punct || unbalanced {
                k -= 1;
            } else {
                break;
            }
        }
        // A lone "/" or "?" after the host still belongs to the link.
        end = k;
    }
    Some(end)
}

fn unbalanced(chars: &[(usize, char)], open: char, close: char) -> bool {
    let opens = chars.iter().filter(|&&(_, c)| c == open).count();
    let closes = chars.iter().filter(|&&(_, c)| c == close).count();
    closes > opens
}

/// Whether a bare `example.<tld>` should count as a link.
///
/// Every two-letter ASCII label is taken as a country code: there are ~250 of them, X links
/// them all (`main.rs`, `shop.de`), and the few two-letter labels that aren't real countries
/// hardly occur in captions.
fn is_known_tld(tld: &str) -> bool {
    const GENERIC: &[&str] = &[
        "com",
        "net",
        "org",
        "info",
        "biz",
        "edu",
        "gov",
        "mil",
        "int",
        "name",
        "pro",
        "mobi",
        "asia",
        "tel",
        "travel",
        "jobs",
        "museum",
        "aero",
        "coop",
        "app",
        "dev",
        "page",
        "shop",
        "store",
        "online",
        "site",
        "website",
        "xyz",
        "top",
        "club",
        "blog",
        "art",
        "design",
        "tech",
        "news",
        "link",
        "live",
        "life",
        "world",
        "today",
        "space",
        "email",
        "cloud",
        "studio",
        "agency",
        "media",
        "digital",
        "social",
        "market",
        "boutique",
        "fashion",
        "clothing",
        "jewelry",
        "gallery",
        "photo",
        "photography",
        "photos",
        "shopping",
        "sale",
        "deals",
        "fun",
        "games",
        "global",
        "group",
        "guru",
        "house",
        "land",
        "love",
        "ltd",
        "llc",
        "works",
        "wiki",
        "academy",
        "eco",
        "bio",
        "one",
        "plus",
        "style",
        "team",
        "zone",
        "company",
        "center",
        "network",
        "systems",
        "solutions",
        "services",
        "support",
        "tools",
        "expert",
        "events",
        "community",
        "coffee",
        "cafe",
        "bar",
        "pizza",
        "restaurant",
        "wine",
        "beer",
        "vegan",
        "organic",
        "garden",
        "pet",
        "pets",
        "dog",
        "horse",
        "fitness",
        "yoga",
        "health",
        "care",
        "beauty",
        "hair",
        "makeup",
        "skin",
        "spa",
        "salon",
        "tattoo",
        "shoes",
        "bike",
        "auto",
        "car",
        "cars",
        "rent",
        "estate",
        "homes",
        "property",
        "realty",
        "build",
        "tips",
        "guide",
        "how",
        "wtf",
        "lol",
        "gay",
        "kids",
        "family",
        "baby",
        "green",
        "blue",
        "red",
        "pink",
        "black",
        "gold",
        "london",
        "berlin",
        "paris",
        "nyc",
        "tokyo",
        "amsterdam",
        "wien",
        "koeln",
        "hamburg",
        "bayern",
        "nrw",
        "swiss",
        "irish",
        "scot",
        "wales",
        "cymru",
        "eus",
        "cat",
        "gal",
        "quebec",
        "vegas",
        "miami",
        "boston",
        "africa",
        "lat",
    ];
    let lower = tld.to_ascii_lowercase();
    (lower.len() == 2 && lower.chars().all(|c| c.is_ascii_alphabetic()))
        || GENERIC.contains(&lower.as_str())
}

/// Splits tags typed as `handmade, pottery, gift ideas` into trimmed, non-empty tags.
pub fn split_tags(raw: &str) -> Vec<&str> {
    raw.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect()
}

/// How YouTube counts tags against its 500-character limit: the tags' characters, a comma
/// between each two, and two more for a tag containing a space, which YouTube stores in quotes.
pub fn youtube_tags_length<S: AsRef<str>>(tags: impl IntoIterator<Item = S>) -> usize {
    let mut total = 0;
    let mut n: usize = 0;
    for tag in tags {
        let tag = tag.as_ref();
        total += tag.chars().count();
        if tag.contains(' ') {
            total += 2;
        }
        n += 1;
    }
    total + n.saturating_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_weighs_latin_as_one_and_cjk_as_two() {
        for (text, want) in [
            ("", 0),
            ("Hello", 5),
            ("Grüße aus Köln", 14),
            ("日本語", 6),
            ("한국어", 6),
            ("Привет", 6),
            ("مرحبا", 5),
            // U+2019 is in 8208..=8223, U+2026 is not.
            ("it’s", 4),
            ("wait…", 6),
        ] {
            assert_eq!(x_weighted_length(text), want, "{text:?}");
        }
    }

    #[test]
    fn x_counts_a_whole_emoji_sequence_as_two() {
        for (text, want) in [
            ("😀", 2),
            ("\u{1F44D}\u{1F3FD}", 2),
            (
                "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}\u{200D}\u{1F466}",
                2,
            ),
            ("🇩🇪", 2),
            (
                "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}",
                2,
            ),
            ("1\u{FE0F}\u{20E3}", 2),
            ("\u{2764}\u{FE0F}", 2),
            ("©", 1),
            ("\u{A9}\u{FE0F}", 2),
            ("Sale 🎉🎉", 9),
        ] {
            assert_eq!(x_weighted_length(text), want, "{text:?}");
        }
    }

    #[test]
    fn x_normalises_to_nfc_before_counting() {
        assert_eq!(x_weighted_length("e\u{0301}"), x_weighted_length("é"));
        assert_eq!(x_weighted_length("e\u{0301}"), 1);
    }

    #[test]
    fn x_counts_every_link_as_twenty_three() {
        for (text, want) in [
            ("https://example.com", 23),
            ("shop.de", 23),
            ("example.com/x", 23),
            (
                "New mugs https://my-shop.example.com/products/blue-mug?variant=123456789 !",
                9 + 23 + 2,
            ),
            ("a.b", 3),
            ("file.txt", 8),
            ("see example.com.", 4 + 23 + 1),
            ("two: a.io and b.io", 5 + 23 + 5 + 23),
        ] {
            assert_eq!(x_weighted_length(text), want, "{text:?}");
        }
    }

    #[test]
    fn links_are_found_with_and_without_a_scheme() {
        for (text, want) in [
            (
                "Visit https://example.com/a.",
                vec!["https://example.com/a"],
            ),
            ("visit example.com/x today", vec!["example.com/x"]),
            ("(see www.example.org)", vec!["www.example.org"]),
            (
                "wiki (https://en.wikipedia.org/wiki/Mug_(cup))",
                vec!["https://en.wikipedia.org/wiki/Mug_(cup)"],
            ),
            ("HTTP://EXAMPLE.COM", vec!["HTTP://EXAMPLE.COM"]),
            (
                "localhost:8080 and shop.store:8443/x",
                vec!["shop.store:8443/x"],
            ),
            ("mail ann@example.com", vec![]),
            ("version 1.2.3", vec![]),
            ("e.g. this", vec![]),
            ("good.morning", vec![]),
            (
                "https://café.example/menü",
                vec!["https://café.example/menü"],
            ),
        ] {
            assert_eq!(urls(text), want, "{text:?}");
        }
    }

    #[test]
    fn hashtags_are_unicode_aware_and_skip_links() {
        for (text, want) in [
            ("#handmade #pottery", vec!["handmade", "pottery"]),
            (
                "Neu: #Keramik, #Geschenkidee!",
                vec!["Keramik", "Geschenkidee"],
            ),
            ("#日本 #café #कला", vec!["日本", "café", "कला"]),
            ("we're #1 #top10", vec!["top10"]),
            ("example.com/page#section", vec![]),
            ("https://example.com/#top #real", vec!["real"]),
            ("a#b", vec![]),
            ("##double", vec![]),
            ("#\u{FE0F}\u{20E3} keycap", vec![]),
            ("＃fullwidth", vec!["fullwidth"]),
            ("#sale.", vec!["sale"]),
        ] {
            assert_eq!(hashtags(text), want, "{text:?}");
        }
    }

    #[test]
    fn mentions_skip_email_addresses_and_links() {
        for (text, want) in [
            (
                "thanks @studio.kiln and @ann_b!",
                vec!["studio.kiln", "ann_b"],
            ),
            ("write to ann@example.com", vec![]),
            ("medium.com/@writer", vec![]),
            ("hi @Zoë.", vec!["Zoë"]),
            ("@ alone", vec![]),
        ] {
            assert_eq!(mentions(text), want, "{text:?}");
        }
    }

    #[test]
    fn each_platform_counts_in_its_own_unit() {
        let text = "Mug 😀 é";
        for (platform, field, used, limit, unit) in [
            (Platform::X, TextField::Caption, 8, 280, CountUnit::Weighted),
            (
                Platform::Instagram,
                TextField::Caption,
                8,
                2_200,
                CountUnit::Utf16,
            ),
            (
                Platform::Facebook,
                TextField::Caption,
                7,
                63_206,
                CountUnit::Characters,
            ),
            (
                Platform::Linkedin,
                TextField::Caption,
                7,
                3_000,
                CountUnit::Characters,
            ),
            (
                Platform::Pinterest,
                TextField::Caption,
                7,
                800,
                CountUnit::Characters,
            ),
            (
                Platform::Pinterest,
                TextField::Title,
                7,
                100,
                CountUnit::Characters,
            ),
            (
                Platform::Pinterest,
                TextField::Link,
                7,
                2_048,
                CountUnit::Characters,
            ),
            (
                Platform::Tiktok,
                TextField::Caption,
                8,
                2_200,
                CountUnit::Utf16,
            ),
            (
                Platform::Tiktok,
                TextField::PhotoTitle,
                8,
                90,
                CountUnit::Utf16,
            ),
            (
                Platform::Tiktok,
                TextField::PhotoCaption,
                8,
                4_000,
                CountUnit::Utf16,
            ),
            (
                Platform::Youtube,
                TextField::Title,
                7,
                100,
                CountUnit::Characters,
            ),
            (
                Platform::Youtube,
                TextField::Caption,
                11,
                5_000,
                CountUnit::Bytes,
            ),
        ] {
            let got = count(platform, field, text).unwrap();
            assert_eq!(
                got,
                CaptionCount { used, limit, unit },
                "{platform} {field:?}"
            );
        }
        assert_eq!(count(Platform::X, TextField::Title, "x"), None);
        assert_eq!(count(Platform::Shopify, TextField::Caption, "x"), None);
    }

    #[test]
    fn remaining_goes_negative_once_over() {
        let long = "a".repeat(292);
        let c = count(Platform::X, TextField::Caption, &long).unwrap();
        assert_eq!(c.remaining(), -12);
        assert!(c.is_over());
        assert_eq!(
            over_limit_message(Platform::X, TextField::Caption, &c).unwrap(),
            "That's 12 characters over X's limit of 280."
        );
        let fits = count(Platform::X, TextField::Caption, "hi").unwrap();
        assert_eq!(fits.remaining(), 278);
        assert_eq!(
            over_limit_message(Platform::X, TextField::Caption, &fits),
            None
        );
    }

    #[test]
    fn over_limit_messages_name_the_unit_and_field() {
        let desc = "ü".repeat(2_501);
        let c = count(Platform::Youtube, TextField::Caption, &desc).unwrap();
        assert_eq!(
            over_limit_message(Platform::Youtube, TextField::Caption, &c).unwrap(),
            "That's 2 bytes over YouTube's limit of 5,000 bytes."
        );
        let title = "t".repeat(101);
        let c = count(Platform::Pinterest, TextField::Title, &title).unwrap();
        assert_eq!(
            over_limit_message(Platform::Pinterest, TextField::Title, &c).unwrap(),
            "That's 1 character over Pinterest's limit of 100 for the title."
        );
    }

    #[test]
    fn youtube_tags_count_commas_and_quotes() {
        for (raw, want) in [
            ("", 0),
            ("mug", 3),
            ("mug, pottery", 3 + 1 + 7),
            ("gift ideas, mug", 10 + 2 + 1 + 3),
            (" , mug ,, ", 3),
        ] {
            assert_eq!(
                count(Platform::Youtube, TextField::Tags, raw).unwrap().used,
                want,
                "{raw:?}"
            );
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Text mixing the things the scanners look for, so they meet edge cases often.
        fn caption_text() -> impl Strategy<Value = String> {
            proptest::collection::vec(
                prop_oneof![
                    Just("https://".to_string()),
                    Just("example.com".to_string()),
                    Just("/path".to_string()),
                    Just("#".to_string()),
                    Just("@".to_string()),
                    Just(".".to_string()),
                    Just(" ".to_string()),
                    Just("\u{200D}".to_string()),
                    Just("\u{FE0F}".to_string()),
                    Just("\u{20E3}".to_string()),
                    Just("👍🏽".to_string()),
                    Just("🇩🇪".to_string()),
                    Just("e\u{301}".to_string()),
                    "\\PC{0,4}",
                ],
                0..24,
            )
            .prop_map(|parts| parts.concat())
        }

        proptest! {
            #[test]
            fn scanning_any_text_never_panics_and_finds_only_real_substrings(text in caption_text()) {
                let _ = x_weighted_length(&text);
                for found in urls(&text).into_iter().chain(hashtags(&text)).chain(mentions(&text)) {
                    prop_assert!(!found.is_empty());
                    prop_assert!(text.contains(found));
                }
                for tag in hashtags(&text) {
                    prop_assert!(!tag.contains('#') && !tag.contains(' '));
                }
            }

            #[test]
            fn utf16_and_bytes_never_count_fewer_than_characters(text in caption_text()) {
                let chars = measure(CountUnit::Characters, &text);
                prop_assert!(measure(CountUnit::Utf16, &text) >= chars);
                prop_assert!(measure(CountUnit::Bytes, &text) >= chars);
            }

            #[test]
            fn ascii_without_links_weighs_exactly_its_character_count(text in "[ -~]{0,80}") {
                prop_assume!(urls(&text).is_empty());
                prop_assert_eq!(x_weighted_length(&text), text.chars().count());
            }

            #[test]
            fn ascii_never_weighs_less_than_its_characters_unless_a_long_link_is_shortened(
                text in "[ -~]{0,80}",
            ) {
                let saved: usize = urls(&text)
                    .iter()
                    .map(|u| u.chars().count().saturating_sub(X_URL_LENGTH))
                    .sum();
                prop_assert!(x_weighted_length(&text) + saved >= text.chars().count());
            }

            #[test]
            fn weights_add_up_across_a_space(
                a in "[a-zA-Z0-9 日本語é,!?👍🏽]{0,30}",
                b in "[a-zA-Z0-9 日本語é,!?👍🏽]{0,30}",
            ) {
                let joined = format!("{a} {b}");
                prop_assert_eq!(
                    x_weighted_length(&joined),
                    x_weighted_length(&a) + 1 + x_weighted_length(&b)
                );
            }

            #[test]
            fn every_link_weighs_23_however_long_it_is(
                before in "[a-zA-Z 日本語]{0,20}",
                host in "[a-z]{1,30}",
                tld in prop::sample::select(vec!["com", "de", "io", "shop"]),
                path in "(/[a-z0-9-]{1,40}){0,3}",
                scheme in prop::sample::select(vec!["", "http://", "https://"]),
                after in "[a-zA-Z 日本語]{0,20}",
            ) {
                let link = format!("{scheme}{host}.{tld}{path}");
                let text = format!("{before} {link} {after}");
                prop_assert_eq!(urls(&text), vec![link.as_str()]);
                prop_assert_eq!(
                    x_weighted_length(&text),
                    x_weighted_length(&before) + 1 + X_URL_LENGTH + 1 + x_weighted_length(&after)
                );
            }

            #[test]
            fn text_without_links_weighs_between_one_and_two_per_character(text in "[a-zA-Z0-9 日本語é,!?]{0,60}") {
                prop_assume!(urls(&text).is_empty());
                let n = text.chars().count();
                let w = x_weighted_length(&text);
                prop_assert!(w >= n && w <= 2 * n);
            }
        }
    }
}

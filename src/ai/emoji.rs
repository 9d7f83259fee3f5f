//! "Add emoji" in the AI Studio: emoji that illustrate the caption's own words (or the product's
//! title and tags), placed at the end of the sentence they illustrate and capped per network.
//!
//! Placement rule: an emoji goes right after the sentence's closing punctuation (and any closing
//! quote or bracket), with one space before it: "Meet our coffee mug. ☕". A sentence without
//! closing punctuation gets it at the end of its line: "Price: $19.99 🏷️". Each sentence gets at
//! most one. A sentence is skipped when it contains a link, when it ends in `:` (a call to action
//! introducing the link below it), when it already ends in an emoji or sits on a line that does,
//! and when its line is only hashtags, links or @mentions; the emoji therefore never lands inside
//! a link, a hashtag, a mention or a number.
//!
//! What goes where: each sentence takes the first of its own words that suggests an emoji not
//! yet in the text; then words of the product's title and tags suggest emoji for a sentence that
//! names the product and has none yet; when nothing was placed, the tone's fallback goes on the
//! first sentence that can take one.
//!
//! Cap rule: the emoji already in the text plus the added ones never exceed
//! `authenticity::emoji_cap(platform, Strength::Standard)`, and one call adds at most
//! [`MAX_PER_CALL`]. The shops have no cap (`None`) and get no emoji. Emoji are counted the way
//! the Human Authenticity Engine counts them (every grapheme, protected or not, so we never
//! count fewer than it does), so running `humanize` on the result never trims what we added.
//!
//! Every added emoji is inserted as `" " + emoji`; removing those gives back the input exactly.

use std::ops::Range;

use unicode_segmentation::UnicodeSegmentation;

use crate::ai::builtin::{ProductFacts, Tone};
use crate::domain::authenticity::{Strength, emoji_cap};
use crate::domain::caption::{hashtags, is_extended_pictographic, mentions, url_spans};
use crate::domain::platform::Platform;

/// The caption with emoji added, and which ones (in the order they appear).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Added {
    pub text: String,
    pub emoji: Vec<String>,
}

/// The most emoji one click of "Add emoji" adds, whatever room the cap leaves.
pub const MAX_PER_CALL: usize = 3;

/// Word → emoji, matched case-insensitively on whole words, plain or with `-s`/`-es`.
const KEYWORDS: &[(&str, &str)] = &[
    ("coffee", "☕"),
    ("espresso", "☕"),
    ("latte", "☕"),
    ("mug", "☕"),
    ("tea", "🍵"),
    ("matcha", "🍵"),
    ("candle", "🕯️"),
    ("gift", "🎁"),
    ("new", "✨"),
    ("sale", "🏷️"),
    ("deal", "🏷️"),
    ("discount", "🏷️"),
    ("love", "❤️"),
    ("heart", "❤️"),
    ("summer", "☀️"),
    ("sunshine", "☀️"),
    ("winter", "❄️"),
    ("snow", "❄️"),
    ("flower", "🌸"),
    ("floral", "🌸"),
    ("bouquet", "💐"),
    ("wedding", "💐"),
    ("plant", "🌿"),
    ("botanical", "🌿"),
    ("book", "📚"),
    ("notebook", "📓"),
    ("journal", "📓"),
    ("shirt", "👕"),
    ("tee", "👕"),
    ("dress", "👗"),
    ("shoe", "👟"),
    ("sneaker", "👟"),
    ("jewelry", "💍"),
    ("jewellery", "💍"),
    ("ring", "💍"),
    ("necklace", "💍"),
    ("bracelet", "💍"),
    ("earring", "💍"),
    ("soap", "🛁"),
    ("bath", "🛁"),
    ("dog", "🐶"),
    ("puppy", "🐶"),
    ("cat", "🐱"),
    ("kitten", "🐱"),
    ("baby", "👶"),
    ("home", "🏡"),
    ("handmade", "🧵"),
    ("sewing", "🧵"),
    ("yarn", "🧶"),
    ("knit", "🧶"),
    ("wool", "🧶"),
    ("art", "🎨"),
    ("print", "🎨"),
    ("painting", "🎨"),
    ("music", "🎵"),
    ("vinyl", "🎵"),
    ("chocolate", "🍫"),
    ("cake", "🎂"),
    ("birthday", "🎂"),
    ("cookie", "🍪"),
    ("bread", "🍞"),
    ("bakery", "🍞"),
    ("honey", "🍯"),
    ("wine", "🍷"),
    ("cheese", "🧀"),
    ("shipping", "📦"),
    ("delivery", "📦"),
    ("parcel", "📦"),
    ("shop", "🛍️"),
    ("link", "🛍️"),
    ("eco", "♻️"),
    ("recycled", "♻️"),
    ("sustainable", "♻️"),
    ("spring", "🌷"),
    ("autumn", "🍂"),
    ("christmas", "🎄"),
    ("halloween", "🎃"),
    ("party", "🎉"),
    ("beach", "🌊"),
    ("ocean", "🌊"),
    ("travel", "🧳"),
    ("camera", "📷"),
    ("photo", "📷"),
    ("pottery", "🏺"),
    ("ceramic", "🏺"),
    ("wooden", "🪵"),
    ("bag", "👜"),
    ("tote", "👜"),
    ("hat", "🧢"),
    ("sock", "🧦"),
    ("watch", "⌚"),
    ("skincare", "🧴"),
    ("toy", "🧸"),
    ("puzzle", "🧩"),
    ("star", "⭐"),
    ("thanks", "🙏"),
];

/// Words that look like a keyword's plural but mean something else.
const NOT_PLURALS: &[&str] = &["news"];

/// The emoji a tone falls back on when no word suggests one; professional posts get none.
fn fallback(tone: Tone) -> Option<&'static str> {
    match tone {
        Tone::Friendly => Some("😊"),
        Tone::Playful => Some("🎉"),
        Tone::Professional => None,
        Tone::Luxury => Some("✨"),
        Tone::Urgent => Some("⏰"),
    }
}

/// The emoji a single word suggests, if any.
pub fn emoji_for_word(word: &str) -> Option<&'static str> {
    let lower = word.to_lowercase();
    // "coffee's" is one word to Unicode's word boundaries.
    let lower = lower
        .strip_suffix("'s")
        .or_else(|| lower.strip_suffix("’s"))
        .unwrap_or(&lower);
    if NOT_PLURALS.contains(&lower) {
        return None;
    }
    KEYWORDS.iter().find_map(|&(key, emoji)| {
        let plural = lower
            .strip_prefix(key)
            .is_some_and(|rest| rest == "s" || rest == "es");
        (lower == key || plural).then_some(emoji)
    })
}

/// Whether a grapheme is an emoji, by the same test the Human Authenticity Engine's emoji rule
/// uses: a pictograph shown as one (not bare `©`, `™` or text arrows), a flag, or a keycap.
pub fn is_emoji(grapheme: &str) -> bool {
    let Some(first) = grapheme.chars().next() else {
        return false;
    };
    let presented = grapheme.contains('\u{FE0F}') || first as u32 >= 0x2300;
    (is_extended_pictographic(first) && presented)
        || ('\u{1F1E6}'..='\u{1F1FF}').contains(&first)
        || grapheme.contains('\u{20E3}')
}

/// How many emoji `text` holds, counted as the authenticity engine counts them (but including
/// any inside links or hashtags, so never fewer).
pub fn count(text: &str) -> usize {
    text.graphemes(true).filter(|g| is_emoji(g)).count()
}

/// Adds emoji that fit the words of `text` (and the product), where they fit (after the
/// sentence or line they illustrate), never past the network's cap counting those already there.
pub fn add(
    text: &str,
    platform: Platform,
    product: Option<&ProductFacts<'_>>,
    tone: Tone,
) -> Added {
    let unchanged = || Added {
        text: text.to_owned(),
        emoji: Vec::new(),
    };
    let Some(cap) = emoji_cap(platform, Strength::Standard) else {
        return unchanged();
    };
    let room = cap.saturating_sub(count(text)).min(MAX_PER_CALL);
    if room == 0 {
        return unchanged();
    }

    let sentences = sentences(text);
    let blocked = blocked_spans(text);
    // (sentence index, emoji), in order of preference.
    let mut chosen: Vec<(usize, &'static str)> = Vec::new();
    let usable = |emoji: &str, chosen: &[(usize, &str)]| {
        !chosen.iter().any(|&(_, e)| e == emoji) && !already_in(text, emoji)
    };

    // The caption's own words first: each open sentence takes the first word that suggests a
    // new emoji.
    for (i, s) in sentences.iter().enumerate() {
        if !s.open {
            continue;
        }
        let found = words(text, s.range.clone())
            .filter(|w| !blocked.iter().any(|b| b.start < w.end && w.start < b.end))
            .filter_map(|w| emoji_for_word(&text[w]))
            .find(|e| usable(e, &chosen));
        if let Some(emoji) = found {
            chosen.push((i, emoji));
        }
    }

    // Then the product's title and tags, on a sentence naming the product that has none yet;
    // on any other sentence they would illustrate nothing.
    if let Some(p) = product {
        let title = p.title.trim().to_lowercase();
        let sources = std::iter::once(p.title).chain(p.tags.iter().map(String::as_str));
        for source in sources {
            for range in words(source, 0..source.len()) {
                let Some(emoji) = emoji_for_word(&source[range]) else {
                    continue;
                };
                if !usable(emoji, &chosen) {
                    continue;
                }
                let free = |i: &usize| sentences[*i].open && !chosen.iter().any(|c| c.0 == *i);
                let naming = (0..sentences.len()).filter(free).find(|&i| {
                    !title.is_empty()
                        && text[sentences[i].range.clone()]
                            .to_lowercase()
                            .contains(&title)
                });
                if let Some(i) = naming {
                    chosen.push((i, emoji));
                }
            }
        }
    }

    if chosen.is_empty()
        && let Some(emoji) = fallback(tone).filter(|e| !already_in(text, e))
        && let Some(i) = sentences.iter().position(|s| s.open)
    {
        chosen.push((i, emoji));
    }

    chosen.truncate(room);
    chosen.sort_by_key(|&(i, _)| sentences[i].at);
    let mut out = String::with_capacity(text.len() + chosen.len() * 8);
    let mut pos = 0;
    for &(i, emoji) in &chosen {
        let at = sentences[i].at;
        out.push_str(&text[pos..at]);
        out.push(' ');
        out.push_str(emoji);
        pos = at;
    }
    out.push_str(&text[pos..]);
    Added {
        text: out,
        emoji: chosen.iter().map(|&(_, e)| e.to_owned()).collect(),
    }
}

/// Whether `emoji` (with or without its variation selector) is already in `text`.
fn already_in(text: &str, emoji: &str) -> bool {
    let bare = emoji.trim_end_matches('\u{FE0F}');
    text.contains(bare)
}

/// A sentence of the caption, and where an emoji for it would go.
#[derive(Debug)]
struct Sentence {
    range: Range<usize>,
    /// Just past its closing punctuation, or the end of its line's text.
    at: usize,
    /// Whether an emoji may be added to it.
    open: bool,
}

/// Links, hashtags and @mentions: their words suggest nothing, and nothing goes inside them.
fn blocked_spans(text: &str) -> Vec<Range<usize>> {
    let mut spans = url_spans(text);
    for part in hashtags(text).into_iter().chain(mentions(text)) {
        let start = part.as_ptr() as usize - text.as_ptr() as usize;
        // Include the `#` or `@` before it.
        let marker = text[..start].chars().next_back().map_or(0, char::len_utf8);
        spans.push(start - marker..start + part.len());
    }
    spans
}

/// Byte ranges of the words (runs of letters and digits) of `text[range]`.
fn words(text: &str, range: Range<usize>) -> impl Iterator<Item = Range<usize>> + '_ {
    let offset = range.start;
    text[range]
        .split_word_bound_indices()
        .filter(|(_, w)| w.chars().any(char::is_alphabetic))
        .map(move |(i, w)| offset + i..offset + i + w.len())
}

fn ends_with_emoji(s: &str) -> bool {
    s.trim_end()
        .graphemes(true)
        .next_back()
        .is_some_and(is_emoji)
}

/// The sentences of `text`, line by line, with whether each can take an emoji.
fn sentences(text: &str) -> Vec<Sentence> {
    let links = url_spans(text);
    let blocked = blocked_spans(text);
    let mut out = Vec::new();
    let mut line_start = 0;
    for line in text.split('\n') {
        let line_end = line_start + line.len();
        let content = line.trim_end();
        let only_tags_or_links = content.split_whitespace().all(|token| {
            let start = token.as_ptr() as usize - text.as_ptr() as usize;
            let end = start + token.len();
            blocked.iter().any(|b| b.start <= start && end <= b.end)
        });
        let line_open =
            !content.trim().is_empty() && !only_tags_or_links && !ends_with_emoji(content);

        for r in super::line_sentences(text, &(line_start..line_end)) {
            out.push(Sentence {
                at: r.end,
                range: r,
                open: line_open,
            });
        }
        line_start = line_end + 1;
    }

    for s in &mut out {
        let body = &text[s.range.clone()];
        let trimmed = body.trim_end_matches(['.', '!', '?', '…', '"', '\'', '”', '’', ')', ']']);
        let has_link = links
            .iter()
            .any(|l| l.start < s.range.end && s.range.start < l.end);
        let inside = blocked.iter().any(|b| b.start < s.at && s.at < b.end);
        // "Get yours here:" introduces what follows; an emoji would come between them.
        let introduces = body.trim_end().ends_with(':');
        s.open = s.open && !has_link && !introduces && !inside && !ends_with_emoji(trimmed);
    }
    // A sentence followed by an emoji on its line already has one.
    for s in &mut out {
        let rest = text[s.at..].trim_start_matches([' ', '\t']);
        if rest.graphemes(true).next().is_some_and(is_emoji) {
            s.open = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::authenticity::{Context, Rule, humanize};

    fn added(text: &str, platform: Platform, tone: Tone) -> Added {
        add(text, platform, None, tone)
    }

    #[test]
    fn examples_read_as_expected() {
        let cases: &[(&str, &str, Platform, Tone, &str)] = &[
            (
                "an emoji goes after the sentence it illustrates",
                "Meet our coffee mug. It holds a big pour.",
                Platform::Instagram,
                Tone::Friendly,
                "Meet our coffee mug. ☕ It holds a big pour.",
            ),
            (
                "a line without punctuation gets it at its end",
                "Fresh candles in the shop\nhttps://shop.example/candles",
                Platform::Instagram,
                Tone::Friendly,
                "Fresh candles in the shop 🕯️\nhttps://shop.example/candles",
            ),
            (
                "plurals and capitals still match",
                "Our Dogs love these. Cats too!",
                Platform::Facebook,
                Tone::Professional,
                "Our Dogs love these. 🐶 Cats too! 🐱",
            ),
            (
                "a call to action ending in a colon, a link line and a hashtag line get nothing",
                "Get the tea here:\nhttps://shop.example/tea\n\n#coffee #gift",
                Platform::Instagram,
                Tone::Professional,
                "Get the tea here:\nhttps://shop.example/tea\n\n#coffee #gift",
            ),
            (
                "words inside links and hashtags suggest nothing",
                "Look at shop.com/coffee today. #gift",
                Platform::Instagram,
                Tone::Professional,
                "Look at shop.com/coffee today. #gift",
            ),
            (
                "a sentence with a link gets nothing",
                "Our coffee is at https://shop.example/c now.",
                Platform::Instagram,
                Tone::Professional,
                "Our coffee is at https://shop.example/c now.",
            ),
            (
                "a price ends the sentence and stays whole",
                "New mugs, $19.99",
                Platform::Instagram,
                Tone::Professional,
                "New mugs, $19.99 ✨",
            ),
            (
                "a line that already ends with an emoji is left alone",
                "Coffee time ☕\nNew candles are here.",
                Platform::Instagram,
                Tone::Professional,
                "Coffee time ☕\nNew candles are here. ✨",
            ),
            (
                "an emoji already in the text is never added again",
                "Coffee ☕ and more coffee.",
                Platform::Instagram,
                Tone::Professional,
                "Coffee ☕ and more coffee.",
            ),
            (
                "each sentence gets at most one",
                "Coffee, tea and chocolate.",
                Platform::Instagram,
                Tone::Professional,
                "Coffee, tea and chocolate. ☕",
            ),
            (
                "no more than three are added in one go",
                "Coffee. Tea. Cake. Books. Dogs.",
                Platform::Instagram,
                Tone::Professional,
                "Coffee. ☕ Tea. 🍵 Cake. 🎂 Books. Dogs.",
            ),
            (
                "the cap counts the emoji already there",
                "Hi 😀 there 😃. Coffee. Tea.",
                Platform::X,
                Tone::Professional,
                "Hi 😀 there 😃. Coffee. Tea.",
            ),
            (
                "x takes only what is left under its cap",
                "Hi 😀. Coffee. Tea.",
                Platform::X,
                Tone::Professional,
                "Hi 😀. Coffee. ☕ Tea.",
            ),
            (
                "the shops get no emoji",
                "Meet our coffee mug.",
                Platform::Etsy,
                Tone::Friendly,
                "Meet our coffee mug.",
            ),
            (
                "a friendly tone falls back on a smile when no word matches",
                "Meet the linen towel.\nhttps://shop.example/towel",
                Platform::Instagram,
                Tone::Friendly,
                "Meet the linen towel. 😊\nhttps://shop.example/towel",
            ),
            (
                "a professional tone has no fallback",
                "Meet the linen towel.",
                Platform::Linkedin,
                Tone::Professional,
                "Meet the linen towel.",
            ),
            (
                "a possessive still matches",
                "Our coffee's aroma fills the room.",
                Platform::Linkedin,
                Tone::Professional,
                "Our coffee's aroma fills the room. ☕",
            ),
            (
                "news is not the plural of new",
                "Some news from us.",
                Platform::Linkedin,
                Tone::Professional,
                "Some news from us.",
            ),
        ];
        for &(name, text, platform, tone, want) in cases {
            assert_eq!(added(text, platform, tone).text, want, "{name}");
        }
    }

    #[test]
    fn the_product_s_tags_suggest_an_emoji_for_the_sentence_naming_it() {
        let tags = vec!["bath".to_string(), "gift ideas".to_string()];
        let product = ProductFacts {
            title: "Linen Towel",
            description: "",
            price: None,
            tags: &tags,
            url: None,
        };
        let out = add(
            "Hello from the shop floor!\nMeet the Linen Towel.",
            Platform::Instagram,
            Some(&product),
            Tone::Friendly,
        );
        // "shop" suggests 🛍️ for the first line; the tags go where the towel is named, one per
        // sentence, so the second tag finds no free sentence.
        assert_eq!(
            out.text,
            "Hello from the shop floor! 🛍️\nMeet the Linen Towel. 🛁"
        );
        assert_eq!(out.emoji, vec!["🛍️", "🛁"]);
    }

    #[test]
    fn every_emoji_in_the_table_counts_as_an_emoji() {
        for &(word, emoji) in KEYWORDS {
            assert_eq!(count(emoji), 1, "{word} → {emoji}");
        }
        for tone in Tone::ALL {
            if let Some(e) = fallback(tone) {
                assert_eq!(count(e), 1, "{tone}");
            }
        }
    }

    #[test]
    fn the_added_list_is_in_the_order_the_emoji_appear() {
        let out = added(
            "Tea first. Then coffee.",
            Platform::Instagram,
            Tone::Friendly,
        );
        assert_eq!(out.text, "Tea first. 🍵 Then coffee. ☕");
        assert_eq!(out.emoji, vec!["🍵", "☕"]);
    }

    #[test]
    fn built_in_captions_get_emoji_the_authenticity_engine_leaves_alone() {
        use crate::ai::builtin::{Brief, write};
        let tags = vec!["coffee".to_string(), "gift ideas".to_string()];
        let product = ProductFacts {
            title: "Stoneware Coffee Mug",
            description: "A hand-thrown mug for your morning coffee. Glazed in soft sage. Makes a lovely gift.",
            price: Some("$24.00"),
            tags: &tags,
            url: Some("https://shop.example/products/mug"),
        };
        for tone in Tone::ALL {
            let brief = Brief {
                product: Some(product),
                brief: "",
                tone,
                call_to_action: None,
                hashtags: true,
            };
            for platform in Platform::ALL {
                let caption = write(&brief, platform, 3).text;
                let out = add(&caption, platform, Some(&product), tone);
                let ctx = Context {
                    platform,
                    strength: Strength::Standard,
                    call_to_action: None,
                    protected: &[],
                };
                let changes = humanize(&out.text, &ctx).changes;
                assert!(
                    changes.iter().all(|c| c.rule != Rule::Emoji),
                    "{platform} {tone}: {}",
                    out.text
                );
                assert!(out.text.contains("$24.00"));
                assert!(out.text.contains("https://shop.example/products/mug"));
                if emoji_cap(platform, Strength::Standard).is_some() {
                    assert!(!out.emoji.is_empty(), "{platform} {tone}: {caption}");
                }
            }
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn part() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("coffee".to_string()),
                Just("Tea".to_string()),
                Just("candles".to_string()),
                Just("gift".to_string()),
                Just("new".to_string()),
                Just("dog".to_string()),
                Just("shop".to_string()),
                Just("https://shop.example/coffee".to_string()),
                Just("shop.com/tea".to_string()),
                Just("$19.99".to_string()),
                Just("19,99 €".to_string()),
                Just("12".to_string()),
                Just("@coffee".to_string()),
                Just("#coffee".to_string()),
                Just("#sale".to_string()),
                Just("😀".to_string()),
                Just("☕".to_string()),
                Just("🇩🇪".to_string()),
                Just(" ".to_string()),
                Just("\n".to_string()),
                Just("\n\n".to_string()),
                Just(".".to_string()),
                Just("!".to_string()),
                Just("?".to_string()),
                Just(":".to_string()),
                Just(")".to_string()),
                "[a-zA-Z]{1,6}",
            ]
        }

        fn text() -> impl Strategy<Value = String> {
            prop::collection::vec(part(), 0..24).prop_map(|p| p.concat())
        }

        fn platform() -> impl Strategy<Value = Platform> {
            prop::sample::select(Platform::ALL.to_vec())
        }

        fn tone() -> impl Strategy<Value = Tone> {
            prop::sample::select(Tone::ALL.to_vec())
        }

        fn emoji_changes(text: &str, platform: Platform) -> usize {
            let ctx = Context {
                platform,
                strength: Strength::Standard,
                call_to_action: None,
                protected: &[],
            };
            humanize(text, &ctx)
                .changes
                .iter()
                .filter(|c| c.rule == Rule::Emoji)
                .count()
        }

        fn numbers(text: &str) -> Vec<&str> {
            text.split(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | ',' | '$' | '€')))
                .filter(|s| s.chars().any(|c| c.is_ascii_digit()))
                .collect()
        }

        proptest! {
            #[test]
            fn adding_emoji_is_reversible_capped_and_keeps_links_and_numbers(
                text in text(), platform in platform(), tone in tone()
            ) {
                let out = add(&text, platform, None, tone);
                prop_assert_eq!(&out, &add(&text, platform, None, tone));
                prop_assert!(out.emoji.len() <= MAX_PER_CALL);

                // Taking each added emoji (and its space) out gives the input back.
                let mut back = out.text.clone();
                for e in &out.emoji {
                    back = back.replacen(&format!(" {e}"), "", 1);
                }
                prop_assert_eq!(&back, &text);

                for url in crate::domain::caption::urls(&text) {
                    prop_assert!(out.text.contains(url), "{url:?} lost from {:?}", out.text);
                }
                for n in numbers(&text) {
                    prop_assert!(out.text.contains(n), "{n:?} lost from {:?}", out.text);
                }

                if let Some(cap) = emoji_cap(platform, Strength::Standard) {
                    if count(&text) <= cap {
                        prop_assert!(count(&out.text) <= cap);
                    }
                    let again = add(&out.text, platform, None, tone);
                    prop_assert!(count(&again.text) <= cap.max(count(&text)));
                } else {
                    prop_assert!(out.emoji.is_empty());
                }

                // The engine's emoji rule never has to trim what we added.
                if emoji_changes(&text, platform) == 0 {
                    prop_assert_eq!(emoji_changes(&out.text, platform), 0, "{:?}", out.text);
                }
            }
        }
    }
}

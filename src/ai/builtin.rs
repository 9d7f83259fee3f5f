//! The built-in writer: captions composed from a product's own fields (or the seller's brief),
//! a tone and each network's habits, used when no Gemini key is configured. It is labelled
//! "Built-in writer" and never presented as AI.
//!
//! It only rearranges what it is given: the title, sentences of the description, the price as
//! written, the link, tags. It never invents a fact (no prices, materials or discounts it
//! wasn't told). A `variation` seeds a small PRNG (splitmix64, so the text doesn't change with
//! a dependency's version): the same inputs and variation always give the same caption, and
//! the next variation gives a different one (another opener, other description sentences,
//! another call to action, another choice of hashtags).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::domain::caption::{self, TextField};
use crate::domain::platform::Platform;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    Friendly,
    Playful,
    Professional,
    Luxury,
    Urgent,
}

impl Tone {
    pub const ALL: [Tone; 5] = [
        Tone::Friendly,
        Tone::Playful,
        Tone::Professional,
        Tone::Luxury,
        Tone::Urgent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Tone::Friendly => "friendly",
            Tone::Playful => "playful",
            Tone::Professional => "professional",
            Tone::Luxury => "luxury",
            Tone::Urgent => "urgent",
        }
    }
}

impl fmt::Display for Tone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown tone {0:?}")]
pub struct UnknownTone(pub String);

impl FromStr for Tone {
    type Err = UnknownTone;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Tone::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownTone(s.to_owned()))
    }
}

/// What the writer knows about a product. `price` is already written for people (`$19.99`).
#[derive(Clone, Copy, Debug)]
pub struct ProductFacts<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub price: Option<&'a str>,
    pub tags: &'a [String],
    pub url: Option<&'a str>,
}

/// What the seller asked for.
#[derive(Clone, Copy, Debug)]
pub struct Brief<'a> {
    pub product: Option<ProductFacts<'a>>,
    /// The seller's own words; may be empty.
    pub brief: &'a str,
    pub tone: Tone,
    pub call_to_action: Option<&'a str>,
    pub hashtags: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caption {
    pub text: String,
    pub variation: u64,
}

/// Pinterest allows 800 characters, but a pin description reads best when it's short.
const PINTEREST_TARGET: usize = 500;
/// The longest description sentence worth quoting; longer ones are usually spec lists.
const SENTENCE_MAX_CHARS: usize = 180;

/// `{t}` is the product's title.
fn hooks(tone: Tone) -> &'static [&'static str] {
    match tone {
        Tone::Friendly => &[
            "Meet our {t}.",
            "New in the shop: the {t}.",
            "Say hello to the {t}.",
            "A little favourite of ours: the {t}.",
            "We've been looking forward to sharing this one. The {t}.",
            "Something we think you'll like: the {t}.",
        ],
        Tone::Playful => &[
            "Okay, we might be a little obsessed with the {t}.",
            "Plot twist: your new favourite thing is the {t}.",
            "Guess what just landed? The {t}.",
            "Warning: the {t} is very hard to put down.",
            "Small announcement, big grin: the {t} is here.",
            "Who's ready for the {t}? We are.",
        ],
        Tone::Professional => &[
            "Introducing the {t}.",
            "Now available: the {t}.",
            "A closer look at the {t}.",
            "The {t}, in a few words.",
            "Here's what to know about the {t}.",
            "From our range: the {t}.",
        ],
        Tone::Luxury => &[
            "Quietly beautiful: the {t}.",
            "Some things are worth taking your time over. The {t} is one of them.",
            "For the details you notice: the {t}.",
            "Considered, and worth it: the {t}.",
            "The {t}. Simply put.",
            "A piece to keep: the {t}.",
        ],
        Tone::Urgent => &[
            "Don't wait on this one: the {t}.",
            "Quick one: the {t} is ready to order.",
            "If the {t} is on your list, now's the time.",
            "Heads up: the {t} is in the shop right now.",
            "Today's the day for the {t}.",
            "Don't miss the {t}.",
        ],
    }
}

/// Openers for a post written from the seller's brief alone.
fn brief_hooks(tone: Tone) -> &'static [&'static str] {
    match tone {
        Tone::Friendly => &[
            "A quick note from us.",
            "Hello from the shop!",
            "Something to share today.",
            "News from our corner.",
            "Hi friends.",
            "We wanted to tell you this.",
        ],
        Tone::Playful => &[
            "Okay, this one's fun.",
            "Psst.",
            "Guess what?",
            "You'll want to hear this.",
            "Big smiles over here.",
            "Tiny news, big grin.",
        ],
        Tone::Professional => &[
            "An update from our team.",
            "A short update.",
            "Worth knowing:",
            "For our customers:",
            "Here's what's new.",
            "Some news from us.",
        ],
        Tone::Luxury => &[
            "A few words from us.",
            "Quietly, some news.",
            "For those who notice the details.",
            "Something considered.",
            "Take a moment for this.",
            "Simply put:",
        ],
        Tone::Urgent => &[
            "Heads up!",
            "Quick one:",
            "Don't miss this.",
            "Before you scroll on:",
            "Read this before the day gets away:",
            "Just so you know:",
        ],
    }
}

/// A call to action as (followed by the link, with no link after it).
fn ctas(tone: Tone) -> &'static [(&'static str, &'static str)] {
    match tone {
        Tone::Friendly => &[
            ("Get the {t} here:", "Find the {t} in our shop."),
            (
                "Have a look at the {t} here:",
                "Have a look at the {t} in our shop.",
            ),
            (
                "Take the {t} home from here:",
                "The {t} is waiting in our shop.",
            ),
        ],
        Tone::Playful => &[
            ("Bring the {t} home:", "Come find the {t} in our shop."),
            (
                "Go on, take a peek at the {t}:",
                "Go on, take a peek at the {t} in our shop.",
            ),
            (
                "Your {t} is one tap away:",
                "The {t} is waiting for you in our shop.",
            ),
        ],
        Tone::Professional => &[
            ("Order the {t} here:", "The {t} is available in our shop."),
            (
                "See the full details of the {t}:",
                "Full details of the {t} are in our shop.",
            ),
            ("Shop the {t}:", "Find the {t} in our online shop."),
        ],
        Tone::Luxury => &[
            ("See the {t} up close:", "See the {t} up close in our shop."),
            (
                "The {t} is waiting for you here:",
                "The {t} is waiting for you in our shop.",
            ),
            ("Make the {t} yours:", "Make the {t} yours in our shop."),
        ],
        Tone::Urgent => &[
            ("Order the {t} now:", "Order the {t} now in our shop."),
            ("Get the {t} today:", "Get the {t} today in our shop."),
            (
                "Grab the {t} while you're here:",
                "Grab the {t} in our shop today.",
            ),
        ],
    }
}

fn brief_ctas(tone: Tone) -> &'static [&'static str] {
    match tone {
        Tone::Friendly => &[
            "Tell us what you think in the comments.",
            "Say hi in the comments!",
            "Questions? Send us a message.",
        ],
        Tone::Playful => &[
            "Drop us a comment, we read every one.",
            "Tell us in the comments!",
            "Tag a friend who needs to see this.",
        ],
        Tone::Professional => &[
            "Questions are welcome: send us a message.",
            "Reply here if you'd like to know more.",
            "Get in touch if you have questions.",
        ],
        Tone::Luxury => &[
            "Write to us if you'd like to know more.",
            "We're happy to answer any questions.",
            "Send us a note; we'd love to hear from you.",
        ],
        Tone::Urgent => &[
            "Message us today.",
            "Tell a friend before the day is out.",
            "Reply now if you have questions.",
        ],
    }
}

fn price_lines(tone: Tone) -> &'static [&'static str] {
    match tone {
        Tone::Friendly => &["{p}", "It's {p}.", "Price: {p}"],
        Tone::Playful => &[
            "Yours for {p}.",
            "All for {p}.",
            "{p}, and worth every bit.",
        ],
        Tone::Professional => &["Price: {p}", "Priced at {p}.", "{p}"],
        Tone::Luxury => &["{p}", "Yours for {p}.", "Priced at {p}."],
        Tone::Urgent => &["Just {p}.", "{p}", "Price: {p}"],
    }
}

/// Hashtags a network takes: (fewest worth adding, most).
fn hashtag_range(platform: Platform) -> (usize, usize) {
    match platform {
        Platform::Instagram | Platform::Tiktok => (3, 5),
        Platform::X | Platform::Facebook => (1, 2),
        Platform::Linkedin | Platform::Youtube => (1, 3),
        Platform::Pinterest => (2, 5),
        Platform::Shopify | Platform::Etsy | Platform::Squarespace => (0, 0),
    }
}

/// Description sentences a network's caption has room for.
fn sentence_count(platform: Platform) -> usize {
    match platform {
        Platform::X | Platform::Tiktok => 1,
        _ => 2,
    }
}

/// splitmix64: tiny, well mixed, and ours, so a variation means the same text forever.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// FNV-1a, to make the seed depend on what's being written as well as the variation.
fn fnv(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// The pieces of a caption before a network's layout puts them together.
struct Draft {
    hook: String,
    /// Description sentences, or the seller's brief as one piece.
    body: Vec<String>,
    price: Option<String>,
    cta: String,
    url: Option<String>,
    tags: Vec<String>,
}

/// Writes a caption for `platform`. Deterministic in all its inputs, including `variation`.
pub fn write(brief: &Brief, platform: Platform, variation: u64) -> Caption {
    let title = brief.product.map_or("", |p| p.title.trim());
    let seed = fnv(&[platform.as_str(), brief.tone.as_str(), title, brief.brief]);
    let mut rng = Rng(seed ^ variation.wrapping_mul(0xD6E8_FEB8_6659_FD93));
    let mut draft = match brief.product {
        Some(product) if !title.is_empty() => {
            from_product(brief, &product, platform, variation, seed, &mut rng)
        }
        _ => from_brief(brief, platform, variation, seed, &mut rng),
    };
    let text = fit(&mut draft, platform);
    Caption { text, variation }
}

/// Rotating through the openers makes consecutive variations start differently.
fn rotate<'a>(items: &'a [&'a str], seed: u64, variation: u64) -> &'a str {
    let n = items.len() as u64;
    items[((seed % n + variation % n) % n) as usize]
}

fn from_product(
    brief: &Brief,
    product: &ProductFacts,
    platform: Platform,
    variation: u64,
    seed: u64,
    rng: &mut Rng,
) -> Draft {
    let title = product.title.trim();
    let hook = rotate(hooks(brief.tone), seed, variation).replace("{t}", title);

    let sentences = description_sentences(product.description);
    let mut body = Vec::new();
    if !sentences.is_empty() {
        let start = rng.below(sentences.len().min(3));
        let chosen: Vec<String> = sentences
            .iter()
            .cycle()
            .skip(start)
            .take(sentence_count(platform).min(sentences.len()))
            .cloned()
            .collect();
        // Kept in the description's order: a later sentence often leans on an earlier one.
        body = chosen;
    }
    // The seller's own words come first when they gave some.
    if !brief.brief.trim().is_empty() {
        body.insert(0, brief.brief.trim().to_owned());
    }

    let price = product
        .price
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| rng.pick(price_lines(brief.tone)).replace("{p}", p));
    let url = product
        .url
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned);
    // YouTube puts the link right under the opener, so its call to action has no link after it.
    let link_follows = url.is_some() && platform != Platform::Youtube;
    let cta = match brief
        .call_to_action
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        Some(own) => own.to_owned(),
        None => {
            let (with_link, without) = *rng.pick(ctas(brief.tone));
            if link_follows { with_link } else { without }.replace("{t}", title)
        }
    };
    let mut sources: Vec<String> = product.tags.to_vec();
    if sources.is_empty() {
        sources = keywords(title);
    }
    let tags = if brief.hashtags {
        choose_hashtags(&sources, platform, rng)
    } else {
        Vec::new()
    };
    Draft {
        hook,
        body,
        price,
        cta,
        url,
        tags,
    }
}

fn from_brief(
    brief: &Brief,
    platform: Platform,
    variation: u64,
    seed: u64,
    rng: &mut Rng,
) -> Draft {
    let hook = rotate(brief_hooks(brief.tone), seed, variation).to_owned();
    let own = brief.brief.trim();
    let body = if own.is_empty() {
        Vec::new()
    } else {
        vec![own.to_owned()]
    };
    let cta = match brief
        .call_to_action
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        Some(own) => own.to_owned(),
        None => rng.pick(brief_ctas(brief.tone)).to_string(),
    };
    let tags = if brief.hashtags {
        choose_hashtags(&keywords(own), platform, rng)
    } else {
        Vec::new()
    };
    Draft {
        hook,
        body,
        price: None,
        cta,
        url: None,
        tags,
    }
}

/// The description's sentences worth quoting: not empty, not a long spec line, no stock
/// phrase (shared with `resize::lengthen`).
pub(crate) fn description_sentences(description: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = description.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c == '\n' {
            push_sentence(&mut out, &mut current);
            continue;
        }
        current.push(c);
        let ends = matches!(c, '.' | '!' | '?')
            && chars.get(i + 1).is_none_or(|n| n.is_whitespace())
            && !chars
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_ascii_digit());
        if ends {
            push_sentence(&mut out, &mut current);
        }
    }
    push_sentence(&mut out, &mut current);
    out
}

fn push_sentence(out: &mut Vec<String>, current: &mut String) {
    let s = current.split_whitespace().collect::<Vec<_>>().join(" ");
    current.clear();
    let s = s.trim_start_matches(['-', '*', '•', ' ']).trim();
    let chars = s.chars().count();
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let spec_like = (s.contains(':') && digits > 0) || digits * 5 > chars;
    let stock = STOCK_PHRASES.iter().any(|p| s.to_lowercase().contains(p));
    if (12..=SENTENCE_MAX_CHARS).contains(&chars) && !spec_like && !stock {
        let mut s = s.to_owned();
        if !s.ends_with(['.', '!', '?']) {
            s.push('.');
        }
        out.push(s);
    }
}

/// Phrases that make a caption read as machine-written; the writer never uses them, and skips
/// description sentences that contain them.
pub const STOCK_PHRASES: &[&str] = &[
    "elevate",
    "unleash",
    "game-changer",
    "game changer",
    "look no further",
    "dive into",
    "seamless",
];

const STOPWORDS: &[&str] = &[
    "about", "after", "again", "their", "there", "these", "those", "which", "while", "would",
    "could", "should", "other", "every", "where", "being", "still", "today", "tomorrow", "really",
    "thing", "things", "just", "with", "from", "this", "that", "your", "ours", "have", "will",
];

/// Words of `text` that make sensible hashtags: five letters or more, not filler.
fn keywords(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        let lower = word.to_lowercase();
        if word.chars().count() >= 5
            && word.chars().all(char::is_alphabetic)
            && !STOPWORDS.contains(&lower.as_str())
            && !out.iter().any(|w| w.to_lowercase() == lower)
        {
            out.push(word.to_owned());
        }
    }
    out
}

/// `linen towel` → `#LinenTowel`; `None` when nothing with a letter is left.
pub fn hashtag(tag: &str) -> Option<String> {
    let mut out = String::from("#");
    for part in tag.split(|c: char| !c.is_alphanumeric()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.extend(chars);
        }
    }
    (out.chars().skip(1).any(char::is_alphabetic) && out.chars().count() <= 60).then_some(out)
}

fn choose_hashtags(sources: &[String], platform: Platform, rng: &mut Rng) -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    for tag in sources.iter().filter_map(|t| hashtag(t)) {
        if !all.iter().any(|t| t.eq_ignore_ascii_case(&tag)) {
            all.push(tag);
        }
    }
    let (min, max) = hashtag_range(platform);
    let want = (min + rng.below(max - min + 1)).min(all.len());
    // A different handful each variation, kept in the seller's order.
    let mut indices: Vec<usize> = (0..all.len()).collect();
    for i in (1..indices.len()).rev() {
        let j = rng.below(i + 1);
        indices.swap(i, j);
    }
    let mut chosen: Vec<usize> = indices.into_iter().take(want).collect();
    chosen.sort_unstable();
    chosen.into_iter().map(|i| all[i].clone()).collect()
}

fn render(d: &Draft, platform: Platform) -> String {
    let body = d.body.join(" ");
    let tags = d.tags.join(" ");
    let mut paragraphs: Vec<String> = Vec::new();
    let link_block = |cta: &str| match &d.url {
        Some(url) if !cta.is_empty() => format!("{cta}\n{url}"),
        Some(url) => url.clone(),
        None => cta.to_owned(),
    };
    match platform {
        Platform::X | Platform::Tiktok | Platform::Pinterest => {
            // One short paragraph, then the link.
            let mut first = vec![d.hook.as_str()];
            if !body.is_empty() {
                first.push(&body);
            }
            if let Some(p) = &d.price {
                first.push(p);
            }
            paragraphs.push(first.join(" "));
            paragraphs.push(link_block(&d.cta));
        }
        Platform::Youtube => {
            match &d.url {
                Some(url) => paragraphs.push(format!("{}\n{url}", d.hook)),
                None => paragraphs.push(d.hook.clone()),
            }
            paragraphs.push(body);
            paragraphs.extend(d.price.clone());
            paragraphs.push(d.cta.clone());
        }
        _ => {
            paragraphs.push(d.hook.clone());
            paragraphs.push(body);
            paragraphs.extend(d.price.clone());
            paragraphs.push(link_block(&d.cta));
        }
    }
    paragraphs.push(tags);
    paragraphs
        .into_iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn fits(text: &str, platform: Platform) -> bool {
    let within = caption::count(platform, TextField::Caption, text).is_none_or(|c| !c.is_over());
    within && (platform != Platform::Pinterest || text.chars().count() <= PINTEREST_TARGET)
}

/// Renders the draft, giving things up until it fits: description sentences first, then
/// hashtags, then the seller's long words are shortened, then the opener and call to action.
/// The price and the link are never cut.
fn fit(d: &mut Draft, platform: Platform) -> String {
    loop {
        let text = render(d, platform);
        if fits(&text, platform) {
            return text;
        }
        if d.body.len() > 1 {
            d.body.pop();
        } else if !d.tags.is_empty() {
            d.tags.pop();
        } else if let Some(b) = d.body.first_mut().filter(|b| b.chars().count() > 40) {
            *b = shorten(b, b.chars().count() * 2 / 3);
        } else if !d.body.is_empty() {
            d.body.clear();
        } else if d.hook.chars().count() > 20 {
            d.hook = shorten(&d.hook, d.hook.chars().count() * 2 / 3);
        } else if !d.cta.is_empty() {
            d.cta.clear();
        } else if !d.hook.is_empty() {
            d.hook.clear();
        } else {
            // Only the price and the link are left; they are the seller's, so they stay.
            return text;
        }
    }
}

/// `text` cut at a word to at most `max` characters, with an ellipsis.
fn shorten(text: &str, max: usize) -> String {
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    let at_word = match cut.rfind(' ') {
        Some(i) if i > 0 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", at_word.trim_end_matches([',', ';', ':', '-', ' ']))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOCIAL: [Platform; 7] = [
        Platform::X,
        Platform::Instagram,
        Platform::Facebook,
        Platform::Linkedin,
        Platform::Pinterest,
        Platform::Tiktok,
        Platform::Youtube,
    ];

    fn tags(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn towel(tags: &[String]) -> ProductFacts<'_> {
        ProductFacts {
            title: "Linen Towel",
            description: "A soft, stonewashed linen towel. It dries fast and gets softer with every wash.\n\nWoven in Lithuania from European flax. Size: 50 x 70 cm.",
            price: Some("$19.99"),
            tags,
            url: Some("https://shop.example/products/linen-towel"),
        }
    }

    fn brief(product: Option<ProductFacts<'_>>, tone: Tone) -> Brief<'_> {
        Brief {
            product,
            brief: "",
            tone,
            call_to_action: None,
            hashtags: true,
        }
    }

    fn within_limit(text: &str, platform: Platform) -> bool {
        let c = caption::count(platform, TextField::Caption, text).unwrap();
        !c.is_over()
    }

    #[test]
    fn the_same_inputs_and_variation_give_the_same_caption() {
        let t = tags(&["linen", "bathroom", "slow living"]);
        let b = brief(Some(towel(&t)), Tone::Friendly);
        for p in SOCIAL {
            assert_eq!(write(&b, p, 7), write(&b, p, 7));
        }
    }

    #[test]
    fn five_consecutive_variations_read_differently() {
        let t = tags(&["linen", "bathroom", "slow living", "gift ideas", "home"]);
        for tone in Tone::ALL {
            let b = brief(Some(towel(&t)), tone);
            for p in SOCIAL {
                let texts: std::collections::HashSet<String> =
                    (10..15).map(|v| write(&b, p, v).text).collect();
                assert_eq!(texts.len(), 5, "{tone} on {p}");
            }
        }
    }

    #[test]
    fn every_network_gets_a_caption_within_its_limit_even_from_a_huge_product() {
        let many: Vec<String> = (0..30).map(|i| format!("tag number {i} extra")).collect();
        let sentence =
            "This towel is woven from long flax fibres and washed twice before it ships. ";
        let huge = sentence.repeat(40);
        let long_title = "Linen Towel ".repeat(20);
        for (title, description) in [("Linen Towel", huge.as_str()), (long_title.as_str(), "")] {
            let product = ProductFacts {
                title,
                description,
                price: Some("$19.99"),
                tags: &many,
                url: Some("https://shop.example/products/linen-towel"),
            };
            for tone in Tone::ALL {
                for p in SOCIAL {
                    for v in 0..5 {
                        let text = write(&brief(Some(product), tone), p, v).text;
                        assert!(within_limit(&text, p), "{p} {tone} {v}: {text}");
                        if p == Platform::Pinterest {
                            assert!(text.chars().count() <= PINTEREST_TARGET);
                        }
                        let n = caption::hashtags(&text).len();
                        assert!(n <= hashtag_range(p).1, "{p}: {n} hashtags");
                    }
                }
            }
        }
    }

    #[test]
    fn the_link_and_price_appear_exactly_as_given() {
        let t = tags(&["linen"]);
        let product = towel(&t);
        for tone in Tone::ALL {
            for p in SOCIAL {
                for v in 0..10 {
                    let text = write(&brief(Some(product), tone), p, v).text;
                    assert!(text.contains("$19.99"), "{p}: {text}");
                    assert!(
                        text.lines()
                            .any(|l| l == "https://shop.example/products/linen-towel"),
                        "{p}: link not on its own line: {text}"
                    );
                }
            }
        }
    }

    #[test]
    fn no_stock_ai_phrase_appears_in_any_tone_or_variation() {
        let t = tags(&["linen", "bathroom", "slow living"]);
        for tone in Tone::ALL {
            for p in SOCIAL {
                for v in 0..50 {
                    for b in [brief(Some(towel(&t)), tone), brief(None, tone)] {
                        let text = write(&b, p, v).text.to_lowercase();
                        for phrase in STOCK_PHRASES {
                            assert!(!text.contains(phrase), "{phrase:?} in {text}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn without_a_product_the_seller_s_words_are_kept_and_nothing_is_invented() {
        let b = Brief {
            product: None,
            brief: "Our market stall is at Riverside Market this Saturday, come early!",
            tone: Tone::Playful,
            call_to_action: None,
            hashtags: true,
        };
        for p in SOCIAL {
            for v in 0..10 {
                let text = write(&b, p, v).text;
                assert!(text.contains(b.brief), "{p}: {text}");
                assert!(!text.contains(['$', '€', '£', '%']), "{p}: {text}");
                assert!(!text.to_lowercase().contains("discount"), "{p}: {text}");
                for tag in caption::hashtags(&text) {
                    let brief = b.brief.to_lowercase();
                    assert!(
                        brief.contains(&tag.to_lowercase()),
                        "#{tag} isn't from the brief"
                    );
                }
            }
        }
    }

    #[test]
    fn the_seller_s_call_to_action_is_used_as_written() {
        let t = tags(&[]);
        let mut b = brief(Some(towel(&t)), Tone::Professional);
        b.call_to_action = Some("Pop into the Riverside shop to feel one:");
        for p in SOCIAL {
            assert!(
                write(&b, p, 3)
                    .text
                    .contains("Pop into the Riverside shop to feel one:")
            );
        }
    }

    #[test]
    fn network_styles_show_in_the_layout() {
        let t = tags(&["linen", "bathroom", "slow living", "gift ideas", "home"]);
        let b = brief(Some(towel(&t)), Tone::Friendly);
        let insta = write(&b, Platform::Instagram, 0).text;
        let last = insta.rsplit("\n\n").next().unwrap();
        assert!(last.split(' ').all(|w| w.starts_with('#')), "{insta}");
        assert!((3..=5).contains(&caption::hashtags(&insta).len()));
        let yt = write(&b, Platform::Youtube, 0).text;
        assert_eq!(
            yt.lines().nth(1),
            Some("https://shop.example/products/linen-towel")
        );
        let x = write(&b, Platform::X, 0).text;
        assert!(caption::x_weighted_length(&x) <= 280);
        assert!(caption::hashtags(&x).len() <= 2);
    }

    #[test]
    fn tags_become_camel_case_hashtags() {
        assert_eq!(hashtag("linen towel").as_deref(), Some("#LinenTowel"));
        assert_eq!(hashtag("eco-friendly!").as_deref(), Some("#EcoFriendly"));
        assert_eq!(hashtag("100% cotton").as_deref(), Some("#100Cotton"));
        assert_eq!(hashtag("2024"), None);
        assert_eq!(hashtag(" - "), None);
    }

    #[test]
    fn tones_parse_from_their_names() {
        for t in Tone::ALL {
            assert_eq!(t.as_str().parse::<Tone>().unwrap(), t);
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{t}\""));
        }
        assert!("sarcastic".parse::<Tone>().is_err());
    }
}

//! Built-in shorten / lengthen, used in the AI Studio when no Gemini key is configured.
//!
//! [`shorten`] only takes away: surplus hashtags, then whole sentences from the middle, then
//! filler words, stopping as soon as the text is about two thirds of its length and within the
//! network's limit. Links, prices and other numbers, @mentions, the first sentence and the call
//! to action are never touched.
//!
//! [`lengthen`] only adds what the brief says is true, one thing at a time: a description
//! sentence the text doesn't use yet, the price, the link, hashtags from the tags. It never
//! pushes a text past the network's limit.

use std::ops::Range;

use crate::ai::builtin::{Brief, Tone, description_sentences, hashtag};
use crate::domain::authenticity::{Strength, hashtag_cap};
use crate::domain::caption::{self, TextField, hashtags, mentions, url_spans};
use crate::domain::platform::Platform;

/// One kind of removal: the next span it would take out of the text, if any.
type Step<'a> = dyn Fn(&str) -> Option<Range<usize>> + 'a;

/// Words that can go without changing what a sentence says.
const FILLERS: &[&str] = &["really", "very", "just", "actually", "truly", "so"];

/// Whether `text` is within `platform`'s caption limit, counted the way the platform counts
/// (X's weighted length, Instagram's UTF-16 units, YouTube's bytes). The shops have no limit.
pub fn fits(text: &str, platform: Platform) -> bool {
    caption::count(platform, TextField::Caption, text).is_none_or(|c| !c.is_over())
}

/// A shorter version of `text`: the least important sentences and surplus hashtags go first;
/// links, prices, the call to action and the first sentence stay.
///
/// The aim is two thirds of the length in characters, and within the platform's limit. In
/// order, and each only while the text is still too long:
/// 1. hashtags beyond `hashtag_cap(platform, Strong)` on hashtag-only lines, the last first
///    (one with a digit in it stays, like any number);
/// 2. whole sentences from the middle, latest first: never the first sentence, the closing one,
///    a sentence with a link, a number or an @mention, nor the call to action that introduces a
///    link (a sentence ending in `:`, or the one just above a line that opens with a link);
/// 3. filler words ("really", "very", "just", "actually", "truly", "so") inside a sentence and
///    before another word, unless negated ("not very").
///
/// Afterwards lines lose trailing spaces and runs of empty lines collapse to one. Unchanged
/// (byte for byte) when nothing can go.
pub fn shorten(text: &str, platform: Platform) -> String {
    let target = text.chars().count() * 2 / 3;
    let done = |t: &str| t.chars().count() <= target && fits(t, platform);
    let mut out = text.to_owned();
    let mut changed = false;
    let steps: [&Step<'_>; 3] = [
        &|t| surplus_hashtag(t, platform),
        &droppable_sentence,
        &filler_word,
    ];
    for step in steps {
        while !done(&out) {
            let Some(span) = step(&out) else { break };
            out.replace_range(span, "");
            out = tidy(&out);
            changed = true;
        }
    }
    if changed { out } else { text.to_owned() }
}

/// A longer version of `text`, adding only what the brief says (a description sentence not yet
/// used, the price, the link); unchanged when there is nothing true left to add.
///
/// Exactly one thing is added, the first of these that the text lacks and that keeps it within
/// the platform's limit: a sentence of the product's description (in the description's order),
/// the price (in the tone's plain wording), the product link, and, when the brief asks for
/// hashtags, hashtags from the product's tags up to `hashtag_cap(platform, Standard)`. A
/// sentence or the price goes after the first paragraph's text (but before a price closing that
/// text, and before a call to action, link or hashtags sharing its paragraph); the link goes
/// before a trailing hashtag block; hashtags join it.
pub fn lengthen(text: &str, platform: Platform, brief: &Brief<'_>) -> String {
    let Some(product) = brief.product else {
        return text.to_owned();
    };
    let fitting = |candidate: String| fits(&candidate, platform).then_some(candidate);

    for sentence in description_sentences(product.description) {
        if !says(text, &sentence)
            && let Some(out) = fitting(insert_sentence(text, &sentence))
        {
            return out;
        }
    }
    if let Some(price) = product.price.map(str::trim).filter(|p| !p.is_empty())
        && !has_price(text, price)
        && let Some(out) = fitting(insert_sentence(text, &price_line(brief.tone, price)))
    {
        return out;
    }
    if let Some(url) = product.url.map(str::trim).filter(|u| !u.is_empty())
        && !has_link(text, url)
        && let Some(out) = fitting(insert_link(text, url))
    {
        return out;
    }
    if brief.hashtags
        && let Some(cap) = hashtag_cap(platform, Strength::Standard)
    {
        let present: Vec<String> = hashtags(text).iter().map(|t| t.to_lowercase()).collect();
        let mut new: Vec<String> = Vec::new();
        for tag in product.tags.iter().filter_map(|t| hashtag(t)) {
            let bare = tag.trim_start_matches('#').to_lowercase();
            if !present.contains(&bare) && !new.iter().any(|n| n.eq_ignore_ascii_case(&tag)) {
                new.push(tag);
            }
        }
        new.truncate(cap.saturating_sub(present.len()));
        // As many as fit, in the seller's order.
        for n in (1..=new.len()).rev() {
            if let Some(out) = fitting(append_hashtags(text, &new[..n])) {
                return out;
            }
        }
    }
    text.to_owned()
}

// ---------------------------------------------------------------------------------------------
// Reading the text

/// Where `part` (a slice of `text`) starts in it.
fn offset_in(text: &str, part: &str) -> usize {
    part.as_ptr() as usize - text.as_ptr() as usize
}

/// Each hashtag's range, `#` included.
fn hashtag_spans(text: &str) -> Vec<Range<usize>> {
    marked_spans(text, hashtags(text))
}

fn marked_spans(text: &str, parts: Vec<&str>) -> Vec<Range<usize>> {
    parts
        .into_iter()
        .map(|part| {
            let start = offset_in(text, part);
            let marker = text[..start].chars().next_back().map_or(0, char::len_utf8);
            start - marker..start + part.len()
        })
        .collect()
}

/// Links, hashtags and @mentions: never cut into.
fn blocked_spans(text: &str) -> Vec<Range<usize>> {
    let mut spans = url_spans(text);
    spans.extend(hashtag_spans(text));
    spans.extend(marked_spans(text, mentions(text)));
    spans
}

fn overlaps(spans: &[Range<usize>], r: &Range<usize>) -> bool {
    spans.iter().any(|s| s.start < r.end && r.start < s.end)
}

/// A line of `text`, as its byte range without the newline.
struct Line {
    range: Range<usize>,
}

fn lines(text: &str) -> Vec<Line> {
    let mut out = Vec::new();
    let mut start = 0;
    for line in text.split('\n') {
        out.push(Line {
            range: start..start + line.len(),
        });
        start += line.len() + 1;
    }
    out
}

/// Whether every word of the line is one of `spans` (a hashtag line, a bare link).
fn only_spans(text: &str, line: &Range<usize>, spans: &[Range<usize>]) -> bool {
    let content = &text[line.clone()];
    !content.trim().is_empty()
        && content.split_whitespace().all(|token| {
            let start = offset_in(text, token);
            let end = start + token.len();
            spans.iter().any(|s| s.start <= start && end <= s.end)
        })
}

// ---------------------------------------------------------------------------------------------
// Shortening

/// The last hashtag past the strong cap that sits on a hashtag-only line and has no digit in
/// it, with a space beside it.
fn surplus_hashtag(text: &str, platform: Platform) -> Option<Range<usize>> {
    let cap = hashtag_cap(platform, Strength::Strong)?;
    let spans = hashtag_spans(text);
    if spans.len() <= cap {
        return None;
    }
    let on_tag_line = |span: &Range<usize>| {
        lines(text)
            .iter()
            .find(|l| l.range.start <= span.start && span.end <= l.range.end)
            .is_some_and(|l| only_spans(text, &l.range, &spans))
    };
    // A hashtag with a number in it ("#Sale2026") is kept like any other number.
    let span = spans[cap..]
        .iter()
        .rev()
        .find(|s| on_tag_line(s) && !text[(*s).clone()].contains(|c: char| c.is_ascii_digit()))?
        .clone();
    Some(with_a_space(text, span))
}

/// `span` widened by the spaces before it, or failing that the spaces after it, on its line.
fn with_a_space(text: &str, span: Range<usize>) -> Range<usize> {
    let before = text[..span.start].trim_end_matches([' ', '\t']).len();
    if before < span.start && !text[..before].ends_with('\n') && before > 0 {
        return before..span.end;
    }
    let after = &text[span.end..];
    let spaces = after.len() - after.trim_start_matches([' ', '\t']).len();
    span.start..span.end + spaces
}

/// The latest sentence from the middle of the text that can go, with the space or line it
/// leaves behind.
fn droppable_sentence(text: &str) -> Option<Range<usize>> {
    let links = url_spans(text);
    let blocked = blocked_spans(text);
    let all_lines = lines(text);
    // A line that opens with a link: the sentence before it introduces it ("Get yours here:").
    let link_opens = |k: usize| {
        all_lines.get(k).is_some_and(|l| {
            let content = text[l.range.clone()].trim_start();
            let start = l.range.end - content.len();
            links.iter().any(|u| u.start == start)
        })
    };
    // (sentence, whether it is the call to action's own line or introduces a link)
    let mut sentences: Vec<(usize, Range<usize>, bool)> = Vec::new();
    for (k, line) in all_lines.iter().enumerate() {
        if only_spans(text, &line.range, &blocked) {
            continue;
        }
        let in_line = super::line_sentences(text, &line.range);
        let n = in_line.len();
        for (j, s) in in_line.into_iter().enumerate() {
            let introduces =
                text[s.clone()].trim_end().ends_with(':') || (j + 1 == n && link_opens(k + 1));
            sentences.push((k, s, introduces));
        }
    }
    let last = sentences.len().checked_sub(1)?;
    let mentions = marked_spans(text, mentions(text));
    let candidate = sentences
        .iter()
        .enumerate()
        .filter(|&(i, (_, s, introduces))| {
            i != 0
                && i != last
                && !introduces
                && !overlaps(&links, s)
                && !overlaps(&mentions, s)
                && !text[s.clone()].contains(|c: char| c.is_ascii_digit())
        })
        .map(|(_, (k, s, _))| (*k, s.clone()))
        .next_back()?;
    let (k, s) = candidate;
    let line = &all_lines[k].range;
    let content = text[line.clone()].trim();
    if content == text[s.clone()].trim() {
        // The whole line goes, with its newline.
        return Some(if line.end < text.len() {
            line.start..line.end + 1
        } else {
            line.start.saturating_sub(1)..line.end
        });
    }
    Some(with_a_space(text, s))
}

/// A filler word in the middle of a sentence, with the space before it.
fn filler_word(text: &str) -> Option<Range<usize>> {
    let blocked = blocked_spans(text);
    for word in text.split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’') {
        let at = offset_in(text, word);
        let span = at..at + word.len();
        if word.is_empty()
            || !FILLERS.contains(&word.to_lowercase().as_str())
            || overlaps(&blocked, &span)
        {
            continue;
        }
        let before = &text[..at];
        let after = &text[span.end..];
        let prev_word = before
            .trim_end()
            .rsplit(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’')
            .next()
            .unwrap_or("")
            .to_lowercase();
        let mid_sentence = before.ends_with(' ')
            && before
                .trim_end()
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == ',');
        let word_follows = after
            .strip_prefix(' ')
            .and_then(|a| a.chars().next())
            .is_some_and(char::is_alphabetic);
        let negated =
            prev_word == "not" || prev_word.ends_with("n't") || prev_word.ends_with("n’t");
        if mid_sentence && word_follows && !negated {
            return Some(at - 1..span.end);
        }
    }
    None
}

/// No trailing spaces, no run of empty lines, no empty lines at either end.
fn tidy(text: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for line in text.split('\n').map(str::trim_end) {
        if line.is_empty() && out.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        out.push(line);
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.join("\n")
}

// ---------------------------------------------------------------------------------------------
// Lengthening

/// Lower case, single spaces, no closing punctuation: how sentences are compared.
fn normalized(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
        .trim_end_matches(['.', '!', '?', '…'])
        .to_owned()
}

/// Whether `text` already says `sentence`.
fn says(text: &str, sentence: &str) -> bool {
    normalized(text).contains(&normalized(sentence))
}

/// The price as written, or its amount written another way (`$19.99` in "19.99 USD").
fn has_price(text: &str, price: &str) -> bool {
    let amount: String = price
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | ','))
        .collect();
    let amount = amount.trim_end_matches(['.', ',']);
    text.contains(price) || (!amount.is_empty() && text.contains(amount))
}

fn has_link(text: &str, url: &str) -> bool {
    let bare = |u: &str| {
        let u = u.to_lowercase();
        u.strip_prefix("https://")
            .or_else(|| u.strip_prefix("http://"))
            .unwrap_or(&u)
            .trim_end_matches('/')
            .to_owned()
    };
    let want = bare(url);
    caption::urls(text).into_iter().any(|u| bare(u) == want)
}

/// The price in the tone's plainest wording (as the built-in writer words it).
fn price_line(tone: Tone, price: &str) -> String {
    match tone {
        Tone::Friendly => format!("It's {price}."),
        Tone::Playful => format!("Yours for {price}."),
        Tone::Professional => format!("Price: {price}"),
        Tone::Luxury => format!("Priced at {price}."),
        Tone::Urgent => format!("Just {price}."),
    }
}

/// Paragraphs of `text` as (start, end) byte offsets of their text, in order.
fn paragraphs(text: &str) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    let mut current: Option<Range<usize>> = None;
    for line in lines(text) {
        if text[line.range.clone()].trim().is_empty() {
            out.extend(current.take());
        } else {
            let start = current.as_ref().map_or(line.range.start, |c| c.start);
            current = Some(start..line.range.end);
        }
    }
    out.extend(current);
    out
}

/// `text` with `sentence` after the first paragraph's text, and before the call to action, link
/// or hashtags that close it (YouTube's "Hook.\nlink", X's "Get it here:\nlink"): appended to
/// that text's last line when it ends a sentence, else on a line (or, at the paragraph's end, in
/// a paragraph) of its own. When the first paragraph opens with its closing part, the sentence
/// goes in a paragraph before it. A line ending with the price keeps it last.
fn insert_sentence(text: &str, sentence: &str) -> String {
    let paras = paragraphs(text);
    let Some(first) = paras.first() else {
        return sentence.to_owned();
    };
    let links = url_spans(text);
    let tags = hashtag_spans(text);
    let para_lines: Vec<Range<usize>> = lines(text)
        .into_iter()
        .map(|l| l.range)
        .filter(|l| first.start <= l.start && l.end <= first.end)
        .collect();
    let closing = para_lines.iter().position(|l| {
        overlaps(&links, l)
            || only_spans(text, l, &tags)
            || text[l.clone()].trim_end().ends_with(':')
    });
    let target = match closing {
        Some(0) => {
            return format!(
                "{}{sentence}\n\n{}",
                &text[..first.start],
                &text[first.start..]
            );
        }
        Some(c) => para_lines[c - 1].clone(),
        None => para_lines[para_lines.len() - 1].clone(),
    };
    // On a line that closes with the price ("… It's $19.99."), the sentence goes before it.
    let on_line = super::line_sentences(text, &target);
    if on_line.len() > 1
        && let Some(last) = on_line.last()
        && text[last.clone()].contains(|c: char| c.is_ascii_digit())
    {
        return format!("{}{sentence} {}", &text[..last.start], &text[last.start..]);
    }
    let end = target.start + text[target].trim_end().len();
    let ends_sentence = text[..end].ends_with(['.', '!', '?', '"', '”', ')']);
    let gap = if ends_sentence {
        " "
    } else if closing.is_some() {
        "\n"
    } else {
        "\n\n"
    };
    format!("{}{gap}{sentence}{}", &text[..end], &text[end..])
}

/// `text` with `url` as a paragraph of its own, before a closing hashtag block if there is one.
fn insert_link(text: &str, url: &str) -> String {
    let paras = paragraphs(text);
    let tags = hashtag_spans(text);
    let closing_tags = paras.last().filter(|p| {
        paras.len() > 1
            && lines(text)
                .iter()
                .filter(|l| p.start <= l.range.start && l.range.end <= p.end)
                .all(|l| only_spans(text, &l.range, &tags))
    });
    match (closing_tags, paras.last()) {
        (Some(tags), _) => format!("{}{url}\n\n{}", &text[..tags.start], &text[tags.start..]),
        (None, Some(last)) => format!("{}\n\n{url}{}", &text[..last.end], &text[last.end..]),
        (None, None) => url.to_owned(),
    }
}

/// `text` with `tags` on its closing hashtag line, or as a new closing paragraph.
fn append_hashtags(text: &str, tags: &[String]) -> String {
    let joined = tags.join(" ");
    let spans = hashtag_spans(text);
    let Some(last) = paragraphs(text).pop() else {
        return joined;
    };
    let last_line = lines(text)
        .into_iter()
        .rfind(|l| l.range.end <= last.end && !text[l.range.clone()].trim().is_empty());
    match last_line {
        Some(l) if only_spans(text, &l.range, &spans) => {
            let end = l.range.start + text[l.range.clone()].trim_end().len();
            format!("{} {joined}{}", &text[..end], &text[end..])
        }
        _ => format!("{}\n\n{joined}{}", &text[..last.end], &text[last.end..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ai::builtin::ProductFacts;

    const INSTAGRAM_POST: &str = "Meet our Linen Towel.\n\nIt dries fast. It gets softer with every wash. Made by hand in our small studio.\n\nIt's $19.99.\n\nGet the Linen Towel here:\nhttps://shop.example/products/linen-towel\n\n#Linen #Bathroom #SlowLiving #GiftIdeas #Home";

    fn towel<'a>(tags: &'a [String]) -> ProductFacts<'a> {
        ProductFacts {
            title: "Linen Towel",
            description: "A soft, stonewashed linen towel. It dries fast and gets softer with every wash.\n\nWoven in Lithuania from European flax. Size: 50 x 70 cm.",
            price: Some("$19.99"),
            tags,
            url: Some("https://shop.example/products/linen-towel"),
        }
    }

    fn brief<'a>(product: Option<ProductFacts<'a>>) -> Brief<'a> {
        Brief {
            product,
            brief: "",
            tone: Tone::Friendly,
            call_to_action: None,
            hashtags: true,
        }
    }

    fn tags(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn shorten_drops_surplus_hashtags_first() {
        let out = shorten(INSTAGRAM_POST, Platform::Instagram);
        assert!(out.ends_with("\n\n#Linen #Bathroom #SlowLiving"), "{out}");
    }

    #[test]
    fn shorten_drops_middle_sentences_before_the_link_line() {
        let out = shorten(INSTAGRAM_POST, Platform::Instagram);
        assert_eq!(
            out,
            "Meet our Linen Towel.\n\nIt dries fast.\n\nIt's $19.99.\n\nGet the Linen Towel here:\nhttps://shop.example/products/linen-towel\n\n#Linen #Bathroom #SlowLiving"
        );
    }

    #[test]
    fn shorten_keeps_the_first_sentence_the_price_the_call_to_action_and_the_link() {
        let text = "Hello there, friends. One. Two sentences here. Three sentences here. Only $5 today. Order yours at https://shop.example/a now.";
        let out = shorten(text, Platform::Facebook);
        assert_eq!(
            out,
            "Hello there, friends. One. Only $5 today. Order yours at https://shop.example/a now."
        );
    }

    #[test]
    fn shorten_removes_filler_words_only_when_still_too_long() {
        let text = "This mug is really very nice, and it just works.";
        assert_eq!(
            shorten(text, Platform::Facebook),
            "This mug is nice, and it works."
        );
        // With a sentence to drop, the fillers stay.
        let text = "This mug is really nice. It holds a big pour of tea for two. We just love it.";
        assert_eq!(
            shorten(text, Platform::Facebook),
            "This mug is really nice. We just love it."
        );
    }

    #[test]
    fn shorten_does_not_drop_a_negated_filler() {
        let text = "It is not really big, and not very heavy.";
        assert_eq!(shorten(text, Platform::Facebook), text);
    }

    #[test]
    fn shorten_brings_a_long_x_post_within_its_limit() {
        let middle = "This sentence is here to make the post long. ".repeat(8);
        let text = format!("Meet our towel. {middle}Get it here: https://shop.example/t");
        assert!(!fits(&text, Platform::X));
        let out = shorten(&text, Platform::X);
        assert!(fits(&out, Platform::X), "{out}");
        assert!(out.starts_with("Meet our towel."));
        assert!(out.ends_with("Get it here: https://shop.example/t"));
    }

    #[test]
    fn shorten_changes_nothing_when_nothing_can_go() {
        for text in [
            "",
            "Just one sentence here.",
            "Meet the towel.\nhttps://shop.example/t",
            "Price: $19.99. Size 50 x 70. Order at shop.com/t  ",
        ] {
            assert_eq!(shorten(text, Platform::Instagram), text, "{text:?}");
        }
    }

    #[test]
    fn shorten_leaves_no_empty_double_lines_or_trailing_spaces() {
        let text = "First line here.  \n\nA middle paragraph to drop.\n\n\nLast line stays.  ";
        assert_eq!(
            shorten(text, Platform::Linkedin),
            "First line here.\n\nLast line stays."
        );
    }

    #[test]
    fn lengthen_adds_a_description_sentence_not_yet_used() {
        let t = tags(&[]);
        let b = brief(Some(towel(&t)));
        let text = "Meet our Linen Towel. A soft, stonewashed linen towel.\n\nIt's $19.99.\n\nGet it here:\nhttps://shop.example/products/linen-towel";
        assert_eq!(
            lengthen(text, Platform::Instagram, &b),
            "Meet our Linen Towel. A soft, stonewashed linen towel. It dries fast and gets softer with every wash.\n\nIt's $19.99.\n\nGet it here:\nhttps://shop.example/products/linen-towel"
        );
    }

    #[test]
    fn lengthen_adds_the_sentence_as_a_paragraph_when_the_first_one_has_no_full_stop() {
        let t = tags(&[]);
        let b = brief(Some(towel(&t)));
        let text = "Meet our Linen Towel, $19.99\n\nhttps://shop.example/products/linen-towel";
        assert_eq!(
            lengthen(text, Platform::X, &b),
            "Meet our Linen Towel, $19.99\n\nA soft, stonewashed linen towel.\n\nhttps://shop.example/products/linen-towel"
        );
    }

    #[test]
    fn lengthen_puts_the_sentence_before_a_call_to_action_and_link_in_the_same_paragraph() {
        let t = tags(&[]);
        let b = brief(Some(towel(&t)));
        for (text, want) in [
            (
                "Meet our Linen Towel.\nhttps://shop.example/products/linen-towel",
                "Meet our Linen Towel. A soft, stonewashed linen towel.\nhttps://shop.example/products/linen-towel",
            ),
            (
                "Get it here:\nhttps://shop.example/products/linen-towel",
                "A soft, stonewashed linen towel.\n\nGet it here:\nhttps://shop.example/products/linen-towel",
            ),
            (
                "$19.99\nGet it here:\nhttps://shop.example/products/linen-towel",
                "$19.99\nA soft, stonewashed linen towel.\nGet it here:\nhttps://shop.example/products/linen-towel",
            ),
        ] {
            assert_eq!(lengthen(text, Platform::Youtube, &b), want, "{text:?}");
        }
    }

    #[test]
    fn lengthen_adds_the_price_once_the_description_is_used() {
        let t = tags(&[]);
        let b = brief(Some(towel(&t)));
        let text = "A soft, stonewashed linen towel. It dries fast and gets softer with every wash. Woven in Lithuania from European flax.";
        assert_eq!(
            lengthen(text, Platform::Instagram, &b),
            format!("{text} It's $19.99.")
        );
    }

    #[test]
    fn lengthen_adds_the_link_before_the_hashtags() {
        let t = tags(&[]);
        let b = brief(Some(towel(&t)));
        let text = "A soft, stonewashed linen towel. It dries fast and gets softer with every wash. Woven in Lithuania from European flax. $19.99\n\n#Linen";
        assert_eq!(
            lengthen(text, Platform::Instagram, &b),
            "A soft, stonewashed linen towel. It dries fast and gets softer with every wash. Woven in Lithuania from European flax. $19.99\n\nhttps://shop.example/products/linen-towel\n\n#Linen"
        );
    }

    #[test]
    fn lengthen_adds_hashtags_from_the_tags_up_to_the_cap() {
        let t = tags(&[
            "linen",
            "bathroom",
            "slow living",
            "gift ideas",
            "home",
            "towel",
        ]);
        let b = brief(Some(towel(&t)));
        let text = "A soft, stonewashed linen towel. It dries fast and gets softer with every wash. Woven in Lithuania from European flax. $19.99\nhttps://shop.example/products/linen-towel\n\n#Linen";
        assert_eq!(
            lengthen(text, Platform::Instagram, &b),
            format!("{text} #Bathroom #SlowLiving #GiftIdeas #Home")
        );
    }

    #[test]
    fn lengthen_changes_nothing_when_everything_true_is_already_said() {
        let t = tags(&["linen"]);
        let b = brief(Some(towel(&t)));
        let text = "A soft, stonewashed linen towel. It dries fast and gets softer with every wash. Woven in Lithuania from European flax. $19.99\nhttps://shop.example/products/linen-towel\n\n#Linen";
        assert_eq!(lengthen(text, Platform::Instagram, &b), text);
        // Nothing to go on at all.
        assert_eq!(
            lengthen("Hello.", Platform::Instagram, &brief(None)),
            "Hello."
        );
    }

    #[test]
    fn lengthen_skips_what_would_not_fit() {
        let t = tags(&[]);
        let b = brief(Some(towel(&t)));
        // 265 weighted characters on X: no description sentence fits, the price does.
        let text = "a".repeat(260) + " end.";
        let out = lengthen(&text, Platform::X, &b);
        assert_eq!(out, format!("{text} It's $19.99."));
        assert!(fits(&out, Platform::X));
    }

    #[test]
    fn built_in_captions_shorten_and_lengthen_keeping_the_link_and_price() {
        use crate::ai::builtin::write;
        let t = tags(&[
            "linen",
            "bathroom",
            "slow living",
            "gift ideas",
            "home",
            "towel",
        ]);
        for tone in Tone::ALL {
            let b = Brief {
                tone,
                ..brief(Some(towel(&t)))
            };
            for platform in Platform::ALL {
                for variation in 0..3 {
                    let caption = write(&b, platform, variation).text;
                    let short = shorten(&caption, platform);
                    let long = lengthen(&caption, platform, &b);
                    for out in [&short, &long] {
                        assert!(out.contains("$19.99"), "{platform} {tone}: {out}");
                        assert!(out.contains("https://shop.example/products/linen-towel"));
                        assert!(fits(out, platform));
                    }
                    assert!(short.chars().count() <= caption.chars().count());
                    assert!(long.chars().count() >= caption.chars().count());
                }
            }
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn part() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("Meet our mug.".to_string()),
                Just("It is really very nice.".to_string()),
                Just("We just love it".to_string()),
                Just("https://shop.example/a?x=1".to_string()),
                Just("shop.com/mug".to_string()),
                Just("$19.99".to_string()),
                Just("12".to_string()),
                Just("@ann".to_string()),
                Just("#sale".to_string()),
                Just("#mug".to_string()),
                Just("#tea".to_string()),
                Just(" ".to_string()),
                Just("  ".to_string()),
                Just("\n".to_string()),
                Just("\n\n".to_string()),
                Just(".".to_string()),
                Just("!".to_string()),
                Just(":".to_string()),
                Just("so".to_string()),
                "[a-zA-Z]{1,8}",
            ]
        }

        fn text() -> impl Strategy<Value = String> {
            prop::collection::vec(part(), 0..30).prop_map(|p| p.concat())
        }

        fn platform() -> impl Strategy<Value = Platform> {
            prop::sample::select(Platform::ALL.to_vec())
        }

        fn numbers(text: &str) -> Vec<&str> {
            text.split(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | ',' | '$')))
                .filter(|s| s.chars().any(|c| c.is_ascii_digit()))
                .collect()
        }

        /// Whether each sentence of `small` is found in `big`, in order.
        fn in_order(small: &str, big: &str) -> bool {
            let mut pos = 0;
            for line in lines(small) {
                for s in crate::ai::line_sentences(small, &line.range) {
                    let sentence = &small[s];
                    match big[pos..].find(sentence) {
                        Some(i) => pos += i + sentence.len(),
                        None => return false,
                    }
                }
            }
            true
        }

        proptest! {
            #[test]
            fn shortening_keeps_links_and_numbers_and_never_grows(text in text(), platform in platform()) {
                let out = shorten(&text, platform);
                prop_assert_eq!(&out, &shorten(&text, platform));
                prop_assert!(out.chars().count() <= text.chars().count());
                for url in caption::urls(&text) {
                    prop_assert!(out.contains(url), "{url:?} lost from {out:?}");
                }
                for n in numbers(&text) {
                    prop_assert!(out.contains(n), "{n:?} lost from {out:?}");
                }
            }

            #[test]
            fn lengthening_keeps_what_was_there_and_stays_within_the_limit(
                text in text(), platform in platform(), with_tags in any::<bool>()
            ) {
                let t = tags(&["mug", "tea time", "gift"]);
                let mut b = brief(Some(towel(&t)));
                b.hashtags = with_tags;
                let out = lengthen(&text, platform, &b);
                prop_assert_eq!(&out, &lengthen(&text, platform, &b));
                prop_assert!(in_order(&text, &out), "{text:?} → {out:?}");
                for url in caption::urls(&text) {
                    prop_assert!(out.contains(url), "{url:?} lost from {out:?}");
                }
                if fits(&text, platform) {
                    prop_assert!(fits(&out, platform));
                }
            }
        }
    }
}

//! Rule-based proofreading, used when no AI provider is configured: doubled words, spacing,
//! capitalization and a table of common misspellings.
//!
//! [`proofread`] returns suggestions as byte ranges of the input, sorted and non-overlapping, so
//! the Studio can show each one as a diff the user accepts or rejects; [`apply`] applies the
//! chosen ones. Nothing inside a link, an email address, an @mention, a #hashtag or a token
//! with a digit or currency sign in it (prices, sizes, `19.99`) is ever touched. Applying every
//! fix leaves nothing more to fix: where two rules meet (a misspelt word that also starts a
//! sentence) they make one fix, and where they overlap the stronger one wins in a way that
//! also removes the weaker one's problem.

use std::ops::Range;

use crate::domain::caption;

/// One suggested correction: replace `input[start..end]` (which is `before`) with `after`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    pub start: usize,
    pub end: usize,
    pub before: String,
    pub after: String,
    pub reason: String,
}

/// Misspelt word → correction, compared case-insensitively as whole words.
const MISSPELLINGS: &[(&str, &str)] = &[
    ("teh", "the"),
    ("recieve", "receive"),
    ("recieved", "received"),
    ("seperate", "separate"),
    ("seperately", "separately"),
    ("definately", "definitely"),
    ("occured", "occurred"),
    ("occurence", "occurrence"),
    ("untill", "until"),
    ("wich", "which"),
    ("accomodate", "accommodate"),
    ("beleive", "believe"),
    ("goverment", "government"),
    ("publically", "publicly"),
    ("tommorow", "tomorrow"),
    ("tommorrow", "tomorrow"),
    ("wierd", "weird"),
    ("thier", "their"),
    ("alot", "a lot"),
    ("acheive", "achieve"),
    ("adress", "address"),
    ("begining", "beginning"),
    ("calender", "calendar"),
    ("comming", "coming"),
    ("enviroment", "environment"),
    ("existance", "existence"),
    ("finaly", "finally"),
    ("foward", "forward"),
    ("freind", "friend"),
    ("gaurantee", "guarantee"),
    ("happend", "happened"),
    ("independant", "independent"),
    ("neccessary", "necessary"),
    ("necesary", "necessary"),
    ("noticable", "noticeable"),
    ("occassion", "occasion"),
    ("persue", "pursue"),
    ("posession", "possession"),
    ("realy", "really"),
    ("reccomend", "recommend"),
    ("recomend", "recommend"),
    ("sucess", "success"),
    ("suprise", "surprise"),
    ("truely", "truly"),
    ("wendsday", "Wednesday"),
    ("jewelery", "jewelry"),
    ("beatiful", "beautiful"),
];

/// Words people double on purpose ("that that", "bye bye").
const LEGIT_DOUBLES: &[&str] = &[
    "that", "had", "is", "bye", "no", "so", "very", "really", "ha", "haha", "yeah", "well",
    "knock", "chop", "tsk", "hush", "yum", "boo", "wow",
];

/// Words ending in a dot that don't end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "etc", "vs", "eg", "ie", "approx", "incl", "dr", "mr", "mrs", "ms", "st", "jr", "sr", "inc",
    "ltd", "co", "dept", "est", "no", "oz", "lb", "lbs", "ft", "cm", "mm", "kg", "fig", "min",
    "max", "ca",
];

/// Priority when two fixes overlap: the higher one is kept.
const DOUBLED: u8 = 3;
const WORD: u8 = 2;
const SPACING: u8 = 1;

/// The corrections this proofreader suggests for `text`, sorted and non-overlapping.
pub fn proofread(text: &str) -> Vec<Fix> {
    let scan = Scan::new(text);
    let mut candidates: Vec<(u8, Fix)> = Vec::new();
    let removed = scan.doubled_words(&mut candidates);
    scan.word_fixes(&removed, &mut candidates);
    scan.spacing(&mut candidates);

    candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.start.cmp(&b.1.start)));
    let mut kept: Vec<Fix> = Vec::new();
    for (_, fix) in candidates {
        if !kept.iter().any(|k| fix.start < k.end && k.start < fix.end) {
            kept.push(fix);
        }
    }
    kept.sort_by_key(|f| (f.start, f.end));
    kept
}

/// `text` with `fixes` applied. Fixes that don't match the text (a stale range, or one
/// overlapping an earlier fix) are skipped rather than corrupting it.
pub fn apply(text: &str, fixes: &[Fix]) -> String {
    let mut sorted: Vec<&Fix> = fixes.iter().collect();
    sorted.sort_by_key(|f| (f.start, f.end));
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for fix in sorted {
        if fix.start < pos || text.get(fix.start..fix.end) != Some(fix.before.as_str()) {
            continue;
        }
        out.push_str(&text[pos..fix.start]);
        out.push_str(&fix.after);
        pos = fix.end;
    }
    out.push_str(&text[pos..]);
    out
}

/// A word: a run of letters (and apostrophes inside it) in a token nothing protects.
#[derive(Clone, Debug)]
struct Word {
    range: Range<usize>,
    /// The whitespace-separated token the word is in.
    token: Range<usize>,
}

struct Scan<'t> {
    text: &'t str,
    links: Vec<Range<usize>>,
    /// Whitespace-separated tokens, each with whether it's protected.
    tokens: Vec<(Range<usize>, bool)>,
    words: Vec<Word>,
}

impl<'t> Scan<'t> {
    fn new(text: &'t str) -> Scan<'t> {
        let base = text.as_ptr() as usize;
        let links: Vec<Range<usize>> = caption::urls(text)
            .into_iter()
            .map(|u| {
                let start = u.as_ptr() as usize - base;
                start..start + u.len()
            })
            .collect();
        let mut tokens = Vec::new();
        let mut start = None;
        for (i, c) in text
            .char_indices()
            .chain(std::iter::once((text.len(), ' ')))
        {
            match (c.is_whitespace(), start) {
                (true, Some(s)) => {
                    tokens.push(s..i);
                    start = None;
                }
                (false, None) => start = Some(i),
                _ => {}
            }
        }
        let tokens: Vec<(Range<usize>, bool)> = tokens
            .into_iter()
            .map(|t| {
                let s = &text[t.clone()];
                let protected = links.iter().any(|l| l.start < t.end && t.start < l.end)
                    || s.chars().any(|c| {
                        c.is_numeric()
                            || matches!(c, '@' | '#' | '＠' | '＃' | '/' | '_' | '=' | '&')
                            || is_currency(c)
                    });
                (t, protected)
            })
            .collect();
        let mut words = Vec::new();
        for (token, protected) in &tokens {
            if *protected {
                continue;
            }
            let s = &text[token.clone()];
            let mut chars = s.char_indices().peekable();
            while let Some((i, c)) = chars.next() {
                if !c.is_alphabetic() {
                    continue;
                }
                let mut end = i + c.len_utf8();
                while let Some(&(j, d)) = chars.peek() {
                    let apostrophe_inside = matches!(d, '\'' | '’')
                        && s[j + d.len_utf8()..]
                            .chars()
                            .next()
                            .is_some_and(char::is_alphabetic);
                    if d.is_alphabetic() || apostrophe_inside {
                        end = j + d.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                words.push(Word {
                    range: token.start + i..token.start + end,
                    token: token.clone(),
                });
            }
        }
        Scan {
            text,
            links,
            tokens,
            words,
        }
    }

    fn protected_at(&self, i: usize) -> bool {
        self.tokens
            .iter()
            .any(|(t, p)| *p && t.start <= i && i < t.end)
    }

    fn word_text(&self, w: &Word) -> &'t str {
        &self.text[w.range.clone()]
    }

    /// "the the" → "the". Returns the indices of words removed this way.
    fn doubled_words(&self, out: &mut Vec<(u8, Fix)>) -> Vec<usize> {
        let mut removed = Vec::new();
        for i in 1..self.words.len() {
            let (a, b) = (&self.words[i - 1], &self.words[i]);
            let between = &self.text[a.range.end..b.range.start];
            let (wa, wb) = (self.word_text(a), self.word_text(b));
            let whole_tokens = a.token.end == a.range.end && b.token.start == b.range.start;
            if whole_tokens
                && !between.is_empty()
                && between.chars().all(|c| c == ' ' || c == '\t')
                && canonical(wa) == canonical(wb)
                && !LEGIT_DOUBLES.contains(&canonical(wa).as_str())
            {
                out.push((
                    DOUBLED,
                    self.fix(
                        a.range.end..b.range.end,
                        String::new(),
                        format!("“{wb}” is written twice"),
                    ),
                ));
                removed.push(i);
            }
        }
        removed
    }

    /// Misspellings, sentence-start capitals and a lone "i", one fix per word.
    fn word_fixes(&self, removed: &[usize], out: &mut Vec<(u8, Fix)>) {
        for (i, w) in self.words.iter().enumerate() {
            if removed.contains(&i) {
                continue;
            }
            let word = self.word_text(w);
            let lower = word.to_lowercase();
            let mut reasons = Vec::new();
            let mut after = word.to_owned();
            let misspelt = MISSPELLINGS.iter().find(|(wrong, _)| *wrong == lower);
            if let Some((_, right)) = misspelt {
                after = same_case(word, right);
                reasons.push(format!("“{word}” is usually spelt “{right}”"));
            }
            let lone_i = lower == "i" || lower.starts_with("i'") || lower.starts_with("i’");
            if lone_i && self.standalone_i(w) {
                after = capitalize(word);
                reasons.push("“I” is always a capital".to_owned());
            } else if self.starts_sentence(w) && is_plain_lowercase(word) {
                let capital = capitalize(&after);
                if capital != after {
                    after = capital;
                    reasons.push("a sentence starts with a capital letter".to_owned());
                }
            }
            if after != word {
                out.push((WORD, self.fix(w.range.clone(), after, reasons.join("; "))));
            }
        }
    }

    fn standalone_i(&self, w: &Word) -> bool {
        let before = self.text[..w.range.start].chars().next_back();
        let after = self.text[w.range.end..].chars().next();
        let after2 = self.text[w.range.end..].chars().nth(1);
        // Glued to a comma the spacing rule separates ("yes,i") it stands alone too.
        let glued = before.is_some_and(|c| {
            ",.!?".contains(c) && self.missing_space_after(w.range.start - c.len_utf8())
        });
        (glued || before.is_none_or(|c| c.is_whitespace() || "(\"“'‘".contains(c)))
            && after.is_none_or(|c| {
                !(c.is_alphanumeric() || c == '.' && after2.is_some_and(char::is_alphabetic))
            })
    }

    /// Whether `w` begins the text or a sentence. A word glued to `!` or `?` starts one too,
    /// since the spacing rule puts a space there.
    fn starts_sentence(&self, w: &Word) -> bool {
        let lead = &self.text[w.token.start..w.range.start];
        if !lead.chars().all(|c| "(\"“'‘[".contains(c)) {
            // Glued: "great!the".
            let mut back = self.text[..w.range.start].chars().rev();
            return matches!(back.next(), Some('!' | '?'))
                && self.missing_space_after(w.range.start - 1);
        }
        let before = self.text[..w.token.start].trim_end();
        if before.is_empty() {
            return true;
        }
        let mut back = before.char_indices().rev();
        let Some((p, punct)) = back.next() else {
            return true;
        };
        match punct {
            '!' | '?' => true,
            '.' => self.sentence_dot(p),
            _ => false,
        }
    }

    /// A `.` at `p` ends a sentence: not an ellipsis, an abbreviation or an initial.
    fn sentence_dot(&self, p: usize) -> bool {
        // A space the spacing rule removes ("done . then") doesn't count.
        let head = self.text[..p].trim_end_matches(' ');
        let Some(prev) = head.chars().next_back() else {
            return false;
        };
        if prev == '.' {
            return false;
        }
        let word: String = head
            .chars()
            .rev()
            .take_while(|c| c.is_alphabetic() || *c == '.')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if word.is_empty() {
            // After a digit, a closing bracket or quote: "It's $5. then" still ends a sentence.
            return prev.is_alphanumeric() || ")\"”'’".contains(prev);
        }
        // Only the last piece counts: "e.g" and "U.S" end in one letter, "done.Next" doesn't.
        let last = word.rsplit('.').next().unwrap_or("").to_lowercase();
        !(last.chars().count() < 2 || ABBREVIATIONS.contains(&last.as_str()))
    }

    /// Punctuation at byte `p` that needs a space after it: `,` `!` `?` before a letter, or
    /// `.` before a capital (so `shop.example` and `node.js` stay as they are).
    fn missing_space_after(&self, p: usize) -> bool {
        let Some(punct) = self.text[p..].chars().next() else {
            return false;
        };
        let Some(next) = self.text[p + punct.len_utf8()..].chars().next() else {
            return false;
        };
        if self.protected_at(p) || self.links.iter().any(|l| l.contains(&p)) {
            return false;
        }
        let prev_is_letter = self.text[..p]
            .trim_end_matches(' ')
            .chars()
            .next_back()
            .is_some_and(char::is_alphabetic);
        match punct {
            ',' | '!' | '?' => prev_is_letter && next.is_alphabetic(),
            '.' => prev_is_letter && next.is_uppercase() && self.sentence_dot(p),
            _ => false,
        }
    }

    /// Double spaces, a space before punctuation, no space after it.
    fn spacing(&self, out: &mut Vec<(u8, Fix)>) {
        let text = self.text;
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        let mut i = 0;
        while i < chars.len() {
            let (b, c) = chars[i];
            if c == ' ' {
                let mut j = i;
                while j < chars.len() && chars[j].1 == ' ' {
                    j += 1;
                }
                let run_end = chars.get(j).map_or(text.len(), |&(e, _)| e);
                let prev = i.checked_sub(1).map(|k| chars[k]);
                let next = chars.get(j).map(|&(_, n)| n);
                let after_next = chars.get(j + 1).map(|&(_, n)| n);
                let prev_ok = prev.is_some_and(|(pb, pc)| {
                    !pc.is_whitespace() && !self.links.iter().any(|l| l.contains(&pb))
                });
                // ":)" is a smile, not a colon.
                let closing = if matches!(next, Some(':' | ';')) {
                    ""
                } else {
                    ")\"”'’]"
                };
                let closes = after_next.is_none_or(|n| {
                    n.is_whitespace() || ",.!?;:".contains(n) || closing.contains(n)
                });
                if prev_ok && j < chars.len() && self.missing_space_after(chars[j].0) {
                    // "soft ,warm" → "soft, warm"
                    let (pb, pc) = chars[j];
                    out.push((
                        SPACING,
                        self.fix(
                            b..pb + pc.len_utf8(),
                            format!("{pc} "),
                            "a space after punctuation, not before",
                        ),
                    ));
                    i = j + 1;
                    continue;
                } else if prev_ok && next.is_some_and(|n| ",.!?;:".contains(n)) && closes {
                    out.push((
                        SPACING,
                        self.fix(b..run_end, String::new(), "no space before punctuation"),
                    ));
                } else if j - i >= 2
                    && prev.is_some_and(|(_, pc)| !pc.is_whitespace())
                    && next.is_some_and(|n| !n.is_whitespace())
                {
                    out.push((
                        SPACING,
                        self.fix(b..run_end, " ".into(), "one space is enough"),
                    ));
                }
                i = j;
                continue;
            }
            if ",.!?".contains(c) && self.missing_space_after(b) {
                out.push((
                    SPACING,
                    self.fix(b..b + 1, format!("{c} "), "a space after punctuation"),
                ));
            }
            i += 1;
        }
    }

    fn fix(&self, range: Range<usize>, after: String, reason: impl Into<String>) -> Fix {
        Fix {
            start: range.start,
            end: range.end,
            before: self.text[range].to_owned(),
            after,
            reason: reason.into(),
        }
    }
}

/// The word as it will read after spelling fixes, for comparing: "Teh" and "the" are the same.
fn canonical(word: &str) -> String {
    let lower = word.to_lowercase();
    match MISSPELLINGS.iter().find(|(wrong, _)| *wrong == lower) {
        Some((_, right)) => right.to_lowercase(),
        None => lower,
    }
}

fn is_currency(c: char) -> bool {
    matches!(c, '$' | '€' | '£' | '¥' | '₹' | '₩' | '¢')
}

/// All lower case, so a name like "iPhone" or "eBay" keeps its own capitals.
fn is_plain_lowercase(word: &str) -> bool {
    word.chars().all(|c| !c.is_uppercase())
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `right` written the way `original` was: "TEH" → "THE", "Teh" → "The".
fn same_case(original: &str, right: &str) -> String {
    let letters: Vec<char> = original.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.len() > 1 && letters.iter().all(|c| c.is_uppercase()) {
        right.to_uppercase()
    } else if letters.first().is_some_and(|c| c.is_uppercase()) {
        capitalize(right)
    } else {
        right.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(text: &str) -> String {
        apply(text, &proofread(text))
    }

    #[test]
    fn doubled_words_are_removed_but_deliberate_doubles_stay() {
        for (text, want) in [
            ("Pick up the the mug.", "Pick up the mug."),
            ("The the mug.", "The mug."),
            ("A mug for for for you.", "A mug for you."),
            ("I know that that works.", "I know that that works."),
            ("Bye bye, winter.", "Bye bye, winter."),
            ("See #mug #mug.", "See #mug #mug."),
        ] {
            assert_eq!(fixed(text), want, "{text:?}");
        }
    }

    #[test]
    fn spacing_is_tidied_without_touching_decimals_links_or_abbreviations() {
        for (text, want) in [
            ("Soft  and warm.", "Soft and warm."),
            ("Soft , warm and new !", "Soft, warm and new!"),
            ("Soft,warm and new.", "Soft, warm and new."),
            ("Wow!It arrived.", "Wow! It arrived."),
            ("Done.Next week.", "Done. Next week."),
            ("Only $19.99 today.", "Only $19.99 today."),
            (
                "Colours, e.g. blue, i.e. sky.",
                "Colours, e.g. blue, i.e. sky.",
            ),
            (
                "See shop.example/mug for more.",
                "See shop.example/mug for more.",
            ),
            (
                "See https://shop.example/a?b=1,c=2 now.",
                "See https://shop.example/a?b=1,c=2 now.",
            ),
            (
                "Mail ann@shop.example today.",
                "Mail ann@shop.example today.",
            ),
            ("Made with node.js here.", "Made with node.js here."),
            ("Smile :)", "Smile :)"),
        ] {
            assert_eq!(fixed(text), want, "{text:?}");
        }
    }

    #[test]
    fn sentences_and_a_lone_i_get_capitals() {
        for (text, want) in [
            (
                "new mugs are in. they sold out last time.",
                "New mugs are in. They sold out last time.",
            ),
            (
                "we love it! you will too? yes.",
                "We love it! You will too? Yes.",
            ),
            ("i think i'm in love.", "I think I'm in love."),
            ("Colours e.g. blue. fine.", "Colours e.g. blue. Fine."),
            ("Wait... then it came.", "Wait... then it came."),
            ("It's $5. then more.", "It's $5. Then more."),
            ("Great. iPhone cases too.", "Great. iPhone cases too."),
            ("#sale starts now", "#sale starts now"),
            ("Great. shop.com has it.", "Great. shop.com has it."),
            ("Great!the end.", "Great! The end."),
        ] {
            assert_eq!(fixed(text), want, "{text:?}");
        }
    }

    #[test]
    fn common_misspellings_are_corrected_keeping_their_case() {
        for (text, want) in [
            (
                "You will recieve it tommorow.",
                "You will receive it tomorrow.",
            ),
            ("teh best.", "The best."),
            ("TEH BEST.", "THE BEST."),
            ("We have alot of them.", "We have a lot of them."),
            ("Alot of them.", "A lot of them."),
            ("Thier colours are wierd.", "Their colours are weird."),
            (
                "Buy #teh and @teh at teh.com/x",
                "Buy #teh and @teh at teh.com/x",
            ),
        ] {
            assert_eq!(fixed(text), want, "{text:?}");
        }
    }

    #[test]
    fn fixes_are_sorted_and_apart_and_each_can_be_chosen_alone() {
        let text = "teh mug  is the the best ,enjoy";
        let fixes = proofread(text);
        assert!(fixes.windows(2).all(|w| w[0].end <= w[1].start));
        for f in &fixes {
            assert_eq!(&text[f.start..f.end], f.before);
            assert!(!f.reason.is_empty());
        }
        let first = apply(text, &fixes[..1]);
        assert_eq!(first, "The mug  is the the best ,enjoy");
        assert_eq!(fixed(text), "The mug is the best, enjoy");
    }

    #[test]
    fn proofreading_fixed_text_finds_nothing_more() {
        for text in [
            "teh mug  is is here ,enjoy",
            "hello.World and the the  thing !you",
            "i i think. alot",
            "wow ! the end",
        ] {
            let once = fixed(text);
            assert_eq!(proofread(&once), vec![], "{text:?} → {once:?}");
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn part() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("the".to_string()),
                Just("teh".to_string()),
                Just("i".to_string()),
                Just("alot".to_string()),
                Just("mug".to_string()),
                Just("Great".to_string()),
                Just("e.g.".to_string()),
                Just("https://shop.example/a?x=1,y=2".to_string()),
                Just("shop.example/mug".to_string()),
                Just("$19.99".to_string()),
                Just("€24.50".to_string()),
                Just("@ann".to_string()),
                Just("#sale".to_string()),
                Just(" ".to_string()),
                Just("  ".to_string()),
                Just("\n".to_string()),
                Just(".".to_string()),
                Just(",".to_string()),
                Just("!".to_string()),
                Just("?".to_string()),
                "[a-zA-Z]{1,6}",
            ]
        }

        fn text() -> impl Strategy<Value = String> {
            prop::collection::vec(part(), 0..24).prop_map(|p| p.concat())
        }

        proptest! {
            #[test]
            fn applying_every_fix_keeps_links_and_prices_and_leaves_nothing_to_fix(text in text()) {
                let fixes = proofread(&text);
                let out = apply(&text, &fixes);
                for url in caption::urls(&text) {
                    prop_assert!(out.contains(url), "{url:?} lost from {out:?}");
                }
                for price in ["$19.99", "€24.50"] {
                    prop_assert_eq!(text.matches(price).count(), out.matches(price).count());
                }
                prop_assert_eq!(proofread(&out), vec![], "{:?} → {:?}", text, out);
            }
        }
    }
}

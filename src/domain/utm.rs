//! UTM tagging of product links: when a post made from a product goes out, each occurrence of
//! the product's URL in its text gets `utm_source=<network>&utm_medium=social&utm_campaign=<c>`,
//! so the shop's analytics can tell which network sent a visitor.
//!
//! Only the product's own URL is touched (the same address, the same query apart from UTM
//! parameters; a trailing-slash variant counts as another URL), and only where it stands as a
//! link of its own: at the start of the text or after a space or an opening bracket or quote,
//! and up to the next space (sentence punctuation after it is left outside). Its query string is
//! kept, any `utm_*` parameters already there are replaced by ours, and a fragment stays last.
//! Tagging twice gives the same text as tagging once.

/// A seller's `utm_campaign`: 1–100 letters, digits, `-` or `_`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Campaign(String);

impl Campaign {
    pub const MAX_LEN: usize = 100;

    pub fn parse(raw: &str) -> Result<Campaign, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(
                "Enter a campaign name, for example “picscripter” or “spring-sale”.".into(),
            );
        }
        if name.chars().count() > Self::MAX_LEN {
            return Err(format!(
                "Keep the campaign name to {} characters or fewer.",
                Self::MAX_LEN
            ));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(
                "Use only letters, digits, hyphens (-) and underscores (_), with no spaces.".into(),
            );
        }
        Ok(Campaign(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `text` with every occurrence of `product_url` tagged for `network` and `campaign`.
pub fn tag_links(text: &str, product_url: &str, network: &str, campaign: &str) -> String {
    let product_url = product_url.trim();
    let (base, product_query, _) = split_url(product_url);
    if base.is_empty() || !base.contains("://") {
        return text.to_owned();
    }
    let wanted = without_ours(product_query);
    let mut out = String::with_capacity(text.len() + 80);
    let mut rest = 0;
    let mut from = 0;
    while let Some(found) = text[from..].find(base) {
        let start = from + found;
        from = start + base.len();
        let at_boundary = text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || "([{<\"'".contains(c));
        if !at_boundary {
            continue;
        }
        let end = token_end(text, start);
        let token = &text[start..end];
        let (token_base, query, fragment) = split_url(token);
        if token_base != base || without_ours(query) != wanted {
            continue;
        }
        out.push_str(&text[rest..start]);
        out.push_str(&tagged(base, query, fragment, network, campaign));
        rest = end;
        from = end;
    }
    out.push_str(&text[rest..]);
    out
}

/// Where the link starting at `start` ends: the next space, quote or angle bracket, less any
/// sentence punctuation (and a closing bracket) at its end.
fn token_end(text: &str, start: usize) -> usize {
    let mut end = text[start..]
        .find(|c: char| c.is_whitespace() || "<>\"".contains(c))
        .map_or(text.len(), |i| start + i);
    while let Some(c) = text[start..end].chars().next_back() {
        if ".,;:!?)]}'…".contains(c) {
            end -= c.len_utf8();
        } else {
            break;
        }
    }
    end
}

/// `(address, query, fragment)` of a URL, each without its `?`/`#`.
fn split_url(url: &str) -> (&str, Option<&str>, Option<&str>) {
    let (head, fragment) = match url.split_once('#') {
        Some((h, f)) => (h, Some(f)),
        None => (url, None),
    };
    match head.split_once('?') {
        Some((b, q)) => (b, Some(q), fragment),
        None => (head, None, fragment),
    }
}

/// Whether a query parameter is a UTM one (`utm_…`, any case): those are replaced by ours.
fn is_ours(pair: &str) -> bool {
    pair.get(..4)
        .is_some_and(|k| k.eq_ignore_ascii_case("utm_"))
}

/// The query's parameters other than UTM ones, in order.
fn without_ours(query: Option<&str>) -> Vec<&str> {
    query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty() && !is_ours(p))
        .collect()
}

fn tagged(
    base: &str,
    query: Option<&str>,
    fragment: Option<&str>,
    network: &str,
    campaign: &str,
) -> String {
    let encode = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    let mut params: Vec<String> = without_ours(query).into_iter().map(str::to_owned).collect();
    params.push(format!("utm_source={}", encode(network)));
    params.push("utm_medium=social".to_owned());
    params.push(format!("utm_campaign={}", encode(campaign)));
    let mut out = format!("{base}?{}", params.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MUG: &str = "https://shop.example/products/mug";
    const TAGS: &str = "utm_source=x&utm_medium=social&utm_campaign=spring";

    #[test]
    fn product_links_are_tagged_and_nothing_else_is() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "a bare link",
                "Mugs! https://shop.example/products/mug",
                "Mugs! https://shop.example/products/mug?utm_source=x&utm_medium=social&utm_campaign=spring",
            ),
            (
                "the link alone",
                MUG,
                "https://shop.example/products/mug?utm_source=x&utm_medium=social&utm_campaign=spring",
            ),
            (
                "the same page with another query is another link",
                "See https://shop.example/products/mug?variant=2 now",
                "See https://shop.example/products/mug?variant=2 now",
            ),
            (
                "a fragment stays after the query",
                "https://shop.example/products/mug#reviews",
                "https://shop.example/products/mug?utm_source=x&utm_medium=social&utm_campaign=spring#reviews",
            ),
            (
                "punctuation ending a sentence stays outside",
                "Get yours at https://shop.example/products/mug.",
                "Get yours at https://shop.example/products/mug?utm_source=x&utm_medium=social&utm_campaign=spring.",
            ),
            (
                "in brackets",
                "(https://shop.example/products/mug)",
                "(https://shop.example/products/mug?utm_source=x&utm_medium=social&utm_campaign=spring)",
            ),
            (
                "every occurrence",
                "https://shop.example/products/mug and again https://shop.example/products/mug!",
                "https://shop.example/products/mug?utm_source=x&utm_medium=social&utm_campaign=spring and again https://shop.example/products/mug?utm_source=x&utm_medium=social&utm_campaign=spring!",
            ),
            (
                "other URLs are untouched",
                "Also https://shop.example/products/bowl and https://blog.example/",
                "Also https://shop.example/products/bowl and https://blog.example/",
            ),
            (
                "a longer path is another product",
                "https://shop.example/products/mug-large",
                "https://shop.example/products/mug-large",
            ),
            (
                "a trailing slash is another URL",
                "https://shop.example/products/mug/",
                "https://shop.example/products/mug/",
            ),
            (
                "inside another URL it is left alone",
                "https://r.example/?to=https://shop.example/products/mug",
                "https://r.example/?to=https://shop.example/products/mug",
            ),
            (
                "earlier UTM parameters are replaced",
                "https://shop.example/products/mug?utm_source=fb&utm_content=a&UTM_campaign=old",
                "https://shop.example/products/mug?utm_source=x&utm_medium=social&utm_campaign=spring",
            ),
            ("no link, no change", "Just words.", "Just words."),
        ];
        for (what, text, expected) in cases {
            assert_eq!(tag_links(text, MUG, "x", "spring"), *expected, "{what}");
        }
    }

    #[test]
    fn a_campaign_name_is_letters_digits_hyphens_and_underscores() {
        assert_eq!(
            Campaign::parse(" spring-sale_2026 ").unwrap().as_str(),
            "spring-sale_2026"
        );
        for bad in ["", "   ", "spring sale", "päsk", "a&b", &"x".repeat(101)] {
            assert!(Campaign::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Campaign::parse(&"x".repeat(100)).is_ok());
    }

    #[test]
    fn tagging_twice_changes_nothing_more() {
        for text in [
            "Mugs https://shop.example/products/mug.",
            "https://shop.example/products/mug?variant=2#top https://shop.example/products/mug",
        ] {
            let once = tag_links(text, MUG, "pinterest", "spring");
            assert_eq!(tag_links(&once, MUG, "pinterest", "spring"), once);
        }
        // Tagged for one network, then for another: the source is replaced, not added.
        let x = tag_links(MUG, MUG, "x", "spring");
        assert!(x.ends_with(TAGS));
        assert_eq!(
            tag_links(&x, MUG, "linkedin", "spring"),
            format!("{MUG}?utm_source=linkedin&utm_medium=social&utm_campaign=spring")
        );
    }

    #[test]
    fn a_product_url_with_its_own_query_keeps_it_and_matches_only_that_query() {
        let url = "https://shop.example/p?id=7";
        assert_eq!(
            tag_links(
                "https://shop.example/p?id=7 https://shop.example/p?id=8",
                url,
                "x",
                "c"
            ),
            "https://shop.example/p?id=7&utm_source=x&utm_medium=social&utm_campaign=c https://shop.example/p?id=8"
        );
        // A product URL carrying UTM parameters of its own is matched without them.
        assert_eq!(
            tag_links(
                "https://shop.example/p?id=7#top",
                "https://shop.example/p?id=7&utm_source=shop",
                "x",
                "c"
            ),
            "https://shop.example/p?id=7&utm_source=x&utm_medium=social&utm_campaign=c#top"
        );
    }

    #[test]
    fn text_around_non_ascii_is_kept_whole() {
        assert_eq!(
            tag_links(
                "Tasse ☕ https://shop.example/products/mug… schön",
                MUG,
                "x",
                "c"
            ),
            "Tasse ☕ https://shop.example/products/mug?utm_source=x&utm_medium=social&utm_campaign=c… schön"
        );
    }
}

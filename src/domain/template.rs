//! Caption templates: text with placeholders such as `{product.title}` filled in from a product
//! and the shop.
//!
//! A template is parsed once when it's saved, so a misspelt placeholder is caught then, with the
//! list of the ones we know, rather than showing up as stray braces in a published post. `{{`
//! and `}}` stand for literal braces; a lone `}` is kept as it is, since it can't be mistaken for
//! anything.

use std::fmt;

use serde::Serialize;

/// A value a template can insert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Placeholder {
    ProductTitle,
    ProductPrice,
    ProductUrl,
    ProductDescription,
    ProductTags,
    ShopName,
}

impl Placeholder {
    pub const ALL: [Placeholder; 6] = [
        Placeholder::ProductTitle,
        Placeholder::ProductPrice,
        Placeholder::ProductUrl,
        Placeholder::ProductDescription,
        Placeholder::ProductTags,
        Placeholder::ShopName,
    ];

    /// The name written between the braces.
    pub fn name(self) -> &'static str {
        match self {
            Placeholder::ProductTitle => "product.title",
            Placeholder::ProductPrice => "product.price",
            Placeholder::ProductUrl => "product.url",
            Placeholder::ProductDescription => "product.description",
            Placeholder::ProductTags => "product.tags",
            Placeholder::ShopName => "shop.name",
        }
    }

    fn from_name(name: &str) -> Option<Placeholder> {
        Placeholder::ALL.into_iter().find(|p| p.name() == name)
    }

    /// What someone probably meant by a name we don't know: the same name in other letter case,
    /// or a common synonym.
    fn suggestion(name: &str) -> Option<Placeholder> {
        let lower = name.to_lowercase();
        if let Some(p) = Placeholder::from_name(&lower) {
            return Some(p);
        }
        match lower.as_str() {
            "product.name" | "title" | "name" => Some(Placeholder::ProductTitle),
            "product.cost" | "price" => Some(Placeholder::ProductPrice),
            "product.link" | "product.url_link" | "url" | "link" => Some(Placeholder::ProductUrl),
            "product.desc" | "description" => Some(Placeholder::ProductDescription),
            "product.hashtags" | "tags" | "hashtags" => Some(Placeholder::ProductTags),
            "shop.title" | "store.name" | "shop" => Some(Placeholder::ShopName),
            _ => None,
        }
    }
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{}}}", self.name())
    }
}

/// A problem in a template's text. `Display` gives the sentence to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateError {
    /// `{product.colour}`: a name we don't know, with a likely meaning if there is one.
    UnknownPlaceholder {
        name: String,
        suggestion: Option<Placeholder>,
    },
    /// A `{` with no `}` after it on the same line.
    Unclosed,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateError::UnknownPlaceholder {
                name,
                suggestion: Some(p),
            } => write!(f, "{{{name}}} isn't a placeholder we know. Did you mean {p}?"),
            TemplateError::UnknownPlaceholder {
                name,
                suggestion: None,
            } => {
                let known: Vec<String> = Placeholder::ALL.iter().map(|p| p.to_string()).collect();
                write!(
                    f,
                    "{{{name}}} isn't a placeholder we know. Use one of: {}.",
                    known.join(", ")
                )
            }
            TemplateError::Unclosed => f.write_str(
                "There's a { without a } after it. Finish the placeholder, or write {{ for a brace.",
            ),
        }
    }
}

impl std::error::Error for TemplateError {}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Value(Placeholder),
}

/// A template whose placeholders are all known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parses `body`, listing every problem at once (each unknown name only once).
    pub fn parse(body: &str) -> Result<Template, Vec<TemplateError>> {
        let mut parts = Vec::new();
        let mut errors: Vec<TemplateError> = Vec::new();
        let mut text = String::new();
        let mut rest = body;
        while let Some(i) = rest.find(['{', '}']) {
            text.push_str(&rest[..i]);
            let tail = &rest[i..];
            if let Some(after) = tail.strip_prefix("{{") {
                text.push('{');
                rest = after;
            } else if let Some(after) = tail.strip_prefix("}}").or_else(|| tail.strip_prefix('}')) {
                text.push('}');
                rest = after;
            } else {
                // A placeholder runs to the next `}`; a newline or another `{` first means the
                // brace was never closed.
                let inner = &tail[1..];
                match inner.find(['}', '{', '\n']) {
                    Some(end) if inner.as_bytes()[end] == b'}' => {
                        let name = inner[..end].trim();
                        match Placeholder::from_name(name) {
                            Some(p) => {
                                if !text.is_empty() {
                                    parts.push(Part::Text(std::mem::take(&mut text)));
                                }
                                parts.push(Part::Value(p));
                            }
                            None => {
                                let error = TemplateError::UnknownPlaceholder {
                                    name: name.to_owned(),
                                    suggestion: Placeholder::suggestion(name),
                                };
                                if !errors.contains(&error) {
                                    errors.push(error);
                                }
                            }
                        }
                        rest = &inner[end + 1..];
                    }
                    _ => {
                        if !errors.contains(&TemplateError::Unclosed) {
                            errors.push(TemplateError::Unclosed);
                        }
                        text.push('{');
                        rest = inner;
                    }
                }
            }
        }
        text.push_str(rest);
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        if errors.is_empty() {
            Ok(Template { parts })
        } else {
            Err(errors)
        }
    }

    /// The placeholders used, in order of first use.
    pub fn placeholders(&self) -> Vec<Placeholder> {
        let mut seen = Vec::new();
        for part in &self.parts {
            if let Part::Value(p) = part
                && !seen.contains(p)
            {
                seen.push(*p);
            }
        }
        seen
    }

    /// The placeholders that would come out empty for `context` (no product chosen, a product
    /// without a price…), so the composer can say so before the seller is surprised.
    pub fn unfilled(&self, context: &TemplateContext) -> Vec<Placeholder> {
        self.placeholders()
            .into_iter()
            .filter(|p| context.value(*p).is_none_or(|v| v.is_empty()))
            .collect()
    }

    /// The caption for `context`. A placeholder without a value becomes empty text.
    pub fn render(&self, context: &TemplateContext) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Value(p) => out.push_str(&context.value(*p).unwrap_or_default()),
            }
        }
        out
    }
}

/// What a template is filled in from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TemplateContext {
    pub shop_name: String,
    pub product: Option<ProductFacts>,
}

/// The product facts a template can use. The description is plain text; shops that send HTML
/// are converted when the catalogue is synchronised.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProductFacts {
    pub title: String,
    pub price: Option<Money>,
    pub url: Option<String>,
    pub description: String,
    pub tags: Vec<String>,
}

impl TemplateContext {
    fn value(&self, p: Placeholder) -> Option<String> {
        let product = self.product.as_ref();
        match p {
            Placeholder::ShopName => Some(self.shop_name.clone()),
            Placeholder::ProductTitle => product.map(|x| x.title.clone()),
            Placeholder::ProductPrice => product.and_then(|x| x.price).map(|m| m.to_string()),
            Placeholder::ProductUrl => product.and_then(|x| x.url.clone()),
            Placeholder::ProductDescription => product.map(|x| x.description.clone()),
            Placeholder::ProductTags => product.map(|x| hashtags(&x.tags)),
        }
    }
}

/// Product tags as hashtags: `["handmade", "summer sale", "Handmade"]` → `#handmade #SummerSale`.
///
/// Words are joined in CamelCase so screen readers can still read them, characters a hashtag
/// can't hold are dropped, tags without a letter are skipped (`#2024` isn't a hashtag on most
/// platforms), and repeats are left out ignoring case.
pub fn hashtags<S: AsRef<str>>(tags: &[S]) -> String {
    let mut seen: Vec<String> = Vec::new();
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let Some(tag) = hashtag(tag.as_ref()) else {
            continue;
        };
        let key = tag.to_lowercase();
        if !seen.contains(&key) {
            seen.push(key);
            out.push(tag);
        }
    }
    out.join(" ")
}

/// One tag as a hashtag, or `None` when nothing usable is left.
pub fn hashtag(tag: &str) -> Option<String> {
    let words: Vec<&str> = tag
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    if !words.iter().any(|w| w.chars().any(char::is_alphabetic)) {
        return None;
    }
    let mut out = String::from("#");
    if let [one] = words.as_slice() {
        out.push_str(one);
    } else {
        for w in words {
            let mut chars = w.chars();
            if let Some(first) = chars.next() {
                out.extend(first.to_uppercase());
                out.push_str(chars.as_str());
            }
        }
    }
    Some(out)
}

/// An ISO 4217 currency code such as `EUR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn parse(raw: &str) -> Result<Currency, String> {
        let raw = raw.trim();
        match raw.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_alphabetic()) => Ok(Currency([
                a.to_ascii_uppercase(),
                b.to_ascii_uppercase(),
                c.to_ascii_uppercase(),
            ])),
            _ => Err("Use a three-letter currency code such as EUR or USD.".into()),
        }
    }

    pub fn code(&self) -> &str {
        // Only ASCII letters get in, so this is always valid UTF-8.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Digits after the decimal point (ISO 4217 minor units): none for yen, three for dinars.
    pub fn exponent(&self) -> u32 {
        match self.code() {
            "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF"
            | "UGX" | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
            "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
            _ => 2,
        }
    }

    /// A symbol written before the amount, for the currencies where one is unambiguous.
    fn symbol(&self) -> Option<&'static str> {
        Some(match self.code() {
            "USD" => "$",
            "EUR" => "€",
            "GBP" => "£",
            "JPY" => "¥",
            "INR" => "₹",
            "KRW" => "₩",
            "CAD" => "CA$",
            "AUD" => "A$",
            "NZD" => "NZ$",
            "BRL" => "R$",
            "MXN" => "MX$",
            _ => return None,
        })
    }
}

/// A price: a whole number of the currency's smallest unit, so nothing is lost to rounding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// Reads a decimal amount as shops send it (`"24.99"`, `"1299"`, `"24.990"`) with its
    /// currency. Digits beyond the currency's precision are rounded half up.
    pub fn parse(amount: &str, currency: &str) -> Result<Money, String> {
        let currency = Currency::parse(currency)?;
        let bad = || "Enter the price as a number, for example 24.99.".to_string();
        let amount = amount.trim();
        let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
        if whole.is_empty()
            || whole.len() > 12
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let exp = currency.exponent() as usize;
        let mut minor: i64 = whole.parse().map_err(|_| bad())?;
        for i in 0..exp {
            let digit = fraction
                .as_bytes()
                .get(i)
                .map_or(0, |b| i64::from(b - b'0'));
            minor = minor * 10 + digit;
        }
        if fraction.as_bytes().get(exp).is_some_and(|&b| b >= b'5') {
            minor += 1;
        }
        Ok(Money { minor, currency })
    }

    pub fn minor_units(&self) -> i64 {
        self.minor
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }
}

/// `$24.99`, `€1,299.00`, `¥1,500`, `24.50 CHF`: English number style, since a caption's
/// language isn't known here.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exp = self.currency.exponent();
        let scale = 10i64.pow(exp);
        let whole = crate::domain::words::thousands((self.minor / scale) as u64);
        let amount = if exp == 0 {
            whole
        } else {
            format!(
                "{whole}.{:0width$}",
                self.minor % scale,
                width = exp as usize
            )
        };
        match self.currency.symbol() {
            Some(symbol) => write!(f, "{symbol}{amount}"),
            None => write!(f, "{amount} {}", self.currency.code()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::caption;

    fn mug() -> TemplateContext {
        TemplateContext {
            shop_name: "Kiln & Co".into(),
            product: Some(ProductFacts {
                title: "Blue mug".into(),
                price: Some(Money::parse("24.9", "eur").unwrap()),
                url: Some("https://kiln.example/mug".into()),
                description: "Thrown by hand.".into(),
                tags: vec!["handmade".into(), "summer sale".into(), "Handmade".into()],
            }),
        }
    }

    #[test]
    fn placeholders_are_filled_from_the_product_and_shop() {
        for (body, want) in [
            ("{product.title} for {product.price}", "Blue mug for €24.90"),
            ("{ product.title }", "Blue mug"),
            ("{product.url}", "https://kiln.example/mug"),
            (
                "{product.description} — {shop.name}",
                "Thrown by hand. — Kiln & Co",
            ),
            ("{product.tags}", "#handmade #SummerSale"),
            ("no placeholders", "no placeholders"),
            ("", ""),
        ] {
            let t = Template::parse(body).unwrap();
            assert_eq!(t.render(&mug()), want, "{body:?}");
        }
    }

    #[test]
    fn double_braces_are_literal_braces() {
        for (body, want) in [
            ("{{product.title}}", "{product.title}"),
            ("a {{ b", "a { b"),
            ("a }} b", "a } b"),
            ("a } b", "a } b"),
            ("{{{product.title}}}", "{Blue mug}"),
        ] {
            assert_eq!(
                Template::parse(body).unwrap().render(&mug()),
                want,
                "{body:?}"
            );
        }
    }

    #[test]
    fn unknown_placeholders_are_listed_by_name() {
        let errors =
            Template::parse("{product.colour} and {product.colour} and {size}").unwrap_err();
        let messages: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            messages,
            [
                "{product.colour} isn't a placeholder we know. Use one of: {product.title}, {product.price}, {product.url}, {product.description}, {product.tags}, {shop.name}.",
                "{size} isn't a placeholder we know. Use one of: {product.title}, {product.price}, {product.url}, {product.description}, {product.tags}, {shop.name}.",
            ]
        );
    }

    #[test]
    fn near_misses_get_a_suggestion() {
        for (body, want) in [
            ("{Product.Title}", Placeholder::ProductTitle),
            ("{product.name}", Placeholder::ProductTitle),
            ("{product.link}", Placeholder::ProductUrl),
            ("{shop.title}", Placeholder::ShopName),
            ("{hashtags}", Placeholder::ProductTags),
        ] {
            let errors = Template::parse(body).unwrap_err();
            assert_eq!(
                errors,
                [TemplateError::UnknownPlaceholder {
                    name: body.trim_matches(['{', '}']).into(),
                    suggestion: Some(want)
                }]
            );
        }
        assert_eq!(
            Template::parse("{product.name}").unwrap_err()[0].to_string(),
            "{product.name} isn't a placeholder we know. Did you mean {product.title}?"
        );
    }

    #[test]
    fn an_unclosed_brace_is_reported_once() {
        for body in [
            "Sale {product.title",
            "{product.title\n}",
            "{ {product.title}",
            "a { b { c",
        ] {
            let errors = Template::parse(body).unwrap_err();
            assert_eq!(errors, [TemplateError::Unclosed], "{body:?}");
        }
        assert_eq!(
            TemplateError::Unclosed.to_string(),
            "There's a { without a } after it. Finish the placeholder, or write {{ for a brace."
        );
    }

    #[test]
    fn missing_values_render_empty_and_are_reported() {
        let t = Template::parse("{product.title} {product.price} at {shop.name}").unwrap();
        let no_product = TemplateContext {
            shop_name: "Kiln & Co".into(),
            product: None,
        };
        assert_eq!(t.render(&no_product), "  at Kiln & Co");
        assert_eq!(
            t.unfilled(&no_product),
            [Placeholder::ProductTitle, Placeholder::ProductPrice]
        );
        let mut no_price = mug();
        if let Some(p) = no_price.product.as_mut() {
            p.price = None;
        }
        assert_eq!(t.unfilled(&no_price), [Placeholder::ProductPrice]);
        assert!(t.unfilled(&mug()).is_empty());
        assert_eq!(
            t.placeholders(),
            [
                Placeholder::ProductTitle,
                Placeholder::ProductPrice,
                Placeholder::ShopName
            ]
        );
    }

    #[test]
    fn prices_are_formatted_with_their_currency() {
        for (amount, currency, want) in [
            ("24.99", "USD", "$24.99"),
            ("24.9", "eur", "€24.90"),
            ("1299", "GBP", "£1,299.00"),
            ("1500", "JPY", "¥1,500"),
            ("1500.6", "JPY", "¥1,501"),
            ("24.995", "USD", "$25.00"),
            ("24.994", "USD", "$24.99"),
            ("24.990", "USD", "$24.99"),
            ("12.5", "KWD", "12.500 KWD"),
            ("24.5", "CHF", "24.50 CHF"),
            ("0", "EUR", "€0.00"),
        ] {
            assert_eq!(
                Money::parse(amount, currency).unwrap().to_string(),
                want,
                "{amount} {currency}"
            );
        }
        for (amount, currency) in [
            ("", "EUR"),
            ("-1", "EUR"),
            ("1,5", "EUR"),
            ("abc", "EUR"),
            ("1", "EURO"),
            ("1", "€"),
        ] {
            assert!(
                Money::parse(amount, currency).is_err(),
                "{amount} {currency}"
            );
        }
    }

    #[test]
    fn tags_become_hashtags_the_platforms_recognise() {
        for (tags, want) in [
            (vec!["handmade"], "#handmade"),
            (vec!["summer sale", "gift-idea"], "#SummerSale #GiftIdea"),
            (vec!["Keramik", "keramik", "KERAMIK"], "#Keramik"),
            (vec!["2024", "#ceramics", "  "], "#ceramics"),
            (vec!["café au lait"], "#CaféAuLait"),
            (vec![], ""),
        ] {
            let rendered = hashtags(&tags);
            assert_eq!(rendered, want, "{tags:?}");
            let found: Vec<String> = caption::hashtags(&rendered)
                .into_iter()
                .map(|t| format!("#{t}"))
                .collect();
            assert_eq!(
                found.join(" "),
                want,
                "the caption parser should see the same tags"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn escaped_text_renders_back_to_itself(text in "\\PC{0,80}") {
            let escaped = text.replace('{', "{{").replace('}', "}}");
            let template = Template::parse(&escaped).unwrap();
            proptest::prop_assert_eq!(template.render(&TemplateContext::default()), text);
        }

        #[test]
        fn parsing_any_text_never_panics(text in "[{}a-z. \n]{0,40}") {
            let _ = Template::parse(&text);
        }
    }
}

//! Reading urlencoded forms whose fields repeat (checkbox groups, ordered lists) or carry a key
//! in their name (`caption.{account}`), which `serde_urlencoded` can't express.

use std::collections::HashMap;

#[derive(Debug, Default, Clone)]
pub struct FormData {
    pairs: Vec<(String, String)>,
}

impl FormData {
    pub fn parse(body: &[u8]) -> Self {
        Self {
            pairs: url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    /// The first value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value, or "".
    pub fn str(&self, name: &str) -> &str {
        self.get(name).unwrap_or_default()
    }

    /// Every value of a repeated field, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Fields named `{prefix}{rest}`, as `(rest, value)` in the form's order.
    pub fn prefixed(&self, prefix: &str) -> Vec<(&str, &str)> {
        self.pairs
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(prefix).map(|rest| (rest, v.as_str())))
            .collect()
    }

    /// Fields named `{prefix}{rest}`, as `rest → value` (first value wins).
    pub fn with_prefix(&self, prefix: &str) -> HashMap<String, String> {
        let mut out = HashMap::new();
        for (k, v) in &self.pairs {
            if let Some(rest) = k.strip_prefix(prefix) {
                out.entry(rest.to_owned()).or_insert_with(|| v.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_and_keyed_fields_are_read_in_order() {
        let f = FormData::parse(b"target=a&target=b&opt.a.board_id=1&opt.a.title=Hi+there&body=x");
        assert_eq!(f.all("target"), vec!["a", "b"]);
        assert_eq!(f.with_prefix("opt.a.").get("title").unwrap(), "Hi there");
        assert_eq!(f.str("missing"), "");
    }
}

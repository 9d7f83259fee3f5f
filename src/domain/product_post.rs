//! The text a post made from a product starts with: its title, a short excerpt of its
//! description, its price and, on a line of its own, its link.

/// How long the description's excerpt may be, in characters.
pub const EXCERPT_CHARS: usize = 200;

/// The first paragraph of `description`, cut at a word boundary to at most `max` characters
/// (with an ellipsis when cut). Empty when there is no description.
pub fn excerpt(description: &str, max: usize) -> String {
    let normalized = description.replace("\r\n", "\n");
    let paragraph = normalized
        .split("\n\n")
        .map(str::trim)
        .find(|p| !p.is_empty())
        .unwrap_or("");
    // One paragraph, one line: line breaks inside it become spaces.
    let flat = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let room = max.saturating_sub(1);
    let cut: String = flat.chars().take(room).collect();
    // Back to the last space, unless the first word alone is longer than the room.
    let at_word = match cut.rfind(' ') {
        Some(i) if i > 0 => &cut[..i],
        _ => cut.as_str(),
    };
    let at_word = at_word.trim_end_matches([',', ';', ':', '-', '–', '—', ' ']);
    format!("{at_word}…")
}

/// The composer's starting text for a product. `price` is already written for people.
pub fn caption(title: &str, description: &str, price: Option<&str>, url: Option<&str>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let title = title.trim();
    if !title.is_empty() {
        parts.push(title.to_owned());
    }
    let excerpt = excerpt(description, EXCERPT_CHARS);
    if !excerpt.is_empty() {
        parts.push(excerpt);
    }
    if let Some(price) = price.filter(|p| !p.is_empty()) {
        parts.push(price.to_owned());
    }
    let mut text = parts.join("\n\n");
    if let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(url);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_excerpt_is_the_first_paragraph_cut_at_a_word() {
        assert_eq!(excerpt("", 50), "");
        assert_eq!(
            excerpt(
                "\n\nHand-thrown mug.\nDishwasher safe.\n\nShips in a week.",
                50
            ),
            "Hand-thrown mug. Dishwasher safe."
        );
        let long =
            "A speckled stoneware mug, thrown by hand in our studio, glazed in oatmeal white.";
        let cut = excerpt(long, 40);
        assert_eq!(cut, "A speckled stoneware mug, thrown by…");
        assert!(cut.chars().count() <= 40);
        assert_eq!(excerpt("Supercalifragilistic", 10), "Supercali…");
    }

    #[test]
    fn the_caption_has_title_excerpt_price_and_link_on_its_own_line() {
        assert_eq!(
            caption(
                "Speckled mug",
                "Hand-thrown.\n\nMore.",
                Some("€24.00"),
                Some("https://shop.example/mug")
            ),
            "Speckled mug\n\nHand-thrown.\n\n€24.00\n\nhttps://shop.example/mug"
        );
        assert_eq!(caption("Mug", "", None, None), "Mug");
    }
}

//! Who the sandbox's accounts are. Every login typed on a consent page maps, by hashing, to the
//! same ids, names and avatar every time, so a second account is as stable as the seed persona.
//! The seed personas are one small shop (Maple & Moss Ceramics) seen from all ten platforms.

use sha2::{Digest, Sha256};

use crate::domain::Platform;

/// The login prefilled on each platform's consent page.
pub fn seed_account(platform: Platform) -> &'static str {
    match platform {
        Platform::X => "mapleandmoss",
        Platform::Instagram => "mapleandmoss.studio",
        Platform::Facebook => "maya.moss",
        Platform::Linkedin => "maya-moss",
        Platform::Pinterest => "mapleandmoss",
        Platform::Tiktok => "mapleandmoss",
        Platform::Youtube => "mapleandmoss",
        Platform::Shopify => "maya@mapleandmoss.example",
        Platform::Etsy => "mayamoss",
        Platform::Squarespace => "maya@mapleandmoss.example",
    }
}

/// The name an account shows: a hand-written one for the seed personas, otherwise the login's
/// words capitalised (`jane.doe` → `Jane Doe`).
pub(crate) fn display_name(platform: Platform, login: &str) -> String {
    if login == seed_account(platform) {
        let name = match platform {
            Platform::Facebook | Platform::Linkedin => "Maya Moss",
            Platform::X | Platform::Tiktok => "Maple & Moss",
            _ => "Maple & Moss Ceramics",
        };
        return name.to_owned();
    }
    title_words(login)
}

/// `jane.doe@x.example` → `Jane Doe`.
pub(crate) fn title_words(login: &str) -> String {
    let local = login.split('@').next().unwrap_or(login);
    let words: Vec<String> = local
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(capitalise)
        .collect();
    if words.is_empty() {
        "Sandbox User".to_owned()
    } else {
        words.join(" ")
    }
}

fn capitalise(w: &str) -> String {
    let mut chars = w.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Lower-case letters, digits and single dashes: `Jane Doe!` → `jane-doe`.
pub(crate) fn slug(text: &str) -> String {
    let local = text.split('@').next().unwrap_or(text);
    let mut out = String::new();
    for c in local.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_owned();
    if out.is_empty() {
        "user".to_owned()
    } else {
        out
    }
}

pub(crate) fn digest(parts: &[&str]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize().into()
}

/// A decimal id of exactly `digits` digits (up to 38) that never starts with zero.
pub(crate) fn numeric_id(parts: &[&str], digits: usize) -> String {
    let d = digest(parts);
    let mut n = u128::from_le_bytes(d[..16].try_into().unwrap_or([0; 16]));
    let mut out = String::with_capacity(digits);
    for i in 0..digits {
        let mut digit = (n % 10) as u8;
        n /= 10;
        if i == 0 && digit == 0 {
            digit = 1 + d[16] % 9;
        }
        out.push(char::from(b'0' + digit));
    }
    out
}

/// `len` characters from `alphabet`, derived from `parts`.
pub(crate) fn derived_chars(parts: &[&str], alphabet: &str, len: usize) -> String {
    let alphabet = alphabet.as_bytes();
    let mut out = String::with_capacity(len);
    let mut round = 0u32;
    while out.len() < len {
        let round_text = round.to_string();
        let mut all: Vec<&str> = parts.to_vec();
        all.push(&round_text);
        for b in digest(&all) {
            if out.len() == len {
                break;
            }
            out.push(char::from(alphabet[usize::from(b) % alphabet.len()]));
        }
        round += 1;
    }
    out
}

/// A small number in `range` derived from `parts`, for counts that should look lived-in.
pub(crate) fn derived_count(parts: &[&str], range: std::ops::Range<u64>) -> u64 {
    let d = digest(parts);
    let n = u64::from_le_bytes(d[..8].try_into().unwrap_or([0; 8]));
    range.start + n % (range.end - range.start).max(1)
}

/// A count that grows from 0 towards `max` as a post ages (`1 - e^(-age/scale)`), so numbers
/// read later are never smaller than numbers read earlier.
pub(crate) fn grown(max: f64, age_secs: i64, scale_secs: f64) -> u64 {
    if age_secs <= 0 || max <= 0.0 {
        return 0;
    }
    let share = 1.0 - (-(age_secs as f64) / scale_secs).exp();
    (max * share).floor() as u64
}

/// The avatar the sandbox serves for an account: initials on a colour picked from the login.
pub(crate) fn avatar_url(base: &str, platform: Platform, login: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(login.as_bytes()).collect();
    format!("{base}/_sandbox/avatars/{platform}/{encoded}.svg")
}

/// The id Instagram gives a professional account (`user_id` of `/me`, the id used for
/// publishing). Shared by both login flavours so a Page's linked account and an Instagram
/// Login of the same username are the same account.
pub(crate) fn instagram_user_id(username: &str) -> String {
    format!(
        "1784{}",
        numeric_id(&["instagram", "ig-user", username], 13)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_login_always_gets_the_same_ids() {
        assert_eq!(numeric_id(&["x", "bob"], 19), numeric_id(&["x", "bob"], 19));
        assert_ne!(
            numeric_id(&["x", "bob"], 19),
            numeric_id(&["x", "alice"], 19)
        );
        assert_eq!(numeric_id(&["x", "bob"], 19).len(), 19);
        assert!(!numeric_id(&["x", "bob"], 19).starts_with('0'));
    }

    #[test]
    fn logins_become_readable_names_and_slugs() {
        assert_eq!(title_words("jane.doe@shop.example"), "Jane Doe");
        assert_eq!(slug("Jane Doe!"), "jane-doe");
        assert_eq!(display_name(Platform::X, "mapleandmoss"), "Maple & Moss");
    }
}

//! Public, expiring links to an item, for platforms that fetch media by URL (Instagram,
//! Pinterest, TikTok, Facebook): `{PUBLIC_BASE_URL}/m/{id}?exp=<unix seconds>&sig=<hex>`, where
//! `sig` is HMAC-SHA256 over `"{id}:{exp}"` with a key derived from `JWT_SECRET` (so changing
//! the secret ends every link). Checking is constant-time; a bad or expired link learns nothing.

use std::time::Duration;

use chrono::Utc;
use hmac::{Hmac, Mac as _};
use secrecy::ExposeSecret as _;
use sha2::Sha256;
use uuid::Uuid;

use crate::config::Config;

type HmacSha256 = Hmac<Sha256>;

/// A link to the item's file that works for `ttl` without logging in.
pub fn signed_url(config: &Config, media_id: Uuid, ttl: Duration) -> String {
    let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
    let exp = Utc::now().timestamp().saturating_add(ttl);
    config.public_url(&format!(
        "/m/{media_id}?exp={exp}&sig={}",
        signature(config, media_id, exp)
    ))
}

/// A link to the item's JPEG rendition (`/m/{id}/jpeg`), signed apart from the original's.
pub fn signed_jpeg_url(config: &Config, media_id: Uuid, ttl: Duration) -> String {
    let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
    let exp = Utc::now().timestamp().saturating_add(ttl);
    let sig = hex(mac_for(config, &format!("{media_id}:{exp}:jpeg")));
    config.public_url(&format!("/m/{media_id}/jpeg?exp={exp}&sig={sig}"))
}

/// Whether `sig` signs the JPEG rendition of `media_id` until `exp`.
pub fn verify_jpeg(config: &Config, media_id: Uuid, exp: i64, sig: &str, now: i64) -> bool {
    if exp < now {
        return false;
    }
    let Some(sent) = decode_hex(sig) else {
        return false;
    };
    mac_for(config, &format!("{media_id}:{exp}:jpeg"))
        .verify_slice(&sent)
        .is_ok()
}

fn mac_for(config: &Config, message: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(&key(config)).expect("HMAC takes keys of any length");
    mac.update(message.as_bytes());
    mac
}

fn hex(mac: HmacSha256) -> String {
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `sig` signs `media_id` until `exp`, and `exp` is not past.
pub fn verify(config: &Config, media_id: Uuid, exp: i64, sig: &str, now: i64) -> bool {
    if exp < now {
        return false;
    }
    let Some(sent) = decode_hex(sig) else {
        return false;
    };
    mac(config, media_id, exp).verify_slice(&sent).is_ok()
}

/// The hex signature of `media_id` until `exp`.
pub fn signature(config: &Config, media_id: Uuid, exp: i64) -> String {
    mac(config, media_id, exp)
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn mac(config: &Config, media_id: Uuid, exp: i64) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(&key(config)).expect("HMAC takes keys of any length");
    mac.update(format!("{media_id}:{exp}").as_bytes());
    mac
}

/// A key of its own for media links, so no other use of `JWT_SECRET` can produce a signature.
fn key(config: &Config) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(config.jwt_secret.expose_secret().as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(b"picscripter signed media urls v1");
    mac.finalize().into_bytes().into()
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

//! Media as the platforms see it. Bytes are identified by their magic numbers (never by a file
//! name or a declared content type), measured (image dimensions from the header), and
//! fingerprinted with SHA-256; only the fingerprint and a small head are kept, never the bytes.
//! Media given by URL is pulled over HTTP the way the real platforms pull it: a GET with a
//! timeout and a size cap, where an unreachable or non-public URL is a failure the platform
//! reports in its own words.

use std::io::Cursor;
use std::time::Duration;

use sha2::{Digest, Sha256};
use url::Url;

/// How long a platform waits for a media URL to answer in full.
pub(crate) const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// The most the sandbox pulls for a photo; a larger file is refused as too large.
pub(crate) const IMAGE_FETCH_CAP: u64 = 50 * 1024 * 1024;
/// The most the sandbox pulls for a video (hashed as it streams, never held in memory).
pub(crate) const VIDEO_FETCH_CAP: u64 = 1024 * 1024 * 1024;
/// Enough of the start of a file to find any image header behind large metadata blocks.
const HEAD: usize = 512 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Jpeg,
    Png,
    Webp,
    Gif,
    Mp4,
    Mov,
    Webm,
    Unknown,
}

impl Format {
    /// What the first bytes say the file is.
    pub fn sniff(b: &[u8]) -> Self {
        if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Format::Jpeg
        } else if b.starts_with(b"\x89PNG\r\n\x1a\n") {
            Format::Png
        } else if b.len() >= 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WEBP" {
            Format::Webp
        } else if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
            Format::Gif
        } else if b.len() >= 12 && &b[4..8] == b"ftyp" {
            if &b[8..12] == b"qt  " {
                Format::Mov
            } else {
                Format::Mp4
            }
        } else if b.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
            Format::Webm
        } else {
            Format::Unknown
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp => "image/webp",
            Format::Gif => "image/gif",
            Format::Mp4 => "video/mp4",
            Format::Mov => "video/quicktime",
            Format::Webm => "video/webm",
            Format::Unknown => "application/octet-stream",
        }
    }

    pub fn is_image(self) -> bool {
        matches!(
            self,
            Format::Jpeg | Format::Png | Format::Webp | Format::Gif
        )
    }

    pub fn is_video(self) -> bool {
        matches!(self, Format::Mp4 | Format::Mov | Format::Webm)
    }
}

/// What the sandbox learned about a file.
#[derive(Clone, Debug)]
pub(crate) struct Facts {
    pub format: Format,
    pub size: u64,
    pub sha256: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

impl Facts {
    pub fn of(bytes: &[u8]) -> Self {
        let mut incoming = Incoming::default();
        incoming.push(bytes);
        incoming.finish()
    }

    /// Width over height, for images whose header could be read.
    pub fn aspect_ratio(&self) -> Option<f64> {
        match (self.width, self.height) {
            (Some(w), Some(h)) if h > 0 => Some(f64::from(w) / f64::from(h)),
            _ => None,
        }
    }
}

/// A file arriving in pieces (chunked uploads, a streamed download): hashed as it comes, with
/// only its head kept for sniffing and measuring.
#[derive(Default)]
pub(crate) struct Incoming {
    hasher: Sha256,
    head: Vec<u8>,
    pub received: u64,
}

impl Incoming {
    pub fn push(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        if self.head.len() < HEAD {
            let take = (HEAD - self.head.len()).min(bytes.len());
            self.head.extend_from_slice(&bytes[..take]);
        }
        self.received += bytes.len() as u64;
    }

    pub fn finish(self) -> Facts {
        let format = Format::sniff(&self.head);
        let (width, height) = if format.is_image() {
            dimensions(&self.head).map_or((None, None), |(w, h)| (Some(w), Some(h)))
        } else {
            (None, None)
        };
        Facts {
            format,
            size: self.received,
            sha256: hex(&self.hasher.finalize()),
            width,
            height,
        }
    }
}

/// Width and height from an image header; the rest of the file is not needed.
fn dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .ok()?
        .into_dimensions()
        .ok()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xF)]));
    }
    out
}

/// Why a media URL could not be pulled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FetchError {
    /// Not an absolute http(s) URL.
    BadUrl,
    /// No answer: refused, unknown host, timed out, cut off.
    Unreachable(String),
    /// An answer that is not the file (404, 403 for a private link…).
    Status(u16),
    TooLarge,
}

impl FetchError {
    pub fn describe(&self, url: &str) -> String {
        match self {
            FetchError::BadUrl => format!("{url} is not an absolute http(s) URL"),
            FetchError::Unreachable(why) => format!("{url} could not be reached ({why})"),
            FetchError::Status(s) => format!("{url} answered HTTP {s}, not the file"),
            FetchError::TooLarge => format!("{url} is larger than the platform accepts"),
        }
    }
}

/// Whether `raw` is an absolute http(s) URL, as every platform requires of media URLs.
pub(crate) fn is_http_url(raw: &str) -> bool {
    Url::parse(raw).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
}

/// The client the sandbox pulls media with, shared by every platform (one connection pool).
pub(crate) fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .redirect(reqwest::redirect::Policy::limited(5))
        .user_agent("picscripter-sandbox (media fetcher)")
        .build()
        .unwrap_or_default()
}

/// Pulls `url` the way a platform does: GET, follow a few redirects, give up after
/// [`FETCH_TIMEOUT`] or past `cap` bytes. The bytes are hashed as they stream.
pub(crate) async fn fetch(
    client: &reqwest::Client,
    url: &str,
    cap: u64,
) -> Result<Facts, FetchError> {
    if !is_http_url(url) {
        return Err(FetchError::BadUrl);
    }
    let mut res = client
        .get(url)
        .send()
        .await
        .map_err(|e| FetchError::Unreachable(short_reason(&e)))?;
    if !res.status().is_success() {
        return Err(FetchError::Status(res.status().as_u16()));
    }
    if res.content_length().is_some_and(|len| len > cap) {
        return Err(FetchError::TooLarge);
    }
    let mut incoming = Incoming::default();
    while let Some(chunk) = res
        .chunk()
        .await
        .map_err(|e| FetchError::Unreachable(short_reason(&e)))?
    {
        if incoming.received + chunk.len() as u64 > cap {
            return Err(FetchError::TooLarge);
        }
        incoming.push(&chunk);
    }
    Ok(incoming.finish())
}

fn short_reason(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        "the transfer failed".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        image::RgbImage::new(w, h)
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn files_are_told_apart_by_their_magic_numbers() {
        assert_eq!(Format::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Format::Jpeg);
        assert_eq!(Format::sniff(&png(2, 2)), Format::Png);
        assert_eq!(Format::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Format::Webp);
        assert_eq!(Format::sniff(b"GIF89a..."), Format::Gif);
        assert_eq!(Format::sniff(b"\0\0\0\x18ftypmp42\0\0"), Format::Mp4);
        assert_eq!(Format::sniff(b"\0\0\0\x14ftypqt  \0\0"), Format::Mov);
        assert_eq!(Format::sniff(b"<html>"), Format::Unknown);
    }

    #[test]
    fn an_image_is_measured_and_fingerprinted_the_same_whole_or_in_pieces() {
        let bytes = png(40, 30);
        let whole = Facts::of(&bytes);
        assert_eq!((whole.width, whole.height), (Some(40), Some(30)));
        assert_eq!(whole.size, bytes.len() as u64);
        let mut pieces = Incoming::default();
        for chunk in bytes.chunks(7) {
            pieces.push(chunk);
        }
        let pieces = pieces.finish();
        assert_eq!(pieces.sha256, whole.sha256);
        assert_eq!(pieces.sha256.len(), 64);
    }
}

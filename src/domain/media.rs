//! What the rules need to know about an uploaded file: its type, size, dimensions and length.
//!
//! The upload pipeline reads these once; everything here trusts them and never opens a file.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Image,
    Video,
}

impl MediaKind {
    /// The word people use: a "photo" even when it's a GIF or a graphic.
    pub fn noun(self) -> &'static str {
        match self {
            MediaKind::Image => "photo",
            MediaKind::Video => "video",
        }
    }
}

/// The file types we accept for upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum Mime {
    Jpeg,
    Png,
    Webp,
    Gif,
    Mp4,
    Mov,
}

impl Mime {
    pub const ALL: [Mime; 6] = [
        Mime::Jpeg,
        Mime::Png,
        Mime::Webp,
        Mime::Gif,
        Mime::Mp4,
        Mime::Mov,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Mime::Jpeg => "image/jpeg",
            Mime::Png => "image/png",
            Mime::Webp => "image/webp",
            Mime::Gif => "image/gif",
            Mime::Mp4 => "video/mp4",
            Mime::Mov => "video/quicktime",
        }
    }

    /// The name people know the format by.
    pub fn name(self) -> &'static str {
        match self {
            Mime::Jpeg => "JPEG",
            Mime::Png => "PNG",
            Mime::Webp => "WebP",
            Mime::Gif => "GIF",
            Mime::Mp4 => "MP4",
            Mime::Mov => "MOV",
        }
    }

    pub fn kind(self) -> MediaKind {
        match self {
            Mime::Jpeg | Mime::Png | Mime::Webp | Mime::Gif => MediaKind::Image,
            Mime::Mp4 | Mime::Mov => MediaKind::Video,
        }
    }

    /// Reads a MIME type, including the aliases browsers and cameras still send.
    pub fn parse(raw: &str) -> Result<Mime, String> {
        let essence = raw
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "image/jpeg" | "image/jpg" | "image/pjpeg" => Ok(Mime::Jpeg),
            "image/png" => Ok(Mime::Png),
            "image/webp" => Ok(Mime::Webp),
            "image/gif" => Ok(Mime::Gif),
            "video/mp4" => Ok(Mime::Mp4),
            "video/quicktime" => Ok(Mime::Mov),
            _ => Err(
                "We can't use this kind of file. Upload JPEG, PNG, WebP or GIF photos, or MP4 or \
                 MOV videos."
                    .into(),
            ),
        }
    }
}

impl fmt::Display for Mime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mime {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mime::parse(s)
    }
}

impl From<Mime> for &'static str {
    fn from(m: Mime) -> Self {
        m.as_str()
    }
}

impl TryFrom<String> for Mime {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Mime::parse(&s)
    }
}

/// The facts about one attached file. The kind follows from the type, so the two can't disagree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MediaFacts {
    mime: Mime,
    size_bytes: u64,
    width: u32,
    height: u32,
    duration_ms: Option<u64>,
}

impl MediaFacts {
    /// A photo or GIF of `width`×`height` pixels.
    pub fn image(mime: Mime, size_bytes: u64, width: u32, height: u32) -> Result<Self, String> {
        if mime.kind() != MediaKind::Image {
            return Err(format!("A {} file is a video, not a photo.", mime.name()));
        }
        Ok(MediaFacts {
            mime,
            size_bytes,
            width,
            height,
            duration_ms: None,
        })
    }

    /// A video of `width`×`height` pixels lasting `duration_ms`.
    pub fn video(
        mime: Mime,
        size_bytes: u64,
        width: u32,
        height: u32,
        duration_ms: u64,
    ) -> Result<Self, String> {
        if mime.kind() != MediaKind::Video {
            return Err(format!("A {} file is a photo, not a video.", mime.name()));
        }
        Ok(MediaFacts {
            mime,
            size_bytes,
            width,
            height,
            duration_ms: Some(duration_ms),
        })
    }

    /// From the loose values stored with an upload (the `media` row): the MIME type as text and
    /// a duration that only videos have.
    pub fn from_stored(
        mime: &str,
        size_bytes: u64,
        width: u32,
        height: u32,
        duration_ms: Option<u64>,
    ) -> Result<Self, String> {
        let mime = Mime::parse(mime)?;
        match (mime.kind(), duration_ms) {
            (MediaKind::Image, _) => Self::image(mime, size_bytes, width, height),
            (MediaKind::Video, Some(ms)) => Self::video(mime, size_bytes, width, height, ms),
            (MediaKind::Video, None) => {
                Err("We couldn't tell how long this video is. Upload it again.".into())
            }
        }
    }

    pub fn kind(&self) -> MediaKind {
        self.mime.kind()
    }

    pub fn mime(&self) -> Mime {
        self.mime
    }

    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// Always set for videos, never for photos.
    pub fn duration_ms(&self) -> Option<u64> {
        self.duration_ms
    }

    pub fn is_gif(&self) -> bool {
        self.mime == Mime::Gif
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_types_and_their_aliases_parse() {
        for (raw, want) in [
            ("image/jpeg", Mime::Jpeg),
            ("image/jpg", Mime::Jpeg),
            ("IMAGE/JPEG", Mime::Jpeg),
            ("image/png", Mime::Png),
            ("image/webp", Mime::Webp),
            ("image/gif", Mime::Gif),
            ("video/mp4", Mime::Mp4),
            ("video/quicktime", Mime::Mov),
            ("video/mp4; codecs=\"avc1\"", Mime::Mp4),
        ] {
            assert_eq!(Mime::parse(raw).unwrap(), want, "{raw}");
        }
        for m in Mime::ALL {
            assert_eq!(Mime::parse(m.as_str()).unwrap(), m);
        }
        assert!(
            Mime::parse("image/heic")
                .unwrap_err()
                .contains("JPEG, PNG, WebP or GIF")
        );
    }

    #[test]
    fn the_kind_follows_from_the_type() {
        assert!(MediaFacts::image(Mime::Mp4, 1, 1, 1).is_err());
        assert!(MediaFacts::video(Mime::Png, 1, 1, 1, 1).is_err());
        let v = MediaFacts::from_stored("video/mp4", 10, 1080, 1920, Some(5_000)).unwrap();
        assert_eq!(v.kind(), MediaKind::Video);
        assert_eq!(v.duration_ms(), Some(5_000));
        let i = MediaFacts::from_stored("image/png", 10, 1080, 1080, Some(5_000)).unwrap();
        assert_eq!(i.kind(), MediaKind::Image);
        assert_eq!(i.duration_ms(), None);
        assert!(MediaFacts::from_stored("video/mp4", 10, 1080, 1920, None).is_err());
    }

    #[test]
    fn mime_types_are_stored_as_their_standard_names() {
        assert_eq!(serde_json::to_value(Mime::Mov).unwrap(), "video/quicktime");
        let back: Mime = serde_json::from_value("image/jpg".into()).unwrap();
        assert_eq!(back, Mime::Jpeg);
    }
}

//! What a file is, decided from its bytes alone (never its name or the browser's content type),
//! and whether it is whole and safe to keep.
//!
//! Photos (JPEG, PNG, WebP, GIF) are checked in two steps: the header first, refusing
//! anything above `MAX_SIDE` pixels on a side or `MAX_PIXELS` in all before a single pixel is
//! decoded (decompression bombs), then a full decode under `image`'s limits — so a truncated or
//! damaged file is refused rather than kept — which also yields the thumbnail. Videos (MP4,
//! MOV) are read with the `mp4` crate for their size and duration, after checking that every
//! top-level box fits in the file (a cut-off upload). We can't decode video frames without
//! ffmpeg, so a video gets a neutral poster, never a fake frame.
//!
//! Every refusal is a `Refusal` with a message in plain words.

use std::fmt;
use std::io::{BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use image::{AnimationDecoder as _, DynamicImage, ImageDecoder as _, ImageFormat, ImageReader};

use super::human_size;
use super::thumbs::{self, Thumbnail};
use crate::entities::enums::MediaKind;

/// The widest or tallest photo we decode.
pub const MAX_SIDE: u32 = 12_000;
/// The most pixels a photo may have (80 megapixels).
pub const MAX_PIXELS: u64 = 80_000_000;
/// Memory one decode may take: 80 MP of 8-bit RGBA with some room.
const MAX_DECODE_BYTES: u64 = 512 * 1024 * 1024;
/// All frames of an animated GIF together (a tiny file can hold thousands of large frames).
const MAX_GIF_PIXELS: u64 = 600_000_000;
/// How many leading bytes `sniff` needs to tell every supported type apart.
pub const SNIFF_BYTES: usize = 8 * 1024;

const ACCEPTED: &str = "We accept JPEG, PNG, WebP and GIF photos and MP4 and MOV videos.";

/// A format we accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    Webp,
    Gif,
    Mp4,
    Mov,
}

impl Format {
    pub const ALL: [Format; 6] = [
        Format::Jpeg,
        Format::Png,
        Format::Webp,
        Format::Gif,
        Format::Mp4,
        Format::Mov,
    ];

    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp => "image/webp",
            Format::Gif => "image/gif",
            Format::Mp4 => "video/mp4",
            Format::Mov => "video/quicktime",
        }
    }

    pub fn from_mime(mime: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.mime() == mime)
    }

    pub fn kind(self) -> MediaKind {
        match self {
            Format::Mp4 | Format::Mov => MediaKind::Video,
            _ => MediaKind::Image,
        }
    }

    /// The extension of the stored original.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::Webp => "webp",
            Format::Gif => "gif",
            Format::Mp4 => "mp4",
            Format::Mov => "mov",
        }
    }

    /// The name people know it by.
    pub fn label(self) -> &'static str {
        match self {
            Format::Jpeg => "JPEG",
            Format::Png => "PNG",
            Format::Webp => "WebP",
            Format::Gif => "GIF",
            Format::Mp4 => "MP4",
            Format::Mov => "MOV",
        }
    }

    /// The format a file name's extension promises, if it names one of ours.
    fn from_name(name: &str) -> Option<Format> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "jpg" | "jpeg" | "jfif" | "jpe" => Some(Format::Jpeg),
            "png" => Some(Format::Png),
            "webp" => Some(Format::Webp),
            "gif" => Some(Format::Gif),
            "mp4" | "m4v" => Some(Format::Mp4),
            "mov" | "qt" => Some(Format::Mov),
            _ => None,
        }
    }

    fn noun(self) -> &'static str {
        match self.kind() {
            MediaKind::Image => "photo",
            MediaKind::Video => "video",
        }
    }

    fn image_format(self) -> Option<ImageFormat> {
        match self {
            Format::Jpeg => Some(ImageFormat::Jpeg),
            Format::Png => Some(ImageFormat::Png),
            Format::Webp => Some(ImageFormat::WebP),
            Format::Gif => Some(ImageFormat::Gif),
            Format::Mp4 | Format::Mov => None,
        }
    }
}

/// Why a file was refused. `Display` is the message shown to the person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    Empty,
    /// Larger than the limit for its kind (`None`: refused before we knew the kind).
    TooLarge {
        kind: Option<MediaKind>,
        limit: u64,
    },
    Svg,
    Heic,
    /// Not one of our formats. `named_as`: the format the file's name promised;
    /// `looks_like`: what the bytes are, in words, when we can tell.
    Unsupported {
        named_as: Option<Format>,
        looks_like: Option<String>,
    },
    /// A photo larger (in pixels) than we decode.
    TooManyPixels {
        width: u32,
        height: u32,
    },
    /// A GIF whose frames together are too much to check.
    TooManyFrames,
    /// Truncated or damaged.
    Damaged(Format),
    /// A video file with no picture track.
    NoPicture(Format),
}

impl Refusal {
    /// A stable code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Empty => "empty_file",
            Refusal::TooLarge { .. } => "file_too_large",
            Refusal::Svg | Refusal::Heic | Refusal::Unsupported { .. } => "unsupported_type",
            Refusal::TooManyPixels { .. } | Refusal::TooManyFrames => "too_many_pixels",
            Refusal::Damaged(_) => "damaged_file",
            Refusal::NoPicture(_) => "no_picture",
        }
    }

    /// The HTTP status the API answers with.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::TooLarge { .. } => 413,
            Refusal::Svg | Refusal::Heic | Refusal::Unsupported { .. } => 415,
            _ => 422,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Empty => write!(
                f,
                "This file is empty (0 bytes). Choose it again; it may not have finished downloading or saving."
            ),
            Refusal::TooLarge { kind, limit } => {
                let (what, advice) = match kind {
                    Some(MediaKind::Image) => ("a photo", "Save it at a smaller size"),
                    Some(MediaKind::Video) => ("a video", "Shorten or compress it"),
                    None => ("a file", "Make it smaller"),
                };
                write!(
                    f,
                    "This file is larger than {}, the most we accept for {what}. {advice} and try again.",
                    human_size(*limit)
                )
            }
            Refusal::Svg => write!(
                f,
                "SVG drawings can't be used: the networks don't accept them, and SVG files can carry scripts. Export it as a PNG or JPEG and upload that."
            ),
            Refusal::Heic => write!(
                f,
                "This is a HEIC photo (the iPhone's own format), which the networks don't accept. Export it as a JPEG and upload that; on an iPhone, Settings › Camera › Formats › Most Compatible makes new photos JPEGs."
            ),
            Refusal::Unsupported {
                named_as,
                looks_like,
            } => {
                let contents = looks_like
                    .as_deref()
                    .map(|l| format!(" (its contents are {l})"))
                    .unwrap_or_default();
                match named_as {
                    Some(format) => write!(
                        f,
                        "Its name says {}, but this file isn't a {} {}{contents}. {ACCEPTED}",
                        format.label(),
                        format.label(),
                        format.noun()
                    ),
                    None => write!(
                        f,
                        "This isn't a photo or video we can use{contents}. {ACCEPTED}"
                    ),
                }
            }
            Refusal::TooManyPixels { width, height } => write!(
                f,
                "This photo is {} × {} pixels, more than we can safely process (at most {} pixels on a side and {} megapixels). Resize it and try again.",
                group(u64::from(*width)),
                group(u64::from(*height)),
                group(u64::from(MAX_SIDE)),
                MAX_PIXELS / 1_000_000
            ),
            Refusal::TooManyFrames => write!(
                f,
                "This animated GIF has too many large frames for us to check safely. Shorten it or make it smaller and try again."
            ),
            Refusal::Damaged(format) => write!(
                f,
                "This {} {} is damaged or incomplete, so it can't be used. Open it on your device, save or export it again, and upload the new copy.",
                format.label(),
                format.noun()
            ),
            Refusal::NoPicture(format) => write!(
                f,
                "This {} file has no picture, only sound. Upload a video with a picture.",
                format.label()
            ),
        }
    }
}

/// `100000` → `100,000`.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Decides the format from the first bytes of a file (`SNIFF_BYTES`, or all of a shorter
/// file). The name only shapes the message when the file is refused.
pub fn sniff(head: &[u8], file_name: &str) -> Result<Format, Refusal> {
    if head.is_empty() {
        return Err(Refusal::Empty);
    }
    // Before `infer`, which would call an SVG with an XML declaration just "XML".
    if looks_like_svg(head) {
        return Err(Refusal::Svg);
    }
    if let Some(kind) = infer::get(head) {
        let format = match kind.mime_type() {
            "image/jpeg" => Some(Format::Jpeg),
            "image/png" => Some(Format::Png),
            "image/webp" => Some(Format::Webp),
            "image/gif" => Some(Format::Gif),
            "video/mp4" | "video/x-m4v" => Some(Format::Mp4),
            "video/quicktime" => Some(Format::Mov),
            "image/heif" | "image/heic" => return Err(Refusal::Heic),
            _ => None,
        };
        if let Some(format) = format {
            return Ok(format);
        }
        return Err(Refusal::Unsupported {
            named_as: Format::from_name(file_name),
            looks_like: Some(format!("a .{} file", kind.extension())),
        });
    }
    let looks_like = looks_like_text(head).then(|| "text".to_owned());
    Err(Refusal::Unsupported {
        named_as: Format::from_name(file_name),
        looks_like,
    })
}

fn looks_like_svg(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&head[..head.len().min(4096)]).to_ascii_lowercase();
    let text = text.trim_start_matches('\u{feff}').trim_start();
    (text.starts_with('<') && text.contains("<svg")) || text.starts_with("<svg")
}

fn looks_like_text(head: &[u8]) -> bool {
    let sample = &head[..head.len().min(1024)];
    // A multi-byte character may be cut at the end of the sample.
    let valid = match std::str::from_utf8(sample) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    };
    valid
        && !sample
            .iter()
            .any(|b| *b == 0 || (*b < 0x20 && !b"\t\n\r\x0c".contains(b)))
}

/// What probing found: the facts we store and the thumbnail.
#[derive(Clone, Debug)]
pub struct Probed {
    pub format: Format,
    /// As displayed (after EXIF orientation or a video's rotation).
    pub width: u32,
    pub height: u32,
    pub duration_ms: Option<u64>,
    pub thumbnail: Thumbnail,
    /// Whether the thumbnail shows the picture (photos) or is a neutral poster (videos).
    pub thumbnail_is_placeholder: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{0}")]
    Refused(Refusal),
    /// Reading our own temporary file failed: our problem, not the person's.
    #[error("reading the upload: {0}")]
    Io(#[from] std::io::Error),
    #[error("making the thumbnail: {0}")]
    Thumbnail(image::ImageError),
}

impl From<Refusal> for ProbeError {
    fn from(r: Refusal) -> Self {
        ProbeError::Refused(r)
    }
}

/// Checks the file at `path` (of `len` bytes, sniffed as `format`) and makes its thumbnail.
/// Blocking: run it on a blocking thread.
pub fn probe(path: &Path, format: Format, len: u64) -> Result<Probed, ProbeError> {
    match format.kind() {
        // Photos are at most MEDIA_MAX_IMAGE_BYTES, and the JPEG decoder reads it all anyway.
        MediaKind::Image => probe_image(&std::fs::read(path)?, format),
        MediaKind::Video => probe_video(BufReader::new(std::fs::File::open(path)?), format, len),
    }
}

/// Everything an upload goes through, on bytes in memory: `sniff` on the head, then `probe`.
/// The entry point the fuzz targets (`fuzz/`) and their stable stand-in drive with hostile input.
pub fn probe_bytes(data: &[u8], file_name: &str) -> Result<Probed, ProbeError> {
    let format = sniff(&data[..data.len().min(SNIFF_BYTES)], file_name)?;
    match format.kind() {
        MediaKind::Image => probe_image(data, format),
        MediaKind::Video => probe_video(Cursor::new(data), format, data.len() as u64),
    }
}

fn check_pixels(width: u32, height: u32) -> Result<(), Refusal> {
    if width == 0 || height == 0 {
        return Err(Refusal::Damaged(Format::Png));
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(Refusal::TooManyPixels { width, height });
    }
    Ok(())
}

fn limits() -> image::Limits {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    limits
}

fn probe_image(data: &[u8], format: Format) -> Result<Probed, ProbeError> {
    let image_format = format
        .image_format()
        .expect("probe_image is only called for photo formats");
    let damaged = |_| ProbeError::Refused(Refusal::Damaged(format));

    // Step 1: the header alone, so a bomb is refused before any pixel is decoded.
    let (width, height) = ImageReader::with_format(Cursor::new(data), image_format)
        .into_dimensions()
        .map_err(damaged)?;
    check_pixels(width, height).map_err(|r| match r {
        Refusal::Damaged(_) => Refusal::Damaged(format),
        other => other,
    })?;
    // The JPEG decoder fills a cut-off file with grey instead of failing; check the structure.
    if format == Format::Jpeg && !jpeg_is_complete(data) {
        return Err(Refusal::Damaged(format).into());
    }

    // Step 2: every pixel, within limits.
    let image = if format == Format::Gif {
        decode_gif(data, (width, height))?
    } else {
        let mut reader = ImageReader::with_format(Cursor::new(data), image_format);
        reader.limits(limits());
        let refuse = |e| refusal_for(e, format, (width, height));
        let mut decoder = reader.into_decoder().map_err(refuse)?;
        let orientation = decoder
            .orientation()
            .unwrap_or(image::metadata::Orientation::NoTransforms);
        let mut image = DynamicImage::from_decoder(decoder).map_err(refuse)?;
        image.apply_orientation(orientation);
        image
    };
    let thumbnail = thumbs::from_image(&image).map_err(ProbeError::Thumbnail)?;
    Ok(Probed {
        format,
        width: image.width(),
        height: image.height(),
        duration_ms: None,
        thumbnail,
        thumbnail_is_placeholder: false,
    })
}

/// A decoder's error as a refusal: over the limits (memory, not just pixels: a 16-bit photo
/// takes twice as much) or damaged.
fn refusal_for(e: image::ImageError, format: Format, (width, height): (u32, u32)) -> ProbeError {
    ProbeError::Refused(match e {
        image::ImageError::Limits(_) if format == Format::Gif => Refusal::TooManyFrames,
        image::ImageError::Limits(_) => Refusal::TooManyPixels { width, height },
        _ => Refusal::Damaged(format),
    })
}

/// Decodes every frame of a GIF (so a damaged later frame is caught), keeping the first.
fn decode_gif(data: &[u8], size: (u32, u32)) -> Result<DynamicImage, ProbeError> {
    let refuse = |e| refusal_for(e, Format::Gif, size);
    let mut decoder = image::codecs::gif::GifDecoder::new(Cursor::new(data)).map_err(refuse)?;
    decoder.set_limits(limits()).map_err(refuse)?;
    let mut first = None;
    let mut pixels: u64 = 0;
    for frame in decoder.into_frames() {
        let frame = frame.map_err(refuse)?;
        let buffer = frame.into_buffer();
        pixels += u64::from(buffer.width()) * u64::from(buffer.height());
        if pixels > MAX_GIF_PIXELS {
            return Err(Refusal::TooManyFrames.into());
        }
        if first.is_none() {
            first = Some(DynamicImage::ImageRgba8(buffer));
        }
    }
    first.ok_or(ProbeError::Refused(Refusal::Damaged(Format::Gif)))
}

/// Walks a JPEG's segments and entropy-coded scans up to the end-of-image marker. False when
/// the file ends first (cut off) or a segment runs past the end. Data after the end marker
/// (some phones append a video or a trailer) is fine.
pub fn jpeg_is_complete(data: &[u8]) -> bool {
    if data.len() < 4 || data[0] != 0xFF || data[1] != 0xD8 {
        return false;
    }
    let mut i = 2;
    let mut seen_scan = false;
    while i + 1 < data.len() {
        if data[i] != 0xFF {
            return false;
        }
        let marker = data[i + 1];
        match marker {
            // Fill bytes before a marker.
            0xFF => i += 1,
            0xD9 => return seen_scan,
            0x01 | 0xD0..=0xD7 => i += 2,
            _ => {
                if i + 3 >= data.len() {
                    return false;
                }
                let len = usize::from(u16::from_be_bytes([data[i + 2], data[i + 3]]));
                if len < 2 || i + 2 + len > data.len() {
                    return false;
                }
                i += 2 + len;
                if marker == 0xDA {
                    seen_scan = true;
                    // Entropy-coded data runs to the next marker that isn't a stuffed 0xFF00
                    // or a restart marker.
                    loop {
                        match data[i..].iter().position(|b| *b == 0xFF) {
                            None => return false,
                            Some(p) => {
                                i += p;
                                match data.get(i + 1) {
                                    None => return false,
                                    Some(0x00) | Some(0xD0..=0xD7) | Some(0xFF) => i += 1,
                                    Some(_) => break,
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    false
}

fn probe_video<R: Read + Seek>(
    mut file: R,
    format: Format,
    len: u64,
) -> Result<Probed, ProbeError> {
    if !boxes_fit(&mut file, len)? {
        return Err(Refusal::Damaged(format).into());
    }
    file.seek(SeekFrom::Start(0))?;
    // The parser is defensive, but a panic on hostile input must stay a refusal.
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let mp4 = mp4::Mp4Reader::read_header(file, len).ok()?;
        let mvhd = &mp4.moov.mvhd;
        let movie_ms = (mvhd.timescale > 0)
            .then(|| u128::from(mvhd.duration) * 1000 / u128::from(mvhd.timescale));
        let video = mp4
            .tracks()
            .values()
            .find(|t| matches!(t.track_type(), Ok(mp4::TrackType::Video)))
            .map(|t| {
                let tkhd = &t.trak.tkhd;
                let (mut w, mut h) = (
                    u32::from(tkhd.width.value()),
                    u32::from(tkhd.height.value()),
                );
                if w == 0 || h == 0 {
                    (w, h) = (u32::from(t.width()), u32::from(t.height()));
                }
                // A quarter-turn in the display matrix (phones filming upright) swaps the sides.
                if tkhd.matrix.a == 0 && tkhd.matrix.d == 0 && tkhd.matrix.b != 0 {
                    (w, h) = (h, w);
                }
                let mdhd = &t.trak.mdia.mdhd;
                let track_ms = (mdhd.timescale > 0)
                    .then(|| u128::from(mdhd.duration) * 1000 / u128::from(mdhd.timescale));
                (w, h, track_ms)
            });
        Some((movie_ms, video))
    }));
    let Ok(Some((movie_ms, video))) = parsed else {
        return Err(Refusal::Damaged(format).into());
    };
    let Some((width, height, track_ms)) = video else {
        return Err(Refusal::NoPicture(format).into());
    };
    if width == 0 || height == 0 {
        return Err(Refusal::Damaged(format).into());
    }
    let duration_ms = movie_ms
        .filter(|ms| *ms > 0)
        .or(track_ms)
        .map(|ms| u64::try_from(ms).unwrap_or(u64::MAX));
    let thumbnail = thumbs::video_poster(width, height).map_err(ProbeError::Thumbnail)?;
    Ok(Probed {
        format,
        width,
        height,
        duration_ms,
        thumbnail,
        thumbnail_is_placeholder: true,
    })
}

/// Whether every box of an MP4/MOV file lies within its parent: the top-level boxes within its
/// `len` bytes (an upload cut off mid-way leaves its last box, usually the media data, hanging
/// past the end), and the boxes inside the containers the `mp4` crate walks within their
/// container. The crate loops forever on a child box whose size is 0 (it seeks back to the
/// same header), so such a file is refused here, before the crate sees it.
fn boxes_fit(file: &mut (impl Read + Seek), len: u64) -> std::io::Result<bool> {
    boxes_fit_in(file, 0, len, 0)
}

/// Boxes whose payload is a sequence of boxes (those the `mp4` crate descends into). Not
/// `udta`: QuickTime files may end it with a 32-bit zero that isn't a box.
const CONTAINERS: [&[u8; 4]; 11] = [
    b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"mvex", b"moof", b"traf",
    b"mfra",
];

fn boxes_fit_in(
    file: &mut (impl Read + Seek),
    start: u64,
    end: u64,
    depth: u32,
) -> std::io::Result<bool> {
    if depth > 8 {
        return Ok(false);
    }
    let mut pos = start;
    while pos < end {
        if end - pos < 8 {
            return Ok(false);
        }
        file.seek(SeekFrom::Start(pos))?;
        let mut header = [0u8; 8];
        file.read_exact(&mut header)?;
        let mut header_len = 8;
        let size = match u32::from_be_bytes([header[0], header[1], header[2], header[3]]) {
            // "To the end of the file" is only meaningful at the top level.
            0 if depth == 0 => end - pos,
            0 => return Ok(false),
            1 => {
                let mut large = [0u8; 8];
                if end - pos < 16 {
                    return Ok(false);
                }
                file.read_exact(&mut large)?;
                header_len = 16;
                u64::from_be_bytes(large)
            }
            n => u64::from(n),
        };
        if size < header_len || size > end - pos {
            return Ok(false);
        }
        let kind: [u8; 4] = [header[4], header[5], header[6], header[7]];
        if CONTAINERS.contains(&&kind)
            && !boxes_fit_in(file, pos + header_len, pos + size, depth + 1)?
        {
            return Ok(false);
        }
        pos += size;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_video_with_an_empty_box_inside_its_track_is_refused_not_read_forever() {
        // Found by fuzzing: the `mp4` crate loops on a child box of size 0.
        let data = include_bytes!("../../fuzz/corpus/media_probe/hang-child-box-size-0.mov");
        assert!(matches!(
            probe_bytes(data, "clip.mov"),
            Err(ProbeError::Refused(Refusal::Damaged(Format::Mov)))
        ));
    }

    #[test]
    fn formats_come_from_the_bytes_not_the_name() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(sniff(png, "holiday.jpg"), Ok(Format::Png));
        let refusal = sniff(b"just some words", "holiday.jpg").unwrap_err();
        assert_eq!(
            refusal,
            Refusal::Unsupported {
                named_as: Some(Format::Jpeg),
                looks_like: Some("text".into())
            }
        );
        assert!(refusal.to_string().starts_with(
            "Its name says JPEG, but this file isn't a JPEG photo (its contents are text)."
        ));
        assert_eq!(
            sniff(
                b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
                "logo.png"
            ),
            Err(Refusal::Svg)
        );
        assert_eq!(
            sniff(b"%PDF-1.7\n", "menu.pdf").unwrap_err().code(),
            "unsupported_type"
        );
    }

    #[test]
    fn a_jpeg_is_complete_only_with_its_end_marker() {
        let mut out = Vec::new();
        let img =
            image::RgbImage::from_fn(32, 16, |x, y| image::Rgb([x as u8 * 8, y as u8 * 16, 90]));
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
            .encode_image(&img)
            .unwrap();
        assert!(jpeg_is_complete(&out));
        let mut trailer = out.clone();
        trailer.extend_from_slice(b"appended by a phone");
        assert!(jpeg_is_complete(&trailer));
        assert!(!jpeg_is_complete(&out[..out.len() - 2]));
        assert!(!jpeg_is_complete(&out[..out.len() / 2]));
    }

    #[test]
    fn big_numbers_are_grouped() {
        assert_eq!(group(100_000), "100,000");
        assert_eq!(group(12_000), "12,000");
        assert_eq!(group(999), "999");
    }
}

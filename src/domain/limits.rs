//! What media each kind of post accepts, as one table.
//!
//! A row is a [`Format`]: one way of posting to a platform (an Instagram reel and an Instagram
//! carousel follow different rules). Values come from `shared/PLATFORMS.md`, cited per row. Where
//! it is silent or marks a value UNCONFIRMED, the row says so and takes the stricter choice, so a
//! post that passes here isn't refused by the platform later.
//!
//! Image types a format doesn't take are listed in `convert_to_jpeg`: the publisher converts them
//! to JPEG (which every platform accepts) before upload, and preflight tells the seller so.
//! Videos are never converted; a video type a format doesn't take is an error.

use crate::domain::media::{MediaKind, Mime};
use crate::domain::platform::Platform;

/// One way of posting to a platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    X,
    InstagramFeed,
    InstagramCarousel,
    InstagramReel,
    InstagramStory,
    Facebook,
    Linkedin,
    Pinterest,
    TiktokVideo,
    TiktokPhotos,
    Youtube,
}

impl Format {
    pub fn platform(self) -> Platform {
        match self {
            Format::X => Platform::X,
            Format::InstagramFeed
            | Format::InstagramCarousel
            | Format::InstagramReel
            | Format::InstagramStory => Platform::Instagram,
            Format::Facebook => Platform::Facebook,
            Format::Linkedin => Platform::Linkedin,
            Format::Pinterest => Platform::Pinterest,
            Format::TiktokVideo | Format::TiktokPhotos => Platform::Tiktok,
            Format::Youtube => Platform::Youtube,
        }
    }

    /// How a message names a post of this format: "X", "An Instagram carousel".
    pub fn name(self) -> &'static str {
        match self {
            Format::X => "X",
            Format::InstagramFeed => "An Instagram feed post",
            Format::InstagramCarousel => "An Instagram carousel",
            Format::InstagramReel => "An Instagram reel",
            Format::InstagramStory => "An Instagram story",
            Format::Facebook => "Facebook",
            Format::Linkedin => "LinkedIn",
            Format::Pinterest => "Pinterest",
            Format::TiktokVideo => "A TikTok video post",
            Format::TiktokPhotos => "A TikTok photo post",
            Format::Youtube => "YouTube",
        }
    }

    pub fn rules(self) -> &'static MediaRules {
        // The table is in `Format` order; a test keeps it so.
        &RULES[self as usize]
    }

    /// The formats a platform posts in; empty for the shops.
    pub fn for_platform(platform: Platform) -> &'static [Format] {
        match platform {
            Platform::X => &[Format::X],
            Platform::Instagram => &[
                Format::InstagramFeed,
                Format::InstagramCarousel,
                Format::InstagramReel,
                Format::InstagramStory,
            ],
            Platform::Facebook => &[Format::Facebook],
            Platform::Linkedin => &[Format::Linkedin],
            Platform::Pinterest => &[Format::Pinterest],
            Platform::Tiktok => &[Format::TiktokVideo, Format::TiktokPhotos],
            Platform::Youtube => &[Format::Youtube],
            Platform::Shopify | Platform::Etsy | Platform::Squarespace => &[],
        }
    }
}

/// A width-to-height ratio, compared exactly in integers (`4:5`, `191:100`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ratio {
    pub w: u32,
    pub h: u32,
}

impl Ratio {
    /// How a `width`×`height` image compares with this ratio: `Less` when it's narrower
    /// (taller), `Greater` when it's wider.
    pub fn cmp_image(self, width: u32, height: u32) -> std::cmp::Ordering {
        (u64::from(width) * u64::from(self.h)).cmp(&(u64::from(self.w) * u64::from(height)))
    }

    /// `4:5`, `1.91:1`.
    pub fn label(self) -> String {
        if self.h == 100 {
            format!("{}.{:02}:1", self.w / 100, self.w % 100)
        } else {
            format!("{}:{}", self.w, self.h)
        }
    }
}

/// The media rules for one [`Format`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MediaRules {
    pub format: Format,
    /// Whether a post may have no media at all.
    pub text_only: bool,
    /// Fewest items when the format needs media (ignored when `text_only`).
    pub min_items: usize,
    pub max_items: usize,
    pub max_images: usize,
    pub max_videos: usize,
    /// Whether photos and videos may be in the same post.
    pub mixed: bool,
    /// Whether a GIF must be the only item (X).
    pub gif_alone: bool,
    /// Image types taken as they are.
    pub images: &'static [Mime],
    /// Image types we convert to JPEG before upload.
    pub convert_to_jpeg: &'static [Mime],
    pub videos: &'static [Mime],
    pub max_image_bytes: u64,
    /// GIFs may be larger than still images on X; elsewhere the same as `max_image_bytes`.
    pub max_gif_bytes: u64,
    pub max_video_bytes: u64,
    /// Shortest and longest video, in milliseconds.
    pub video_ms: (u64, u64),
    /// Narrowest and widest photo.
    pub image_aspect: Option<(Ratio, Ratio)>,
    /// Most pixels in one photo.
    pub max_image_pixels: Option<u64>,
    /// Largest photo as (short side, long side), in pixels.
    pub max_image_sides: Option<(u32, u32)>,
    /// Options that must be set before scheduling, named as preflight reports them.
    pub required_options: &'static [&'static str],
}

impl MediaRules {
    /// Whether this format takes `mime` at all, possibly after conversion.
    pub fn accepts(&self, mime: Mime) -> bool {
        self.images.contains(&mime)
            || self.convert_to_jpeg.contains(&mime)
            || self.videos.contains(&mime)
    }

    /// Whether the publisher must convert `mime` to JPEG for this format.
    pub fn needs_jpeg(&self, mime: Mime) -> bool {
        self.convert_to_jpeg.contains(&mime)
    }

    pub fn max_bytes(&self, mime: Mime) -> u64 {
        match mime.kind() {
            MediaKind::Video => self.max_video_bytes,
            MediaKind::Image if mime == Mime::Gif => self.max_gif_bytes,
            MediaKind::Image => self.max_image_bytes,
        }
    }
}

const KB: u64 = 1_000;
const MB: u64 = 1_000 * KB;
const GB: u64 = 1_000 * MB;
const SECOND: u64 = 1_000;
const MINUTE: u64 = 60 * SECOND;

const ALL_IMAGES: &[Mime] = &[Mime::Jpeg, Mime::Png, Mime::Webp, Mime::Gif];
const JPEG_ONLY: &[Mime] = &[Mime::Jpeg];
const NOT_JPEG: &[Mime] = &[Mime::Png, Mime::Webp, Mime::Gif];
const MP4_MOV: &[Mime] = &[Mime::Mp4, Mime::Mov];
const NONE: &[Mime] = &[];

/// Instagram's feed and carousel photos must be 4:5 (portrait) to 1.91:1 (landscape): Postiz
/// maps error subcodes 2207009/36003 to exactly this range (PLATFORMS.md §2).
const INSTAGRAM_ASPECT: Option<(Ratio, Ratio)> =
    Some((Ratio { w: 4, h: 5 }, Ratio { w: 191, h: 100 }));

/// Instagram photos: JPEG only ("JPEG is the only image format supported", PLATFORMS.md §2).
/// The 8 MB cap is Meta's ig-user/media reference, not in PLATFORMS.md; UNCONFIRMED.
const INSTAGRAM_IMAGE_BYTES: u64 = 8 * MB;

/// The one table. Keep it in `Format` order.
pub static RULES: [MediaRules; 11] = [
    // PLATFORMS.md §1: 4 photos OR 1 GIF OR 1 video; image 5 MB, GIF 15 MB, video 512 MB,
    // 0.5–140 s. Text alone is fine ("text … required unless media is provided"). The media
    // upload enum lists JPEG/PNG/WebP/GIF and video/mp4 and video/quicktime.
    MediaRules {
        format: Format::X,
        text_only: true,
        min_items: 0,
        max_items: 4,
        max_images: 4,
        max_videos: 1,
        mixed: false,
        gif_alone: true,
        images: ALL_IMAGES,
        convert_to_jpeg: NONE,
        videos: MP4_MOV,
        max_image_bytes: 5 * MB,
        max_gif_bytes: 15 * MB,
        max_video_bytes: 512 * MB,
        video_ms: (500, 140 * SECOND),
        image_aspect: None,
        max_image_pixels: None,
        max_image_sides: None,
        required_options: &[],
    },
    // One JPEG photo. A single video is always a reel on Instagram now, so the feed takes none.
    MediaRules {
        format: Format::InstagramFeed,
        text_only: false,
        min_items: 1,
        max_items: 1,
        max_images: 1,
        max_videos: 0,
        mixed: false,
        gif_alone: false,
        images: JPEG_ONLY,
        convert_to_jpeg: NOT_JPEG,
        videos: NONE,
        max_image_bytes: INSTAGRAM_IMAGE_BYTES,
        max_gif_bytes: INSTAGRAM_IMAGE_BYTES,
        max_video_bytes: 0,
        video_ms: (0, 0),
        image_aspect: INSTAGRAM_ASPECT,
        max_image_pixels: None,
        max_image_sides: None,
        required_options: &[],
    },
    // "between 2 and 10 media attachments", "images, videos, or a mix" (PLATFORMS.md §2).
    // Carousel videos: 3–60 s and 100 MB are Meta's reference values, not in PLATFORMS.md;
    // UNCONFIRMED, and the stricter of the figures seen.
    MediaRules {
        format: Format::InstagramCarousel,
        text_only: false,
        min_items: 2,
        max_items: 10,
        max_images: 10,
        max_videos: 10,
        mixed: true,
        gif_alone: false,
        images: JPEG_ONLY,
        convert_to_jpeg: NOT_JPEG,
        videos: MP4_MOV,
        max_image_bytes: INSTAGRAM_IMAGE_BYTES,
        max_gif_bytes: INSTAGRAM_IMAGE_BYTES,
        max_video_bytes: 100 * MB,
        video_ms: (3 * SECOND, 60 * SECOND),
        image_aspect: INSTAGRAM_ASPECT,
        max_image_pixels: None,
        max_image_sides: None,
        required_options: &[],
    },
    // One video. 3 s–15 min and 300 MB are Meta's reels specs, not in PLATFORMS.md; UNCONFIRMED.
    MediaRules {
        format: Format::InstagramReel,
        text_only: false,
        min_items: 1,
        max_items: 1,
        max_images: 0,
        max_videos: 1,
        mixed: false,
        gif_alone: false,
        images: NONE,
        convert_to_jpeg: NONE,
        videos: MP4_MOV,
        max_image_bytes: 0,
        max_gif_bytes: 0,
        max_video_bytes: 300 * MB,
        video_ms: (3 * SECOND, 15 * MINUTE),
        image_aspect: None,
        max_image_pixels: None,
        max_image_sides: None,
        required_options: &[],
    },
    // One photo or video (`media_type=STORIES` with image_url or video_url, PLATFORMS.md §2).
    // Story videos 3–60 s, 100 MB: Meta's reference, UNCONFIRMED.
    MediaRules {
        format: Format::InstagramStory,
        text_only: false,
        min_items: 1,
        max_items: 1,
        max_images: 1,
        max_videos: 1,
        mixed: false,
        gif_alone: false,
        images: JPEG_ONLY,
        convert_to_jpeg: NOT_JPEG,
        videos: MP4_MOV,
        max_image_bytes: INSTAGRAM_IMAGE_BYTES,
        max_gif_bytes: INSTAGRAM_IMAGE_BYTES,
        max_video_bytes: 100 * MB,
        video_ms: (3 * SECOND, 60 * SECOND),
        image_aspect: None,
        max_image_pixels: None,
        max_image_sides: None,
        required_options: &[],
    },
    // Text alone, several photos (`attached_media`), or one video (PLATFORMS.md §3). PLATFORMS.md
    // gives no counts or sizes. We allow 10 photos (no documented maximum; 10 keeps a post
    // reviewable), photos up to 4 MB (Meta's Page photo guidance), and — since a video may go
    // up by `file_url`, the non-resumable path — 1 GB and 20 minutes, that path's limits.
    // WebP isn't in Meta's older format lists, so it is converted.
    MediaRules {
        format: Format::Facebook,
        text_only: true,
        min_items: 0,
        max_items: 10,
        max_images: 10,
        max_videos: 1,
        mixed: false,
        gif_alone: false,
        images: &[Mime::Jpeg, Mime::Png, Mime::Gif],
        convert_to_jpeg: &[Mime::Webp],
        videos: MP4_MOV,
        max_image_bytes: 4 * MB,
        max_gif_bytes: 4 * MB,
        max_video_bytes: GB,
        video_ms: (SECOND, 20 * MINUTE),
        image_aspect: None,
        max_image_pixels: None,
        max_image_sides: None,
        required_options: &[],
    },
    // Text alone, 1–20 photos (`multiImage`, 2–20), or one video (PLATFORMS.md §4). Photos are
    // JPG/PNG/GIF with fewer than 36,152,320 pixels (§4). File size isn't documented: 10 MB,
    // conservatively. Videos: MP4, 3 s–30 min, 500 MB per LinkedIn's Videos API page, not in
    // PLATFORMS.md; UNCONFIRMED.
    MediaRules {
        format: Format::Linkedin,
        text_only: true,
        min_items: 0,
        max_items: 20,
        max_images: 20,
        max_videos: 1,
        mixed: false,
        gif_alone: false,
        images: &[Mime::Jpeg, Mime::Png, Mime::Gif],
        convert_to_jpeg: &[Mime::Webp],
        videos: &[Mime::Mp4],
        max_image_bytes: 10 * MB,
        max_gif_bytes: 10 * MB,
        max_video_bytes: 500 * MB,
        video_ms: (3 * SECOND, 30 * MINUTE),
        image_aspect: None,
        max_image_pixels: Some(36_152_319),
        max_image_sides: None,
        required_options: &[],
    },
    // Exactly one photo or one video, and a board (PLATFORMS.md §5). `image_base64` takes only
    // JPEG and PNG, so others are converted. Sizes aren't in PLATFORMS.md: 20 MB photos, and
    // videos of 4 s–15 min up to 1 GB (Pinterest's creative specs say 2 GB; UNCONFIRMED, so half).
    MediaRules {
        format: Format::Pinterest,
        text_only: false,
        min_items: 1,
        max_items: 1,
        max_images: 1,
        max_videos: 1,
        mixed: false,
        gif_alone: false,
        images: &[Mime::Jpeg, Mime::Png],
        convert_to_jpeg: &[Mime::Webp, Mime::Gif],
        videos: MP4_MOV,
        max_image_bytes: 20 * MB,
        max_gif_bytes: 20 * MB,
        max_video_bytes: GB,
        video_ms: (4 * SECOND, 15 * MINUTE),
        image_aspect: None,
        max_image_pixels: None,
        max_image_sides: None,
        required_options: &["options.board_id"],
    },
    // One video (mp4/quicktime/webm per the media transfer guide, PLATFORMS.md §6). TikTok's
    // limits depend on the creator (`max_video_post_duration_sec`, checked in preflight when
    // known); without it we allow 3 s–10 min. 4 GB is TikTok's stated maximum, UNCONFIRMED.
    MediaRules {
        format: Format::TiktokVideo,
        text_only: false,
        min_items: 1,
        max_items: 1,
        max_images: 0,
        max_videos: 1,
        mixed: false,
        gif_alone: false,
        images: NONE,
        convert_to_jpeg: NONE,
        videos: MP4_MOV,
        max_image_bytes: 0,
        max_gif_bytes: 0,
        max_video_bytes: 4 * GB,
        video_ms: (3 * SECOND, 10 * MINUTE),
        image_aspect: None,
        max_image_pixels: None,
        max_image_sides: None,
        required_options: &["options.privacy_level"],
    },
    // Up to 35 photos, JPEG/WebP, ≤20 MB, ≤1080p (PLATFORMS.md §6). We read "1080p" as at most
    // 1080 px on the short side and 1920 on the long side, and refuse larger photos rather than
    // risk `picture_size_check_failed` after the post was accepted.
    MediaRules {
        format: Format::TiktokPhotos,
        text_only: false,
        min_items: 1,
        max_items: 35,
        max_images: 35,
        max_videos: 0,
        mixed: false,
        gif_alone: false,
        images: &[Mime::Jpeg, Mime::Webp],
        convert_to_jpeg: &[Mime::Png, Mime::Gif],
        videos: NONE,
        max_image_bytes: 20 * MB,
        max_gif_bytes: 20 * MB,
        max_video_bytes: 0,
        video_ms: (0, 0),
        image_aspect: None,
        max_image_pixels: None,
        max_image_sides: Some((1080, 1920)),
        required_options: &["options.privacy_level"],
    },
    // One video and a title (PLATFORMS.md §7). YouTube's own limits (256 GB, 12 h) are far
    // beyond what we'd store; videos over 15 minutes need a verified channel, which preflight
    // warns about.
    MediaRules {
        format: Format::Youtube,
        text_only: false,
        min_items: 1,
        max_items: 1,
        max_images: 0,
        max_videos: 1,
        mixed: false,
        gif_alone: false,
        images: NONE,
        convert_to_jpeg: NONE,
        videos: MP4_MOV,
        max_image_bytes: 0,
        max_gif_bytes: 0,
        max_video_bytes: 256 * GB,
        video_ms: (SECOND, 12 * 60 * MINUTE),
        image_aspect: None,
        max_image_pixels: None,
        max_image_sides: None,
        required_options: &["options.title"],
    },
];

/// YouTube channels that haven't verified a phone number can upload at most 15 minutes.
pub const YOUTUBE_UNVERIFIED_MAX_MS: u64 = 15 * MINUTE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_has_exactly_one_row_in_order() {
        let all = [
            Format::X,
            Format::InstagramFeed,
            Format::InstagramCarousel,
            Format::InstagramReel,
            Format::InstagramStory,
            Format::Facebook,
            Format::Linkedin,
            Format::Pinterest,
            Format::TiktokVideo,
            Format::TiktokPhotos,
            Format::Youtube,
        ];
        for (row, format) in RULES.iter().zip(all) {
            assert_eq!(row.format, format);
            assert_eq!(format.rules().format, format);
            assert!(Format::for_platform(format.platform()).contains(&format));
        }
        assert_eq!(RULES.len(), all.len());
    }

    #[test]
    fn the_table_is_internally_consistent() {
        for r in &RULES {
            let f = r.format;
            assert!(r.max_items >= r.min_items, "{f:?}");
            assert!(
                r.max_images <= r.max_items && r.max_videos <= r.max_items,
                "{f:?}"
            );
            assert_eq!(r.max_images > 0, !r.images.is_empty(), "{f:?} images");
            assert_eq!(r.max_videos > 0, !r.videos.is_empty(), "{f:?} videos");
            assert_eq!(r.max_videos > 0, r.max_video_bytes > 0, "{f:?} video size");
            assert!(r.video_ms.0 <= r.video_ms.1, "{f:?}");
            for m in r.convert_to_jpeg {
                assert!(!r.images.contains(m), "{f:?} both takes and converts {m}");
                assert_eq!(m.kind(), MediaKind::Image);
            }
            if r.max_images > 0 {
                assert!(r.images.contains(&Mime::Jpeg), "{f:?} must take JPEG");
            }
        }
    }

    #[test]
    fn the_documented_limits_are_in_the_table() {
        let x = Format::X.rules();
        assert_eq!((x.max_images, x.max_videos, x.gif_alone), (4, 1, true));
        assert_eq!(x.max_bytes(Mime::Png), 5 * MB);
        assert_eq!(x.max_bytes(Mime::Gif), 15 * MB);
        assert_eq!(x.max_bytes(Mime::Mp4), 512 * MB);
        assert_eq!(x.video_ms, (500, 140_000));

        let feed = Format::InstagramFeed.rules();
        assert!(feed.needs_jpeg(Mime::Png) && !feed.needs_jpeg(Mime::Jpeg));
        let carousel = Format::InstagramCarousel.rules();
        assert_eq!(
            (carousel.min_items, carousel.max_items, carousel.mixed),
            (2, 10, true)
        );

        for (format, text_only) in [
            (Format::X, true),
            (Format::Facebook, true),
            (Format::Linkedin, true),
            (Format::InstagramFeed, false),
            (Format::Pinterest, false),
            (Format::TiktokVideo, false),
            (Format::Youtube, false),
        ] {
            assert_eq!(format.rules().text_only, text_only, "{format:?}");
        }
        assert_eq!(Format::TiktokPhotos.rules().max_items, 35);
        assert_eq!(Format::TiktokPhotos.rules().max_image_bytes, 20 * MB);
        assert_eq!(Format::Linkedin.rules().max_images, 20);
        assert_eq!(
            Format::Pinterest.rules().required_options,
            ["options.board_id"]
        );
        assert_eq!(Format::Youtube.rules().required_options, ["options.title"]);
        assert!(!Format::Linkedin.rules().accepts(Mime::Mov));
    }

    #[test]
    fn instagram_aspect_bounds_include_their_endpoints() {
        let (narrow, wide) = INSTAGRAM_ASPECT.unwrap();
        for (w, h, ok) in [
            (1080, 1350, true),
            (1080, 1351, false),
            (1080, 1080, true),
            (1910, 1000, true),
            (1911, 1000, false),
            (1080, 565, false),
        ] {
            let inside = narrow.cmp_image(w, h).is_ge() && wide.cmp_image(w, h).is_le();
            assert_eq!(inside, ok, "{w}×{h}");
        }
        assert_eq!(narrow.label(), "4:5");
        assert_eq!(wide.label(), "1.91:1");
    }
}

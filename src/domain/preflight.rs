//! Preflight: everything a target must pass before it can be scheduled, as a list of issues in
//! plain words, each pointing at the field to change.
//!
//! The composer form, its htmx live checks and the JSON API all call [`check`], and the worker
//! calls it again before publishing. Errors block scheduling; warnings are shown and then the
//! seller decides.

use serde::Serialize;

use crate::domain::caption::{self, TextField};
use crate::domain::limits::{Format, MediaRules, YOUTUBE_UNVERIFIED_MAX_MS};
use crate::domain::media::{MediaFacts, MediaKind, Mime};
use crate::domain::options::{
    BoardId, InstagramKind, PinterestOptions, PrivacyLevel, TargetOptions, TiktokOptions,
    YoutubeOptions,
};
use crate::domain::platform::{Platform, PlatformKind};
use crate::domain::words;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Blocks scheduling: the platform would refuse the post.
    Error,
    /// Worth knowing, but the post can go ahead.
    Warning,
}

/// One finding, for one field of the composer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub severity: Severity,
    /// `caption`, `media`, `options.board_id`, `platform`…
    pub field: &'static str,
    pub message: String,
}

impl Issue {
    fn error(field: &'static str, message: impl Into<String>) -> Self {
        Issue {
            severity: Severity::Error,
            field,
            message: message.into(),
        }
    }

    fn warning(field: &'static str, message: impl Into<String>) -> Self {
        Issue {
            severity: Severity::Warning,
            field,
            message: message.into(),
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Whether any issue stops the target from being scheduled.
pub fn blocks_scheduling(issues: &[Issue]) -> bool {
    issues.iter().any(Issue::is_error)
}

/// What TikTok's `creator_info` said about the account (PLATFORMS.md §6).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TiktokCreator {
    pub privacy_level_options: Vec<PrivacyLevel>,
    pub comment_disabled: bool,
    pub duet_disabled: bool,
    pub stitch_disabled: bool,
    pub max_video_post_duration_sec: Option<u32>,
}

/// What we know about the account beyond the draft itself, when we know it. Checks that need a
/// missing piece are skipped rather than guessed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetContext {
    pub tiktok_creator: Option<TiktokCreator>,
    /// The boards on the connected Pinterest account.
    pub pinterest_boards: Option<Vec<BoardId>>,
}

/// One target as the seller has it so far.
#[derive(Clone, Copy, Debug)]
pub struct TargetDraft<'a> {
    pub platform: Platform,
    /// The caption this target will get: its override, or the post's.
    pub caption: &'a str,
    /// The post's media, in order.
    pub media: &'a [MediaFacts],
    pub options: &'a TargetOptions,
    pub context: &'a TargetContext,
}

/// The format this target will be published in, or `None` when it can't be told yet (Instagram
/// with no media and no chosen kind) or the platform isn't somewhere we post.
pub fn format_for(target: &TargetDraft) -> Option<Format> {
    Some(match target.platform {
        Platform::X => Format::X,
        Platform::Facebook => Format::Facebook,
        Platform::Linkedin => Format::Linkedin,
        Platform::Pinterest => Format::Pinterest,
        Platform::Youtube => Format::Youtube,
        Platform::Tiktok => {
            let has_photos = target.media.iter().any(|m| m.kind() == MediaKind::Image);
            let has_video = target.media.iter().any(|m| m.kind() == MediaKind::Video);
            if has_photos && !has_video {
                Format::TiktokPhotos
            } else {
                Format::TiktokVideo
            }
        }
        Platform::Instagram => {
            let kind = match target.options {
                TargetOptions::Instagram(o) => o.kind_for(target.media),
                _ => InstagramKind::for_media(target.media),
            }?;
            match kind {
                InstagramKind::Feed => Format::InstagramFeed,
                InstagramKind::Carousel => Format::InstagramCarousel,
                InstagramKind::Reel => Format::InstagramReel,
                InstagramKind::Story => Format::InstagramStory,
            }
        }
        Platform::Shopify | Platform::Etsy | Platform::Squarespace => return None,
    })
}

/// Every issue with `target`, errors and warnings together, in the order the composer shows its
/// fields: platform, media, caption, options.
pub fn check(target: &TargetDraft) -> Vec<Issue> {
    let mut issues = Vec::new();
    let platform = target.platform;
    let name = platform.display_name();
    if platform.kind() == PlatformKind::Commerce {
        issues.push(Issue::error(
            "platform",
            format!("{name} is a shop we read products from, not somewhere we post. Remove it from this post."),
        ));
        return issues;
    }
    let options_match = target.options.platform() == platform;
    if !options_match {
        issues.push(Issue::error(
            "options",
            format!(
                "These options are for {}, not {name}. Set the {name} options again.",
                target.options.platform().display_name()
            ),
        ));
    }

    let Some(format) = format_for(target) else {
        // Only Instagram without media gets here.
        issues.push(Issue::error(
            "media",
            format!("{name} needs at least one photo or video. Add one, or remove {name} from this post."),
        ));
        check_caption(target, None, &mut issues);
        return issues;
    };
    let explicit_kind = matches!(target.options, TargetOptions::Instagram(o) if o.kind.is_some());
    check_media(target, format, explicit_kind, &mut issues);
    check_caption(target, Some(format), &mut issues);
    if options_match {
        check_options(target, format, &mut issues);
    }
    issues
}

fn check_media(target: &TargetDraft, format: Format, explicit_kind: bool, issues: &mut Vec<Issue>) {
    let rules = format.rules();
    let media = target.media;
    let name = target.platform.display_name();
    if media.is_empty() {
        if !rules.text_only {
            let what = match (rules.max_images > 0, rules.max_videos > 0, format) {
                (_, _, Format::TiktokVideo) => "a video or some photos",
                (false, true, _) => "a video",
                (true, false, _) => "at least one photo",
                _ if rules.min_items > 1 => "at least two photos or videos",
                _ => "a photo or a video",
            };
            let message = if explicit_kind {
                format!(
                    "{} needs {what}. Add one, or choose another kind of Instagram post.",
                    format.name()
                )
            } else {
                format!("{name} needs {what}. Add one, or remove {name} from this post.")
            };
            issues.push(Issue::error("media", message));
        }
        return;
    }

    for (i, m) in media.iter().enumerate() {
        check_item(rules, format, i, m, issues);
    }
    if let Some(issue) = count_issue(rules, format, media) {
        issues.push(issue);
    }
}

/// "Photo 2", "Video 1": the number is the item's place in the post.
fn item_label(i: usize, m: &MediaFacts) -> String {
    let noun = m.kind().noun();
    let mut label = noun[..1].to_uppercase();
    label.push_str(&noun[1..]);
    format!("{label} {}", i + 1)
}

fn check_item(
    rules: &MediaRules,
    format: Format,
    i: usize,
    m: &MediaFacts,
    issues: &mut Vec<Issue>,
) {
    let label = item_label(i, m);
    let where_ = format.name();
    let mime = m.mime();
    let wrong_kind = match m.kind() {
        MediaKind::Image => rules.max_images == 0,
        MediaKind::Video => rules.max_videos == 0,
    };
    if wrong_kind {
        // Reported once for the whole post, with the counts.
        return;
    }
    let converted = rules.needs_jpeg(mime);
    if converted {
        let still = if mime == Mime::Gif {
            " It won't be animated."
        } else {
            ""
        };
        issues.push(Issue::warning(
            "media",
            format!(
                "{label} is a {}. {where_} takes {} photos, so we'll convert it to JPEG when publishing.{still}",
                mime.name(),
                list_names(rules.images),
            ),
        ));
    } else if !rules.accepts(mime) {
        issues.push(Issue::error(
            "media",
            format!(
                "{label} is a {} file. {where_} takes {} videos only. Export it as {} and add it again.",
                mime.name(),
                list_names(rules.videos),
                rules.videos.first().map_or("MP4", |v| v.name()),
            ),
        ));
        return;
    }

    // A converted photo's size is the JPEG's, which we don't know yet; its shape stays the same.
    let max = rules.max_bytes(mime);
    if !converted && m.size_bytes() > max {
        let kind = if mime == Mime::Gif {
            "GIFs".to_owned()
        } else {
            format!("{}s", m.kind().noun())
        };
        issues.push(Issue::error(
            "media",
            format!(
                "{label} is {}. {where_} takes {kind} up to {}. Use a smaller file.",
                words::bytes(m.size_bytes()),
                words::bytes(max),
            ),
        ));
    }

    if let Some(ms) = m.duration_ms() {
        let (min, max) = rules.video_ms;
        if ms < min || ms > max {
            let fix = if ms < min {
                "Use a longer video."
            } else {
                "Trim it."
            };
            issues.push(Issue::error(
                "media",
                format!(
                    "{label} is {} long. {where_} takes videos from {} to {}. {fix}",
                    words::duration(ms),
                    words::duration(min),
                    words::duration(max),
                ),
            ));
        }
    }

    if m.kind() != MediaKind::Image {
        return;
    }
    let (w, h) = (m.width(), m.height());
    if let Some((narrowest, widest)) = rules.image_aspect {
        let shape = if narrowest.cmp_image(w, h).is_lt() {
            Some("too tall")
        } else if widest.cmp_image(w, h).is_gt() {
            Some("too wide")
        } else {
            None
        };
        if let Some(shape) = shape {
            issues.push(Issue::error(
                "media",
                format!(
                    "{label} is {shape} ({w}×{h}). {where_} takes photos from {} (portrait) to {} (landscape). Crop it.",
                    narrowest.label(),
                    widest.label(),
                ),
            ));
        }
    }
    if let Some(max) = rules.max_image_pixels
        && u64::from(w) * u64::from(h) > max
    {
        issues.push(Issue::error(
            "media",
            format!(
                "{label} is {w}×{h}, more pixels than {where_} takes (about {} million). Resize it.",
                (max + 500_000) / 1_000_000
            ),
        ));
    }
    if let Some((short, long)) = rules.max_image_sides
        && (w.min(h) > short || w.max(h) > long)
    {
        issues.push(Issue::error(
            "media",
            format!("{label} is {w}×{h}. {where_} takes photos up to {short}×{long}. Resize it."),
        ));
    }
}

/// At most one issue about how many photos and videos there are, the most useful one first.
fn count_issue(rules: &MediaRules, format: Format, media: &[MediaFacts]) -> Option<Issue> {
    let where_ = format.name();
    let images = media
        .iter()
        .filter(|m| m.kind() == MediaKind::Image)
        .count();
    let videos = media.len() - images;
    let gifs = media.iter().filter(|m| m.is_gif()).count();
    let total = media.len();
    // Instagram's kinds differ only in what media they take, so point to the one that fits.
    let hint = |applies: Format, hint: &str| {
        if format == applies {
            format!(" {hint}")
        } else {
            String::new()
        }
    };

    let message = if !rules.mixed
        && images > 0
        && videos > 0
        && rules.max_images > 0
        && rules.max_videos > 0
    {
        format!(
            "{where_} can't mix photos and videos in one post. Keep either the photos or the video."
        )
    } else if rules.gif_alone && gifs > 0 && total > 1 {
        format!(
            "{where_} takes a GIF only on its own. Remove the other photos and videos, or the GIF."
        )
    } else if images > rules.max_images {
        if rules.max_images == 0 {
            format!(
                "{where_} takes videos only. Remove the {}.{}",
                if images == 1 { "photo" } else { "photos" },
                hint(
                    Format::InstagramReel,
                    "For photos, choose Feed post, Carousel or Story."
                ),
            )
        } else {
            let most = if rules.max_images == 1 {
                "one photo".to_owned()
            } else {
                format!("up to {} photos", rules.max_images)
            };
            format!(
                "{where_} takes {most}. Remove {}.{}",
                images - rules.max_images,
                hint(
                    Format::InstagramFeed,
                    "For several photos, choose Carousel."
                ),
            )
        }
    } else if videos > rules.max_videos {
        if rules.max_videos == 0 {
            format!(
                "{where_} can't include videos. Remove the {}.{}",
                if videos == 1 { "video" } else { "videos" },
                hint(Format::InstagramFeed, "For a single video, choose Reel."),
            )
        } else {
            format!(
                "{where_} takes one video. Remove {}.",
                videos - rules.max_videos
            )
        }
    } else if total > rules.max_items {
        format!(
            "{where_} takes up to {} photos and videos. Remove {}.",
            rules.max_items,
            total - rules.max_items
        )
    } else if total < rules.min_items {
        format!(
            "{where_} needs at least {} photos or videos. Add {} more.{}",
            rules.min_items,
            rules.min_items - total,
            hint(
                Format::InstagramCarousel,
                "For a single photo, choose Feed post."
            ),
        )
    } else {
        return None;
    };
    Some(Issue::error("media", message))
}

fn check_caption(target: &TargetDraft, format: Option<Format>, issues: &mut Vec<Issue>) {
    let platform = target.platform;
    let name = platform.display_name();
    let text = target.caption;
    let field = match format {
        Some(Format::TiktokPhotos) => TextField::PhotoCaption,
        _ => TextField::Caption,
    };
    if let Some(count) = caption::count(platform, field, text)
        && let Some(message) = caption::over_limit_message(platform, field, &count)
    {
        issues.push(Issue::error(
            "caption",
            format!("{message} Shorten the caption."),
        ));
    }

    let rules = format.map(Format::rules);
    if rules.is_some_and(|r| r.text_only) && target.media.is_empty() && text.trim().is_empty() {
        issues.push(Issue::error(
            "caption",
            format!("{name} needs some text, a photo or a video. Write something, or add a photo or video."),
        ));
    }

    match platform {
        Platform::Instagram => {
            let tags = caption::hashtags(text).len();
            if tags > caption::INSTAGRAM_MAX_HASHTAGS {
                issues.push(Issue::error(
                    "caption",
                    format!(
                        "Instagram allows up to {} hashtags and this caption has {tags}. Remove {}.",
                        caption::INSTAGRAM_MAX_HASHTAGS,
                        tags - caption::INSTAGRAM_MAX_HASHTAGS
                    ),
                ));
            } else if tags > caption::INSTAGRAM_ADVISED_HASHTAGS {
                issues.push(Issue::warning(
                    "caption",
                    format!(
                        "This caption has {tags} hashtags. Instagram now advises at most {}; the rest may not help people find the post.",
                        caption::INSTAGRAM_ADVISED_HASHTAGS
                    ),
                ));
            }
            let mentions = caption::mentions(text).len();
            if mentions > caption::INSTAGRAM_MAX_MENTIONS {
                issues.push(Issue::error(
                    "caption",
                    format!(
                        "Instagram allows up to {} @mentions and this caption has {mentions}. Remove {}.",
                        caption::INSTAGRAM_MAX_MENTIONS,
                        mentions - caption::INSTAGRAM_MAX_MENTIONS
                    ),
                ));
            }
            // The API takes no caption for stories (PLATFORMS.md §2 lists none for STORIES).
            if format == Some(Format::InstagramStory) && !text.trim().is_empty() {
                issues.push(Issue::warning(
                    "caption",
                    "Instagram stories don't show a caption, so this text won't be posted.",
                ));
            }
        }
        Platform::Youtube if text.contains(['<', '>']) => {
            issues.push(Issue::error(
                "caption",
                "YouTube doesn't allow < or > in a description. Remove them.",
            ));
        }
        _ => {}
    }
}

fn check_options(target: &TargetDraft, format: Format, issues: &mut Vec<Issue>) {
    match target.options {
        TargetOptions::Pinterest(o) => check_pinterest(o, target.context, issues),
        TargetOptions::Tiktok(o) => check_tiktok(o, format, target, issues),
        TargetOptions::Youtube(o) => check_youtube(o, target.media, issues),
        TargetOptions::X
        | TargetOptions::Facebook
        | TargetOptions::Instagram(_)
        | TargetOptions::Linkedin(_) => {}
    }
}

fn check_pinterest(o: &PinterestOptions, context: &TargetContext, issues: &mut Vec<Issue>) {
    match (&o.board_id, &context.pinterest_boards) {
        (None, _) => issues.push(Issue::error(
            "options.board_id",
            "Choose a board for this pin.",
        )),
        (Some(id), Some(boards)) if !boards.contains(id) => issues.push(Issue::error(
            "options.board_id",
            "That board isn't on this Pinterest account any more. Choose another board.",
        )),
        _ => {}
    }
    for (field, name, value) in [
        (TextField::Title, "options.title", &o.title),
        (TextField::Link, "options.link", &o.link),
    ] {
        if let Some(value) = value
            && let Some(count) = caption::count(Platform::Pinterest, field, value)
            && let Some(message) = caption::over_limit_message(Platform::Pinterest, field, &count)
        {
            issues.push(Issue::error(
                name,
                format!("{message} Shorten the {}.", field.label()),
            ));
        }
    }
}

fn check_tiktok(o: &TiktokOptions, format: Format, target: &TargetDraft, issues: &mut Vec<Issue>) {
    let creator = target.context.tiktok_creator.as_ref();
    match (o.privacy_level, creator) {
        (None, _) => issues.push(Issue::error(
            "options.privacy_level",
            "Choose who can see this TikTok post.",
        )),
        (Some(level), Some(c)) if !c.privacy_level_options.contains(&level) => {
            let choices: Vec<_> = c.privacy_level_options.iter().map(|p| p.label()).collect();
            issues.push(Issue::error(
                "options.privacy_level",
                format!(
                    "This TikTok account can't post for \"{}\". Choose {}.",
                    level.label(),
                    or_list(&choices)
                ),
            ));
        }
        _ => {}
    }
    let Some(c) = creator else {
        return;
    };
    let is_video = format == Format::TiktokVideo;
    for (applies, off_on_account, off_here, field, what) in [
        (
            true,
            c.comment_disabled,
            o.disable_comment,
            "options.disable_comment",
            "Comments are",
        ),
        (
            is_video,
            c.duet_disabled,
            o.disable_duet,
            "options.disable_duet",
            "Duets are",
        ),
        (
            is_video,
            c.stitch_disabled,
            o.disable_stitch,
            "options.disable_stitch",
            "Stitches are",
        ),
    ] {
        if applies && off_on_account && !off_here {
            issues.push(Issue::warning(
                field,
                format!("{what} turned off for this TikTok account, so this post won't allow them either."),
            ));
        }
    }
    if let (true, Some(max_s)) = (is_video, c.max_video_post_duration_sec) {
        let max_ms = u64::from(max_s) * 1_000;
        for (i, m) in target.media.iter().enumerate() {
            if let Some(ms) = m.duration_ms()
                && ms > max_ms
            {
                issues.push(Issue::error(
                    "media",
                    format!(
                        "{} is {} long. This TikTok account can post videos up to {}. Trim it.",
                        item_label(i, m),
                        words::duration(ms),
                        words::duration(max_ms),
                    ),
                ));
            }
        }
    }
}

fn check_youtube(o: &YoutubeOptions, media: &[MediaFacts], issues: &mut Vec<Issue>) {
    let title = o.title.trim();
    if title.is_empty() {
        issues.push(Issue::error("options.title", "Give the video a title."));
    } else {
        if let Some(count) = caption::count(Platform::Youtube, TextField::Title, title)
            && let Some(message) =
                caption::over_limit_message(Platform::Youtube, TextField::Title, &count)
        {
            issues.push(Issue::error(
                "options.title",
                format!("{message} Shorten the title."),
            ));
        }
        if title.contains(['<', '>']) {
            issues.push(Issue::error(
                "options.title",
                "YouTube doesn't allow < or > in a title. Remove them.",
            ));
        }
    }
    if let Some(limit) = caption::limit(Platform::Youtube, TextField::Tags) {
        let count = caption::CaptionCount {
            used: caption::youtube_tags_length(&o.tags),
            limit: limit.max,
            unit: limit.unit,
        };
        if let Some(message) =
            caption::over_limit_message(Platform::Youtube, TextField::Tags, &count)
        {
            issues.push(Issue::error(
                "options.tags",
                format!("{message} Remove some tags."),
            ));
        }
    }
    if o.tags.iter().any(|t| t.contains(['<', '>'])) {
        issues.push(Issue::error(
            "options.tags",
            "YouTube doesn't allow < or > in tags. Remove them.",
        ));
    }
    for (i, m) in media.iter().enumerate() {
        if let Some(ms) = m.duration_ms()
            && ms > YOUTUBE_UNVERIFIED_MAX_MS
        {
            issues.push(Issue::warning(
                "media",
                format!(
                    "{} is {} long. YouTube takes videos over 15 minutes only from verified channels, so check this channel is verified.",
                    item_label(i, m),
                    words::duration(ms),
                ),
            ));
        }
    }
}

/// `JPEG`, `JPEG or PNG`, `JPEG, PNG or GIF`.
fn list_names(mimes: &[Mime]) -> String {
    let names: Vec<_> = mimes.iter().map(|m| m.name()).collect();
    or_list(&names)
}

fn or_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::options::{InstagramOptions, LinkedinOptions, YoutubePrivacy};
    use Severity::{Error, Warning};

    const MB: u64 = 1_000_000;

    fn jpeg(w: u32, h: u32) -> MediaFacts {
        MediaFacts::image(Mime::Jpeg, 2 * MB, w, h).unwrap()
    }

    fn photo(mime: Mime, mb: u64) -> MediaFacts {
        MediaFacts::image(mime, mb * MB, 1080, 1080).unwrap()
    }

    fn mp4(seconds: u64) -> MediaFacts {
        MediaFacts::video(Mime::Mp4, 50 * MB, 1080, 1920, seconds * 1_000).unwrap()
    }

    fn video(mime: Mime, mb: u64, ms: u64) -> MediaFacts {
        MediaFacts::video(mime, mb * MB, 1080, 1920, ms).unwrap()
    }

    fn square() -> MediaFacts {
        jpeg(1080, 1080)
    }

    fn ig(kind: Option<InstagramKind>) -> TargetOptions {
        TargetOptions::Instagram(InstagramOptions { kind })
    }

    fn pin(board: Option<&str>) -> TargetOptions {
        TargetOptions::Pinterest(PinterestOptions {
            board_id: board.map(|b| BoardId::parse(b).unwrap()),
            ..Default::default()
        })
    }

    fn tiktok(level: Option<PrivacyLevel>) -> TargetOptions {
        TargetOptions::Tiktok(TiktokOptions {
            privacy_level: level,
            ..Default::default()
        })
    }

    fn youtube(title: &str) -> TargetOptions {
        TargetOptions::Youtube(YoutubeOptions {
            title: title.into(),
            ..Default::default()
        })
    }

    fn youtube_tags<S: AsRef<str>>(tags: &[S]) -> TargetOptions {
        TargetOptions::Youtube(YoutubeOptions {
            title: "Mugs".into(),
            tags: tags.iter().map(|t| t.as_ref().to_owned()).collect(),
            ..Default::default()
        })
    }

    fn linkedin() -> TargetOptions {
        TargetOptions::Linkedin(LinkedinOptions::default())
    }

    fn run(
        platform: Platform,
        caption: &str,
        media: &[MediaFacts],
        options: &TargetOptions,
        context: &TargetContext,
    ) -> Vec<Issue> {
        check(&TargetDraft {
            platform,
            caption,
            media,
            options,
            context,
        })
    }

    /// Each case: what it shows, the draft, and the (severity, field) of every issue expected.
    #[test]
    fn every_platforms_rules_are_checked() {
        let none = TargetContext::default();
        let long_x = "a".repeat(281);
        let (a801, a2201, a3001, a4000) = (
            "a".repeat(801),
            "a".repeat(2_201),
            "a".repeat(3_001),
            "a".repeat(4_000),
        );
        let e2501 = "é".repeat(2_501);
        // 50 tags of 10 characters with commas between: 549 characters as YouTube counts them.
        let many_yt_tags: Vec<String> = (0..50).map(|i| format!("pottery{i:03}")).collect();
        let many_tags: String = (0..31).map(|i| format!("#tag{i} ")).collect();
        let six_tags = "#a #b #c #d #e #f";
        let many_mentions: String = (0..21).map(|i| format!("@user{i} ")).collect();
        let ten_photos = vec![square(); 10];
        let eleven = vec![square(); 11];
        let thirty_six = vec![square(); 36];
        type Case<'a> = (
            &'a str,
            Platform,
            &'a str,
            Vec<MediaFacts>,
            TargetOptions,
            Vec<(Severity, &'static str)>,
        );
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            // X
            ("x text alone is fine", Platform::X, "Hello", vec![], TargetOptions::X, vec![]),
            ("x needs text or media", Platform::X, " ", vec![], TargetOptions::X, vec![(Error, "caption")]),
            ("x over 280", Platform::X, &long_x, vec![], TargetOptions::X, vec![(Error, "caption")]),
            ("x four photos", Platform::X, "", vec![square(); 4], TargetOptions::X, vec![]),
            ("x five photos", Platform::X, "", vec![square(); 5], TargetOptions::X, vec![(Error, "media")]),
            ("x photo and video", Platform::X, "", vec![square(), mp4(10)], TargetOptions::X, vec![(Error, "media")]),
            ("x gif with a photo", Platform::X, "", vec![photo(Mime::Gif, 1), square()], TargetOptions::X, vec![(Error, "media")]),
            ("x gif alone up to 15 MB", Platform::X, "", vec![photo(Mime::Gif, 14)], TargetOptions::X, vec![]),
            ("x gif over 15 MB", Platform::X, "", vec![photo(Mime::Gif, 16)], TargetOptions::X, vec![(Error, "media")]),
            ("x photo over 5 MB", Platform::X, "", vec![photo(Mime::Png, 6)], TargetOptions::X, vec![(Error, "media")]),
            ("x two videos", Platform::X, "", vec![mp4(10), mp4(10)], TargetOptions::X, vec![(Error, "media")]),
            ("x video too long", Platform::X, "", vec![mp4(141)], TargetOptions::X, vec![(Error, "media")]),
            ("x video too short", Platform::X, "", vec![video(Mime::Mp4, 1, 400)], TargetOptions::X, vec![(Error, "media")]),
            ("x mov is fine", Platform::X, "", vec![video(Mime::Mov, 100, 30_000)], TargetOptions::X, vec![]),
            ("x video over 512 MB", Platform::X, "", vec![video(Mime::Mp4, 513, 30_000)], TargetOptions::X, vec![(Error, "media")]),
            // Instagram
            ("instagram needs media", Platform::Instagram, "Hi", vec![], ig(None), vec![(Error, "media")]),
            ("instagram one jpeg", Platform::Instagram, "Hi", vec![square()], ig(None), vec![]),
            ("instagram png converted", Platform::Instagram, "Hi", vec![photo(Mime::Png, 3)], ig(None), vec![(Warning, "media")]),
            ("instagram png too tall", Platform::Instagram, "", vec![MediaFacts::image(Mime::Png, MB, 1080, 1920).unwrap()], ig(None), vec![(Warning, "media"), (Error, "media")]),
            ("instagram big png converted", Platform::Instagram, "", vec![photo(Mime::Png, 12)], ig(None), vec![(Warning, "media")]),
            ("instagram too tall", Platform::Instagram, "", vec![jpeg(1080, 1920)], ig(None), vec![(Error, "media")]),
            ("instagram too wide", Platform::Instagram, "", vec![jpeg(2000, 1000)], ig(None), vec![(Error, "media")]),
            ("instagram 4:5 fits", Platform::Instagram, "", vec![jpeg(1080, 1350)], ig(None), vec![]),
            ("instagram photo over 8 MB", Platform::Instagram, "", vec![photo(Mime::Jpeg, 9)], ig(None), vec![(Error, "media")]),
            ("instagram carousel of ten", Platform::Instagram, "", ten_photos.clone(), ig(None), vec![]),
            ("instagram carousel of eleven", Platform::Instagram, "", eleven, ig(None), vec![(Error, "media")]),
            ("instagram carousel mixes", Platform::Instagram, "", vec![square(), mp4(30)], ig(None), vec![]),
            ("instagram carousel video too long", Platform::Instagram, "", vec![square(), mp4(61)], ig(None), vec![(Error, "media")]),
            ("instagram carousel of one", Platform::Instagram, "", vec![square()], ig(Some(InstagramKind::Carousel)), vec![(Error, "media")]),
            ("instagram reel", Platform::Instagram, "", vec![mp4(30)], ig(None), vec![]),
            ("instagram reel over 15 min", Platform::Instagram, "", vec![mp4(901)], ig(None), vec![(Error, "media")]),
            ("instagram reel of a photo", Platform::Instagram, "", vec![square()], ig(Some(InstagramKind::Reel)), vec![(Error, "media")]),
            ("instagram feed of a video", Platform::Instagram, "", vec![mp4(30)], ig(Some(InstagramKind::Feed)), vec![(Error, "media")]),
            ("instagram feed of two photos", Platform::Instagram, "", vec![square(), square()], ig(Some(InstagramKind::Feed)), vec![(Error, "media")]),
            ("instagram story photo any shape", Platform::Instagram, "", vec![jpeg(1080, 1920)], ig(Some(InstagramKind::Story)), vec![]),
            ("instagram story caption not shown", Platform::Instagram, "Hi", vec![square()], ig(Some(InstagramKind::Story)), vec![(Warning, "caption")]),
            ("instagram story of two", Platform::Instagram, "", vec![square(), square()], ig(Some(InstagramKind::Story)), vec![(Error, "media")]),
            ("instagram reel chosen without media", Platform::Instagram, "", vec![], ig(Some(InstagramKind::Reel)), vec![(Error, "media")]),
            ("instagram 31 hashtags", Platform::Instagram, &many_tags, vec![square()], ig(None), vec![(Error, "caption")]),
            ("instagram 6 hashtags", Platform::Instagram, six_tags, vec![square()], ig(None), vec![(Warning, "caption")]),
            ("instagram 21 mentions", Platform::Instagram, &many_mentions, vec![square()], ig(None), vec![(Error, "caption")]),
            // Facebook
            ("facebook text alone", Platform::Facebook, "Hello", vec![], TargetOptions::Facebook, vec![]),
            ("facebook empty", Platform::Facebook, "", vec![], TargetOptions::Facebook, vec![(Error, "caption")]),
            ("facebook ten photos", Platform::Facebook, "", ten_photos, TargetOptions::Facebook, vec![]),
            ("facebook photos and a video", Platform::Facebook, "", vec![square(), mp4(20)], TargetOptions::Facebook, vec![(Error, "media")]),
            ("facebook webp converted", Platform::Facebook, "", vec![photo(Mime::Webp, 1)], TargetOptions::Facebook, vec![(Warning, "media")]),
            ("facebook video over 20 min", Platform::Facebook, "", vec![mp4(1_201)], TargetOptions::Facebook, vec![(Error, "media")]),
            // LinkedIn
            ("linkedin text alone", Platform::Linkedin, "Hello", vec![], linkedin(), vec![]),
            ("linkedin twenty photos", Platform::Linkedin, "", vec![square(); 20], linkedin(), vec![]),
            ("linkedin twenty-one photos", Platform::Linkedin, "", vec![square(); 21], linkedin(), vec![(Error, "media")]),
            ("linkedin mov refused", Platform::Linkedin, "", vec![video(Mime::Mov, 10, 10_000)], linkedin(), vec![(Error, "media")]),
            ("linkedin too many pixels", Platform::Linkedin, "", vec![jpeg(7_000, 6_000)], linkedin(), vec![(Error, "media")]),
            ("linkedin over 3000", Platform::Linkedin, &a3001, vec![], linkedin(), vec![(Error, "caption")]),
            // Pinterest
            ("pinterest photo and board", Platform::Pinterest, "Mug", vec![square()], pin(Some("1")), vec![]),
            ("pinterest needs a board", Platform::Pinterest, "Mug", vec![square()], pin(None), vec![(Error, "options.board_id")]),
            ("pinterest needs media", Platform::Pinterest, "Mug", vec![], pin(Some("1")), vec![(Error, "media")]),
            ("pinterest two photos", Platform::Pinterest, "Mug", vec![square(), square()], pin(Some("1")), vec![(Error, "media")]),
            ("pinterest one video", Platform::Pinterest, "Mug", vec![mp4(30)], pin(Some("1")), vec![]),
            ("pinterest gif converted", Platform::Pinterest, "Mug", vec![photo(Mime::Gif, 1)], pin(Some("1")), vec![(Warning, "media")]),
            ("pinterest description over 800", Platform::Pinterest, &a801, vec![square()], pin(Some("1")), vec![(Error, "caption")]),
            // TikTok
            ("tiktok video", Platform::Tiktok, "Hi", vec![mp4(30)], tiktok(Some(PrivacyLevel::SelfOnly)), vec![]),
            ("tiktok needs privacy", Platform::Tiktok, "Hi", vec![mp4(30)], tiktok(None), vec![(Error, "options.privacy_level")]),
            ("tiktok needs media", Platform::Tiktok, "Hi", vec![], tiktok(Some(PrivacyLevel::SelfOnly)), vec![(Error, "media")]),
            ("tiktok photos", Platform::Tiktok, "Hi", vec![jpeg(1080, 1350); 35], tiktok(Some(PrivacyLevel::SelfOnly)), vec![]),
            ("tiktok 36 photos", Platform::Tiktok, "Hi", thirty_six, tiktok(Some(PrivacyLevel::SelfOnly)), vec![(Error, "media")]),
            ("tiktok photo too large", Platform::Tiktok, "", vec![jpeg(4032, 3024)], tiktok(Some(PrivacyLevel::SelfOnly)), vec![(Error, "media")]),
            ("tiktok photo over 20 MB", Platform::Tiktok, "", vec![photo(Mime::Webp, 21)], tiktok(Some(PrivacyLevel::SelfOnly)), vec![(Error, "media")]),
            ("tiktok png converted", Platform::Tiktok, "", vec![photo(Mime::Png, 1)], tiktok(Some(PrivacyLevel::SelfOnly)), vec![(Warning, "media")]),
            ("tiktok photo and video", Platform::Tiktok, "", vec![square(), mp4(30)], tiktok(Some(PrivacyLevel::SelfOnly)), vec![(Error, "media")]),
            ("tiktok video caption over 2200", Platform::Tiktok, &a2201, vec![mp4(30)], tiktok(Some(PrivacyLevel::SelfOnly)), vec![(Error, "caption")]),
            ("tiktok photo caption may be 4000", Platform::Tiktok, &a4000, vec![square()], tiktok(Some(PrivacyLevel::SelfOnly)), vec![]),
            // YouTube
            ("youtube video and title", Platform::Youtube, "About", vec![mp4(60)], youtube("Glazing"), vec![]),
            ("youtube needs a title", Platform::Youtube, "About", vec![mp4(60)], youtube(" "), vec![(Error, "options.title")]),
            ("youtube title over 100", Platform::Youtube, "", vec![mp4(60)], youtube(&"t".repeat(101)), vec![(Error, "options.title")]),
            ("youtube title with brackets", Platform::Youtube, "", vec![mp4(60)], youtube("<b>Mugs</b>"), vec![(Error, "options.title")]),
            ("youtube description with brackets", Platform::Youtube, "a <b> tag", vec![mp4(60)], youtube("Mugs"), vec![(Error, "caption")]),
            ("youtube description over 5000 bytes", Platform::Youtube, &e2501, vec![mp4(60)], youtube("Mugs"), vec![(Error, "caption")]),
            ("youtube needs a video", Platform::Youtube, "", vec![], youtube("Mugs"), vec![(Error, "media")]),
            ("youtube photo refused", Platform::Youtube, "", vec![square()], youtube("Mugs"), vec![(Error, "media")]),
            ("youtube tags over 500", Platform::Youtube, "", vec![mp4(60)], youtube_tags(&many_yt_tags), vec![(Error, "options.tags")]),
            ("youtube tags with brackets", Platform::Youtube, "", vec![mp4(60)], youtube_tags(&["<mug>"]), vec![(Error, "options.tags")]),
            ("youtube long video warns", Platform::Youtube, "", vec![mp4(16 * 60)], youtube("Mugs"), vec![(Warning, "media")]),
            // Shops and mismatches
            ("a shop isn't a target", Platform::Shopify, "Hi", vec![], TargetOptions::X, vec![(Error, "platform")]),
            ("options for another platform", Platform::X, "Hi", vec![], pin(Some("1")), vec![(Error, "options")]),
        ];
        for (what, platform, caption, media, options, want) in cases {
            let got: Vec<_> = run(platform, caption, &media, &options, &none)
                .into_iter()
                .map(|i| (i.severity, i.field))
                .collect();
            assert_eq!(got, want, "{what}");
        }
    }

    #[test]
    fn messages_say_what_to_change() {
        let none = TargetContext::default();
        for (platform, caption, media, options, want) in [
            (
                Platform::Instagram,
                "Hi",
                vec![],
                ig(None),
                "Instagram needs at least one photo or video. Add one, or remove Instagram from this post.",
            ),
            (
                Platform::X,
                &*"a".repeat(292),
                vec![],
                TargetOptions::X,
                "That's 12 characters over X's limit of 280. Shorten the caption.",
            ),
            (
                Platform::X,
                "",
                vec![square(); 6],
                TargetOptions::X,
                "X takes up to 4 photos. Remove 2.",
            ),
            (
                Platform::Instagram,
                "",
                vec![photo(Mime::Png, 1)],
                ig(None),
                "Photo 1 is a PNG. An Instagram feed post takes JPEG photos, so we'll convert it to JPEG when publishing.",
            ),
            (
                Platform::Instagram,
                "",
                vec![square(), jpeg(1080, 1920)],
                ig(None),
                "Photo 2 is too tall (1080×1920). An Instagram carousel takes photos from 4:5 (portrait) to 1.91:1 (landscape). Crop it.",
            ),
            (
                Platform::Instagram,
                "",
                vec![mp4(20)],
                ig(Some(InstagramKind::Feed)),
                "An Instagram feed post can't include videos. Remove the video. For a single video, choose Reel.",
            ),
            (
                Platform::X,
                "",
                vec![mp4(150)],
                TargetOptions::X,
                "Video 1 is 150 seconds long. X takes videos from 0.5 seconds to 140 seconds. Trim it.",
            ),
            (
                Platform::X,
                "",
                vec![photo(Mime::Jpeg, 6)],
                TargetOptions::X,
                "Photo 1 is 6 MB. X takes photos up to 5 MB. Use a smaller file.",
            ),
            (
                Platform::Linkedin,
                "",
                vec![video(Mime::Mov, 10, 10_000)],
                linkedin(),
                "Video 1 is a MOV file. LinkedIn takes MP4 videos only. Export it as MP4 and add it again.",
            ),
            (
                Platform::Youtube,
                "",
                vec![],
                youtube("Mugs"),
                "YouTube needs a video. Add one, or remove YouTube from this post.",
            ),
            (
                Platform::Pinterest,
                "",
                vec![square()],
                pin(None),
                "Choose a board for this pin.",
            ),
        ] {
            let issues = run(platform, caption, &media, &options, &none);
            assert_eq!(
                issues.first().map(|i| i.message.as_str()),
                Some(want),
                "{platform}: {issues:?}"
            );
        }
    }

    #[test]
    fn the_account_context_is_checked_when_known() {
        let creator = TiktokCreator {
            privacy_level_options: vec![
                PrivacyLevel::FollowerOfCreator,
                PrivacyLevel::MutualFollowFriends,
                PrivacyLevel::SelfOnly,
            ],
            comment_disabled: true,
            duet_disabled: true,
            stitch_disabled: false,
            max_video_post_duration_sec: Some(60),
        };
        let context = TargetContext {
            tiktok_creator: Some(creator),
            pinterest_boards: Some(vec![BoardId::parse("111").unwrap()]),
        };
        let issues = run(
            Platform::Tiktok,
            "",
            &[mp4(90)],
            &tiktok(Some(PrivacyLevel::PublicToEveryone)),
            &context,
        );
        let got: Vec<_> = issues
            .iter()
            .map(|i| (i.severity, i.field, i.message.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    Error,
                    "options.privacy_level",
                    "This TikTok account can't post for \"Everyone\". Choose Followers, Friends or Only me."
                ),
                (
                    Warning,
                    "options.disable_comment",
                    "Comments are turned off for this TikTok account, so this post won't allow them either."
                ),
                (
                    Warning,
                    "options.disable_duet",
                    "Duets are turned off for this TikTok account, so this post won't allow them either."
                ),
                (
                    Error,
                    "media",
                    "Video 1 is 90 seconds long. This TikTok account can post videos up to 1 minute. Trim it."
                ),
            ]
        );

        // Duets and stitches don't exist for photo posts, so they aren't mentioned.
        let photos = run(
            Platform::Tiktok,
            "",
            &[square()],
            &tiktok(Some(PrivacyLevel::SelfOnly)),
            &context,
        );
        let fields: Vec<_> = photos.iter().map(|i| i.field).collect();
        assert_eq!(fields, ["options.disable_comment"]);

        let gone = run(
            Platform::Pinterest,
            "",
            &[square()],
            &pin(Some("222")),
            &context,
        );
        assert_eq!(gone[0].field, "options.board_id");
        assert!(gone[0].message.contains("isn't on this Pinterest account"));
        assert!(
            run(
                Platform::Pinterest,
                "",
                &[square()],
                &pin(Some("111")),
                &context
            )
            .is_empty()
        );
    }

    #[test]
    fn warnings_alone_dont_block_scheduling() {
        let none = TargetContext::default();
        let converted = run(
            Platform::Instagram,
            "",
            &[photo(Mime::Png, 1)],
            &ig(None),
            &none,
        );
        assert!(!converted.is_empty());
        assert!(!blocks_scheduling(&converted));
        let missing = run(Platform::Instagram, "", &[], &ig(None), &none);
        assert!(blocks_scheduling(&missing));
    }

    #[test]
    fn the_format_follows_the_media_and_the_chosen_kind() {
        let none = TargetContext::default();
        let yt = TargetOptions::Youtube(YoutubeOptions {
            privacy: YoutubePrivacy::Private,
            ..Default::default()
        });
        for (platform, media, options, want) in [
            (
                Platform::Tiktok,
                vec![square()],
                tiktok(None),
                Some(Format::TiktokPhotos),
            ),
            (
                Platform::Tiktok,
                vec![mp4(5)],
                tiktok(None),
                Some(Format::TiktokVideo),
            ),
            (
                Platform::Tiktok,
                vec![],
                tiktok(None),
                Some(Format::TiktokVideo),
            ),
            (Platform::Instagram, vec![], ig(None), None),
            (
                Platform::Instagram,
                vec![],
                ig(Some(InstagramKind::Story)),
                Some(Format::InstagramStory),
            ),
            (
                Platform::Instagram,
                vec![square(), square()],
                ig(None),
                Some(Format::InstagramCarousel),
            ),
            (Platform::Youtube, vec![], yt, Some(Format::Youtube)),
            (Platform::Etsy, vec![], TargetOptions::X, None),
        ] {
            let draft = TargetDraft {
                platform,
                caption: "",
                media: &media,
                options: &options,
                context: &none,
            };
            assert_eq!(format_for(&draft), want, "{platform} {media:?}");
        }
    }
}

//! Per-platform options for one target: the pin's board, the TikTok audience, the YouTube title…
//!
//! Options are stored as a JSON object in `post_targets.options` (keys in snake_case; X and
//! Facebook store `{}`), and arrive either as form strings or as JSON from the API. Both go
//! through the same checks and report problems per field (`options.board_id`).
//!
//! Parsing refuses only values that can't mean anything (a privacy level TikTok doesn't have, a
//! board id that isn't a number). A missing board or an over-long title is still a valid draft;
//! `preflight` says what must change before scheduling.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::media::{MediaFacts, MediaKind};
use crate::domain::platform::Platform;

/// A problem with one input field, in words for the person who filled it in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's name as the composer knows it, e.g. `options.board_id`.
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            field,
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// One target's options, shaped by its platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetOptions {
    X,
    Facebook,
    Instagram(InstagramOptions),
    Linkedin(LinkedinOptions),
    Pinterest(PinterestOptions),
    Tiktok(TiktokOptions),
    Youtube(YoutubeOptions),
}

/// What kind of Instagram post to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstagramKind {
    Feed,
    Reel,
    Story,
    Carousel,
}

impl InstagramKind {
    const ALL: [InstagramKind; 4] = [
        InstagramKind::Feed,
        InstagramKind::Reel,
        InstagramKind::Story,
        InstagramKind::Carousel,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InstagramKind::Feed => "feed",
            InstagramKind::Reel => "reel",
            InstagramKind::Story => "story",
            InstagramKind::Carousel => "carousel",
        }
    }

    /// The kind that fits the attached media: one photo is a feed post, one video a reel
    /// (Instagram publishes every single feed video as a reel since July 2023), several items a
    /// carousel. Stories are never guessed: the seller asks for one. `None` without media.
    pub fn for_media(media: &[MediaFacts]) -> Option<InstagramKind> {
        match media {
            [] => None,
            [one] if one.kind() == MediaKind::Video => Some(InstagramKind::Reel),
            [_] => Some(InstagramKind::Feed),
            _ => Some(InstagramKind::Carousel),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InstagramOptions {
    /// `None` means "choose from the media" ([`InstagramKind::for_media`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<InstagramKind>,
}

impl InstagramOptions {
    /// The kind to publish as: the seller's choice, or the one that fits the media.
    pub fn kind_for(&self, media: &[MediaFacts]) -> Option<InstagramKind> {
        self.kind.or_else(|| InstagramKind::for_media(media))
    }
}

/// Who sees a LinkedIn post (Posts API `visibility`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LinkedinVisibility {
    #[default]
    Public,
    Connections,
    LoggedIn,
}

impl LinkedinVisibility {
    const ALL: [LinkedinVisibility; 3] = [
        LinkedinVisibility::Public,
        LinkedinVisibility::Connections,
        LinkedinVisibility::LoggedIn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LinkedinVisibility::Public => "PUBLIC",
            LinkedinVisibility::Connections => "CONNECTIONS",
            LinkedinVisibility::LoggedIn => "LOGGED_IN",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinkedinOptions {
    pub visibility: LinkedinVisibility,
}

/// A Pinterest board id: digits only (`^\d+$` in Pinterest's OpenAPI).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct BoardId(String);

impl BoardId {
    pub fn parse(raw: &str) -> Result<BoardId, String> {
        let raw = raw.trim();
        if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(BoardId(raw.to_owned()))
        } else {
            Err("Choose a board from the list.".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<BoardId> for String {
    fn from(b: BoardId) -> String {
        b.0
    }
}

impl TryFrom<String> for BoardId {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        BoardId::parse(&s)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PinterestOptions {
    /// Required to publish; a draft may not have chosen yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub board_id: Option<BoardId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Where the pin leads, always `http(s)://…`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// Who can see a TikTok post (`privacy_level`). Which ones a creator may use depends on their
/// account and comes from `creator_info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PrivacyLevel {
    PublicToEveryone,
    MutualFollowFriends,
    FollowerOfCreator,
    SelfOnly,
}

impl PrivacyLevel {
    pub const ALL: [PrivacyLevel; 4] = [
        PrivacyLevel::PublicToEveryone,
        PrivacyLevel::MutualFollowFriends,
        PrivacyLevel::FollowerOfCreator,
        PrivacyLevel::SelfOnly,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PrivacyLevel::PublicToEveryone => "PUBLIC_TO_EVERYONE",
            PrivacyLevel::MutualFollowFriends => "MUTUAL_FOLLOW_FRIENDS",
            PrivacyLevel::FollowerOfCreator => "FOLLOWER_OF_CREATOR",
            PrivacyLevel::SelfOnly => "SELF_ONLY",
        }
    }

    /// The words TikTok's own app uses.
    pub fn label(self) -> &'static str {
        match self {
            PrivacyLevel::PublicToEveryone => "Everyone",
            PrivacyLevel::MutualFollowFriends => "Friends",
            PrivacyLevel::FollowerOfCreator => "Followers",
            PrivacyLevel::SelfOnly => "Only me",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TiktokOptions {
    /// No default on purpose: TikTok requires the creator to choose the audience every time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privacy_level: Option<PrivacyLevel>,
    pub disable_comment: bool,
    pub disable_duet: bool,
    pub disable_stitch: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum YoutubePrivacy {
    /// What a seller scheduling a video expects. Note that uploads from an API project Google
    /// hasn't audited are forced to private whatever we ask (PLATFORMS.md §7).
    #[default]
    Public,
    Private,
    Unlisted,
}

impl YoutubePrivacy {
    const ALL: [YoutubePrivacy; 3] = [
        YoutubePrivacy::Public,
        YoutubePrivacy::Private,
        YoutubePrivacy::Unlisted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            YoutubePrivacy::Public => "public",
            YoutubePrivacy::Private => "private",
            YoutubePrivacy::Unlisted => "unlisted",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct YoutubeOptions {
    /// Required to publish; empty while the draft has none.
    pub title: String,
    pub privacy: YoutubePrivacy,
    /// YouTube's numeric category id; "22" is People & Blogs, YouTube's own default.
    pub category_id: String,
    pub tags: Vec<String>,
    /// When YouTube makes the (private) video public (`status.publishAt`); the upload itself
    /// happens at the post's time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl YoutubeOptions {
    pub const DEFAULT_CATEGORY: &'static str = "22";
}

impl Default for YoutubeOptions {
    fn default() -> Self {
        YoutubeOptions {
            title: String::new(),
            privacy: YoutubePrivacy::default(),
            category_id: Self::DEFAULT_CATEGORY.into(),
            tags: Vec::new(),
            publish_at: None,
        }
    }
}

impl TargetOptions {
    /// The options a new target starts with, or `None` for a shop, which isn't a place we post.
    pub fn default_for(platform: Platform) -> Option<TargetOptions> {
        Some(match platform {
            Platform::X => TargetOptions::X,
            Platform::Facebook => TargetOptions::Facebook,
            Platform::Instagram => TargetOptions::Instagram(InstagramOptions::default()),
            Platform::Linkedin => TargetOptions::Linkedin(LinkedinOptions::default()),
            Platform::Pinterest => TargetOptions::Pinterest(PinterestOptions::default()),
            Platform::Tiktok => TargetOptions::Tiktok(TiktokOptions::default()),
            Platform::Youtube => TargetOptions::Youtube(YoutubeOptions::default()),
            Platform::Shopify | Platform::Etsy | Platform::Squarespace => return None,
        })
    }

    pub fn platform(&self) -> Platform {
        match self {
            TargetOptions::X => Platform::X,
            TargetOptions::Facebook => Platform::Facebook,
            TargetOptions::Instagram(_) => Platform::Instagram,
            TargetOptions::Linkedin(_) => Platform::Linkedin,
            TargetOptions::Pinterest(_) => Platform::Pinterest,
            TargetOptions::Tiktok(_) => Platform::Tiktok,
            TargetOptions::Youtube(_) => Platform::Youtube,
        }
    }

    /// The JSON object to store. Only options that are set are written.
    pub fn to_json(&self) -> Value {
        let value = match self {
            TargetOptions::X | TargetOptions::Facebook => Ok(Value::Object(Map::new())),
            TargetOptions::Instagram(o) => serde_json::to_value(o),
            TargetOptions::Linkedin(o) => serde_json::to_value(o),
            TargetOptions::Pinterest(o) => serde_json::to_value(o),
            TargetOptions::Tiktok(o) => serde_json::to_value(o),
            TargetOptions::Youtube(o) => serde_json::to_value(o),
        };
        // Plain structs of strings, bools and enums always serialise.
        value.unwrap_or_else(|_| Value::Object(Map::new()))
    }

    /// Reads options from form fields named like the JSON keys (`board_id`, `privacy_level`,
    /// `tags` as comma-separated text, checkboxes as `on`/`true`/`1`). Fields for other
    /// platforms or other parts of the form are ignored.
    pub fn from_form(
        platform: Platform,
        form: &HashMap<String, String>,
    ) -> Result<TargetOptions, Vec<FieldError>> {
        Self::build(platform, &FormInput(form))
    }

    /// Reads options from JSON (the API, or what we stored). A key the platform doesn't have is
    /// an error, since it's most likely a typo that would otherwise be silently dropped.
    pub fn from_json(platform: Platform, json: &Value) -> Result<TargetOptions, Vec<FieldError>> {
        let empty = Map::new();
        let object = match json {
            Value::Object(map) => map,
            Value::Null => &empty,
            _ => {
                return Err(vec![FieldError::new(
                    "options",
                    "Options must be an object, for example {\"board_id\": \"123\"}.",
                )]);
            }
        };
        let known = known_keys(platform);
        let mut errors: Vec<FieldError> = object
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .map(|k| {
                FieldError::new(
                    "options",
                    format!(
                        "{k:?} isn't an option for {}.{}",
                        platform.display_name(),
                        if known.is_empty() {
                            " It has no options.".to_string()
                        } else {
                            format!(" Use {}.", known.join(", "))
                        }
                    ),
                )
            })
            .collect();
        match Self::build(platform, &JsonInput(object)) {
            Ok(options) if errors.is_empty() => Ok(options),
            Ok(_) => Err(errors),
            Err(more) => {
                errors.extend(more);
                Err(errors)
            }
        }
    }

    fn build(platform: Platform, input: &dyn Input) -> Result<TargetOptions, Vec<FieldError>> {
        let mut errors = Errors(Vec::new());
        let options = match platform {
            Platform::X => TargetOptions::X,
            Platform::Facebook => TargetOptions::Facebook,
            Platform::Instagram => {
                let kind = errors.ok(input.text(KIND)).flatten().and_then(|raw| {
                    errors.ok(one_of(
                        KIND,
                        &raw,
                        &InstagramKind::ALL,
                        |k| k.as_str(),
                        "feed, reel, story or carousel",
                    ))
                });
                TargetOptions::Instagram(InstagramOptions { kind })
            }
            Platform::Linkedin => {
                let visibility = errors
                    .ok(input.text(VISIBILITY))
                    .flatten()
                    .and_then(|raw| {
                        errors.ok(one_of(
                            VISIBILITY,
                            &raw,
                            &LinkedinVisibility::ALL,
                            |v| v.as_str(),
                            "PUBLIC, CONNECTIONS or LOGGED_IN",
                        ))
                    })
                    .unwrap_or_default();
                TargetOptions::Linkedin(LinkedinOptions { visibility })
            }
            Platform::Pinterest => {
                let board_id = errors.ok(input.text(BOARD_ID)).flatten().and_then(|raw| {
                    errors.ok(BoardId::parse(&raw).map_err(|m| FieldError::new(field(BOARD_ID), m)))
                });
                let title = errors.ok(input.text(TITLE)).flatten();
                let link = errors
                    .ok(input.text(LINK))
                    .flatten()
                    .and_then(|raw| errors.ok(web_address(LINK, &raw)));
                TargetOptions::Pinterest(PinterestOptions {
                    board_id,
                    title,
                    link,
                })
            }
            Platform::Tiktok => {
                let privacy_level =
                    errors
                        .ok(input.text(PRIVACY_LEVEL))
                        .flatten()
                        .and_then(|raw| {
                            errors.ok(one_of(
                                PRIVACY_LEVEL,
                                &raw,
                                &PrivacyLevel::ALL,
                                |p| p.as_str(),
                                "Everyone, Friends, Followers or Only me",
                            ))
                        });
                TargetOptions::Tiktok(TiktokOptions {
                    privacy_level,
                    disable_comment: errors.ok(input.flag(DISABLE_COMMENT)).unwrap_or(false),
                    disable_duet: errors.ok(input.flag(DISABLE_DUET)).unwrap_or(false),
                    disable_stitch: errors.ok(input.flag(DISABLE_STITCH)).unwrap_or(false),
                })
            }
            Platform::Youtube => {
                let title = errors.ok(input.text(TITLE)).flatten().unwrap_or_default();
                let privacy = errors
                    .ok(input.text(PRIVACY))
                    .flatten()
                    .and_then(|raw| {
                        errors.ok(one_of(
                            PRIVACY,
                            &raw,
                            &YoutubePrivacy::ALL,
                            |p| p.as_str(),
                            "public, private or unlisted",
                        ))
                    })
                    .unwrap_or_default();
                let category_id = errors
                    .ok(input.text(CATEGORY_ID))
                    .flatten()
                    .and_then(|raw| {
                        errors.ok(if raw.bytes().all(|b| b.is_ascii_digit()) {
                            Ok(raw)
                        } else {
                            Err(FieldError::new(
                                field(CATEGORY_ID),
                                "Choose a category from the list.",
                            ))
                        })
                    })
                    .unwrap_or_else(|| YoutubeOptions::DEFAULT_CATEGORY.to_owned());
                let tags = errors.ok(input.list(TAGS)).unwrap_or_default();
                let publish_at = errors
                    .ok(input.text(PUBLISH_AT))
                    .flatten()
                    .and_then(|raw| {
                        errors.ok(
                            chrono::DateTime::parse_from_rfc3339(raw.trim())
                                .map(|t| t.with_timezone(&chrono::Utc))
                                .map_err(|_| {
                                    FieldError::new(
                                        field(PUBLISH_AT),
                                        "Give the time the video goes public as a date and time, for example 2026-12-01T10:00:00Z.",
                                    )
                                }),
                        )
                    });
                if publish_at.is_some() && privacy != YoutubePrivacy::Private {
                    errors.0.push(FieldError::new(
                        field(PUBLISH_AT),
                        "YouTube only makes private videos public at a set time: choose Private as the privacy, or leave this empty.",
                    ));
                }
                TargetOptions::Youtube(YoutubeOptions {
                    title,
                    privacy,
                    category_id,
                    tags,
                    publish_at,
                })
            }
            Platform::Shopify | Platform::Etsy | Platform::Squarespace => {
                return Err(vec![FieldError::new(
                    "platform",
                    format!(
                        "{} is a shop we read products from, not somewhere we post. Choose a social account.",
                        platform.display_name()
                    ),
                )]);
            }
        };
        if errors.0.is_empty() {
            Ok(options)
        } else {
            Err(errors.0)
        }
    }
}

impl Serialize for TargetOptions {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

// Field names, as both the form and JSON spell them; `options.` + name in errors.
const KIND: &str = "kind";
const VISIBILITY: &str = "visibility";
const BOARD_ID: &str = "board_id";
const TITLE: &str = "title";
const LINK: &str = "link";
const PRIVACY_LEVEL: &str = "privacy_level";
const DISABLE_COMMENT: &str = "disable_comment";
const DISABLE_DUET: &str = "disable_duet";
const DISABLE_STITCH: &str = "disable_stitch";
const PRIVACY: &str = "privacy";
const CATEGORY_ID: &str = "category_id";
const TAGS: &str = "tags";
const PUBLISH_AT: &str = "publish_at";

fn known_keys(platform: Platform) -> &'static [&'static str] {
    match platform {
        Platform::Instagram => &[KIND],
        Platform::Linkedin => &[VISIBILITY],
        Platform::Pinterest => &[BOARD_ID, TITLE, LINK],
        Platform::Tiktok => &[PRIVACY_LEVEL, DISABLE_COMMENT, DISABLE_DUET, DISABLE_STITCH],
        Platform::Youtube => &[TITLE, PRIVACY, CATEGORY_ID, TAGS, PUBLISH_AT],
        _ => &[],
    }
}

/// `board_id` → `options.board_id`, for errors that point at the composer's field.
fn field(name: &'static str) -> &'static str {
    match name {
        KIND => "options.kind",
        VISIBILITY => "options.visibility",
        BOARD_ID => "options.board_id",
        TITLE => "options.title",
        LINK => "options.link",
        PRIVACY_LEVEL => "options.privacy_level",
        DISABLE_COMMENT => "options.disable_comment",
        DISABLE_DUET => "options.disable_duet",
        DISABLE_STITCH => "options.disable_stitch",
        PRIVACY => "options.privacy",
        CATEGORY_ID => "options.category_id",
        TAGS => "options.tags",
        PUBLISH_AT => "options.publish_at",
        _ => "options",
    }
}

/// Picks the value whose name matches `raw`, ignoring case and treating `-` and spaces as `_`.
fn one_of<T: Copy>(
    name: &'static str,
    raw: &str,
    all: &[T],
    as_str: impl Fn(T) -> &'static str,
    choices: &str,
) -> Result<T, FieldError> {
    let wanted = raw.trim().replace(['-', ' '], "_");
    all.iter()
        .copied()
        .find(|v| as_str(*v).eq_ignore_ascii_case(&wanted))
        .ok_or_else(|| FieldError::new(field(name), format!("Choose {choices}.")))
}

/// A link a pin can lead to. A bare `shop.example/mug` gets `https://`, as people type it.
fn web_address(name: &'static str, raw: &str) -> Result<String, FieldError> {
    let with_scheme = if raw.contains("://") {
        raw.to_owned()
    } else {
        format!("https://{raw}")
    };
    match url::Url::parse(&with_scheme) {
        Ok(u)
            if matches!(u.scheme(), "http" | "https")
                && u.host_str().is_some_and(|h| h.contains('.')) =>
        {
            Ok(with_scheme)
        }
        _ => Err(FieldError::new(
            field(name),
            "That doesn't look like a web address. Use one like https://shop.example/mug.",
        )),
    }
}

/// Collects every field's problem so the seller sees them all at once.
struct Errors(Vec<FieldError>);

impl Errors {
    fn ok<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        r.map_err(|e| self.0.push(e)).ok()
    }
}

/// Loose input, from a form or from JSON.
trait Input {
    /// Trimmed text; `None` when absent or blank.
    fn text(&self, name: &'static str) -> Result<Option<String>, FieldError>;
    fn flag(&self, name: &'static str) -> Result<bool, FieldError>;
    fn list(&self, name: &'static str) -> Result<Vec<String>, FieldError>;
}

fn non_blank(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

fn flag_from_text(name: &'static str, raw: &str) -> Result<bool, FieldError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "1" | "yes" => Ok(true),
        "" | "off" | "false" | "0" | "no" => Ok(false),
        _ => Err(FieldError::new(
            field(name),
            "Tick the box or leave it empty.",
        )),
    }
}

fn list_from_text(raw: &str) -> Vec<String> {
    crate::domain::caption::split_tags(raw)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

struct FormInput<'a>(&'a HashMap<String, String>);

impl Input for FormInput<'_> {
    fn text(&self, name: &'static str) -> Result<Option<String>, FieldError> {
        Ok(self.0.get(name).and_then(|s| non_blank(s)))
    }

    fn flag(&self, name: &'static str) -> Result<bool, FieldError> {
        self.0
            .get(name)
            .map_or(Ok(false), |raw| flag_from_text(name, raw))
    }

    fn list(&self, name: &'static str) -> Result<Vec<String>, FieldError> {
        Ok(self
            .0
            .get(name)
            .map(|raw| list_from_text(raw))
            .unwrap_or_default())
    }
}

struct JsonInput<'a>(&'a Map<String, Value>);

impl Input for JsonInput<'_> {
    fn text(&self, name: &'static str) -> Result<Option<String>, FieldError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(non_blank(s)),
            // Ids sometimes arrive as numbers from JavaScript clients.
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(FieldError::new(field(name), "This should be text.")),
        }
    }

    fn flag(&self, name: &'static str) -> Result<bool, FieldError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) => flag_from_text(name, s),
            Some(_) => Err(FieldError::new(
                field(name),
                "This should be true or false.",
            )),
        }
    }

    fn list(&self, name: &'static str) -> Result<Vec<String>, FieldError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(list_from_text(s)),
            // A comma can't be inside a tag, so "a, b" in one item means two tags, as in the form.
            Some(Value::Array(items)) => {
                let mut tags = Vec::new();
                for item in items {
                    match item {
                        Value::String(s) => tags.extend(list_from_text(s)),
                        _ => return Err(FieldError::new(field(name), "Each tag should be text.")),
                    }
                }
                Ok(tags)
            }
            Some(_) => Err(FieldError::new(
                field(name),
                "This should be a list of tags.",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::media::Mime;
    use serde_json::json;

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn every_social_platform_starts_with_options_and_shops_have_none() {
        for p in Platform::ALL {
            let defaults = TargetOptions::default_for(p);
            assert_eq!(
                defaults.is_some(),
                p.kind() == crate::domain::PlatformKind::Social,
                "{p}"
            );
            if let Some(o) = defaults {
                assert_eq!(o.platform(), p);
                assert_eq!(TargetOptions::from_json(p, &o.to_json()).unwrap(), o, "{p}");
            }
        }
    }

    #[test]
    fn form_fields_become_typed_options() {
        for (platform, fields, want) in [
            (Platform::X, form(&[("board_id", "1")]), TargetOptions::X),
            (
                Platform::Pinterest,
                form(&[
                    ("board_id", " 5497558 "),
                    ("title", "Blue mug"),
                    ("link", "shop.example/mug"),
                ]),
                TargetOptions::Pinterest(PinterestOptions {
                    board_id: Some(BoardId("5497558".into())),
                    title: Some("Blue mug".into()),
                    link: Some("https://shop.example/mug".into()),
                }),
            ),
            (
                Platform::Tiktok,
                form(&[("privacy_level", "self_only"), ("disable_duet", "on")]),
                TargetOptions::Tiktok(TiktokOptions {
                    privacy_level: Some(PrivacyLevel::SelfOnly),
                    disable_comment: false,
                    disable_duet: true,
                    disable_stitch: false,
                }),
            ),
            (
                Platform::Youtube,
                form(&[
                    ("title", "How we glaze"),
                    ("privacy", "Unlisted"),
                    ("tags", "pottery, glaze ,"),
                ]),
                TargetOptions::Youtube(YoutubeOptions {
                    title: "How we glaze".into(),
                    privacy: YoutubePrivacy::Unlisted,
                    category_id: "22".into(),
                    tags: vec!["pottery".into(), "glaze".into()],
                    publish_at: None,
                }),
            ),
            (
                Platform::Linkedin,
                form(&[("visibility", "logged-in")]),
                TargetOptions::Linkedin(LinkedinOptions {
                    visibility: LinkedinVisibility::LoggedIn,
                }),
            ),
            (
                Platform::Instagram,
                form(&[("kind", "")]),
                TargetOptions::Instagram(InstagramOptions { kind: None }),
            ),
            (
                Platform::Instagram,
                form(&[("kind", "story")]),
                TargetOptions::Instagram(InstagramOptions {
                    kind: Some(InstagramKind::Story),
                }),
            ),
        ] {
            assert_eq!(
                TargetOptions::from_form(platform, &fields).unwrap(),
                want,
                "{platform}"
            );
        }
    }

    #[test]
    fn bad_form_values_are_reported_per_field_all_at_once() {
        for (platform, fields, want) in [
            (
                Platform::Pinterest,
                form(&[("board_id", "my board"), ("link", "not a link")]),
                vec!["options.board_id", "options.link"],
            ),
            (
                Platform::Tiktok,
                form(&[("privacy_level", "EVERYONE"), ("disable_comment", "maybe")]),
                vec!["options.privacy_level", "options.disable_comment"],
            ),
            (
                Platform::Youtube,
                form(&[("privacy", "secret"), ("category_id", "music")]),
                vec!["options.privacy", "options.category_id"],
            ),
            (
                Platform::Instagram,
                form(&[("kind", "album")]),
                vec!["options.kind"],
            ),
            (Platform::Etsy, form(&[]), vec!["platform"]),
        ] {
            let errors = TargetOptions::from_form(platform, &fields).unwrap_err();
            let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
            assert_eq!(fields, want, "{platform}");
        }
        let errors =
            TargetOptions::from_form(Platform::Tiktok, &form(&[("privacy_level", "everyone")]))
                .unwrap_err();
        assert_eq!(
            errors[0].message,
            "Choose Everyone, Friends, Followers or Only me."
        );
    }

    #[test]
    fn options_are_stored_as_snake_case_json_and_read_back() {
        let tiktok = TargetOptions::Tiktok(TiktokOptions {
            privacy_level: Some(PrivacyLevel::MutualFollowFriends),
            disable_comment: true,
            disable_duet: false,
            disable_stitch: true,
        });
        let json = tiktok.to_json();
        assert_eq!(
            json,
            json!({"privacy_level": "MUTUAL_FOLLOW_FRIENDS", "disable_comment": true, "disable_duet": false, "disable_stitch": true})
        );
        assert_eq!(
            TargetOptions::from_json(Platform::Tiktok, &json).unwrap(),
            tiktok
        );

        let youtube = TargetOptions::from_json(
            Platform::Youtube,
            &json!({"title": "Glazing", "privacy": "private", "tags": ["a", "b c", " d, e "]}),
        )
        .unwrap();
        assert_eq!(
            youtube.to_json(),
            json!({"title": "Glazing", "privacy": "private", "category_id": "22", "tags": ["a", "b c", "d", "e"]})
        );
        assert_eq!(TargetOptions::X.to_json(), json!({}));
        assert_eq!(
            TargetOptions::from_json(Platform::Pinterest, &json!({"board_id": 123})).unwrap(),
            TargetOptions::Pinterest(PinterestOptions {
                board_id: Some(BoardId("123".into())),
                ..Default::default()
            })
        );
        assert_eq!(
            serde_json::to_value(TargetOptions::Linkedin(LinkedinOptions::default())).unwrap(),
            json!({"visibility": "PUBLIC"})
        );
    }

    #[test]
    fn unknown_json_keys_and_wrong_types_are_refused() {
        let errors =
            TargetOptions::from_json(Platform::Pinterest, &json!({"board": "1"})).unwrap_err();
        assert_eq!(errors[0].field, "options");
        assert_eq!(
            errors[0].message,
            "\"board\" isn't an option for Pinterest. Use board_id, title, link."
        );
        let errors = TargetOptions::from_json(Platform::X, &json!({"title": "x"})).unwrap_err();
        assert_eq!(
            errors[0].message,
            "\"title\" isn't an option for X. It has no options."
        );
        let errors =
            TargetOptions::from_json(Platform::Tiktok, &json!({"disable_duet": 3})).unwrap_err();
        assert_eq!(errors[0].field, "options.disable_duet");
        assert!(TargetOptions::from_json(Platform::X, &json!([1])).is_err());
        assert_eq!(
            TargetOptions::from_json(Platform::X, &Value::Null).unwrap(),
            TargetOptions::X
        );
    }

    #[test]
    fn instagram_picks_its_kind_from_the_media_unless_told() {
        let photo = MediaFacts::image(Mime::Jpeg, 1, 1080, 1080).unwrap();
        let video = MediaFacts::video(Mime::Mp4, 1, 1080, 1920, 10_000).unwrap();
        for (media, want) in [
            (vec![], None),
            (vec![photo], Some(InstagramKind::Feed)),
            (vec![video], Some(InstagramKind::Reel)),
            (vec![photo, video], Some(InstagramKind::Carousel)),
            (vec![photo, photo, photo], Some(InstagramKind::Carousel)),
        ] {
            assert_eq!(
                InstagramOptions::default().kind_for(&media),
                want,
                "{media:?}"
            );
        }
        let story = InstagramOptions {
            kind: Some(InstagramKind::Story),
        };
        assert_eq!(story.kind_for(&[photo]), Some(InstagramKind::Story));
    }

    #[test]
    fn a_youtube_video_goes_public_at_a_set_time_only_when_private() {
        let json = serde_json::json!({"title": "Glaze", "privacy": "private", "publish_at": "2026-12-01T10:00:00+01:00"});
        let Ok(TargetOptions::Youtube(o)) = TargetOptions::from_json(Platform::Youtube, &json)
        else {
            panic!("private with a time is accepted");
        };
        assert_eq!(
            o.publish_at.map(|t| t.to_rfc3339()),
            Some("2026-12-01T09:00:00+00:00".into())
        );
        let stored = TargetOptions::Youtube(o).to_json();
        assert_eq!(stored["publish_at"], "2026-12-01T09:00:00Z");

        let public = serde_json::json!({"title": "Glaze", "privacy": "public", "publish_at": "2026-12-01T10:00:00Z"});
        let errors = TargetOptions::from_json(Platform::Youtube, &public).unwrap_err();
        assert_eq!(errors[0].field, "options.publish_at");
        assert!(
            errors[0].message.contains("Private"),
            "{}",
            errors[0].message
        );

        let garbled = serde_json::json!({"title": "Glaze", "privacy": "private", "publish_at": "next tuesday"});
        let errors = TargetOptions::from_json(Platform::Youtube, &garbled).unwrap_err();
        assert_eq!(errors[0].field, "options.publish_at");
    }
}

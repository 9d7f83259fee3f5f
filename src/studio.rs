//! The AI Studio's service: turns a product, photos and a brief into one caption per network,
//! and runs the per-caption tools (regenerate, proofread, emoji, shorten / lengthen, image
//! check). The web page and `POST /api/v1/captions` both call it, so they validate and answer
//! alike.
//!
//! It picks the provider — Gemini when `GEMINI_API_KEY` is set, the built-in writer otherwise —
//! and passes every caption from either through the Human Authenticity Engine
//! ([`crate::domain::authenticity`]), keeping what it changed and why. Gemini calls are counted
//! per user per hour (`AI_RATE_LIMIT_PER_HOUR`); the built-in writer costs nothing and isn't.

use std::collections::BTreeMap;
use std::time::Duration;

use sea_orm::{ColumnTrait as _, DatabaseConnection, EntityTrait as _, QueryFilter as _};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ai::builtin::{self, Brief, ProductFacts, Tone};
use crate::ai::gemini::{self, Gemini, GeminiConfig, GeminiError, Image, Rewrite};
use crate::ai::{emoji, proofread, resize};
use crate::config::Config;
use crate::domain::authenticity::{self, Change, Strength};
use crate::domain::platform::{Platform, PlatformKind};
use crate::entities::media;
use crate::media::MediaStore;
use crate::posts::Problems;
use crate::products::queries::{self as product_queries, ProductDetail};
use crate::redis::Redis;

/// The longest brief, in characters.
pub const BRIEF_MAX: usize = 2000;
/// The longest call to action, in characters.
pub const CTA_MAX: usize = 200;
/// Photos one request may carry (Gemini reads them inline).
pub const MEDIA_MAX: usize = 6;
/// The largest photo sent to Gemini inline; larger ones are left out of the request.
const INLINE_IMAGE_MAX_BYTES: usize = 7 * 1024 * 1024;
/// Languages the Studio offers with Gemini. The built-in writer writes English only.
pub const LANGUAGES: &[&str] = &[
    "English",
    "Spanish",
    "French",
    "German",
    "Italian",
    "Portuguese",
    "Dutch",
    "Swedish",
    "Danish",
    "Polish",
    "Japanese",
];

/// Who writes the captions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Gemini,
    Builtin,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Gemini => "gemini",
            Provider::Builtin => "builtin",
        }
    }

    /// How the UI names it: the built-in writer is never called AI.
    pub fn label(self) -> &'static str {
        match self {
            Provider::Gemini => "Gemini",
            Provider::Builtin => "Built-in writer",
        }
    }
}

#[derive(Clone)]
pub struct Studio {
    gemini: Option<Gemini>,
    per_hour: u32,
}

/// Why a Studio call didn't give text.
#[derive(Debug, thiserror::Error)]
pub enum StudioError {
    #[error("invalid input")]
    Invalid(Problems),
    /// This user's hourly allowance of Gemini calls is used up.
    #[error("AI allowance used up for {retry_after_secs} s")]
    Allowance { retry_after_secs: u64 },
    #[error(transparent)]
    Provider(#[from] GeminiError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for StudioError {
    fn from(e: sea_orm::DbErr) -> Self {
        StudioError::Internal(e.into())
    }
}

impl StudioError {
    /// What the seller reads (not for `Invalid`, whose messages are per field).
    pub fn user_message(&self) -> String {
        match self {
            StudioError::Invalid(_) => "Some fields need fixing.".into(),
            StudioError::Allowance { retry_after_secs } => format!(
                "You've used this hour's AI allowance. Try again in {}. Your text is kept.",
                wait_words(*retry_after_secs)
            ),
            StudioError::Provider(e) => e.user_message(),
            StudioError::Internal(_) => {
                "Something went wrong on our side. Your text is kept; try again in a moment.".into()
            }
        }
    }
}

fn wait_words(secs: u64) -> String {
    match secs {
        0..=90 => format!("{} s", secs.max(1)),
        _ => format!("{} min", secs.div_ceil(60)),
    }
}

/// What the seller asked for, as typed (from the form or the API).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Raw {
    #[serde(default)]
    pub platforms: Vec<String>,
    pub product_id: Option<String>,
    #[serde(default)]
    pub media_ids: Vec<String>,
    #[serde(default)]
    pub brief: String,
    pub tone: Option<String>,
    pub language: Option<String>,
    pub call_to_action: Option<String>,
    pub hashtags: Option<bool>,
}

/// A request the Studio can act on: checked, with the product and photos loaded.
#[derive(Clone, Debug)]
pub struct Input {
    pub platforms: Vec<Platform>,
    pub product: Option<ProductDetail>,
    /// The product's price written for people, when it has one worth showing.
    pub price: Option<String>,
    pub media: Vec<media::Model>,
    pub brief: String,
    pub tone: Tone,
    pub language: String,
    pub call_to_action: Option<String>,
    pub hashtags: bool,
}

impl Input {
    fn facts(&self) -> Option<ProductFacts<'_>> {
        self.product.as_ref().map(|p| ProductFacts {
            title: &p.title,
            description: &p.description,
            price: self.price.as_deref(),
            tags: &p.tags,
            url: p.url.as_deref(),
        })
    }

    fn brief<'a>(&'a self, facts: Option<ProductFacts<'a>>) -> Brief<'a> {
        Brief {
            product: facts,
            brief: &self.brief,
            tone: self.tone,
            call_to_action: self.call_to_action.as_deref(),
            hashtags: self.hashtags,
        }
    }
}

/// One network's caption: the text after the authenticity pass, and what the pass changed.
#[derive(Clone, Debug, Serialize)]
pub struct Written {
    pub platform: Platform,
    pub text: String,
    pub changes: Vec<Change>,
    pub variation: u64,
}

/// One suggested correction, as a range of the text it was made for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    pub start: usize,
    pub end: usize,
    pub before: String,
    pub after: String,
    pub reason: String,
}

/// What the image check said about one photo.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "verdict", content = "reason")]
pub enum Verdict {
    Matches(String),
    Mismatch(String),
    NotChecked(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageCheck {
    pub media_id: Uuid,
    #[serde(flatten)]
    pub verdict: Verdict,
}

impl Studio {
    pub fn from_config(config: &Config) -> Self {
        Self {
            gemini: GeminiConfig::from_config(config).map(Gemini::new),
            per_hour: config.ai_rate_limit_per_hour,
        }
    }

    pub fn provider(&self) -> Provider {
        if self.gemini.is_some() {
            Provider::Gemini
        } else {
            Provider::Builtin
        }
    }

    /// The languages the current provider writes.
    pub fn languages(&self) -> &'static [&'static str] {
        match self.provider() {
            Provider::Gemini => LANGUAGES,
            Provider::Builtin => &LANGUAGES[..1],
        }
    }

    /// Checks what the seller asked for and loads the product and photos. Problems are by
    /// field: `platforms`, `product_id`, `media_ids`, `brief`, `tone`, `language`,
    /// `call_to_action`.
    pub async fn resolve(
        &self,
        db: &DatabaseConnection,
        user_id: Uuid,
        raw: &Raw,
    ) -> Result<Input, StudioError> {
        let mut problems = Problems::default();

        let mut platforms = Vec::new();
        for name in &raw.platforms {
            match name.trim().parse::<Platform>() {
                Ok(p) if p.kind() == PlatformKind::Commerce => problems.add(
                    "platforms",
                    format!(
                        "{} is a shop we read products from, not a network we post to.",
                        p.display_name()
                    ),
                ),
                Ok(p) => {
                    if !platforms.contains(&p) {
                        platforms.push(p);
                    }
                }
                Err(_) => problems.add(
                    "platforms",
                    format!("We don't know a network called {:?}.", name.trim()),
                ),
            }
        }
        if platforms.is_empty() && !problems.fields.contains_key("platforms") {
            problems.add("platforms", "Choose at least one network.");
        }

        let product = match raw.product_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(id) => match Uuid::parse_str(id) {
                Ok(id) => {
                    let found = product_queries::detail(db, user_id, id).await?;
                    if found.is_none() {
                        problems.add("product_id", "That product isn't in your catalog.");
                    }
                    found
                }
                Err(_) => {
                    problems.add("product_id", "That product isn't in your catalog.");
                    None
                }
            },
        };

        let mut ids = Vec::new();
        for raw_id in &raw.media_ids {
            match Uuid::parse_str(raw_id.trim()) {
                Ok(id) if !ids.contains(&id) => ids.push(id),
                Ok(_) => {}
                Err(_) => problems.add(
                    "media_ids",
                    "One of the chosen photos isn't in your library.",
                ),
            }
        }
        if ids.len() > MEDIA_MAX {
            problems.add(
                "media_ids",
                format!(
                    "Choose at most {MEDIA_MAX} photos (you chose {}).",
                    ids.len()
                ),
            );
        }
        let mut media = Vec::new();
        if !ids.is_empty() {
            let found = media::Entity::find()
                .filter(media::Column::UserId.eq(user_id))
                .filter(media::Column::Id.is_in(ids.clone()))
                .all(db)
                .await?;
            for id in &ids {
                match found.iter().find(|m| m.id == *id) {
                    Some(m) => media.push(m.clone()),
                    None => problems.add(
                        "media_ids",
                        "One of the chosen photos isn't in your library.",
                    ),
                }
            }
        }

        let brief = raw.brief.replace("\r\n", "\n").trim().to_owned();
        if brief.chars().count() > BRIEF_MAX {
            problems.add(
                "brief",
                format!(
                    "Keep the brief under {BRIEF_MAX} characters (it has {}).",
                    brief.chars().count()
                ),
            );
        }
        if product.is_none() && brief.is_empty() && !problems.fields.contains_key("product_id") {
            problems.add(
                "product_id",
                "Pick a product, or write a few words about the post in the brief.",
            );
        }

        let tone = match raw.tone.as_deref().map(str::trim) {
            None | Some("") => Tone::Friendly,
            Some(t) => t.to_lowercase().parse().unwrap_or_else(|_| {
                problems.add(
                    "tone",
                    "Choose one of the tones: friendly, playful, professional, luxury or urgent.",
                );
                Tone::Friendly
            }),
        };

        let language = match raw.language.as_deref().map(str::trim) {
            None | Some("") => "English".to_owned(),
            Some(l) => match LANGUAGES.iter().find(|x| x.eq_ignore_ascii_case(l)) {
                Some(known) if self.languages().contains(known) => (*known).to_owned(),
                Some(known) => {
                    problems.add(
                        "language",
                        format!("The built-in writer writes English only. Choose English, or ask whoever runs Picscripter to add a Gemini key for {known}."),
                    );
                    "English".to_owned()
                }
                None => {
                    problems.add(
                        "language",
                        format!("Choose one of: {}.", self.languages().join(", ")),
                    );
                    "English".to_owned()
                }
            },
        };

        let call_to_action = raw
            .call_to_action
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        if let Some(cta) = &call_to_action {
            if cta.chars().count() > CTA_MAX {
                problems.add(
                    "call_to_action",
                    format!("Keep the call to action under {CTA_MAX} characters."),
                );
            } else if cta.contains('\n') {
                problems.add("call_to_action", "Keep the call to action on one line.");
            }
        }

        if !problems.is_empty() {
            return Err(StudioError::Invalid(problems));
        }
        let price = product.as_ref().and_then(|p| {
            p.price
                .filter(|d| !d.is_zero())
                .map(|d| crate::domain::price::display(&d.to_string(), p.currency.as_deref()))
        });
        Ok(Input {
            platforms,
            product,
            price,
            media,
            brief,
            tone,
            language,
            call_to_action,
            hashtags: raw.hashtags.unwrap_or(true),
        })
    }

    /// A caption for each of `platforms`. `avoid` (with a single platform) asks for a take
    /// different from the current text.
    #[allow(clippy::too_many_arguments)]
    pub async fn write(
        &self,
        redis: &Redis,
        store: &MediaStore,
        user_id: Uuid,
        input: &Input,
        platforms: &[Platform],
        variation: u64,
        avoid: Option<&str>,
    ) -> Result<Vec<Written>, StudioError> {
        let facts = input.facts();
        let brief = input.brief(facts);
        let drafts: BTreeMap<Platform, String> = match &self.gemini {
            None => platforms
                .iter()
                .map(|&p| (p, builtin::write(&brief, p, variation).text))
                .collect(),
            Some(g) => {
                self.charge(redis, user_id).await?;
                let images = inline_images(store, &input.media).await;
                let req = gemini::CaptionsRequest {
                    brief: &brief,
                    platforms,
                    language: &input.language,
                    images: &images,
                    avoid,
                    variation,
                };
                g.captions(&req).await?
            }
        };
        Ok(platforms
            .iter()
            .filter_map(|&p| {
                let draft = drafts.get(&p)?;
                let outcome = self.polish(input, p, draft);
                Some(Written {
                    platform: p,
                    text: outcome.text,
                    changes: outcome.changes,
                    variation,
                })
            })
            .collect())
    }

    /// The Human Authenticity Engine's pass over one caption, for this product.
    pub fn polish(&self, input: &Input, platform: Platform, text: &str) -> authenticity::Outcome {
        let mut protected: Vec<&str> = Vec::new();
        if let Some(p) = &input.product {
            protected.push(&p.title);
            if let Some(url) = &p.url {
                protected.push(url);
            }
        }
        if let Some(price) = &input.price {
            protected.push(price);
        }
        // The seller's own call to action; without one, the product's link stands in for it.
        let cta = input.call_to_action.as_deref().or_else(|| {
            input
                .product
                .as_ref()
                .and_then(|p| p.url.as_deref())
                .filter(|url| text.contains(url))
        });
        authenticity::humanize(
            text,
            &authenticity::Context {
                platform,
                strength: Strength::Standard,
                call_to_action: cta,
                protected: &protected,
            },
        )
    }

    /// Corrections for `text`, as ranges of it: Gemini's, or the rule-based ones without a key.
    pub async fn proofread(
        &self,
        redis: &Redis,
        user_id: Uuid,
        text: &str,
        language: &str,
    ) -> Result<Vec<Suggestion>, StudioError> {
        match &self.gemini {
            None => Ok(proofread::proofread(text)
                .into_iter()
                .map(|f| Suggestion {
                    start: f.start,
                    end: f.end,
                    before: f.before,
                    after: f.after,
                    reason: f.reason,
                })
                .collect()),
            Some(g) => {
                self.charge(redis, user_id).await?;
                let corrections = g.proofread(text, language).await?;
                Ok(locate(text, &corrections))
            }
        }
    }

    /// Emoji that fit the caption, up to the network's cap (always the built-in suggestions:
    /// they follow the words of the caption and the product, and cost nothing).
    pub fn add_emoji(&self, input: &Input, platform: Platform, text: &str) -> emoji::Added {
        emoji::add(text, platform, input.facts().as_ref(), input.tone)
    }

    /// A shorter or longer caption, passed through the authenticity engine again.
    #[allow(clippy::too_many_arguments)]
    pub async fn resize(
        &self,
        redis: &Redis,
        user_id: Uuid,
        input: &Input,
        platform: Platform,
        text: &str,
        how: Rewrite,
    ) -> Result<authenticity::Outcome, StudioError> {
        let facts = input.facts();
        let rewritten = match &self.gemini {
            None => {
                let brief = input.brief(facts);
                match how {
                    Rewrite::Shorter => resize::shorten(text, platform),
                    Rewrite::Longer => resize::lengthen(text, platform, &brief),
                }
            }
            Some(g) => {
                self.charge(redis, user_id).await?;
                g.rewrite(text, platform, how, &input.language, facts.as_ref())
                    .await?
            }
        };
        Ok(self.polish(input, platform, &rewritten))
    }

    /// Whether each photo shows the product. Never fails: a problem becomes "not checked" with
    /// the reason, since a photo check is advice, not a gate.
    pub async fn check_images(
        &self,
        redis: &Redis,
        store: &MediaStore,
        user_id: Uuid,
        input: &Input,
    ) -> Vec<ImageCheck> {
        let all = |reason: &str| {
            input
                .media
                .iter()
                .map(|m| ImageCheck {
                    media_id: m.id,
                    verdict: Verdict::NotChecked(reason.to_owned()),
                })
                .collect()
        };
        if input.media.is_empty() {
            return Vec::new();
        }
        let Some(g) = &self.gemini else {
            return all("Not checked: photo checks need a Gemini key.");
        };
        let Some(facts) = input.facts() else {
            return all("Not checked: pick a product to compare the photos with.");
        };
        let photos: Vec<&media::Model> = input
            .media
            .iter()
            .filter(|m| m.mime.starts_with("image/"))
            .collect();
        if photos.is_empty() {
            return all("Not checked: only photos are checked, not videos.");
        }
        if let Err(e) = self.charge(redis, user_id).await {
            return all(&format!("Not checked: {}", e.user_message()));
        }
        let images = inline_images(store, &input.media).await;
        if images.len() != photos.len() {
            return all("Not checked: some photos couldn't be read for the check.");
        }
        match g.check_images(&facts, &images).await {
            Ok(verdicts) => {
                let mut verdicts = verdicts.into_iter();
                input
                    .media
                    .iter()
                    .map(|m| {
                        let verdict = if m.mime.starts_with("image/") {
                            match verdicts.next() {
                                Some(v) if v.matches => Verdict::Matches(v.reason),
                                Some(v) => Verdict::Mismatch(v.reason),
                                None => Verdict::NotChecked("Not checked.".into()),
                            }
                        } else {
                            Verdict::NotChecked("Not checked: videos aren't checked.".into())
                        };
                        ImageCheck {
                            media_id: m.id,
                            verdict,
                        }
                    })
                    .collect()
            }
            Err(e) => all(&format!("Not checked: {}", e.user_message())),
        }
    }

    /// Counts one Gemini call against the user's hourly allowance.
    async fn charge(&self, redis: &Redis, user_id: Uuid) -> Result<(), StudioError> {
        let (count, ttl) = redis
            .count_in_window(&format!("ai:calls:{user_id}"), Duration::from_secs(3600))
            .await
            .map_err(|e| StudioError::Internal(e.into()))?;
        if count > i64::from(self.per_hour) {
            return Err(StudioError::Allowance {
                retry_after_secs: ttl.max(1) as u64,
            });
        }
        Ok(())
    }
}

/// Gemini's corrections as ranges of `text`, in order, without overlaps; a correction whose
/// `before` isn't in the text is dropped.
fn locate(text: &str, corrections: &[gemini::Correction]) -> Vec<Suggestion> {
    let mut out: Vec<Suggestion> = Vec::new();
    for c in corrections {
        if c.before.is_empty() || c.before == c.after {
            continue;
        }
        let mut from = 0;
        while let Some(pos) = text[from..].find(&c.before) {
            let start = from + pos;
            let end = start + c.before.len();
            if out.iter().all(|s| end <= s.start || start >= s.end) {
                out.push(Suggestion {
                    start,
                    end,
                    before: c.before.clone(),
                    after: c.after.clone(),
                    reason: c.reason.clone(),
                });
                break;
            }
            from = end;
        }
    }
    out.sort_by_key(|s| s.start);
    out
}

/// `text` with the accepted suggestions applied. Suggestions that no longer match the text
/// (it was edited since) are skipped.
pub fn apply(text: &str, accepted: &[Suggestion]) -> String {
    let mut fixes: Vec<proofread::Fix> = accepted
        .iter()
        .filter(|s| text.get(s.start..s.end) == Some(s.before.as_str()))
        .map(|s| proofread::Fix {
            start: s.start,
            end: s.end,
            before: s.before.clone(),
            after: s.after.clone(),
            reason: s.reason.clone(),
        })
        .collect();
    fixes.sort_by_key(|f| f.start);
    fixes.dedup_by(|b, a| b.start < a.end);
    proofread::apply(text, &fixes)
}

/// The photos among `media`, read for sending inline; ones that can't be read or are too large
/// are left out.
async fn inline_images(store: &MediaStore, media: &[media::Model]) -> Vec<Image> {
    let mut out = Vec::new();
    for m in media.iter().filter(|m| m.mime.starts_with("image/")) {
        if m.size_bytes as usize > INLINE_IMAGE_MAX_BYTES {
            continue;
        }
        match store.read(&m.storage_key).await {
            Ok(bytes) => out.push(Image {
                mime: m.mime.clone(),
                data: bytes.to_vec(),
            }),
            Err(e) => tracing::warn!(media = %m.id, error = %e, "couldn't read a photo for Gemini"),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suggestion(start: usize, before: &str, after: &str) -> Suggestion {
        Suggestion {
            start,
            end: start + before.len(),
            before: before.into(),
            after: after.into(),
            reason: "r".into(),
        }
    }

    #[test]
    fn gemini_corrections_become_ranges_and_unknown_ones_are_dropped() {
        let text = "Teh mug is teh best.";
        let got = locate(
            text,
            &[
                gemini::Correction {
                    before: "teh best".into(),
                    after: "the best".into(),
                    reason: "spelling".into(),
                },
                gemini::Correction {
                    before: "Teh".into(),
                    after: "The".into(),
                    reason: "spelling".into(),
                },
                gemini::Correction {
                    before: "not there".into(),
                    after: "x".into(),
                    reason: "r".into(),
                },
            ],
        );
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].start, got[0].end), (0, 3));
        assert_eq!(&text[got[1].start..got[1].end], "teh best");
    }

    #[test]
    fn applying_skips_suggestions_the_text_no_longer_matches() {
        let text = "Teh mug is  great";
        let fixes = vec![suggestion(0, "Teh", "The"), suggestion(4, "cup", "mug")];
        assert_eq!(apply(text, &fixes), "The mug is  great");
    }

    #[test]
    fn waits_read_in_seconds_then_minutes() {
        assert_eq!(wait_words(32), "32 s");
        assert_eq!(wait_words(600), "10 min");
    }
}

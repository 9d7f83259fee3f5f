//! The composer: writing a post once, adjusting it per account, and saving it as a draft,
//! scheduling it, or publishing it now.
//!
//! One form serves three places: the full page (`/posts/new`, `/posts/{id}/edit`, works without
//! JavaScript), the drawer over the calendar (the same form as an htmx fragment), and the live
//! checks (`POST /compose/check`, debounced, answering with out-of-band swaps of each account's
//! counter, issues and preview). Every rule comes from `domain` through `posts::check`, the same
//! path the JSON API takes.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use chrono::{DateTime, Duration, NaiveDate, Timelike as _, Utc};
use sea_orm::{
    ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
};
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

use crate::analytics::best_time::{self, NotEnough, Suggestion};
use crate::domain::caption::{self, TextField};
use crate::domain::options::{InstagramKind, LinkedinVisibility, PrivacyLevel, YoutubePrivacy};
use crate::domain::preflight::Severity;
use crate::domain::schedule::{LocalTime, ScheduleError, local_to_utc, utc_offset};
use crate::domain::{Fold, Platform, ScheduleAt, TargetOptions, TimeZone};
use crate::entities::{connections, media, templates, users};
use crate::error::AppError;
use crate::posts::{self, Checked, Draft, PostError, Problems, TargetInput, When};
use crate::state::AppState;
use crate::web::form::FormData;
use crate::web::render;
use crate::web::session::{self, CurrentUser, FlashKind, PageContext};

/// Uploading in place from the composer takes large bodies: `web::router` gives this its limit.
pub fn upload_router() -> Router<AppState> {
    Router::new().route("/compose/upload", post(upload))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/posts/new", get(new_page))
        .route("/posts/{id}/edit", get(edit_page))
        .route("/compose/check", post(check))
}

// ---- view model ----

pub struct Counter {
    pub label: &'static str,
    pub used: usize,
    pub limit: usize,
    pub over: bool,
}

pub struct IssueView {
    pub error: bool,
    pub message: String,
}

pub struct OptionField {
    pub name: String,
    pub label: &'static str,
    /// `select`, `text` or `checkbox`.
    pub kind: &'static str,
    pub value: String,
    pub checked: bool,
    pub choices: Vec<(String, String, bool)>,
    pub hint: &'static str,
}

pub struct Preview {
    pub caption: String,
    pub title: Option<String>,
    pub media: Vec<Uuid>,
    pub more_media: usize,
}

pub struct Account {
    pub id: Uuid,
    pub platform: Platform,
    pub display_name: String,
    pub selected: bool,
    pub caption: String,
    pub counters: Vec<Counter>,
    pub issues: Vec<IssueView>,
    pub errors: Vec<String>,
    pub options: Vec<OptionField>,
    pub preview: Preview,
}

impl Account {
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty() || self.issues.iter().any(|i| i.error)
    }
}

pub struct MediaChoice {
    pub id: Uuid,
    pub name: String,
    pub is_video: bool,
    pub selected: bool,
    pub order: usize,
}

/// Everything the composer form shows.
pub struct Composer {
    pub action: String,
    pub editing: Option<Uuid>,
    pub body: String,
    pub date: String,
    pub time: String,
    pub time_zone: String,
    pub fold: String,
    pub fold_choices: Vec<(String, String)>,
    pub accounts: Vec<Account>,
    pub media: Vec<MediaChoice>,
    /// Files that couldn't be uploaded in place, with the reason.
    pub upload_errors: Vec<String>,
    pub errors: BTreeMap<String, String>,
    pub locked: Option<String>,
    pub drawer: bool,
    pub templates: Vec<(Uuid, String)>,
    pub template_id: Option<Uuid>,
    pub has_connections: bool,
    /// The product the post is made from: its id, title and link.
    pub product: Option<ProductRef>,
    /// Tag the product's links with UTM parameters (the checkbox).
    pub utm_enabled: bool,
    /// The suggested time to post (engagement numbers on, enough of them).
    pub suggested: Option<Suggestion>,
    /// Why no time is suggested yet (engagement numbers on, too few of them).
    pub not_enough: Option<NotEnough>,
}

pub struct ProductRef {
    pub id: Uuid,
    pub title: String,
    pub url: Option<String>,
}

impl Composer {
    pub fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }

    pub fn selected_count(&self) -> usize {
        self.accounts.iter().filter(|a| a.selected).count()
    }
}

#[derive(Template)]
#[template(path = "posts/compose.html")]
struct ComposePage {
    ctx: PageContext,
    c: Composer,
}

#[derive(Template)]
#[template(path = "posts/compose_drawer.html")]
struct ComposeFragment {
    ctx: PageContext,
    c: Composer,
}

#[derive(Template)]
#[template(path = "posts/_media.html")]
struct MediaFragment {
    c: Composer,
}

#[derive(Template)]
#[template(path = "posts/compose_checks.html")]
struct ChecksFragment {
    c: Composer,
}

// ---- building the view ----

fn platform_of(c: &connections::Model) -> Platform {
    c.platform.parse().unwrap_or(Platform::X)
}

fn option_fields(
    id: Uuid,
    options: &TargetOptions,
    connection: &connections::Model,
    zone: TimeZone,
) -> Vec<OptionField> {
    let name = |n: &str| format!("opt.{id}.{n}");
    let select = |n: &str, label, value: &str, choices: Vec<(String, String)>, hint| OptionField {
        name: name(n),
        label,
        kind: "select",
        value: value.to_owned(),
        checked: false,
        choices: choices
            .into_iter()
            .map(|(v, l)| (v.clone(), l, v == value))
            .collect(),
        hint,
    };
    let text = |n: &str, label, value: &str, hint| OptionField {
        name: name(n),
        label,
        kind: "text",
        value: value.to_owned(),
        checked: false,
        choices: vec![],
        hint,
    };
    let check = |n: &str, label, on: bool| OptionField {
        name: name(n),
        label,
        kind: "checkbox",
        value: "on".into(),
        checked: on,
        choices: vec![],
        hint: "",
    };
    match options {
        TargetOptions::X | TargetOptions::Facebook => vec![],
        TargetOptions::Instagram(o) => vec![select(
            "kind",
            "Post as",
            o.kind.map(InstagramKind::as_str).unwrap_or(""),
            [
                ("", "Decide from the media"),
                ("feed", "Feed post"),
                ("carousel", "Carousel"),
                ("reel", "Reel"),
                ("story", "Story"),
            ]
            .into_iter()
            .map(|(v, l)| (v.to_owned(), l.to_owned()))
            .collect(),
            "",
        )],
        TargetOptions::Linkedin(o) => vec![select(
            "visibility",
            "Who can see it",
            o.visibility.as_str(),
            [
                LinkedinVisibility::Public,
                LinkedinVisibility::Connections,
                LinkedinVisibility::LoggedIn,
            ]
            .into_iter()
            .map(|v| {
                let label = match v {
                    LinkedinVisibility::Public => "Anyone",
                    LinkedinVisibility::Connections => "Connections only",
                    LinkedinVisibility::LoggedIn => "LinkedIn members",
                };
                (v.as_str().to_owned(), label.to_owned())
            })
            .collect(),
            "",
        )],
        TargetOptions::Pinterest(o) => {
            let boards: Vec<(String, String)> = connection
                .metadata
                .get("boards")
                .and_then(|b| b.as_array())
                .map(|bs| {
                    bs.iter()
                        .filter_map(|b| {
                            Some((
                                b.get("id")?.as_str()?.to_owned(),
                                b.get("name")
                                    .and_then(|n| n.as_str())
                                    .unwrap_or("Board")
                                    .to_owned(),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let mut choices = vec![(String::new(), "Choose a board".to_owned())];
            choices.extend(boards);
            vec![
                select(
                    "board_id",
                    "Board",
                    o.board_id.as_ref().map(|b| b.as_str()).unwrap_or(""),
                    choices,
                    "",
                ),
                text(
                    "title",
                    "Pin title",
                    o.title.as_deref().unwrap_or(""),
                    "Up to 100 characters.",
                ),
                text(
                    "link",
                    "Link",
                    o.link.as_deref().unwrap_or(""),
                    "Where the pin leads, e.g. the product page.",
                ),
            ]
        }
        TargetOptions::Tiktok(o) => vec![
            select(
                "privacy_level",
                "Who can watch",
                o.privacy_level.map(PrivacyLevel::as_str).unwrap_or(""),
                std::iter::once((String::new(), "Choose who can watch".to_owned()))
                    .chain(
                        // Only the levels TikTok offers this creator, when we know them.
                        posts::tiktok_creator(connection)
                            .map(|c| c.privacy_level_options)
                            .filter(|levels| !levels.is_empty())
                            .unwrap_or_else(|| PrivacyLevel::ALL.to_vec())
                            .into_iter()
                            .map(|p| (p.as_str().to_owned(), p.label().to_owned())),
                    )
                    .collect(),
                "TikTok asks creators to choose this for every post.",
            ),
            check("disable_comment", "Turn off comments", o.disable_comment),
            check("disable_duet", "Turn off duets", o.disable_duet),
            check("disable_stitch", "Turn off stitches", o.disable_stitch),
        ],
        TargetOptions::Youtube(o) => vec![
            text(
                "title",
                "Video title",
                &o.title,
                "Required, up to 100 characters.",
            ),
            select(
                "privacy",
                "Visibility",
                o.privacy.as_str(),
                [
                    YoutubePrivacy::Public,
                    YoutubePrivacy::Unlisted,
                    YoutubePrivacy::Private,
                ]
                .into_iter()
                .map(|p| {
                    let label = match p {
                        YoutubePrivacy::Public => "Public",
                        YoutubePrivacy::Unlisted => "Unlisted",
                        YoutubePrivacy::Private => "Private",
                    };
                    (p.as_str().to_owned(), label.to_owned())
                })
                .collect(),
                "",
            ),
            text(
                "category_id",
                "Category number",
                &o.category_id,
                "22 is People & Blogs.",
            ),
            text("tags", "Tags", &o.tags.join(", "), "Separated by commas."),
            text(
                "publish_at",
                "Goes public at",
                &o.publish_at
                    .map(|t| {
                        t.with_timezone(&zone.tz())
                            .format("%Y-%m-%d %H:%M")
                            .to_string()
                    })
                    .unwrap_or_default(),
                "Optional, for private videos: YouTube makes the video public at this time (YYYY-MM-DD HH:MM, your time zone).",
            ),
        ],
    }
}

/// A local date and time from the form (`2026-12-01 10:00`, or `2026-12-01T10:00` from a
/// `datetime-local` input) as RFC 3339 in UTC; `None` when it isn't in that shape (the options
/// then explain what they accept), an error for a time the zone skips.
fn local_to_rfc3339(local: &str, zone: TimeZone) -> Option<Result<String, String>> {
    use chrono::TimeZone as _;
    let raw = local.trim().replace('T', " ");
    let naive = chrono::NaiveDateTime::parse_from_str(&raw, "%Y-%m-%d %H:%M").ok()?;
    Some(match zone.tz().from_local_datetime(&naive).earliest() {
        Some(t) => Ok(t.with_timezone(&chrono::Utc).to_rfc3339()),
        None => Err(format!(
            "{raw} doesn't exist in {} (the clocks skip it). Choose another time.",
            zone.name()
        )),
    })
}

fn counters(platform: Platform, caption: &str, options: &TargetOptions) -> Vec<Counter> {
    let mut out = Vec::new();
    let mut push = |label, field, text: &str| {
        if let Some(c) = caption::count(platform, field, text) {
            out.push(Counter {
                label,
                used: c.used,
                limit: c.limit,
                over: c.is_over(),
            });
        }
    };
    push("Caption", TextField::Caption, caption);
    match options {
        TargetOptions::Pinterest(o) => {
            push("Title", TextField::Title, o.title.as_deref().unwrap_or(""))
        }
        TargetOptions::Youtube(o) => push("Title", TextField::Title, &o.title),
        _ => {}
    }
    out
}

struct Selection {
    connections: Vec<connections::Model>,
    library: Vec<media::Model>,
    templates: Vec<(Uuid, String)>,
    product: Option<crate::products::queries::ProductDetail>,
}

async fn selection(
    state: &AppState,
    user_id: Uuid,
    selected_media: &[Uuid],
    product_id: Option<Uuid>,
) -> Result<Selection, AppError> {
    let product = match product_id {
        Some(id) => crate::products::queries::detail(&state.db, user_id, id).await?,
        None => None,
    };
    let connections = posts::postable_connections(&state.db, user_id).await?;
    let library = library_with(&state.db, user_id, selected_media).await?;
    let templates = templates::Entity::find()
        .filter(templates::Column::UserId.eq(user_id))
        .order_by_asc(templates::Column::Name)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    Ok(Selection {
        connections,
        library,
        templates,
        product,
    })
}

/// The media picker's choices: the newest 48 of the user's library, plus whatever is already
/// chosen (shared with the AI Studio).
pub async fn library_with(
    db: &sea_orm::DatabaseConnection,
    user_id: Uuid,
    selected: &[Uuid],
) -> Result<Vec<media::Model>, sea_orm::DbErr> {
    let mut library = media::Entity::find()
        .filter(media::Column::UserId.eq(user_id))
        .order_by_desc(media::Column::CreatedAt)
        .limit(48)
        .all(db)
        .await?;
    let missing: Vec<Uuid> = selected
        .iter()
        .copied()
        .filter(|id| !library.iter().any(|m| m.id == *id))
        .collect();
    if !missing.is_empty() {
        library.extend(
            media::Entity::find()
                .filter(media::Column::UserId.eq(user_id))
                .filter(media::Column::Id.is_in(missing))
                .all(db)
                .await?,
        );
    }
    Ok(library)
}

/// The form's raw schedule fields, kept as typed for re-display.
struct WhenInput {
    date: String,
    time: String,
    fold: String,
}

#[allow(clippy::too_many_arguments)]
fn build(
    action: String,
    editing: Option<Uuid>,
    draft: &Draft,
    when: WhenInput,
    sel: Selection,
    checked: Option<&Checked>,
    problems: &Problems,
    user: &users::Model,
) -> Composer {
    let product_url = sel.product.as_ref().and_then(|p| p.url.as_deref());
    let mut accounts = Vec::new();
    for c in &sel.connections {
        let platform = platform_of(c);
        let input = draft.targets.iter().find(|t| t.connection_id == c.id);
        let checked_target =
            checked.and_then(|ch| ch.targets.iter().find(|t| t.connection.id == c.id));
        let options = checked_target
            .map(|t| t.options.clone())
            .or_else(|| input.map(|t| t.options.clone()))
            .or_else(|| {
                TargetOptions::default_for(platform).map(|o| posts::with_account_defaults(o, c))
            })
            .unwrap_or(TargetOptions::X);
        let caption_override = input.and_then(|t| t.caption.clone()).unwrap_or_default();
        let effective = if caption_override.trim().is_empty() {
            draft.body.clone()
        } else {
            caption_override.clone()
        };
        let prefix = format!("targets.{}.", c.id);
        let errors = problems
            .fields
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, v)| v.clone())
            .collect();
        let title = match &options {
            TargetOptions::Pinterest(o) => o.title.clone(),
            TargetOptions::Youtube(o) => Some(o.title.clone()).filter(|t| !t.is_empty()),
            _ => None,
        };
        accounts.push(Account {
            id: c.id,
            platform,
            display_name: c.display_name.clone(),
            selected: input.is_some(),
            counters: counters(platform, &effective, &options),
            issues: checked_target
                .map(|t| {
                    t.issues
                        .iter()
                        .map(|i| IssueView {
                            error: i.severity == Severity::Error,
                            message: i.message.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            errors,
            options: option_fields(c.id, &options, c, TimeZone::parse_or_utc(&user.time_zone)),
            preview: Preview {
                caption: match product_url {
                    Some(url) if draft.utm_enabled => crate::domain::utm::tag_links(
                        &effective,
                        url,
                        platform.as_str(),
                        &user.utm_campaign,
                    ),
                    _ => effective,
                },
                title,
                media: draft.media_ids.iter().take(4).copied().collect(),
                more_media: draft.media_ids.len().saturating_sub(4),
            },
            caption: caption_override,
        });
    }
    let media = sel
        .library
        .iter()
        .map(|m| {
            let order = draft.media_ids.iter().position(|id| *id == m.id);
            MediaChoice {
                id: m.id,
                name: if m.original_filename.is_empty() {
                    "Untitled".into()
                } else {
                    m.original_filename.clone()
                },
                is_video: m.mime.starts_with("video/"),
                selected: order.is_some(),
                order: order.map(|o| o + 1).unwrap_or(0),
            }
        })
        .collect();
    let mut errors: BTreeMap<String, String> = problems
        .fields
        .iter()
        .filter(|(k, _)| !k.starts_with("targets."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // Problems with the account list itself ("choose at least one") are shown with the accounts.
    if let Some(m) = problems.fields.get("targets") {
        errors.insert("targets".into(), m.clone());
    }
    let fold_choices = match &problems.fields.get("fold") {
        Some(_) => vec![
            ("earlier".to_owned(), "the first time".to_owned()),
            ("later".to_owned(), "the second time".to_owned()),
        ],
        None => vec![],
    };
    Composer {
        action,
        editing,
        body: draft.body.clone(),
        date: when.date,
        time: when.time,
        time_zone: user.time_zone.clone(),
        fold: when.fold,
        fold_choices,
        has_connections: !sel.connections.is_empty(),
        accounts,
        media,
        upload_errors: Vec::new(),
        errors,
        locked: None,
        drawer: false,
        templates: sel.templates,
        template_id: draft.template_id,
        product: sel.product.map(|p| ProductRef {
            id: p.id,
            title: p.title,
            url: p.url,
        }),
        utm_enabled: draft.utm_enabled,
        suggested: None,
        not_enough: None,
    }
}

// ---- reading the form ----

/// Turns the composer form into a `Draft`, collecting what can't be read.
async fn read_form(
    state: &AppState,
    user: &users::Model,
    form: &FormData,
    now: DateTime<Utc>,
) -> Result<(Draft, WhenInput, Problems), AppError> {
    let mut problems = Problems::default();
    let zone = TimeZone::parse_or_utc(&user.time_zone);
    let connections: HashMap<Uuid, connections::Model> =
        posts::postable_connections(&state.db, user.id)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();

    // Media, ordered by the order boxes (then by their place in the form).
    let mut media: Vec<(usize, usize, Uuid)> = Vec::new();
    for (i, raw) in form.all("media_id").into_iter().enumerate() {
        match Uuid::parse_str(raw) {
            Ok(id) => {
                let order = form
                    .get(&format!("media_order.{id}"))
                    .and_then(|o| o.trim().parse().ok())
                    .unwrap_or(usize::MAX);
                media.push((order, i, id));
            }
            Err(_) => problems.add(
                "media_ids",
                "One of the chosen files couldn't be read. Choose it again.",
            ),
        }
    }
    media.sort();
    let media_ids = media.into_iter().map(|(_, _, id)| id).collect();

    let mut targets = Vec::new();
    for raw in form.all("target") {
        let Some(c) = Uuid::parse_str(raw)
            .ok()
            .and_then(|id| connections.get(&id))
        else {
            problems.add(
                "targets",
                "One of the chosen accounts isn't connected any more. Choose another.",
            );
            continue;
        };
        let platform = platform_of(c);
        let mut fields = form.with_prefix(&format!("opt.{}.", c.id));
        if let Some(local) = fields.get("publish_at").filter(|v| !v.trim().is_empty())
            && let Some(utc) = local_to_rfc3339(local, zone)
        {
            match utc {
                Ok(utc) => {
                    fields.insert("publish_at".into(), utc);
                }
                Err(message) => {
                    problems.add(format!("targets.{}.options.publish_at", c.id), message);
                    fields.remove("publish_at");
                }
            }
        }
        let options = match TargetOptions::from_form(platform, &fields) {
            Ok(o) => o,
            Err(errors) => {
                for e in errors {
                    problems.add(format!("targets.{}.{}", c.id, e.field), e.message);
                }
                TargetOptions::default_for(platform).unwrap_or(TargetOptions::X)
            }
        };
        let caption = Some(form.str(&format!("caption.{}", c.id)).to_owned())
            .filter(|s| !s.trim().is_empty());
        targets.push(TargetInput {
            connection_id: c.id,
            caption,
            options,
        });
    }

    let when_input = WhenInput {
        date: form.str("date").trim().to_owned(),
        time: form.str("time").trim().to_owned(),
        fold: form.str("fold").to_owned(),
    };
    let fold: Option<Fold> = when_input.fold.parse().ok();
    let action = form.str("action");
    let when = match action {
        "publish_now" => When::Now,
        "schedule" => {
            match ScheduleAt::parse(&when_input.date, &when_input.time, zone, fold, now) {
                Ok(at) => When::At(at.instant()),
                Err(e) => {
                    schedule_problem(&mut problems, &e);
                    When::Draft(None)
                }
            }
        }
        _ => {
            if when_input.date.is_empty() && when_input.time.is_empty() {
                When::Draft(None)
            } else {
                match local_to_utc(&when_input.date, &when_input.time, zone, fold) {
                    Ok(t) => When::Draft(Some(t)),
                    Err(e) => {
                        schedule_problem(&mut problems, &e);
                        When::Draft(None)
                    }
                }
            }
        }
    };
    let template_id = form
        .get("template_id")
        .and_then(|t| Uuid::parse_str(t).ok());
    let product_id = form.get("product_id").and_then(|t| Uuid::parse_str(t).ok());
    // An unticked checkbox sends nothing: `utm_shown` tells "unticked" from "not on the form".
    let utm_enabled = form.get("utm_enabled").is_some() || form.get("utm_shown").is_none();
    let draft = Draft {
        body: form.str("body").replace("\r\n", "\n"),
        media_ids,
        targets,
        when,
        product_id,
        template_id,
        utm_enabled,
    };
    Ok((draft, when_input, problems))
}

fn schedule_problem(problems: &mut Problems, e: &ScheduleError) {
    let field = match e {
        ScheduleError::BadTime => "time",
        ScheduleError::Ambiguous { .. } => "fold",
        _ => "date",
    };
    problems.add(field, e.to_string());
}

fn when_of(draft_when: When, zone: TimeZone, fallback: DateTime<Utc>) -> WhenInput {
    let at = match draft_when {
        When::Draft(Some(t)) | When::At(t) => t,
        _ => fallback,
    };
    let local = LocalTime::of(at, zone);
    WhenInput {
        date: local.date,
        time: local.time,
        fold: local
            .fold
            .map(|f| f.as_str().to_owned())
            .unwrap_or_default(),
    }
}

/// The next whole hour, a sensible default for a new post.
fn next_hour(now: DateTime<Utc>) -> DateTime<Utc> {
    let trimmed = now
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(now);
    trimmed + Duration::hours(1)
}

/// The best time to post for the schedule part: one query, and only with engagement numbers
/// on. A failed read leaves the hint out rather than the composer.
async fn best_time_hint(
    state: &AppState,
    user: &users::Model,
) -> Option<Result<Suggestion, NotEnough>> {
    if !state.config.features.metrics_engagement {
        return None;
    }
    let zone = TimeZone::parse_or_utc(&user.time_zone);
    let now = Utc::now();
    match best_time::heat_map(&state.db, user.id, zone, now).await {
        Ok(map) => Some(best_time::suggestion(&map, now, zone)),
        Err(e) => {
            tracing::warn!(error = %e, "the best-time suggestion couldn't be read");
            None
        }
    }
}

impl Composer {
    fn with_hint(mut self, hint: Option<Result<Suggestion, NotEnough>>) -> Self {
        match hint {
            Some(Ok(s)) => self.suggested = Some(s),
            Some(Err(n)) => self.not_enough = Some(n),
            None => {}
        }
        self
    }
}

pub fn is_drawer(headers: &HeaderMap) -> bool {
    headers.get("hx-target").and_then(|v| v.to_str().ok()) == Some("drawer")
}

fn respond(ctx: PageContext, c: Composer, status: StatusCode) -> Result<Response, AppError> {
    if c.drawer {
        render::page_with_status(status, &ComposeFragment { ctx, c })
    } else {
        render::page_with_status(
            status,
            &ComposePage {
                ctx: ctx.at("calendar"),
                c,
            },
        )
    }
}

// ---- handlers ----

#[derive(Deserialize)]
pub struct NewQuery {
    date: Option<String>,
    time: Option<String>,
    media: Option<String>,
    body: Option<String>,
    product_id: Option<String>,
    template: Option<String>,
}

async fn new_page(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    headers: HeaderMap,
    Query(q): Query<NewQuery>,
) -> Result<Response, AppError> {
    let zone = TimeZone::parse_or_utc(&user.time_zone);
    let now = Utc::now();
    let mut when = when_of(When::Draft(None), zone, next_hour(now));
    if let Some(d) = q
        .date
        .as_deref()
        .filter(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok())
    {
        when.date = d.to_owned();
        when.time = q
            .time
            .clone()
            .filter(|t| t.len() == 5)
            .unwrap_or_else(|| "09:00".into());
    }
    let media_ids: Vec<Uuid> = q
        .media
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter_map(|s| Uuid::parse_str(s.trim()).ok())
        .collect();
    let mut draft = Draft {
        body: q.body.clone().unwrap_or_default(),
        media_ids: media_ids.clone(),
        targets: vec![],
        when: When::Draft(None),
        product_id: q
            .product_id
            .as_deref()
            .and_then(|p| Uuid::parse_str(p).ok()),
        template_id: None,
        utm_enabled: true,
    };
    // Starting from a template: its text, and its usual networks ticked (one account of each).
    let template_id = q.template.as_deref().and_then(|t| Uuid::parse_str(t).ok());
    let template = match template_id {
        Some(id) => crate::web::caption_templates::find_for_user(&state, user.id, id).await?,
        None => None,
    };
    if let Some(template) = template {
        draft.body = template.body.clone();
        draft.template_id = Some(template.id);
        let connections = posts::postable_connections(&state.db, user.id).await?;
        for platform in template
            .default_platforms
            .iter()
            .filter_map(|p| p.parse::<Platform>().ok())
        {
            if let Some(c) = connections.iter().find(|c| c.platform == platform.as_str())
                && let Some(options) = TargetOptions::default_for(platform)
            {
                draft.targets.push(TargetInput {
                    connection_id: c.id,
                    caption: None,
                    options: posts::with_account_defaults(options, c),
                });
            }
        }
    }
    let sel = selection(&state, user.id, &media_ids, draft.product_id).await?;
    // Starting from a product: its title, a short excerpt, its price and its link.
    if q.body.is_none()
        && template_id.is_none()
        && let Some(p) = &sel.product
    {
        // A zero price is a shop's "price on request" (Shopify variants can't be without one):
        // not something to advertise.
        let price = p
            .price
            .filter(|d| !d.is_zero())
            .map(|d| crate::domain::price::display(&d.to_string(), p.currency.as_deref()));
        draft.body = crate::domain::product_post::caption(
            &p.title,
            &p.description,
            price.as_deref(),
            p.url.as_deref(),
        );
    }
    if sel.product.is_none() {
        // Someone else's product (or a stale link): start without one.
        draft.product_id = None;
    }
    let mut c = build(
        "/posts".into(),
        None,
        &draft,
        when,
        sel,
        None,
        &Problems::default(),
        &user,
    );
    c.drawer = is_drawer(&headers);
    let c = c.with_hint(best_time_hint(&state, &user).await);
    respond(ctx, c, StatusCode::OK)
}

async fn edit_page(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let draft = match posts::load_draft(&state.db, user.id, id).await {
        Ok(d) => d,
        Err(PostError::NotFound) => return Err(AppError::NotFound),
        Err(PostError::Db(e)) => return Err(e.into()),
        Err(e) => return Err(AppError::Internal(e.into())),
    };
    let zone = TimeZone::parse_or_utc(&user.time_zone);
    let when = when_of(draft.when, zone, next_hour(Utc::now()));
    let mut checked = posts::check(&state.db, user.id, &draft).await?.ok();
    if let Some(c) = checked.as_mut() {
        posts::add_environment_warnings(&state.config, c);
    }
    let sel = selection(&state, user.id, &draft.media_ids, draft.product_id).await?;
    let mut c = build(
        format!("/posts/{id}"),
        Some(id),
        &draft,
        when,
        sel,
        checked.as_ref(),
        &Problems::default(),
        &user,
    );
    c.drawer = is_drawer(&headers);
    let targets = crate::entities::post_targets::Entity::find()
        .filter(crate::entities::post_targets::Column::PostId.eq(id))
        .all(&state.db)
        .await?;
    c.locked = posts::edit_refusal(&targets);
    if c.locked.is_none() {
        c = c.with_hint(best_time_hint(&state, &user).await);
    }
    respond(ctx, c, StatusCode::OK)
}

/// Opens the composer (the drawer for an htmx request aimed at `#drawer`, else the page) on a
/// draft made elsewhere — the AI Studio's captions and photos — for the seller to schedule.
pub async fn open_with(
    state: &AppState,
    user: &users::Model,
    ctx: PageContext,
    headers: &HeaderMap,
    draft: &Draft,
) -> Result<Response, AppError> {
    let zone = TimeZone::parse_or_utc(&user.time_zone);
    let when = when_of(draft.when, zone, next_hour(Utc::now()));
    let mut checked = posts::check(&state.db, user.id, draft).await?.ok();
    if let Some(c) = checked.as_mut() {
        posts::add_environment_warnings(&state.config, c);
    }
    let sel = selection(state, user.id, &draft.media_ids, draft.product_id).await?;
    let mut c = build(
        "/posts".into(),
        None,
        draft,
        when,
        sel,
        checked.as_ref(),
        &Problems::default(),
        user,
    );
    c.drawer = is_drawer(headers);
    let c = c.with_hint(best_time_hint(state, user).await);
    respond(ctx, c, StatusCode::OK)
}

/// The caption counters the composer shows for one account, for other pages (the Studio).
pub fn counters_for(platform: Platform, caption: &str) -> Vec<Counter> {
    match TargetOptions::default_for(platform) {
        Some(options) => counters(platform, caption, &options),
        None => Vec::new(),
    }
}

pub async fn create(
    State(state): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    save(state, session, user, ctx, headers, body, None).await
}

pub async fn update(
    State(state): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    save(state, session, user, ctx, headers, body, Some(id)).await
}

async fn save(
    state: AppState,
    session: Session,
    user: users::Model,
    ctx: PageContext,
    headers: HeaderMap,
    body: Bytes,
    editing: Option<Uuid>,
) -> Result<Response, AppError> {
    if let Some(id) = editing
        && crate::posts::queries::one(&state.db, user.id, id)
            .await?
            .is_none()
    {
        return Err(AppError::NotFound);
    }
    let form = FormData::parse(&body);
    let now = Utc::now();
    let (draft, when_input, mut problems) = read_form(&state, &user, &form, now).await?;
    let action = match editing {
        Some(id) => format!("/posts/{id}"),
        None => "/posts".into(),
    };
    if form.str("action") == "suggested_time" {
        return use_suggested_time(
            state, user, ctx, headers, action, editing, draft, when_input,
        )
        .await;
    }
    // Ownership problems (someone else's account or file) are shown with the form's own.
    if let Err(p) = posts::check(&state.db, user.id, &draft).await? {
        for (k, v) in p.fields {
            problems.add(k, v);
        }
    }
    let result = if problems.is_empty() {
        Some(match editing {
            Some(id) => posts::update(&state.db, user.id, id, &draft, now).await,
            None => posts::create(&state.db, user.id, &draft, now).await,
        })
    } else {
        None
    };
    let mut locked = None;
    match result {
        Some(Ok((post, _))) => {
            let zone = TimeZone::parse_or_utc(&user.time_zone);
            let message = match draft.when {
                When::Draft(_) => "Saved as a draft.".to_owned(),
                When::Now => {
                    "Publishing now. You'll see each network's result on the post.".to_owned()
                }
                When::At(at) => {
                    let local = LocalTime::of(at, zone);
                    format!(
                        "Scheduled for {} at {} ({}).",
                        pretty_date(&local.date),
                        local.time,
                        zone.name()
                    )
                }
            };
            session::flash(&session, FlashKind::Success, message).await?;
            let date = post.scheduled_at.map(|t| LocalTime::of(t, zone).date);
            let target = match date {
                Some(d) => format!("/calendar?view=month&date={d}"),
                None => "/posts".to_owned(),
            };
            if is_drawer(&headers) || headers.contains_key("hx-request") {
                let mut res = StatusCode::OK.into_response();
                res.headers_mut().insert(
                    "hx-redirect",
                    HeaderValue::from_str(&target).unwrap_or(HeaderValue::from_static("/calendar")),
                );
                return Ok(res);
            }
            return Ok(Redirect::to(&target).into_response());
        }
        Some(Err(PostError::Invalid(p))) => {
            for (k, v) in p.fields {
                problems.add(k, v);
            }
        }
        Some(Err(PostError::Locked(why))) => locked = Some(why),
        Some(Err(PostError::NotFound)) => return Err(AppError::NotFound),
        Some(Err(PostError::Db(e))) => return Err(e.into()),
        None => {}
    }
    let mut checked = posts::check(&state.db, user.id, &draft).await?.ok();
    if let Some(c) = checked.as_mut() {
        posts::add_environment_warnings(&state.config, c);
    }
    let sel = selection(&state, user.id, &draft.media_ids, draft.product_id).await?;
    let mut c = build(
        action,
        editing,
        &draft,
        when_input,
        sel,
        checked.as_ref(),
        &problems,
        &user,
    );
    c.drawer = is_drawer(&headers);
    c.locked = locked;
    if c.locked.is_none() {
        c = c.with_hint(best_time_hint(&state, &user).await);
    }
    let status = if c.locked.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    respond(ctx, c, status)
}

/// "Use this time": the composer again, as it was sent, with the suggested date and time filled
/// in and nothing saved. A plain submit button, so it works without JavaScript.
#[allow(clippy::too_many_arguments)]
async fn use_suggested_time(
    state: AppState,
    user: users::Model,
    ctx: PageContext,
    headers: HeaderMap,
    action: String,
    editing: Option<Uuid>,
    draft: Draft,
    mut when: WhenInput,
) -> Result<Response, AppError> {
    let hint = best_time_hint(&state, &user).await;
    if let Some(Ok(s)) = &hint {
        when.date = s.local.date.clone();
        when.time = s.local.time.clone();
        when.fold = s
            .local
            .fold
            .map(|f| f.as_str().to_owned())
            .unwrap_or_default();
    }
    let mut checked = posts::check(&state.db, user.id, &draft).await?.ok();
    if let Some(c) = checked.as_mut() {
        posts::add_environment_warnings(&state.config, c);
    }
    let sel = selection(&state, user.id, &draft.media_ids, draft.product_id).await?;
    let mut c = build(
        action,
        editing,
        &draft,
        when,
        sel,
        checked.as_ref(),
        &Problems::default(),
        &user,
    );
    c.drawer = is_drawer(&headers);
    if let Some(id) = editing {
        let targets = crate::entities::post_targets::Entity::find()
            .filter(crate::entities::post_targets::Column::PostId.eq(id))
            .all(&state.db)
            .await?;
        c.locked = posts::edit_refusal(&targets);
    }
    respond(ctx, c.with_hint(hint), StatusCode::OK)
}

/// Live checks: counters, issues and previews for the form as it is now.
async fn check(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    body: Bytes,
) -> Result<Response, AppError> {
    let form = FormData::parse(&body);
    let (draft, when_input, problems) = read_form(&state, &user, &form, Utc::now()).await?;
    let mut checked = posts::check(&state.db, user.id, &draft).await?.ok();
    if let Some(c) = checked.as_mut() {
        posts::add_environment_warnings(&state.config, c);
    }
    let sel = selection(&state, user.id, &draft.media_ids, draft.product_id).await?;
    let c = build(
        String::new(),
        None,
        &draft,
        when_input,
        sel,
        checked.as_ref(),
        &problems,
        &user,
    );
    render::page(&ChecksFragment { c })
}

fn pretty_date(iso: &str) -> String {
    NaiveDate::parse_from_str(iso, "%Y-%m-%d")
        .map(|d| d.format("%A %-d %B %Y").to_string())
        .unwrap_or_else(|_| iso.to_owned())
}

/// "UTC+02:00"-style offset label, for the time zone hint.
pub fn offset_label(at: DateTime<Utc>, zone: TimeZone) -> String {
    use chrono::Offset as _;
    let offset = at
        .with_timezone(&zone.tz())
        .offset()
        .fix()
        .local_minus_utc();
    utc_offset(offset)
}

/// Upload in place (htmx): stores the files like the library does, then answers with the media
/// picker, the new files ticked after the ones already chosen.
async fn upload(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    mut multipart: axum::extract::Multipart,
) -> Result<Response, AppError> {
    let mut selected: Vec<Uuid> = Vec::new();
    let mut orders: HashMap<Uuid, usize> = HashMap::new();
    let mut errors = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                errors.push(
                    "That upload is larger than we accept in one go. Send fewer or smaller files."
                        .to_owned(),
                );
                break;
            }
            Err(_) => {
                errors.push(
                    "The upload stopped before every file arrived. Please try again.".to_owned(),
                );
                break;
            }
        };
        match field.name().unwrap_or_default() {
            "media_id" => {
                if let Ok(id) = field.text().await.map(|t| Uuid::parse_str(t.trim())) {
                    selected.extend(id);
                }
            }
            name if name.starts_with("media_order.") => {
                let id = Uuid::parse_str(&name["media_order.".len()..]).ok();
                let order = field
                    .text()
                    .await
                    .ok()
                    .and_then(|t| t.trim().parse::<usize>().ok());
                if let (Some(id), Some(order)) = (id, order) {
                    orders.insert(id, order);
                }
            }
            "file" => {
                let Some(file_name) = field
                    .file_name()
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned)
                else {
                    continue;
                };
                match crate::media::accept_field(&state.db, &state.media, user.id, field).await {
                    Ok(up) => {
                        if !selected.contains(&up.media.id) {
                            selected.push(up.media.id);
                        }
                    }
                    Err(crate::media::UploadError::Refused(why)) => errors.push(format!("{file_name}: {why}")),
                    Err(crate::media::UploadError::Internal(e)) => return Err(AppError::Internal(e)),
                    Err(_) => errors.push(format!("{file_name}: the upload stopped before the whole file arrived. Please try again.")),
                }
            }
            _ => {}
        }
    }
    // Already-chosen media keep their order; new uploads follow.
    selected.sort_by_key(|id| orders.get(id).copied().unwrap_or(usize::MAX));
    let draft = Draft {
        body: String::new(),
        media_ids: selected.clone(),
        targets: vec![],
        when: When::Draft(None),
        product_id: None,
        template_id: None,
        utm_enabled: true,
    };
    let sel = selection(&state, user.id, &selected, None).await?;
    let when = WhenInput {
        date: String::new(),
        time: String::new(),
        fold: String::new(),
    };
    let mut c = build(
        String::new(),
        None,
        &draft,
        when,
        sel,
        None,
        &Problems::default(),
        &user,
    );
    c.upload_errors = errors;
    render::page(&MediaFragment { c })
}

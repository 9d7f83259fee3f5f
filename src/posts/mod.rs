//! Posts and their targets: creating, editing, scheduling, cancelling, deleting, duplicating,
//! and the queries the calendar, the posts list and the API read from.
//!
//! One code path for the form, htmx and the JSON API: callers turn their input into a `Draft`
//! (times already parsed in the user's zone), and everything else — ownership, preflight, the
//! atomic write — happens here. Edits lock the post's targets (`FOR UPDATE`): the dispatcher
//! picks due targets with `SKIP LOCKED`, so an edit seconds before the due time either lands
//! first (and the new content goes out) or finds the target already taken (and is refused).

pub mod export;
pub mod import;
pub mod queries;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
    Set, TransactionTrait as _,
};
use serde_json::Value;
use uuid::Uuid;

use crate::domain::options::{BoardId, PrivacyLevel};
use crate::domain::preflight::{self, Issue, Severity, TargetContext, TargetDraft, TiktokCreator};
use crate::domain::{MediaFacts, Platform, PlatformKind, PostStatus, TargetOptions, TargetStatus};
use crate::entities::enums::{
    ConnectionStatus, PostStatus as DbPostStatus, TargetStatus as DbTargetStatus,
};
use crate::entities::{connections, media, post_media, post_targets, posts};

/// When a post should go out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// Not scheduled; a time may be noted for the calendar.
    Draft(Option<DateTime<Utc>>),
    At(DateTime<Utc>),
    Now,
}

/// One account a post goes to, with its own caption and options.
#[derive(Clone, Debug)]
pub struct TargetInput {
    pub connection_id: Uuid,
    /// `None` (or empty) uses the post's body.
    pub caption: Option<String>,
    pub options: TargetOptions,
}

/// A post as a seller composed it, before checks.
#[derive(Clone, Debug)]
pub struct Draft {
    pub body: String,
    pub media_ids: Vec<Uuid>,
    pub targets: Vec<TargetInput>,
    pub when: When,
    pub product_id: Option<Uuid>,
    pub template_id: Option<Uuid>,
    /// Tag the product's links with UTM parameters when publishing (on by default).
    pub utm_enabled: bool,
}

/// What is wrong with a draft, by field. Target fields are `targets.{connection id}.{field}`.
#[derive(Debug, Default, Clone)]
pub struct Problems {
    pub fields: BTreeMap<String, String>,
}

impl Problems {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.fields
            .entry(field.into())
            .or_insert_with(|| message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error("the post has problems")]
    Invalid(Problems),
    /// The post (or part of it) is already going out or out, so it can't change.
    #[error("{0}")]
    Locked(String),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

/// A target checked against its account and the platform's rules.
#[derive(Clone, Debug)]
pub struct CheckedTarget {
    pub connection: connections::Model,
    pub platform: Platform,
    pub caption: String,
    pub caption_override: Option<String>,
    pub options: TargetOptions,
    pub issues: Vec<Issue>,
}

/// The result of checking a draft: its targets with their issues, and its media in order.
#[derive(Clone, Debug)]
pub struct Checked {
    pub targets: Vec<CheckedTarget>,
    pub media: Vec<media::Model>,
}

impl Checked {
    pub fn has_blocking_issues(&self) -> bool {
        self.targets
            .iter()
            .any(|t| preflight::blocks_scheduling(&t.issues))
    }
}

/// The user's connections a post can go to (social accounts not disconnected).
pub async fn postable_connections(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<Vec<connections::Model>, sea_orm::DbErr> {
    let all = connections::Entity::find()
        .filter(connections::Column::UserId.eq(user_id))
        .filter(connections::Column::Status.ne(ConnectionStatus::Revoked))
        .order_by_asc(connections::Column::CreatedAt)
        .all(db)
        .await?;
    Ok(all
        .into_iter()
        .filter(|c| {
            c.platform
                .parse::<Platform>()
                .is_ok_and(|p| p.kind() == PlatformKind::Social)
        })
        .collect())
}

pub fn media_facts(m: &media::Model) -> Option<MediaFacts> {
    MediaFacts::from_stored(
        &m.mime,
        m.size_bytes.max(0) as u64,
        m.width.unwrap_or(0).max(0) as u32,
        m.height.unwrap_or(0).max(0) as u32,
        m.duration_ms.map(|d| d.max(0) as u64),
    )
    .ok()
}

/// What preflight knows about an account beyond its platform (Pinterest boards…).
fn context_for(connection: &connections::Model) -> TargetContext {
    let boards = connection
        .metadata
        .get("boards")
        .and_then(Value::as_array)
        .map(|bs| {
            bs.iter()
                .filter_map(|b| {
                    b.get("id")
                        .and_then(Value::as_str)
                        .and_then(|id| BoardId::parse(id).ok())
                })
                .collect()
        });
    TargetContext {
        tiktok_creator: tiktok_creator(connection),
        pinterest_boards: boards,
    }
}

/// What TikTok said this creator may use, as stored when the account was connected.
pub fn tiktok_creator(connection: &connections::Model) -> Option<TiktokCreator> {
    let c = connection.metadata.get("creator")?;
    let levels = c
        .get("privacy_level_options")?
        .as_array()?
        .iter()
        .filter_map(|v| serde_json::from_value::<PrivacyLevel>(v.clone()).ok())
        .collect();
    let flag = |k: &str| c.get(k).and_then(Value::as_bool).unwrap_or(false);
    Some(TiktokCreator {
        privacy_level_options: levels,
        comment_disabled: flag("comment_disabled"),
        duet_disabled: flag("duet_disabled"),
        stitch_disabled: flag("stitch_disabled"),
        max_video_post_duration_sec: c
            .get("max_video_post_duration_sec")
            .and_then(Value::as_u64)
            .map(|n| n as u32),
    })
}

/// Fills in per-account defaults a seller expects without asking (Pinterest's default board).
pub fn with_account_defaults(
    options: TargetOptions,
    connection: &connections::Model,
) -> TargetOptions {
    match options {
        TargetOptions::Pinterest(mut o) if o.board_id.is_none() => {
            o.board_id = connection
                .metadata
                .get("default_board_id")
                .and_then(Value::as_str)
                .and_then(|id| BoardId::parse(id).ok());
            TargetOptions::Pinterest(o)
        }
        other => other,
    }
}

/// Checks a draft for `user_id`: every account and medium must be theirs, and each target is
/// run through preflight. Ownership problems are returned as `Problems`; preflight issues are
/// attached to the targets for the caller to show (and, when scheduling, to refuse).
pub async fn check(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    draft: &Draft,
) -> Result<Result<Checked, Problems>, sea_orm::DbErr> {
    let mut problems = Problems::default();
    if draft.body.chars().count() > 100_000 {
        problems.add(
            "body",
            "That text is far too long for any network. Shorten it.",
        );
    }

    if let Some(product_id) = draft.product_id
        && crate::products::queries::detail(db, user_id, product_id)
            .await?
            .is_none()
    {
        problems.add(
            "product_id",
            "That product isn't one of yours any more. Start the post again from Products.",
        );
    }

    let mut media = Vec::new();
    if !draft.media_ids.is_empty() {
        let found: HashMap<Uuid, media::Model> = media::Entity::find()
            .filter(media::Column::UserId.eq(user_id))
            .filter(media::Column::Id.is_in(draft.media_ids.clone()))
            .all(db)
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect();
        for (i, id) in draft.media_ids.iter().enumerate() {
            if draft.media_ids[..i].contains(id) {
                problems.add(
                    "media_ids",
                    "The same photo or video is attached twice. Remove one.",
                );
            } else if let Some(m) = found.get(id) {
                media.push(m.clone());
            } else {
                problems.add("media_ids", "One of the attached files isn't in your media library any more. Remove it and attach it again.");
            }
        }
    }
    if media.len() > 35 {
        problems.add("media_ids", "Attach at most 35 photos or videos.");
    }
    let facts: Vec<MediaFacts> = media.iter().filter_map(media_facts).collect();

    let connections: HashMap<Uuid, connections::Model> = postable_connections(db, user_id)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let mut targets = Vec::new();
    for (i, t) in draft.targets.iter().enumerate() {
        if draft.targets[..i]
            .iter()
            .any(|o| o.connection_id == t.connection_id)
        {
            problems.add(
                "targets",
                "An account is chosen twice. Choose each account once.",
            );
            continue;
        }
        let Some(connection) = connections.get(&t.connection_id) else {
            problems.add(
                "targets",
                "One of the chosen accounts isn't connected any more. Choose another.",
            );
            continue;
        };
        let Ok(platform) = connection.platform.parse::<Platform>() else {
            continue;
        };
        if t.options.platform() != platform {
            problems.add(
                format!("targets.{}.options", connection.id),
                "These options belong to another network.",
            );
            continue;
        }
        let caption_override = t.caption.clone().filter(|c| !c.trim().is_empty());
        let caption = caption_override
            .clone()
            .unwrap_or_else(|| draft.body.clone());
        let options = with_account_defaults(t.options.clone(), connection);
        let context = context_for(connection);
        let mut issues = preflight::check(&TargetDraft {
            platform,
            caption: &caption,
            media: &facts,
            options: &options,
            context: &context,
        });
        if let TargetOptions::Youtube(o) = &options
            && let Some(public_at) = o.publish_at
        {
            let goes_out = match draft.when {
                When::At(at) | When::Draft(Some(at)) => at,
                When::Now | When::Draft(None) => Utc::now(),
            };
            if public_at <= goes_out {
                issues.push(Issue {
                    severity: Severity::Error,
                    field: "options.publish_at",
                    message: "The time the video goes public must be after it is uploaded (the post's own time). Choose a later time, or leave it empty to keep the video private.".into(),
                });
            }
        }
        let as_organization = connection
            .metadata
            .get("author_urn")
            .and_then(|u| u.as_str())
            .is_some_and(|u| u.starts_with("urn:li:organization:"));
        let has_video = facts
            .iter()
            .any(|f| f.kind() == crate::domain::MediaKind::Video);
        if let Some(scope) = missing_publish_scope(
            platform,
            &connection.scopes,
            !facts.is_empty(),
            as_organization,
        )
        .or_else(|| {
            // Page videos need `publish_video` too; Pages connected before we asked for it lack it.
            (platform == Platform::Facebook
                && has_video
                && !connection.scopes.is_empty()
                && !connection.scopes.iter().any(|s| s == "publish_video"))
            .then_some("publish_video")
        }) {
            issues.push(Issue {
                severity: Severity::Warning,
                field: "connection",
                message: format!(
                    "{} didn't give Picscripter permission to publish for {} (\"{scope}\"). Reconnect it and allow every permission asked.",
                    platform.display_name(),
                    connection.display_name
                ),
            });
        }
        if connection.status == ConnectionStatus::NeedsReauth {
            issues.push(Issue {
                severity: Severity::Warning,
                field: "connection",
                message: format!(
                    "{} needs to be reconnected before this can be published. Reconnect it under Connections.",
                    connection.display_name
                ),
            });
        }
        targets.push(CheckedTarget {
            connection: connection.clone(),
            platform,
            caption,
            caption_override,
            options,
            issues,
        });
    }
    if problems.is_empty() {
        Ok(Ok(Checked { targets, media }))
    } else {
        Ok(Err(problems))
    }
}

/// The permission a platform needs to publish that the account's grant lacks, if any. Grants
/// that don't list their scopes are taken as complete.
pub fn missing_publish_scope(
    platform: Platform,
    granted: &[String],
    has_media: bool,
    as_organization: bool,
) -> Option<&'static str> {
    if granted.is_empty() {
        return None;
    }
    let needed: &[&'static str] = match platform {
        Platform::X if has_media => &["tweet.write", "media.write"],
        Platform::X => &["tweet.write"],
        Platform::Instagram => &["instagram_business_content_publish"],
        Platform::Facebook => &["pages_manage_posts"],
        Platform::Linkedin if as_organization => &["w_organization_social"],
        Platform::Linkedin => &["w_member_social"],
        Platform::Pinterest => &["pins:write"],
        Platform::Tiktok => &["video.publish"],
        Platform::Youtube => &["https://www.googleapis.com/auth/youtube.upload"],
        Platform::Shopify | Platform::Etsy | Platform::Squarespace => &[],
    };
    needed
        .iter()
        .copied()
        .find(|n| !granted.iter().any(|g| g == n))
}

/// Warnings that depend on how this Picscripter is reached: platforms that fetch media by URL
/// (Instagram, Facebook, Pinterest, TikTok photos) can't fetch from `localhost` or a private
/// address. The sandbox can, so it is spared the warning.
pub fn add_environment_warnings(config: &crate::config::Config, checked: &mut Checked) {
    if checked.media.is_empty()
        || config.sandbox_url.is_some()
        || !is_private_host(&config.public_base_url)
    {
        return;
    }
    for t in &mut checked.targets {
        let pulls = match t.platform {
            Platform::Instagram | Platform::Facebook => true,
            Platform::Pinterest => checked.media.iter().any(|m| m.mime.starts_with("image/")),
            Platform::Tiktok => checked.media.iter().all(|m| m.mime.starts_with("image/")),
            _ => false,
        };
        if pulls {
            t.issues.push(Issue {
                severity: Severity::Warning,
                field: "media",
                message: format!(
                    "{} fetches photos and videos from Picscripter's address, {}, which the internet can't reach. Set PUBLIC_BASE_URL to a public https address before this is due.",
                    t.platform.display_name(),
                    config.public_base_url.as_str().trim_end_matches('/')
                ),
            });
        }
    }
}

/// Whether a URL's host is this machine or a private network.
pub fn is_private_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => {
            d == "localhost"
                || d.ends_with(".localhost")
                || d.ends_with(".local")
                || d.ends_with(".internal")
                || !d.contains('.')
        }
        Some(url::Host::Ipv4(ip)) => {
            ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified()
        }
        Some(url::Host::Ipv6(ip)) => {
            ip.is_loopback() || ip.is_unspecified() || (ip.segments()[0] & 0xfe00) == 0xfc00
        }
        None => true,
    }
}

/// Refuses to schedule what preflight blocks, or a post with nowhere to go.
fn require_publishable(draft: &Draft, checked: &Checked) -> Result<(), Problems> {
    if matches!(draft.when, When::Draft(_)) {
        return Ok(());
    }
    let mut problems = Problems::default();
    if checked.targets.is_empty() {
        problems.add("targets", "Choose at least one account to post to.");
    }
    if let Some(message) = unfilled_placeholders(&draft.body) {
        problems.add("body", message);
    }
    for t in &checked.targets {
        if let Some(message) = t
            .caption_override
            .as_deref()
            .and_then(unfilled_placeholders)
        {
            problems.add(format!("targets.{}.caption", t.connection.id), message);
        }
    }
    for t in &checked.targets {
        for issue in t.issues.iter().filter(|i| i.is_error()) {
            problems.add(
                format!("targets.{}.{}", t.connection.id, issue.field),
                issue.message.clone(),
            );
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Template placeholders left in a text would be posted as written; they must be filled first.
fn unfilled_placeholders(text: &str) -> Option<String> {
    let names: Vec<String> = crate::domain::Template::parse(text)
        .ok()?
        .placeholders()
        .iter()
        .map(|p| p.to_string())
        .collect();
    (!names.is_empty()).then(|| {
        format!(
            "Replace {} with the real text before scheduling: it would be posted exactly as written.",
            names.join(", ")
        )
    })
}

fn target_plan(when: When, now: DateTime<Utc>) -> (TargetStatus, Option<DateTime<Utc>>) {
    match when {
        When::Draft(_) => (TargetStatus::Draft, None),
        When::At(t) => (TargetStatus::Scheduled, Some(t)),
        When::Now => (TargetStatus::Scheduled, Some(now)),
    }
}

fn scheduled_at(when: When, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match when {
        When::Draft(t) => t,
        When::At(t) => Some(t),
        When::Now => Some(now),
    }
}

pub fn to_db_target(s: TargetStatus) -> DbTargetStatus {
    match s {
        TargetStatus::Draft => DbTargetStatus::Draft,
        TargetStatus::Scheduled => DbTargetStatus::Scheduled,
        TargetStatus::Queued => DbTargetStatus::Queued,
        TargetStatus::Publishing => DbTargetStatus::Publishing,
        TargetStatus::Published => DbTargetStatus::Published,
        TargetStatus::RetryWait => DbTargetStatus::RetryWait,
        TargetStatus::Failed => DbTargetStatus::Failed,
        TargetStatus::Unknown => DbTargetStatus::Unknown,
        TargetStatus::Cancelled => DbTargetStatus::Cancelled,
    }
}

pub fn from_db_target(s: DbTargetStatus) -> TargetStatus {
    match s {
        DbTargetStatus::Draft => TargetStatus::Draft,
        DbTargetStatus::Scheduled => TargetStatus::Scheduled,
        DbTargetStatus::Queued => TargetStatus::Queued,
        DbTargetStatus::Publishing => TargetStatus::Publishing,
        DbTargetStatus::Published => TargetStatus::Published,
        DbTargetStatus::RetryWait => TargetStatus::RetryWait,
        DbTargetStatus::Failed => TargetStatus::Failed,
        DbTargetStatus::Unknown => TargetStatus::Unknown,
        DbTargetStatus::Cancelled => TargetStatus::Cancelled,
    }
}

pub fn to_db_post(s: PostStatus) -> DbPostStatus {
    match s {
        PostStatus::Draft => DbPostStatus::Draft,
        PostStatus::Scheduled => DbPostStatus::Scheduled,
        PostStatus::Publishing => DbPostStatus::Publishing,
        PostStatus::Published => DbPostStatus::Published,
        PostStatus::Partial => DbPostStatus::Partial,
        PostStatus::Failed => DbPostStatus::Failed,
        PostStatus::Unknown => DbPostStatus::Unknown,
        PostStatus::Cancelled => DbPostStatus::Cancelled,
    }
}

/// Recomputes and stores a post's status from its targets.
pub async fn refresh_status(
    db: &impl ConnectionTrait,
    post_id: Uuid,
) -> Result<PostStatus, sea_orm::DbErr> {
    let statuses: Vec<TargetStatus> = post_targets::Entity::find()
        .filter(post_targets::Column::PostId.eq(post_id))
        .all(db)
        .await?
        .into_iter()
        .map(|t| from_db_target(t.status))
        .collect();
    let status = PostStatus::derive(&statuses);
    posts::Entity::update_many()
        .col_expr(posts::Column::Status, Expr::value(to_db_post(status)))
        .col_expr(posts::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(posts::Column::Id.eq(post_id))
        .exec(db)
        .await?;
    Ok(status)
}

async fn write_media(
    txn: &DatabaseTransaction,
    post_id: Uuid,
    media: &[media::Model],
) -> Result<(), sea_orm::DbErr> {
    post_media::Entity::delete_many()
        .filter(post_media::Column::PostId.eq(post_id))
        .exec(txn)
        .await?;
    for (position, m) in media.iter().enumerate() {
        post_media::ActiveModel {
            post_id: Set(post_id),
            position: Set(position as i32),
            media_id: Set(m.id),
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}

fn new_target(
    post_id: Uuid,
    t: &CheckedTarget,
    status: TargetStatus,
    due: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> post_targets::ActiveModel {
    post_targets::ActiveModel {
        id: Set(Uuid::now_v7()),
        post_id: Set(post_id),
        connection_id: Set(t.connection.id),
        caption: Set(t.caption_override.clone()),
        options: Set(t.options.to_json()),
        status: Set(to_db_target(status)),
        attempt_count: Set(0),
        next_attempt_at: Set(due),
        queued_at: Set(None),
        lease_owner: Set(None),
        lease_expires_at: Set(None),
        remote_id: Set(None),
        remote_url: Set(None),
        progress: Set(Value::Object(Default::default())),
        published_at: Set(None),
        last_error: Set(None),
        last_error_class: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// Creates a post. Scheduling (or publishing now) requires a target and no blocking issue.
pub async fn create(
    db: &DatabaseConnection,
    user_id: Uuid,
    draft: &Draft,
    now: DateTime<Utc>,
) -> Result<(posts::Model, Checked), PostError> {
    let checked = validate(db, user_id, draft)
        .await?
        .map_err(PostError::Invalid)?;
    let txn = db.begin().await?;
    let post = insert(&txn, user_id, draft, &checked, now).await?;
    txn.commit().await?;
    let post = posts::Entity::find_by_id(post.id)
        .one(db)
        .await?
        .ok_or(PostError::NotFound)?;
    Ok((post, checked))
}

/// Everything `create` checks before writing: ownership, preflight, and (unless a draft) that
/// the post has somewhere to go and nothing blocking. The CSV import runs each row through it.
pub async fn validate(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    draft: &Draft,
) -> Result<Result<Checked, Problems>, sea_orm::DbErr> {
    Ok(match check(db, user_id, draft).await? {
        Ok(checked) => require_publishable(draft, &checked).map(|()| checked),
        Err(problems) => Err(problems),
    })
}

/// Writes a post `validate` accepted, inside the caller's transaction (one post from the
/// composer, or every row of a CSV import at once).
pub async fn insert(
    txn: &DatabaseTransaction,
    user_id: Uuid,
    draft: &Draft,
    checked: &Checked,
    now: DateTime<Utc>,
) -> Result<posts::Model, sea_orm::DbErr> {
    let (status, due) = target_plan(draft.when, now);
    let post = posts::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        body: Set(draft.body.clone()),
        product_id: Set(draft.product_id),
        template_id: Set(draft.template_id),
        scheduled_at: Set(scheduled_at(draft.when, now)),
        status: Set(DbPostStatus::Draft),
        utm_enabled: Set(draft.utm_enabled),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?;
    write_media(txn, post.id, &checked.media).await?;
    for t in &checked.targets {
        new_target(post.id, t, status, due, now).insert(txn).await?;
    }
    refresh_status(txn, post.id).await?;
    Ok(post)
}

/// Locks a post of the user and its targets for a change.
async fn lock(
    txn: &DatabaseTransaction,
    user_id: Uuid,
    post_id: Uuid,
) -> Result<(posts::Model, Vec<post_targets::Model>), PostError> {
    // Targets first, then the post: the worker's statements lock in this order too (a target,
    // then its post's status), so the two can never wait on each other in a cycle.
    let targets = post_targets::Entity::find()
        .filter(post_targets::Column::PostId.eq(post_id))
        .filter(
            post_targets::Column::PostId.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(posts::Column::Id)
                    .from(posts::Entity)
                    .and_where(posts::Column::UserId.eq(user_id))
                    .to_owned(),
            ),
        )
        .order_by_asc(post_targets::Column::CreatedAt)
        .lock_exclusive()
        .all(txn)
        .await?;
    let post = posts::Entity::find_by_id(post_id)
        .filter(posts::Column::UserId.eq(user_id))
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(PostError::NotFound)?;
    Ok((post, targets))
}

/// Why a post can't be edited now, in words, if it can't.
pub fn edit_refusal(targets: &[post_targets::Model]) -> Option<String> {
    let statuses: Vec<TargetStatus> = targets.iter().map(|t| from_db_target(t.status)).collect();
    if statuses
        .iter()
        .any(|s| matches!(s, TargetStatus::Queued | TargetStatus::Publishing))
    {
        return Some("This post is being published right now, so it can't be changed. Wait a moment and check its status.".into());
    }
    if statuses
        .iter()
        .any(|s| matches!(s, TargetStatus::Published | TargetStatus::Unknown))
    {
        return Some("This post has already gone out on at least one network, so it can't be changed. Duplicate it to post it again.".into());
    }
    None
}

/// Replaces a post's content, accounts, media and time, atomically.
pub async fn update(
    db: &DatabaseConnection,
    user_id: Uuid,
    post_id: Uuid,
    draft: &Draft,
    now: DateTime<Utc>,
) -> Result<(posts::Model, Checked), PostError> {
    let checked = check(db, user_id, draft)
        .await?
        .map_err(PostError::Invalid)?;
    require_publishable(draft, &checked).map_err(PostError::Invalid)?;
    let (status, due) = target_plan(draft.when, now);
    let txn = db.begin().await?;
    let (post, existing) = lock(&txn, user_id, post_id).await?;
    if let Some(why) = edit_refusal(&existing) {
        return Err(PostError::Locked(why));
    }
    let mut active: posts::ActiveModel = post.into();
    active.body = Set(draft.body.clone());
    active.product_id = Set(draft.product_id);
    active.template_id = Set(draft.template_id);
    active.utm_enabled = Set(draft.utm_enabled);
    active.scheduled_at = Set(scheduled_at(draft.when, now));
    active.updated_at = Set(now);
    active.update(&txn).await?;
    write_media(&txn, post_id, &checked.media).await?;
    let keep: Vec<Uuid> = checked.targets.iter().map(|t| t.connection.id).collect();
    for old in existing.iter().filter(|t| !keep.contains(&t.connection_id)) {
        post_targets::Entity::delete_by_id(old.id)
            .exec(&txn)
            .await?;
    }
    for t in &checked.targets {
        match existing.iter().find(|e| e.connection_id == t.connection.id) {
            Some(old) => {
                let mut a: post_targets::ActiveModel = old.clone().into();
                a.caption = Set(t.caption_override.clone());
                a.options = Set(t.options.to_json());
                a.status = Set(to_db_target(status));
                a.next_attempt_at = Set(due);
                a.last_error = Set(None);
                a.last_error_class = Set(None);
                a.updated_at = Set(now);
                a.update(&txn).await?;
            }
            None => {
                new_target(post_id, t, status, due, now)
                    .insert(&txn)
                    .await?;
            }
        }
    }
    refresh_status(&txn, post_id).await?;
    txn.commit().await?;
    let post = posts::Entity::find_by_id(post_id)
        .one(db)
        .await?
        .ok_or(PostError::NotFound)?;
    Ok((post, checked))
}

/// Moves a post to another time, keeping everything else (drag and drop on the calendar).
pub async fn reschedule(
    db: &DatabaseConnection,
    user_id: Uuid,
    post_id: Uuid,
    at: DateTime<Utc>,
) -> Result<posts::Model, PostError> {
    let txn = db.begin().await?;
    let (post, targets) = lock(&txn, user_id, post_id).await?;
    if let Some(why) = edit_refusal(&targets) {
        return Err(PostError::Locked(why));
    }
    let now = Utc::now();
    for t in &targets {
        if matches!(
            from_db_target(t.status),
            TargetStatus::Scheduled | TargetStatus::RetryWait
        ) {
            let mut a: post_targets::ActiveModel = t.clone().into();
            a.status = Set(DbTargetStatus::Scheduled);
            a.next_attempt_at = Set(Some(at));
            a.updated_at = Set(now);
            a.update(&txn).await?;
        }
    }
    let mut active: posts::ActiveModel = post.into();
    active.scheduled_at = Set(Some(at));
    active.updated_at = Set(now);
    active.update(&txn).await?;
    refresh_status(&txn, post_id).await?;
    txn.commit().await?;
    posts::Entity::find_by_id(post_id)
        .one(db)
        .await?
        .ok_or(PostError::NotFound)
}

/// Cancels whatever hasn't gone out yet.
pub async fn cancel(
    db: &DatabaseConnection,
    user_id: Uuid,
    post_id: Uuid,
) -> Result<usize, PostError> {
    let txn = db.begin().await?;
    let (_, targets) = lock(&txn, user_id, post_id).await?;
    if targets
        .iter()
        .any(|t| from_db_target(t.status) == TargetStatus::Publishing)
    {
        return Err(PostError::Locked(
            "This post is being published right now, so it can't be cancelled.".into(),
        ));
    }
    let mut n = 0;
    for t in &targets {
        let s = from_db_target(t.status);
        if matches!(
            s,
            TargetStatus::Draft
                | TargetStatus::Scheduled
                | TargetStatus::Queued
                | TargetStatus::RetryWait
        ) {
            let mut a: post_targets::ActiveModel = t.clone().into();
            a.status = Set(DbTargetStatus::Cancelled);
            a.next_attempt_at = Set(None);
            a.updated_at = Set(Utc::now());
            a.update(&txn).await?;
            n += 1;
        }
    }
    refresh_status(&txn, post_id).await?;
    txn.commit().await?;
    Ok(n)
}

/// Deletes a post, unless it is being published at this moment.
pub async fn delete(
    db: &DatabaseConnection,
    user_id: Uuid,
    post_id: Uuid,
) -> Result<(), PostError> {
    let txn = db.begin().await?;
    let (_, targets) = lock(&txn, user_id, post_id).await?;
    if targets.iter().any(|t| {
        matches!(
            from_db_target(t.status),
            TargetStatus::Queued | TargetStatus::Publishing
        )
    }) {
        return Err(PostError::Locked("This post is being published right now, so it can't be deleted. Wait a moment and try again.".into()));
    }
    posts::Entity::delete_by_id(post_id).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// Copies a post as a new draft with the same text, media, accounts and options.
pub async fn duplicate(
    db: &DatabaseConnection,
    user_id: Uuid,
    post_id: Uuid,
) -> Result<posts::Model, PostError> {
    let original = posts::Entity::find_by_id(post_id)
        .filter(posts::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .ok_or(PostError::NotFound)?;
    let targets = post_targets::Entity::find()
        .filter(post_targets::Column::PostId.eq(post_id))
        .all(db)
        .await?;
    let media = post_media::Entity::find()
        .filter(post_media::Column::PostId.eq(post_id))
        .order_by_asc(post_media::Column::Position)
        .all(db)
        .await?;
    let now = Utc::now();
    let txn = db.begin().await?;
    let copy = posts::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        body: Set(original.body.clone()),
        product_id: Set(original.product_id),
        template_id: Set(original.template_id),
        scheduled_at: Set(None),
        status: Set(DbPostStatus::Draft),
        utm_enabled: Set(original.utm_enabled),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    for m in media {
        post_media::ActiveModel {
            post_id: Set(copy.id),
            position: Set(m.position),
            media_id: Set(m.media_id),
        }
        .insert(&txn)
        .await?;
    }
    for t in targets {
        post_targets::ActiveModel {
            id: Set(Uuid::now_v7()),
            post_id: Set(copy.id),
            connection_id: Set(t.connection_id),
            caption: Set(t.caption),
            options: Set(t.options),
            status: Set(DbTargetStatus::Draft),
            attempt_count: Set(0),
            next_attempt_at: Set(None),
            queued_at: Set(None),
            lease_owner: Set(None),
            lease_expires_at: Set(None),
            remote_id: Set(None),
            remote_url: Set(None),
            progress: Set(Value::Object(Default::default())),
            published_at: Set(None),
            last_error: Set(None),
            last_error_class: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(copy)
}

/// Sends what hasn't gone out (drafts, scheduled, failed, cancelled) out now. Preflight must pass.
pub async fn publish_now(
    db: &DatabaseConnection,
    user_id: Uuid,
    post_id: Uuid,
) -> Result<usize, PostError> {
    requeue(
        db,
        user_id,
        post_id,
        &[
            TargetStatus::Draft,
            TargetStatus::Scheduled,
            TargetStatus::RetryWait,
            TargetStatus::Failed,
            TargetStatus::Cancelled,
        ],
    )
    .await
}

/// Sends the targets that failed out again now.
pub async fn retry_failed(
    db: &DatabaseConnection,
    user_id: Uuid,
    post_id: Uuid,
) -> Result<usize, PostError> {
    requeue(db, user_id, post_id, &[TargetStatus::Failed]).await
}

async fn requeue(
    db: &DatabaseConnection,
    user_id: Uuid,
    post_id: Uuid,
    from: &[TargetStatus],
) -> Result<usize, PostError> {
    let draft = load_draft(db, user_id, post_id).await?;
    let checked = check(
        db,
        user_id,
        &Draft {
            when: When::Now,
            ..draft.clone()
        },
    )
    .await?
    .map_err(PostError::Invalid)?;
    let now = Utc::now();
    let txn = db.begin().await?;
    let (post, targets) = lock(&txn, user_id, post_id).await?;
    let mut problems = Problems::default();
    let mut n = 0;
    for t in targets
        .iter()
        .filter(|t| from.contains(&from_db_target(t.status)))
    {
        if let Some(c) = checked
            .targets
            .iter()
            .find(|c| c.connection.id == t.connection_id)
        {
            for issue in c.issues.iter().filter(|i| i.is_error()) {
                problems.add(
                    format!("targets.{}.{}", c.connection.id, issue.field),
                    issue.message.clone(),
                );
            }
        }
        let mut a: post_targets::ActiveModel = t.clone().into();
        a.status = Set(DbTargetStatus::Scheduled);
        a.next_attempt_at = Set(Some(now));
        a.last_error = Set(None);
        a.last_error_class = Set(None);
        // A fresh start: attempts count again from one, and steps recorded before a refusal
        // (a container the platform rejected) aren't reused.
        a.attempt_count = Set(0);
        if t.last_error_class != Some(crate::entities::enums::ErrorClass::Auth) {
            a.progress = Set(Value::Object(Default::default()));
        }
        a.updated_at = Set(now);
        a.update(&txn).await?;
        n += 1;
    }
    if !problems.is_empty() {
        return Err(PostError::Invalid(problems));
    }
    if n > 0 && post.scheduled_at.is_none_or(|s| s > now) {
        let mut a: posts::ActiveModel = post.into();
        a.scheduled_at = Set(Some(now));
        a.update(&txn).await?;
    }
    refresh_status(&txn, post_id).await?;
    txn.commit().await?;
    Ok(n)
}

/// Settles a target whose outcome was unknown as published, on the seller's word (they saw it
/// on the network). `url`, when given, is where it is.
pub async fn mark_published(
    db: &DatabaseConnection,
    user_id: Uuid,
    post_id: Uuid,
    target_id: Uuid,
    url: Option<String>,
) -> Result<(), PostError> {
    settle_unknown(
        db,
        (user_id, post_id, target_id),
        "Only a post whose outcome is unknown can be marked as published.",
        |a, now| {
            a.status = Set(DbTargetStatus::Published);
            a.published_at = Set(Some(now));
            if url.is_some() {
                a.remote_url = Set(url);
            }
            a.next_attempt_at = Set(None);
        },
    )
    .await
}

/// Sends a target whose outcome was unknown again, on the seller's word that it didn't go out.
pub async fn publish_again(
    db: &DatabaseConnection,
    user_id: Uuid,
    post_id: Uuid,
    target_id: Uuid,
) -> Result<(), PostError> {
    settle_unknown(
        db,
        (user_id, post_id, target_id),
        "Only a post whose outcome is unknown can be published again this way.",
        |a, now| {
            a.status = Set(DbTargetStatus::Scheduled);
            a.next_attempt_at = Set(Some(now));
            a.attempt_count = Set(0);
            a.progress = Set(Value::Object(Default::default()));
        },
    )
    .await
}

/// Changes a target of unknown outcome as `change` says (its error cleared), under the post's
/// lock, and refreshes the post's status; any other target status is refused with `refusal`.
async fn settle_unknown(
    db: &DatabaseConnection,
    (user_id, post_id, target_id): (Uuid, Uuid, Uuid),
    refusal: &str,
    change: impl FnOnce(&mut post_targets::ActiveModel, DateTime<Utc>),
) -> Result<(), PostError> {
    let txn = db.begin().await?;
    let (_, targets) = lock(&txn, user_id, post_id).await?;
    let t = targets
        .iter()
        .find(|t| t.id == target_id)
        .ok_or(PostError::NotFound)?;
    if from_db_target(t.status) != TargetStatus::Unknown {
        return Err(PostError::Locked(refusal.into()));
    }
    let now = Utc::now();
    let mut a: post_targets::ActiveModel = t.clone().into();
    change(&mut a, now);
    a.last_error = Set(None);
    a.last_error_class = Set(None);
    a.updated_at = Set(now);
    a.update(&txn).await?;
    refresh_status(&txn, post_id).await?;
    txn.commit().await?;
    Ok(())
}

/// After reconnecting an account: sends out again every post of `user_id` that failed on it
/// because it needed re-authorization. Returns how many.
pub async fn retry_auth_failures(
    db: &DatabaseConnection,
    user_id: Uuid,
    connection_id: Uuid,
) -> Result<usize, PostError> {
    let rows = <posts::Model as sea_orm::FromQueryResult>::find_by_statement(sea_orm::Statement::from_sql_and_values(
        sea_orm::DbBackend::Postgres,
        "WITH retried AS ( \
             UPDATE post_targets t SET status = 'scheduled', next_attempt_at = now(), attempt_count = 0, \
                 last_error = NULL, last_error_class = NULL, updated_at = now() \
             FROM posts p \
             WHERE p.id = t.post_id AND p.user_id = $1 AND t.connection_id = $2 \
                 AND t.status = 'failed' AND t.last_error_class = 'auth' \
             RETURNING t.post_id) \
         SELECT p.* FROM posts p WHERE p.id IN (SELECT post_id FROM retried)",
        [user_id.into(), connection_id.into()],
    ))
    .all(db)
    .await?;
    let mut n = 0;
    for post in &rows {
        let txn = db.begin().await?;
        refresh_status(&txn, post.id).await?;
        txn.commit().await?;
        n += 1;
    }
    Ok(n)
}

/// How many of `user_id`'s targets on `connection_id` failed because the account needed
/// re-authorization.
pub async fn auth_failures(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    connection_id: Uuid,
) -> Result<i64, sea_orm::DbErr> {
    let row = db
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT count(*) FROM post_targets t JOIN posts p ON p.id = t.post_id \
             WHERE p.user_id = $1 AND t.connection_id = $2 AND t.status = 'failed' AND t.last_error_class = 'auth'",
            [user_id.into(), connection_id.into()],
        ))
        .await?;
    Ok(row
        .and_then(|r| r.try_get_by_index::<i64>(0).ok())
        .unwrap_or(0))
}

/// A stored post as a `Draft` again (for editing, duplicating and re-checking).
pub async fn load_draft(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    post_id: Uuid,
) -> Result<Draft, PostError> {
    let post = posts::Entity::find_by_id(post_id)
        .filter(posts::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .ok_or(PostError::NotFound)?;
    let targets = post_targets::Entity::find()
        .filter(post_targets::Column::PostId.eq(post_id))
        .find_also_related(connections::Entity)
        .order_by_asc(post_targets::Column::CreatedAt)
        .all(db)
        .await?;
    let media_ids = post_media::Entity::find()
        .filter(post_media::Column::PostId.eq(post_id))
        .order_by_asc(post_media::Column::Position)
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.media_id)
        .collect();
    let mut inputs = Vec::new();
    for (t, c) in targets {
        let Some(c) = c else { continue };
        let Ok(platform) = c.platform.parse::<Platform>() else {
            continue;
        };
        let options = TargetOptions::from_json(platform, &t.options)
            .ok()
            .or_else(|| TargetOptions::default_for(platform))
            .ok_or(PostError::NotFound)?;
        inputs.push(TargetInput {
            connection_id: t.connection_id,
            caption: t.caption,
            options,
        });
    }
    let when = match (post.status, post.scheduled_at) {
        (DbPostStatus::Draft, at) => When::Draft(at),
        (_, Some(at)) => When::At(at),
        (_, None) => When::Draft(None),
    };
    Ok(Draft {
        body: post.body,
        media_ids,
        targets: inputs,
        when,
        product_id: post.product_id,
        template_id: post.template_id,
        utm_enabled: post.utm_enabled,
    })
}

/// Bulk actions from the posts list; each post is handled on its own and the count returned.
pub async fn bulk(
    db: &DatabaseConnection,
    user_id: Uuid,
    ids: &[Uuid],
    delete_them: bool,
) -> Result<(usize, Vec<String>), sea_orm::DbErr> {
    let mut done = 0;
    let mut refused = Vec::new();
    for id in ids {
        let result = if delete_them {
            delete(db, user_id, *id).await.map(|_| 1)
        } else {
            cancel(db, user_id, *id).await
        };
        match result {
            Ok(_) => done += 1,
            Err(PostError::Db(e)) => return Err(e),
            Err(PostError::Locked(why)) => refused.push(why),
            Err(_) => {}
        }
    }
    Ok((done, refused))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_without_the_publish_permission_is_named() {
        let granted = vec!["tweet.read".to_owned(), "tweet.write".to_owned()];
        assert_eq!(
            missing_publish_scope(Platform::X, &granted, false, false),
            None
        );
        assert_eq!(
            missing_publish_scope(Platform::X, &granted, true, false),
            Some("media.write")
        );
        assert_eq!(
            missing_publish_scope(
                Platform::Facebook,
                &["pages_show_list".to_owned()],
                false,
                false
            ),
            Some("pages_manage_posts")
        );
        // Grants that don't list scopes aren't second-guessed.
        assert_eq!(
            missing_publish_scope(Platform::Linkedin, &[], false, false),
            None
        );
        let member_only = ["openid".to_owned(), "w_member_social".to_owned()];
        assert_eq!(
            missing_publish_scope(Platform::Linkedin, &member_only, false, false),
            None
        );
        assert_eq!(
            missing_publish_scope(Platform::Linkedin, &member_only, false, true),
            Some("w_organization_social"),
            "a company page needs the organization permission"
        );
    }

    #[test]
    fn local_and_private_addresses_are_not_reachable_by_platforms() {
        for private in [
            "http://localhost:8080",
            "http://127.0.0.1:8080",
            "http://192.168.1.5",
            "http://picscripter:8080",
            "http://[::1]:8080",
        ] {
            assert!(
                is_private_host(&url::Url::parse(private).unwrap()),
                "{private}"
            );
        }
        for public in ["https://social.shop.example", "http://203.0.113.7"] {
            assert!(
                !is_private_host(&url::Url::parse(public).unwrap()),
                "{public}"
            );
        }
    }
}

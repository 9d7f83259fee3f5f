//! Read models for the calendar, the posts list, the dashboard and the API. Each is a handful
//! of set-based queries (posts, then their targets and first media for all of them at once),
//! never one query per post: a month with 500 posts is three round trips.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement, Value as DbValue};
use uuid::Uuid;

use crate::domain::Platform;

/// A post as the calendar and lists show it.
#[derive(Clone, Debug)]
pub struct PostSummary {
    pub id: Uuid,
    pub body: String,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub targets: Vec<TargetSummary>,
    pub first_media: Option<Uuid>,
    /// The product the post was made from, if any.
    pub product_id: Option<Uuid>,
    /// Whether the product's links get UTM parameters when published.
    pub utm_enabled: bool,
}

#[derive(Clone, Debug)]
pub struct TargetSummary {
    pub id: Uuid,
    pub connection_id: Uuid,
    pub platform: Platform,
    pub account: String,
    pub status: String,
    pub last_error: Option<String>,
    pub remote_url: Option<String>,
    pub attempt_count: i32,
    pub remote_id: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    /// `retryable`, `auth`, `permanent` or `unknown`, when the last attempt failed.
    pub last_error_class: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl PostSummary {
    /// Whether something is about to happen to this post (due within two minutes, queued,
    /// publishing, or waiting for a retry soon): pages showing it keep their status fresh.
    pub fn in_motion(&self, now: DateTime<Utc>) -> bool {
        self.targets.iter().any(|t| match t.status.as_str() {
            "queued" | "publishing" => true,
            "scheduled" | "retry_wait" => t
                .next_attempt_at
                .is_some_and(|at| at <= now + chrono::Duration::minutes(2)),
            _ => false,
        })
    }

    /// The first line of the text, shortened for a card.
    pub fn excerpt(&self, max: usize) -> String {
        excerpt(&self.body, max)
    }
}

/// The first non-blank line of `body`, shortened to `max` characters with an ellipsis.
pub fn excerpt(body: &str, max: usize) -> String {
    let line = body
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    if line.chars().count() <= max {
        return if line.is_empty() {
            "(no text)".into()
        } else {
            line.to_owned()
        };
    }
    let mut out: String = line.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// What the calendar shows of a post: one row per post from one statement, with only the head
/// of its text.
#[derive(Debug)]
pub struct CalendarPost {
    pub id: Uuid,
    /// The first few hundred characters of the text (enough for any excerpt).
    pub head: String,
    pub scheduled_at: DateTime<Utc>,
    pub status: String,
    /// The networks of its targets, each once, in the order they were added.
    pub platforms: Vec<String>,
    pub first_media: Option<Uuid>,
    /// Something is about to happen to it (see [`PostSummary::in_motion`]).
    pub in_motion: bool,
}

#[derive(FromQueryResult)]
struct PostRow {
    id: Uuid,
    body: String,
    scheduled_at: Option<DateTime<Utc>>,
    status: String,
    created_at: DateTime<Utc>,
    product_id: Option<Uuid>,
    utm_enabled: bool,
}

#[derive(FromQueryResult)]
struct TargetRow {
    id: Uuid,
    post_id: Uuid,
    connection_id: Uuid,
    platform: String,
    display_name: String,
    status: String,
    last_error: Option<String>,
    remote_url: Option<String>,
    remote_id: Option<String>,
    attempt_count: i32,
    published_at: Option<DateTime<Utc>>,
    last_error_class: Option<String>,
    next_attempt_at: Option<DateTime<Utc>>,
}

#[derive(FromQueryResult)]
struct FirstMedia {
    post_id: Uuid,
    media_id: Uuid,
}

async fn attach(
    db: &impl ConnectionTrait,
    rows: Vec<PostRow>,
) -> Result<Vec<PostSummary>, sea_orm::DbErr> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let id_array = DbValue::Array(
        sea_orm::sea_query::ArrayType::Uuid,
        Some(Box::new(
            ids.iter().map(|i| DbValue::Uuid(Some(*i))).collect(),
        )),
    );
    let targets = TargetRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT t.id, t.post_id, t.connection_id, c.platform, c.display_name, t.status, t.last_error, t.remote_url, \
                t.remote_id, t.attempt_count, t.published_at, t.last_error_class, t.next_attempt_at \
         FROM post_targets t JOIN connections c ON c.id = t.connection_id \
         WHERE t.post_id = ANY($1) ORDER BY t.created_at",
        [id_array.clone()],
    ))
    .all(db)
    .await?;
    let media = FirstMedia::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT DISTINCT ON (post_id) post_id, media_id FROM post_media WHERE post_id = ANY($1) ORDER BY post_id, position",
        [id_array],
    ))
    .all(db)
    .await?;
    let mut by_post: HashMap<Uuid, Vec<TargetSummary>> = HashMap::new();
    for t in targets {
        let Ok(platform) = t.platform.parse::<Platform>() else {
            continue;
        };
        by_post.entry(t.post_id).or_default().push(TargetSummary {
            id: t.id,
            connection_id: t.connection_id,
            platform,
            account: t.display_name,
            status: t.status,
            last_error: t.last_error,
            remote_url: t.remote_url,
            attempt_count: t.attempt_count,
            remote_id: t.remote_id,
            published_at: t.published_at,
            last_error_class: t.last_error_class,
            next_attempt_at: t.next_attempt_at,
        });
    }
    let firsts: HashMap<Uuid, Uuid> = media.into_iter().map(|m| (m.post_id, m.media_id)).collect();
    Ok(rows
        .into_iter()
        .map(|r| PostSummary {
            targets: by_post.remove(&r.id).unwrap_or_default(),
            first_media: firsts.get(&r.id).copied(),
            id: r.id,
            body: r.body,
            scheduled_at: r.scheduled_at,
            status: r.status,
            created_at: r.created_at,
            product_id: r.product_id,
            utm_enabled: r.utm_enabled,
        })
        .collect())
}

impl CalendarPost {
    /// Each network the post goes to, once, in the order they were added.
    pub fn networks(&self) -> Vec<Platform> {
        self.platforms
            .iter()
            .filter_map(|p| p.parse().ok())
            .collect()
    }
}

/// The user's posts scheduled in `[from, to)`, in time order (the calendar): one row per post
/// (its networks are kept on the post by the database, see migration 2) and, side by side on
/// another connection, each post's first medium. "In motion" is read from the post's derived
/// status: publishing (a target queued, publishing or waiting for a retry) or due within two
/// minutes.
pub async fn in_range(
    db: &sea_orm::DatabaseConnection,
    user_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<CalendarPost>, sea_orm::DbErr> {
    #[derive(FromQueryResult)]
    struct Row {
        id: Uuid,
        head: String,
        scheduled_at: DateTime<Utc>,
        status: String,
        networks: Vec<String>,
        in_motion: bool,
    }
    let values = || -> Vec<DbValue> { vec![user_id.into(), from.into(), to.into()] };
    let in_range = "p.user_id = $1 AND p.scheduled_at >= $2 AND p.scheduled_at < $3";
    // A target queued, publishing or waiting for a retry makes its post `publishing`; a
    // scheduled one is about to move when its post is due.
    let mut post_values = values();
    post_values.push((now + chrono::Duration::minutes(2)).into());
    let posts = Row::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "SELECT p.id, left(p.body, 400) AS head, p.scheduled_at, p.status, p.networks, \
                    (p.status = 'publishing' OR (p.status = 'scheduled' AND p.scheduled_at <= $4)) AS in_motion \
             FROM posts p WHERE {in_range} ORDER BY p.scheduled_at, p.id"
        ),
        post_values,
    ))
    .all(db);
    let media = FirstMedia::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "SELECT DISTINCT ON (m.post_id) m.post_id, m.media_id FROM post_media m \
             JOIN posts p ON p.id = m.post_id WHERE {in_range} ORDER BY m.post_id, m.position"
        ),
        values(),
    ))
    .all(db);
    let (posts, media) = futures::try_join!(posts, media)?;
    let firsts: HashMap<Uuid, Uuid> = media.into_iter().map(|m| (m.post_id, m.media_id)).collect();
    Ok(posts
        .into_iter()
        .map(|p| CalendarPost {
            first_media: firsts.get(&p.id).copied(),
            id: p.id,
            head: p.head,
            scheduled_at: p.scheduled_at,
            status: p.status,
            platforms: p.networks,
            in_motion: p.in_motion,
        })
        .collect())
}

/// Filters of the posts list and `GET /api/v1/posts`.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub status: Option<String>,
    pub platform: Option<Platform>,
    pub connection_id: Option<Uuid>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub text: Option<String>,
}

pub const PAGE_SIZE: u64 = 25;

/// A page of the user's posts, newest (by time, or creation for unscheduled drafts) first, and
/// whether there is another page.
pub async fn list(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    filter: &Filter,
    page: u64,
) -> Result<(Vec<PostSummary>, bool), sea_orm::DbErr> {
    let mut sql = String::from(
        "SELECT p.id, p.body, p.scheduled_at, p.status, p.created_at, p.product_id, p.utm_enabled FROM posts p WHERE p.user_id = $1",
    );
    let mut values: Vec<DbValue> = vec![user_id.into()];
    let arg = |v: DbValue, values: &mut Vec<DbValue>| {
        values.push(v);
        format!("${}", values.len())
    };
    if let Some(s) = &filter.status {
        let a = arg(s.clone().into(), &mut values);
        sql.push_str(&format!(" AND p.status = {a}"));
    }
    if let Some(p) = filter.platform {
        let a = arg(p.as_str().to_owned().into(), &mut values);
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM post_targets t JOIN connections c ON c.id = t.connection_id WHERE t.post_id = p.id AND c.platform = {a})"
        ));
    }
    if let Some(c) = filter.connection_id {
        let a = arg(c.into(), &mut values);
        sql.push_str(&format!(" AND EXISTS (SELECT 1 FROM post_targets t WHERE t.post_id = p.id AND t.connection_id = {a})"));
    }
    if let Some(from) = filter.from {
        let a = arg(from.into(), &mut values);
        sql.push_str(&format!(" AND p.scheduled_at >= {a}"));
    }
    if let Some(to) = filter.to {
        let a = arg(to.into(), &mut values);
        sql.push_str(&format!(" AND p.scheduled_at < {a}"));
    }
    if let Some(text) = filter.text.as_ref().filter(|t| !t.trim().is_empty()) {
        let pattern = format!(
            "%{}%",
            text.trim()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let a = arg(pattern.into(), &mut values);
        sql.push_str(&format!(" AND p.body ILIKE {a}"));
    }
    let limit = arg(((PAGE_SIZE + 1) as i64).into(), &mut values);
    let offset = arg(
        ((page.saturating_sub(1) * PAGE_SIZE) as i64).into(),
        &mut values,
    );
    sql.push_str(&format!(" ORDER BY coalesce(p.scheduled_at, p.created_at) DESC, p.id DESC LIMIT {limit} OFFSET {offset}"));
    let mut rows = PostRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        &sql,
        values,
    ))
    .all(db)
    .await?;
    let more = rows.len() as u64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    Ok((attach(db, rows).await?, more))
}

/// One post of the user.
pub async fn one(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    post_id: Uuid,
) -> Result<Option<PostSummary>, sea_orm::DbErr> {
    let rows = PostRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT id, body, scheduled_at, status, created_at, product_id, utm_enabled FROM posts WHERE user_id = $1 AND id = $2",
        [user_id.into(), post_id.into()],
    ))
    .all(db)
    .await?;
    Ok(attach(db, rows).await?.into_iter().next())
}

/// The next scheduled posts from `now` (the dashboard).
pub async fn upcoming(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<PostSummary>, sea_orm::DbErr> {
    let rows = PostRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT id, body, scheduled_at, status, created_at, product_id, utm_enabled FROM posts \
         WHERE user_id = $1 AND scheduled_at >= $2 AND status IN ('scheduled', 'publishing') \
         ORDER BY scheduled_at LIMIT $3",
        [user_id.into(), now.into(), (limit as i64).into()],
    ))
    .all(db)
    .await?;
    attach(db, rows).await
}

/// Posts with a target that failed or whose outcome is unknown (the dashboard).
pub async fn needing_attention(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    limit: u64,
) -> Result<Vec<PostSummary>, sea_orm::DbErr> {
    let rows = PostRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT p.id, p.body, p.scheduled_at, p.status, p.created_at, p.product_id, p.utm_enabled FROM posts p \
         WHERE p.user_id = $1 AND EXISTS (SELECT 1 FROM post_targets t WHERE t.post_id = p.id AND t.status IN ('failed', 'unknown')) \
         ORDER BY p.updated_at DESC LIMIT $2",
        [user_id.into(), (limit as i64).into()],
    ))
    .all(db)
    .await?;
    attach(db, rows).await
}

/// Every post of the user with its targets, soonest first (unscheduled drafts last), for the
/// CSV export.
pub async fn all(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<Vec<PostSummary>, sea_orm::DbErr> {
    let rows = PostRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT p.id, p.body, p.scheduled_at, p.status, p.created_at, p.product_id, p.utm_enabled \
         FROM posts p WHERE p.user_id = $1 ORDER BY p.scheduled_at NULLS LAST, p.created_at, p.id",
        [user_id.into()],
    ))
    .all(db)
    .await?;
    attach(db, rows).await
}

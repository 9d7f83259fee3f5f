//! Read models for the analytics pages: totals and trends from the daily rollups
//! (`analytics`, kept in each seller's days), top posts and a post's curve from the snapshots
//! (`post_metrics`). Read-only, always scoped by owner. [`dashboard`] puts them together into
//! the pages' common model.

pub mod best_time;
pub mod dashboard;
pub mod rollup;

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult, Statement};
use uuid::Uuid;

use crate::domain::{Platform, TimeZone};

/// `zone`'s name if Postgres knows it (its time zone data may be older than ours), else UTC.
/// Postgres is asked once per process: listing its zones takes tens of milliseconds.
pub async fn pg_zone(
    db: &impl ConnectionTrait,
    zone: TimeZone,
) -> Result<&'static str, sea_orm::DbErr> {
    static KNOWN: tokio::sync::OnceCell<HashSet<String>> = tokio::sync::OnceCell::const_new();
    #[derive(FromQueryResult)]
    struct Name {
        name: String,
    }
    let known = KNOWN
        .get_or_try_init(|| async {
            let names = Name::find_by_statement(Statement::from_string(
                db.get_database_backend(),
                "SELECT name FROM pg_timezone_names",
            ))
            .all(db)
            .await?;
            Ok::<_, sea_orm::DbErr>(names.into_iter().map(|n| n.name).collect())
        })
        .await?;
    Ok(if known.contains(zone.name()) {
        zone.name()
    } else {
        "UTC"
    })
}

/// The metrics a network's dashboard shows, in order, with their labels.
pub fn metrics_of(platform: Platform) -> &'static [(&'static str, &'static str)] {
    match platform {
        Platform::X => &[
            ("impressions", "Impressions"),
            ("likes", "Likes"),
            ("reposts", "Reposts"),
            ("replies", "Replies"),
            ("quotes", "Quotes"),
            ("saves", "Bookmarks"),
        ],
        Platform::Instagram => &[
            ("views", "Views"),
            ("likes", "Likes"),
            ("replies", "Comments"),
            ("reposts", "Shares"),
            ("saves", "Saves"),
        ],
        Platform::Pinterest => &[
            ("impressions", "Impressions"),
            ("saves", "Saves"),
            ("clicks", "Clicks"),
        ],
        _ => &[
            ("impressions", "Impressions"),
            ("likes", "Likes"),
            ("replies", "Comments"),
            ("reposts", "Shares"),
        ],
    }
}

/// One metric over the range and the period before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Total {
    pub metric: String,
    pub current: i64,
    pub previous: i64,
}

#[derive(Debug, FromQueryResult)]
struct TotalRow {
    metric: String,
    current: Option<i64>,
    previous: Option<i64>,
}

/// What `platform`'s posts gained per metric in `[from, to]` (UTC days) and in the as-long
/// period before.
pub async fn totals(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    platform: Platform,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Total>, sea_orm::DbErr> {
    let span = (to - from).num_days() + 1;
    let before = from - chrono::Duration::days(span);
    let rows = TotalRow::find_by_statement(Statement::from_sql_and_values(
        db.get_database_backend(),
        r#"SELECT metric,
                  sum(value) FILTER (WHERE day >= $3)::bigint AS current,
                  sum(value) FILTER (WHERE day < $3)::bigint AS previous
           FROM analytics
           WHERE user_id = $1 AND platform = $2 AND day >= $4 AND day <= $5
           GROUP BY metric"#,
        [
            user_id.into(),
            platform.as_str().into(),
            from.into(),
            before.into(),
            to.into(),
        ],
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Total {
            metric: r.metric,
            current: r.current.unwrap_or(0),
            previous: r.previous.unwrap_or(0),
        })
        .collect())
}

#[derive(Debug, FromQueryResult)]
struct DayRow {
    day: NaiveDate,
    metric: String,
    value: i64,
}

/// Per metric of `metrics`, what was gained each day of `[from, to]` (days without numbers
/// are 0).
pub async fn trend(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    platform: Platform,
    metrics: &[(&str, &str)],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<BTreeMap<String, Vec<(NaiveDate, i64)>>, sea_orm::DbErr> {
    let rows = DayRow::find_by_statement(Statement::from_sql_and_values(
        db.get_database_backend(),
        r#"SELECT day, metric, value FROM analytics
           WHERE user_id = $1 AND platform = $2 AND day BETWEEN $3 AND $4
           ORDER BY day"#,
        [
            user_id.into(),
            platform.as_str().into(),
            from.into(),
            to.into(),
        ],
    ))
    .all(db)
    .await?;
    let mut out: BTreeMap<String, Vec<(NaiveDate, i64)>> = BTreeMap::new();
    for (metric, _) in metrics {
        let series = from
            .iter_days()
            .take_while(|d| *d <= to)
            .map(|d| {
                let v = rows
                    .iter()
                    .find(|r| r.day == d && r.metric == *metric)
                    .map_or(0, |r| r.value);
                (d, v)
            })
            .collect();
        out.insert((*metric).to_owned(), series);
    }
    Ok(out)
}

/// A published post with its latest numbers on one network.
#[derive(Clone, Debug, FromQueryResult)]
pub struct TopPost {
    pub post_id: Uuid,
    pub body: String,
    pub published_at: DateTime<Utc>,
    pub remote_url: Option<String>,
    pub captured_at: DateTime<Utc>,
    pub likes: Option<i64>,
    pub reposts: Option<i64>,
    pub replies: Option<i64>,
    pub quotes: Option<i64>,
    pub impressions: Option<i64>,
    pub saves: Option<i64>,
    pub clicks: Option<i64>,
    pub views: Option<i64>,
}

impl TopPost {
    /// Its latest numbers as a point of the curve.
    pub fn point(&self, platform: Platform) -> Point {
        Point {
            platform: platform.as_str().to_owned(),
            captured_at: self.captured_at,
            likes: self.likes,
            reposts: self.reposts,
            replies: self.replies,
            quotes: self.quotes,
            impressions: self.impressions,
            saves: self.saves,
            clicks: self.clicks,
            views: self.views,
        }
    }
}

/// The posts published on `platform` since `since`, with their latest snapshot, the most
/// engaging first (then the most seen, then the newest).
pub async fn top_posts(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    platform: Platform,
    since: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<TopPost>, sea_orm::DbErr> {
    TopPost::find_by_statement(Statement::from_sql_and_values(
        db.get_database_backend(),
        // Ranked by the latest engagement each target keeps (`metrics_engagement`, see
        // migration 5); only the chosen few have their snapshot read.
        r#"WITH top AS (
               SELECT t.id, t.post_id, p.body, t.published_at, t.remote_url, t.metrics_at,
                      t.metrics_engagement, t.metrics_impressions
               FROM post_targets t
               JOIN posts p ON p.id = t.post_id
               JOIN connections c ON c.id = t.connection_id
               WHERE p.user_id = $1 AND c.platform = $2 AND t.status = 'published'
                 AND t.published_at >= $3 AND t.metrics_at IS NOT NULL
               ORDER BY coalesce(t.metrics_engagement, 0) DESC,
                        t.metrics_impressions DESC NULLS LAST, t.published_at DESC
               LIMIT $4)
           SELECT top.post_id, top.body, top.published_at, top.remote_url, m.captured_at,
                  m.likes, m.reposts, m.replies, m.quotes, m.impressions, m.saves, m.clicks, m.views
           FROM top
           JOIN post_metrics m ON m.target_id = top.id AND m.captured_at = top.metrics_at
           ORDER BY coalesce(top.metrics_engagement, 0) DESC,
                    top.metrics_impressions DESC NULLS LAST, top.published_at DESC"#,
        [
            user_id.into(),
            platform.as_str().into(),
            since.into(),
            (limit as i64).into(),
        ],
    ))
    .all(db)
    .await
}

/// One snapshot of one of a post's targets.
#[derive(Clone, Debug, FromQueryResult)]
pub struct Point {
    pub platform: String,
    pub captured_at: DateTime<Utc>,
    pub likes: Option<i64>,
    pub reposts: Option<i64>,
    pub replies: Option<i64>,
    pub quotes: Option<i64>,
    pub impressions: Option<i64>,
    pub saves: Option<i64>,
    pub clicks: Option<i64>,
    pub views: Option<i64>,
}

impl Point {
    pub fn value(&self, metric: &str) -> Option<i64> {
        match metric {
            "likes" => self.likes,
            "reposts" => self.reposts,
            "replies" => self.replies,
            "quotes" => self.quotes,
            "impressions" => self.impressions,
            "saves" => self.saves,
            "clicks" => self.clicks,
            "views" => self.views,
            _ => None,
        }
    }
}

/// Every snapshot of a post of `user_id`, oldest first (empty when it isn't theirs).
pub async fn post_curve(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    post_id: Uuid,
) -> Result<Vec<Point>, sea_orm::DbErr> {
    Point::find_by_statement(Statement::from_sql_and_values(
        db.get_database_backend(),
        r#"SELECT c.platform, m.captured_at, m.likes, m.reposts, m.replies, m.quotes,
                  m.impressions, m.saves, m.clicks, m.views
           FROM post_metrics m
           JOIN post_targets t ON t.id = m.target_id
           JOIN posts p ON p.id = t.post_id
           JOIN connections c ON c.id = t.connection_id
           WHERE p.user_id = $1 AND p.id = $2
           ORDER BY c.platform, m.captured_at"#,
        [user_id.into(), post_id.into()],
    ))
    .all(db)
    .await
}

//! The dashboards' common model and the read-only query adapters that fill it, one per
//! dashboard: X engagement, Instagram, Pinterest and the Shopify catalog. Every page renders a
//! [`Dashboard`] with the same components (stat tiles, a trend chart per series, top-items
//! tables), and the CSV export writes the same numbers. Days are the seller's days (the rollups
//! are kept in their zone); everything is scoped by owner.

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, FromQueryResult, Statement};
use uuid::Uuid;

use super::{metrics_of, totals, trend};
use crate::domain::schedule::LocalTime;
use crate::domain::{Platform, TimeZone};

/// The ranges a dashboard offers, in days.
pub const RANGES: [i64; 3] = [7, 30, 90];

/// The days a dashboard covers: the last `days` days of the seller's calendar, today included.
#[derive(Clone, Copy, Debug)]
pub struct Period {
    pub days: i64,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub zone: TimeZone,
    pub now: DateTime<Utc>,
}

impl Period {
    pub fn new(days: i64, zone: TimeZone, now: DateTime<Utc>) -> Self {
        let to = now.with_timezone(&zone.tz()).date_naive();
        Self {
            days,
            from: to - Duration::days(days - 1),
            to,
            zone,
            now,
        }
    }

    /// The first instant of the period.
    pub fn start(&self) -> DateTime<Utc> {
        start_of(self.from, self.zone)
    }

    /// The first instant of the as-long period before.
    pub fn previous_start(&self) -> DateTime<Utc> {
        start_of(self.from - Duration::days(self.days), self.zone)
    }

    pub fn days(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.from.iter_days().take_while(|d| *d <= self.to)
    }
}

/// Midnight of `day` in `zone` (or the first instant after it, where midnight doesn't exist).
fn start_of(day: NaiveDate, zone: TimeZone) -> DateTime<Utc> {
    use chrono::TimeZone as _;
    let tz = zone.tz();
    (0..24)
        .filter_map(|h| {
            tz.from_local_datetime(&day.and_hms_opt(h, 0, 0)?)
                .earliest()
        })
        .next()
        .map_or_else(
            || day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(),
            |t| t.with_timezone(&Utc),
        )
}

/// One number at the top of a dashboard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tile {
    pub label: String,
    pub value: String,
    /// "+12% on the previous 30 days"; `None` when there is nothing to compare with.
    pub change: Option<String>,
    pub up: bool,
    /// A short explanation under the number.
    pub hint: Option<String>,
}

impl Tile {
    fn count(label: &str, current: i64, previous: Option<i64>, days: i64) -> Self {
        let change = previous.filter(|p| *p > 0).map(|previous| {
            let pct = ((current - previous) as f64 / previous as f64 * 100.0).round() as i64;
            format!(
                "{}{pct}% on the previous {days} days",
                if pct > 0 { "+" } else { "" }
            )
        });
        Self {
            label: label.to_owned(),
            value: current.to_string(),
            change,
            up: current >= previous.unwrap_or(0),
            hint: None,
        }
    }

    /// A percentage of `part` in `whole` ("–" when `whole` is 0), with how it's computed.
    fn rate(label: &str, part: i64, whole: i64, hint: &str) -> Self {
        Self {
            label: label.to_owned(),
            value: percent(part, whole),
            change: None,
            up: true,
            hint: Some(hint.to_owned()),
        }
    }
}

fn percent(part: i64, whole: i64) -> String {
    if whole <= 0 {
        "–".to_owned()
    } else {
        format!("{:.1}%", part as f64 / whole as f64 * 100.0)
    }
}

/// One trend: a value per day of the period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Series {
    pub id: String,
    /// What is counted ("Likes"); its chart is "Likes per day".
    pub name: String,
    pub points: Vec<(NaiveDate, i64)>,
}

/// A top-items table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// Its name in the page (`top-{id}`) and in the CSV export (`table={id}`).
    pub id: &'static str,
    pub title: String,
    /// What the first column lists ("Post", "Product").
    pub item: &'static str,
    pub columns: Vec<String>,
    pub rows: Vec<Row>,
    /// What an empty table says.
    pub empty: String,
}

impl Table {
    /// Whether any row says when it was published (the column is left out otherwise).
    pub fn has_when(&self) -> bool {
        self.rows.iter().any(|r| r.when.is_some())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub label: String,
    /// A page of ours about the item.
    pub href: Option<String>,
    /// The item on its platform.
    pub external: Option<String>,
    /// When it was published, in the seller's zone.
    pub when: Option<String>,
    pub values: Vec<String>,
}

/// What every dashboard page shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dashboard {
    pub key: &'static str,
    pub title: &'static str,
    pub summary: String,
    pub tiles: Vec<Tile>,
    pub series: Vec<Series>,
    pub tables: Vec<Table>,
    /// Why there's nothing to show yet, in words that say when there will be.
    pub empty: Option<String>,
}

/// A read-only query adapter: fills the common model from one platform's numbers.
#[async_trait]
pub trait Adapter: Send + Sync {
    /// Its path segment and CSV name: `x`, `instagram`, `pinterest`, `shopify`.
    fn key(&self) -> &'static str;
    /// Its tab label.
    fn title(&self) -> &'static str;
    /// Shown only with `FEATURE_PER_PLATFORM_ANALYTICS`.
    fn per_platform(&self) -> bool;
    async fn load(
        &self,
        db: &DatabaseConnection,
        user_id: Uuid,
        period: &Period,
    ) -> Result<Dashboard, DbErr>;
}

/// Every dashboard, in tab order.
pub fn adapters() -> [&'static dyn Adapter; 4] {
    [
        &Engagement(Platform::X),
        &Engagement(Platform::Instagram),
        &Engagement(Platform::Pinterest),
        &Catalog,
    ]
}

pub fn adapter(key: &str) -> Option<&'static dyn Adapter> {
    adapters().into_iter().find(|a| a.key() == key)
}

/// A network's engagement: X (the main analytics page), Instagram and Pinterest.
pub struct Engagement(pub Platform);

/// The rollup metrics a network's tiles and charts show beyond [`metrics_of`]: Instagram's
/// reach, Pinterest's pin and outbound clicks (kept apart in the rollups).
fn extra_metrics(platform: Platform) -> &'static [(&'static str, &'static str)] {
    match platform {
        Platform::Instagram => &[("reach", "Accounts reached")],
        Platform::Pinterest => &[
            ("pin_clicks", "Pin clicks"),
            ("outbound_clicks", "Outbound clicks"),
        ],
        _ => &[],
    }
}

/// What a network's dashboard shows per metric, in order: [`metrics_of`] with Instagram's reach
/// and Pinterest's split clicks in place of their total.
pub fn shown_metrics(platform: Platform) -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = metrics_of(platform)
        .iter()
        .copied()
        .filter(|(m, _)| !(platform == Platform::Pinterest && *m == "clicks"))
        .collect();
    out.extend_from_slice(extra_metrics(platform));
    out
}

#[async_trait]
impl Adapter for Engagement {
    fn key(&self) -> &'static str {
        self.0.as_str()
    }

    fn title(&self) -> &'static str {
        match self.0 {
            Platform::X => "Engagement (X)",
            other => other.display_name(),
        }
    }

    fn per_platform(&self) -> bool {
        self.0 != Platform::X
    }

    async fn load(
        &self,
        db: &DatabaseConnection,
        user_id: Uuid,
        period: &Period,
    ) -> Result<Dashboard, DbErr> {
        let platform = self.0;
        let metrics = shown_metrics(platform);
        let totals = totals(db, user_id, platform, period.from, period.to).await?;
        let trend = trend(db, user_id, platform, &metrics, period.from, period.to).await?;
        let top = super::top_posts(db, user_id, platform, period.start(), 10).await?;
        let total = |m: &str| totals.iter().find(|t| t.metric == m);
        let current = |m: &str| total(m).map_or(0, |t| t.current);
        let mut tiles: Vec<Tile> = metrics
            .iter()
            .map(|(m, label)| {
                let t = total(m);
                Tile::count(
                    label,
                    t.map_or(0, |t| t.current),
                    t.map(|t| t.previous),
                    period.days,
                )
            })
            .collect();
        let interactions: i64 = ["likes", "reposts", "replies", "quotes", "saves"]
            .iter()
            .map(|m| current(m))
            .sum();
        match platform {
            Platform::X => tiles.push(Tile::rate(
                "Engagement rate",
                interactions,
                current("impressions"),
                "likes, reposts, replies, quotes and bookmarks per impression",
            )),
            Platform::Instagram => tiles.push(Tile::rate(
                "Engagement rate",
                interactions,
                current("reach"),
                "likes, comments, shares and saves per account reached",
            )),
            Platform::Pinterest => tiles.push(Tile::rate(
                "Save rate",
                current("saves"),
                current("impressions"),
                "saves per impression",
            )),
            _ => {}
        }
        let series = metrics
            .iter()
            .map(|(m, label)| Series {
                id: format!("{}-{m}", platform.as_str()),
                name: (*label).to_owned(),
                points: trend.get(*m).cloned().unwrap_or_default(),
            })
            .collect();
        let top_metrics = metrics_of(platform);
        let rows: Vec<Row> = top
            .iter()
            .map(|p| {
                let point = p.point(platform);
                Row {
                    label: crate::posts::queries::excerpt(&p.body, 80),
                    href: Some(format!("/analytics/posts/{}", p.post_id)),
                    external: p.remote_url.clone(),
                    when: Some(local(p.published_at, period.zone)),
                    values: top_metrics
                        .iter()
                        .map(|(m, _)| point.value(m).map_or("–".to_owned(), |v| v.to_string()))
                        .collect(),
                }
            })
            .collect();
        let has_numbers = !rows.is_empty() || totals.iter().any(|t| t.current != 0);
        let empty = if has_numbers {
            None
        } else {
            Some(empty_reason(db, user_id, platform).await?)
        };
        let name = platform.display_name();
        Ok(Dashboard {
            key: self.key(),
            title: self.title(),
            summary: format!(
                "What your {name} posts gained each day, in your time zone ({}).",
                period.zone.name()
            ),
            tiles,
            series,
            tables: vec![Table {
                id: "posts",
                title: "Top posts".to_owned(),
                item: "Post",
                columns: top_metrics.iter().map(|(_, l)| (*l).to_owned()).collect(),
                rows,
                empty: format!("No {name} post of this period has numbers yet."),
            }],
            empty,
        })
    }
}

fn local(at: DateTime<Utc>, zone: TimeZone) -> String {
    let l = LocalTime::of(at, zone);
    format!("{} {}", l.date, l.time)
}

#[derive(FromQueryResult)]
struct Count {
    n: i64,
}

async fn count(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> Result<i64, DbErr> {
    Ok(Count::find_by_statement(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        values,
    ))
    .one(db)
    .await?
    .map_or(0, |c| c.n))
}

/// Why a network's dashboard has no numbers yet, in words that say when they will come.
async fn empty_reason(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    platform: Platform,
) -> Result<String, DbErr> {
    let name = platform.display_name();
    let connected = count(
        db,
        "SELECT count(*) AS n FROM connections WHERE user_id = $1 AND platform = $2",
        vec![user_id.into(), platform.as_str().into()],
    )
    .await?;
    Ok(if connected == 0 {
        format!(
            "Connect {name} under Connections; its numbers appear here a few minutes after your first post there."
        )
    } else {
        format!(
            "No {name} numbers in this range yet. Numbers arrive a few minutes after a post goes out, then at an hour, 6 hours, a day, 3 days, a week and 30 days."
        )
    })
}

/// The Shopify catalog: what was synced, what was promoted, and how the products' posts did.
pub struct Catalog;

#[derive(Debug, serde::Deserialize)]
struct ProductRow {
    id: Uuid,
    title: String,
    posts: i64,
    networks: i64,
    engagement: Option<i64>,
    impressions: Option<i64>,
    last_published: Option<DateTime<Utc>>,
}

#[derive(Debug, Default, FromQueryResult)]
struct Summary {
    promoted: i64,
    promoted_before: i64,
    posts: i64,
    posts_before: i64,
    engagement: i64,
    days: serde_json::Value,
    top: serde_json::Value,
}

#[derive(Debug, serde::Deserialize)]
struct DayCount {
    day: NaiveDate,
    n: i64,
}

#[derive(Debug, FromQueryResult)]
struct IdleProduct {
    id: Uuid,
    title: String,
    url: Option<String>,
    synced_at: DateTime<Utc>,
}

#[async_trait]
impl Adapter for Catalog {
    fn key(&self) -> &'static str {
        "shopify"
    }

    fn title(&self) -> &'static str {
        "Shopify"
    }

    fn per_platform(&self) -> bool {
        true
    }

    async fn load(
        &self,
        db: &DatabaseConnection,
        user_id: Uuid,
        period: &Period,
    ) -> Result<Dashboard, DbErr> {
        let shops = count(
            db,
            "SELECT count(*) AS n FROM connections WHERE user_id = $1 AND platform = 'shopify'",
            vec![user_id.into()],
        )
        .await?;
        let synced = count(
            db,
            r#"SELECT count(*) AS n FROM products pr JOIN connections c ON c.id = pr.connection_id
               WHERE pr.user_id = $1 AND c.platform = 'shopify' AND pr.removed_at IS NULL"#,
            vec![user_id.into()],
        )
        .await?;
        // The product posts published this period and the one before, read once: the totals,
        // the top products and the posts per day all come from that one pass.
        let (start, before) = (period.start(), period.previous_start());
        let pg_zone = super::pg_zone(db, period.zone).await?;
        let summary = Summary::find_by_statement(Statement::from_sql_and_values(
            db.get_database_backend(),
            r#"WITH pt AS MATERIALIZED (
                   SELECT p.id AS post_id, p.product_id, t.connection_id, t.published_at,
                          t.metrics_engagement, t.metrics_impressions
                   FROM posts p JOIN products pr ON pr.id = p.product_id
                   JOIN connections c ON c.id = pr.connection_id
                   JOIN post_targets t ON t.post_id = p.id
                   WHERE p.user_id = $1 AND c.platform = 'shopify' AND t.status = 'published'
                     AND t.published_at >= $3 AND t.published_at < $4
               ), cur AS (SELECT * FROM pt WHERE published_at >= $2)
               SELECT (SELECT count(DISTINCT product_id) FROM cur) AS promoted,
                      (SELECT count(DISTINCT product_id) FROM pt WHERE published_at < $2) AS promoted_before,
                      (SELECT count(DISTINCT post_id) FROM cur) AS posts,
                      (SELECT count(DISTINCT post_id) FROM pt WHERE published_at < $2) AS posts_before,
                      (SELECT coalesce(sum(metrics_engagement), 0) FROM cur)::bigint AS engagement,
                      (SELECT coalesce(json_agg(d), '[]') FROM (
                           SELECT (published_at AT TIME ZONE $5)::date AS day, count(DISTINCT post_id) AS n
                           FROM cur GROUP BY 1) d) AS days,
                      (SELECT coalesce(json_agg(x ORDER BY x.engagement DESC NULLS LAST, x.posts DESC, x.last_published DESC), '[]') FROM (
                           SELECT g.*, pr.title FROM (
                               SELECT product_id AS id, count(DISTINCT post_id) AS posts,
                                      count(DISTINCT connection_id) AS networks,
                                      sum(metrics_engagement)::bigint AS engagement,
                                      sum(metrics_impressions)::bigint AS impressions,
                                      max(published_at) AS last_published
                               FROM cur GROUP BY product_id
                               ORDER BY engagement DESC NULLS LAST, posts DESC, last_published DESC
                               LIMIT 10) g
                           JOIN products pr ON pr.id = g.id) x) AS top"#,
            [
                user_id.into(),
                start.into(),
                before.into(),
                period.now.into(),
                pg_zone.into(),
            ],
        ))
        .one(db)
        .await?
        .unwrap_or_default();
        let days: Vec<DayCount> = serde_json::from_value(summary.days.clone()).unwrap_or_default();
        let products: Vec<ProductRow> = serde_json::from_value(summary.top.clone())
            .map_err(|e| DbErr::Custom(e.to_string()))?;
        let Summary {
            promoted,
            promoted_before,
            posts,
            posts_before,
            engagement,
            ..
        } = summary;
        let idle = IdleProduct::find_by_statement(Statement::from_sql_and_values(
            db.get_database_backend(),
            r#"SELECT pr.id, pr.title, pr.url, pr.synced_at
               FROM products pr JOIN connections c ON c.id = pr.connection_id
               WHERE pr.user_id = $1 AND c.platform = 'shopify' AND pr.removed_at IS NULL
                 AND NOT EXISTS (
                     SELECT 1 FROM posts p JOIN post_targets t ON t.post_id = p.id
                     WHERE p.product_id = pr.id AND t.status = 'published')
               ORDER BY pr.synced_at DESC, pr.title
               LIMIT 10"#,
            [user_id.into()],
        ))
        .all(db)
        .await?;

        let mut promoted_tile = Tile::count(
            "Products promoted",
            promoted,
            Some(promoted_before),
            period.days,
        );
        promoted_tile.hint = Some(format!(
            "{} of your synced products",
            percent(promoted, synced)
        ));
        let mut posts_tile = Tile::count(
            "Posts about products",
            posts,
            Some(posts_before),
            period.days,
        );
        posts_tile.hint = Some(if promoted > 0 {
            format!("{:.1} per promoted product", posts as f64 / promoted as f64)
        } else {
            "none published in this period".to_owned()
        });
        let mut synced_tile = Tile::count("Products synced", synced, None, period.days);
        synced_tile.hint = Some(match shops {
            0 => "no shop connected".to_owned(),
            1 => "from 1 shop".to_owned(),
            n => format!("from {n} shops"),
        });
        let mut engagement_tile =
            Tile::count("Engagement on product posts", engagement, None, period.days);
        engagement_tile.hint =
            Some("likes, shares, comments, saves and clicks, latest numbers".to_owned());
        let tiles = vec![synced_tile, promoted_tile, posts_tile, engagement_tile];
        let series = vec![Series {
            id: "shopify-posts".to_owned(),
            name: "Posts about products".to_owned(),
            points: period
                .days()
                .map(|d| (d, days.iter().find(|r| r.day == d).map_or(0, |r| r.n)))
                .collect(),
        }];
        let top = Table {
            id: "products",
            title: "Top products".to_owned(),
            item: "Product",
            columns: vec![
                "Posts".to_owned(),
                "Networks".to_owned(),
                "Engagement".to_owned(),
                "Impressions".to_owned(),
            ],
            rows: products
                .iter()
                .map(|p| Row {
                    label: p.title.clone(),
                    href: Some(format!("/products/{}", p.id)),
                    external: None,
                    when: p.last_published.map(|at| local(at, period.zone)),
                    values: vec![
                        p.posts.to_string(),
                        p.networks.to_string(),
                        p.engagement.map_or("–".to_owned(), |v| v.to_string()),
                        p.impressions.map_or("–".to_owned(), |v| v.to_string()),
                    ],
                })
                .collect(),
            empty: "No product was posted about in this period.".to_owned(),
        };
        let idle_table = Table {
            id: "idle",
            title: "Synced products you haven't posted about".to_owned(),
            item: "Product",
            columns: vec!["Synced".to_owned()],
            rows: idle
                .iter()
                .map(|p| Row {
                    label: p.title.clone(),
                    href: Some(format!("/products/{}", p.id)),
                    external: p.url.clone(),
                    when: None,
                    values: vec![local(p.synced_at, period.zone)],
                })
                .collect(),
            empty: "Every synced product has been posted about.".to_owned(),
        };
        let empty = if shops == 0 {
            Some("Connect your Shopify store under Connections; your products and how their posts do appear here after the first sync.".to_owned())
        } else if synced == 0 {
            Some("Your Shopify store is connected but no product has been synced yet. The first sync runs within a minute of connecting; you can also start one from Products.".to_owned())
        } else {
            None
        };
        Ok(Dashboard {
            key: self.key(),
            title: self.title(),
            summary: format!(
                "Your Shopify catalog on social media: which products you promote and how their posts do (days in {}).",
                period.zone.name()
            ),
            tiles,
            series,
            tables: vec![top, idle_table],
            empty,
        })
    }
}

//! The daily rollups behind the dashboards' totals and trends (`analytics`): per seller, local
//! day, platform and metric, what their posts gained that day.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult, Statement};
use uuid::Uuid;

use crate::domain::TimeZone;

/// Rebuilds the daily rollups of `users` from `since` (a day in each user's zone): for each day,
/// platform and metric, what the posts gained that day — each post's highest count that day
/// minus its highest count on its previous day with a snapshot. Missing numbers are left out,
/// not zero. Days are the seller's own: a snapshot at 23:30 UTC counts for the next day in
/// Berlin. A zone Postgres doesn't know counts in UTC.
pub async fn rollup(
    db: &impl ConnectionTrait,
    users: &[Uuid],
    since: NaiveDate,
    now: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    #[derive(FromQueryResult)]
    struct Zone {
        id: Uuid,
        time_zone: String,
    }
    let rows = Zone::find_by_statement(Statement::from_sql_and_values(
        db.get_database_backend(),
        "SELECT id, time_zone FROM users WHERE id = ANY($1)",
        [users.to_vec().into()],
    ))
    .all(db)
    .await?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut zones = Vec::with_capacity(rows.len());
    for r in rows {
        ids.push(r.id);
        zones.push(
            super::pg_zone(db, TimeZone::parse_or_utc(&r.time_zone))
                .await?
                .to_owned(),
        );
    }
    let res = db
        .execute_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            r#"
            WITH zones AS (
                SELECT * FROM unnest($1::uuid[], $4::text[]) AS z(user_id, tz)
            ), daily AS (
                SELECT p.user_id, c.platform, m.target_id,
                       (m.captured_at AT TIME ZONE z.tz)::date AS day,
                       max(m.likes) AS likes, max(m.reposts) AS reposts,
                       max(m.replies) AS replies, max(m.quotes) AS quotes,
                       max(m.impressions) AS impressions, max(m.saves) AS saves,
                       max(m.clicks) AS clicks, max(m.views) AS views,
                       max((m.raw->>'reach')::numeric)::bigint AS reach,
                       max((m.raw->>'PIN_CLICK')::numeric)::bigint AS pin_clicks,
                       max((m.raw->>'OUTBOUND_CLICK')::numeric)::bigint AS outbound_clicks
                FROM post_metrics m
                JOIN post_targets t ON t.id = m.target_id
                JOIN posts p ON p.id = t.post_id
                JOIN connections c ON c.id = t.connection_id
                JOIN zones z ON z.user_id = p.user_id
                GROUP BY 1, 2, 3, 4
            ), gained AS (
                SELECT user_id, platform, day,
                       likes - coalesce(lag(likes) OVER w, 0) AS likes,
                       reposts - coalesce(lag(reposts) OVER w, 0) AS reposts,
                       replies - coalesce(lag(replies) OVER w, 0) AS replies,
                       quotes - coalesce(lag(quotes) OVER w, 0) AS quotes,
                       impressions - coalesce(lag(impressions) OVER w, 0) AS impressions,
                       saves - coalesce(lag(saves) OVER w, 0) AS saves,
                       clicks - coalesce(lag(clicks) OVER w, 0) AS clicks,
                       views - coalesce(lag(views) OVER w, 0) AS views,
                       reach - coalesce(lag(reach) OVER w, 0) AS reach,
                       pin_clicks - coalesce(lag(pin_clicks) OVER w, 0) AS pin_clicks,
                       outbound_clicks - coalesce(lag(outbound_clicks) OVER w, 0) AS outbound_clicks
                FROM daily
                WINDOW w AS (PARTITION BY target_id ORDER BY day)
            )
            INSERT INTO analytics (user_id, platform, metric, day, value, updated_at)
            SELECT user_id, platform, v.metric, day, sum(v.value)::bigint, $3
            FROM gained
            CROSS JOIN LATERAL (VALUES ('likes', likes), ('reposts', reposts),
                ('replies', replies), ('quotes', quotes), ('impressions', impressions),
                ('saves', saves), ('clicks', clicks), ('views', views), ('reach', reach),
                ('pin_clicks', pin_clicks), ('outbound_clicks', outbound_clicks)) AS v(metric, value)
            WHERE day >= $2 AND v.value IS NOT NULL
            GROUP BY user_id, platform, v.metric, day
            ON CONFLICT (user_id, platform, metric, day)
                DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at
            "#,
            [ids.into(), since.into(), now.into(), zones.into()],
        ))
        .await?;
    Ok(res.rows_affected())
}

/// Rebuilds all of one seller's rollups, after their time zone changed (its days moved).
pub async fn rebuild(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "DELETE FROM analytics WHERE user_id = $1",
        [user_id.into()],
    ))
    .await?;
    let epoch = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
    rollup(db, &[user_id], epoch, now).await
}

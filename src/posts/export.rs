//! The seller's posts as CSV rows: the import's columns (so an exported file imports as the
//! same posts), plus each post's id, status and every network's status and link.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement};
use uuid::Uuid;

use super::queries;
use crate::domain::TimeZone;
use crate::domain::schedule::LocalTime;

/// The header row, in order.
pub const COLUMNS: [&str; 12] = [
    "id",
    "status",
    "date",
    "time",
    "fold",
    "time_zone",
    "networks",
    "text",
    "media",
    "product",
    "target_statuses",
    "target_links",
];

#[derive(FromQueryResult)]
struct MediaOfPost {
    post_id: Uuid,
    media_id: Uuid,
}

/// Every post of `user_id` as the fields of [`COLUMNS`], times on `zone`'s clock.
pub async fn rows(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    zone: TimeZone,
) -> Result<Vec<Vec<String>>, sea_orm::DbErr> {
    let posts = queries::all(db, user_id).await?;
    let mut media: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for m in MediaOfPost::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pm.post_id, pm.media_id FROM post_media pm JOIN posts p ON p.id = pm.post_id \
         WHERE p.user_id = $1 ORDER BY pm.post_id, pm.position",
        [user_id.into()],
    ))
    .all(db)
    .await?
    {
        media.entry(m.post_id).or_default().push(m.media_id);
    }
    Ok(posts
        .into_iter()
        .map(|p| {
            let local = p.scheduled_at.map(|at| LocalTime::of(at, zone));
            let account = |t: &queries::TargetSummary| {
                format!("{}: {}", t.platform.display_name(), t.account)
            };
            vec![
                p.id.to_string(),
                p.status.clone(),
                local.as_ref().map(|l| l.date.clone()).unwrap_or_default(),
                local.as_ref().map(|l| l.time.clone()).unwrap_or_default(),
                local
                    .as_ref()
                    .and_then(|l| l.fold)
                    .map(|f| f.as_str().to_owned())
                    .unwrap_or_default(),
                zone.to_string(),
                p.targets.iter().map(account).collect::<Vec<_>>().join("; "),
                p.body.clone(),
                media
                    .get(&p.id)
                    .map(|ids| {
                        ids.iter()
                            .map(Uuid::to_string)
                            .collect::<Vec<_>>()
                            .join(";")
                    })
                    .unwrap_or_default(),
                p.product_id.map(|id| id.to_string()).unwrap_or_default(),
                p.targets
                    .iter()
                    .map(|t| format!("{}: {}", account(t), t.status))
                    .collect::<Vec<_>>()
                    .join("; "),
                p.targets
                    .iter()
                    .map(|t| t.remote_url.clone().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("; "),
            ]
        })
        .collect())
}

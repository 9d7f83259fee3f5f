//! The media library: the photos and videos a user keeps for their posts.
//!
//! Everything the web pages, the JSON API, the composer and the publisher need lives here, so
//! handlers stay thin:
//! - `upload`: the streaming intake (`accept`, `accept_field`) — to a temporary file while
//!   hashing and counting, refused as soon as a limit is passed, then probed and stored;
//! - `probe`: what a file is, from its bytes only, and whether it is whole and safe to decode;
//! - `thumbs`: the thumbnails (and the neutral poster videos get: we can't decode video frames);
//! - `store`: the `object_store` behind `MEDIA_STORE` (a folder, or S3-compatible storage);
//! - `signed`: expiring, HMAC-signed public links for platforms that fetch media by URL;
//! - and below, the named queries: list, find, alt text, what uses an item, delete.
//!
//! Every query takes the owner's id: nobody reaches another user's media through this module.

pub mod import;
pub mod probe;
pub mod rendition;
pub mod signed;
pub mod store;
pub mod thumbs;
pub mod upload;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::sea_query::extension::postgres::PgExpr as _;
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, Condition, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait as _, IntoActiveModel as _, PaginatorTrait as _, QueryFilter as _, QueryOrder as _,
    QuerySelect as _, Set, TransactionTrait as _,
};
use uuid::Uuid;

use crate::entities::enums::{MediaKind, PostStatus};
use crate::entities::{media, post_media, posts};

pub use probe::{Format, Refusal};
pub use signed::signed_url;
pub use store::MediaStore;
pub use upload::{ReadError, UploadError, Uploaded, accept, accept_field};

/// Items per page in the library grid (and the API's default).
pub const PAGE_SIZE: u64 = 24;
/// The API's largest page.
pub const MAX_PAGE_SIZE: u64 = 100;
/// X allows 1,000 characters of alt text, the most of any network we post to.
pub const ALT_TEXT_MAX: usize = 1000;

/// How large an upload may be, per kind (from `MEDIA_MAX_IMAGE_BYTES` / `MEDIA_MAX_VIDEO_BYTES`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub image_bytes: u64,
    pub video_bytes: u64,
}

impl Limits {
    pub fn for_kind(&self, kind: MediaKind) -> u64 {
        match kind {
            MediaKind::Image => self.image_bytes,
            MediaKind::Video => self.video_bytes,
        }
    }

    pub fn largest(&self) -> u64 {
        self.image_bytes.max(self.video_bytes)
    }

    /// The body limit of an upload request: the largest file plus room for the multipart
    /// framing and the form's other fields.
    pub fn request_bytes(&self) -> usize {
        usize::try_from(self.largest().saturating_add(1024 * 1024)).unwrap_or(usize::MAX)
    }
}

/// Which page of a list, and how many items per page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paging {
    /// 1-based.
    pub number: u64,
    pub per_page: u64,
}

impl Paging {
    /// Page `number` (1-based; 0 counts as 1) of `PAGE_SIZE` items.
    pub fn new(number: u64) -> Self {
        Self::sized(number, PAGE_SIZE)
    }

    /// Page `number` of `per_page` items (1 to `MAX_PAGE_SIZE`).
    pub fn sized(number: u64, per_page: u64) -> Self {
        Self {
            number: number.max(1),
            per_page: per_page.clamp(1, MAX_PAGE_SIZE),
        }
    }
}

/// One page of a user's library, newest first.
#[derive(Clone, Debug)]
pub struct MediaPage {
    pub items: Vec<media::Model>,
    pub page: u64,
    pub per_page: u64,
    pub total: u64,
    pub total_pages: u64,
}

/// A page of the user's media, newest first, optionally only items whose file name or alt
/// text contains `search` (case-insensitive).
#[tracing::instrument(skip(db))]
pub async fn list_for_user(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    page: Paging,
    search: Option<&str>,
) -> Result<MediaPage, DbErr> {
    let mut query = media::Entity::find().filter(media::Column::UserId.eq(user_id));
    if let Some(term) = search.map(str::trim).filter(|s| !s.is_empty()) {
        // Backslash is Postgres's default LIKE escape, which `escape_like` uses.
        let pattern = format!("%{}%", escape_like(term));
        query = query.filter(
            Condition::any()
                .add(Expr::col(media::Column::OriginalFilename).ilike(pattern.as_str()))
                .add(Expr::col(media::Column::AltText).ilike(pattern.as_str())),
        );
    }
    let paginator = query
        .order_by_desc(media::Column::CreatedAt)
        .order_by_desc(media::Column::Id)
        .paginate(db, page.per_page);
    let counts = paginator.num_items_and_pages().await?;
    let items = paginator.fetch_page(page.number - 1).await?;
    Ok(MediaPage {
        items,
        page: page.number,
        per_page: page.per_page,
        total: counts.number_of_items,
        total_pages: counts.number_of_pages.max(1),
    })
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One of the user's items, or `None` (also when it belongs to someone else).
pub async fn find_for_user(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    id: Uuid,
) -> Result<Option<media::Model>, DbErr> {
    media::Entity::find_by_id(id)
        .filter(media::Column::UserId.eq(user_id))
        .one(db)
        .await
}

/// Any user's item by id. Only for signed public links, whose signature stands in for the
/// owner; everything else goes through `find_for_user`.
pub async fn find_by_id(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<media::Model>, DbErr> {
    media::Entity::find_by_id(id).one(db).await
}

/// The user's item with these exact bytes, if they uploaded it before.
pub async fn find_by_sha256(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    sha256: &str,
) -> Result<Option<media::Model>, DbErr> {
    media::Entity::find()
        .filter(media::Column::UserId.eq(user_id))
        .filter(media::Column::Sha256.eq(sha256))
        .one(db)
        .await
}

/// Alt text as people write it: trimmed, at most `ALT_TEXT_MAX` characters, no control
/// characters but line breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AltText(String);

impl AltText {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let text: String = raw
            .trim()
            .chars()
            .filter(|c| !c.is_control() || *c == '\n')
            .collect();
        let count = text.chars().count();
        if count > ALT_TEXT_MAX {
            return Err(format!(
                "Alt text can be at most {ALT_TEXT_MAX} characters (this is {count}). Describe what matters most."
            ));
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Saves an item's alt text; `None` when the user has no such item.
pub async fn set_alt_text(
    db: &DatabaseConnection,
    user_id: Uuid,
    id: Uuid,
    alt: &AltText,
) -> Result<Option<media::Model>, DbErr> {
    let Some(model) = find_for_user(db, user_id, id).await? else {
        return Ok(None);
    };
    let mut active = model.into_active_model();
    active.alt_text = Set(alt.as_str().to_owned());
    active.update(db).await.map(Some)
}

/// A post that still needs an item: not yet published, nor cancelled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostUse {
    pub post_id: Uuid,
    /// The first words of the post's text.
    pub excerpt: String,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub status: PostStatus,
}

/// The posts that will still publish this item (drafts, scheduled, failing, unsure…): those
/// hold it in the library.
pub async fn posts_using(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    media_id: Uuid,
) -> Result<Vec<PostUse>, DbErr> {
    let rows = posts::Entity::find()
        .inner_join(post_media::Entity)
        .filter(post_media::Column::MediaId.eq(media_id))
        .filter(posts::Column::UserId.eq(user_id))
        .filter(posts::Column::Status.is_not_in([PostStatus::Published, PostStatus::Cancelled]))
        .order_by_asc(posts::Column::ScheduledAt)
        .order_by_asc(posts::Column::CreatedAt)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|p| PostUse {
            post_id: p.id,
            excerpt: excerpt(&p.body, 8),
            scheduled_at: p.scheduled_at,
            status: p.status,
        })
        .collect())
}

/// The first `words` words of a text, with an ellipsis when there is more.
pub fn excerpt(text: &str, words: usize) -> String {
    let all: Vec<&str> = text.split_whitespace().collect();
    if all.is_empty() {
        return "(a post without text)".into();
    }
    let mut out = all[..all.len().min(words)].join(" ");
    if all.len() > words {
        out.push('…');
    }
    out
}

#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    #[error("no such media item")]
    NotFound,
    /// Posts that haven't gone out yet still use the item.
    #[error("the item is used by {} post(s) that haven't gone out", .0.len())]
    InUse(Vec<PostUse>),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Deletes one of the user's items — unless a post that hasn't gone out still uses it — and
/// then its stored file and thumbnail. Published and cancelled posts keep their text and
/// history but let go of the item.
#[tracing::instrument(skip(db, store))]
pub async fn delete_for_user(
    db: &DatabaseConnection,
    store: &MediaStore,
    user_id: Uuid,
    id: Uuid,
) -> Result<media::Model, DeleteError> {
    let txn = db.begin().await?;
    // The row lock makes a composer adding this item to a post (its foreign-key check takes a
    // share lock on the row) wait for us, or us for it: either way the check below is true.
    let Some(model) = media::Entity::find_by_id(id)
        .filter(media::Column::UserId.eq(user_id))
        .lock_exclusive()
        .one(&txn)
        .await?
    else {
        return Err(DeleteError::NotFound);
    };
    let in_use = posts_using(&txn, user_id, id).await?;
    if !in_use.is_empty() {
        return Err(DeleteError::InUse(in_use));
    }
    post_media::Entity::delete_many()
        .filter(post_media::Column::MediaId.eq(id))
        .exec(&txn)
        .await?;
    media::Entity::delete_by_id(id).exec(&txn).await?;
    txn.commit().await?;

    // The row is gone, so nothing can reach the files any more; a failure here leaves only an
    // orphan object behind, which we log rather than fail a delete the user already sees done.
    for key in std::iter::once(&model.storage_key).chain(model.thumbnail_key.as_ref()) {
        if let Err(e) = store.delete(key).await {
            tracing::warn!(error = %e, key, "couldn't delete a stored media object");
        }
    }
    tracing::info!(media_id = %id, "media deleted");
    Ok(model)
}

// ---- words for people ----

/// `812 bytes`, `14 KB`, `3.4 MB`, `1 GB` (powers of 1000, as file browsers show them).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return if bytes == 1 {
            "1 byte".into()
        } else {
            format!("{bytes} bytes")
        };
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 999.95 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    let rounded = (value * 10.0).round() / 10.0;
    if rounded >= 10.0 || rounded.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{rounded:.1} {}", UNITS[unit])
    }
}

/// `0:07`, `2:05`, `1:02:03`.
pub fn human_duration(ms: i64) -> String {
    let secs = (ms.max(0) + 500) / 1000;
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// `Photo` or `Video` with the format: `JPEG photo`, `MP4 video`.
pub fn describe(model: &media::Model) -> String {
    let format = Format::from_mime(&model.mime)
        .map(Format::label)
        .unwrap_or("Unknown");
    match model.kind {
        MediaKind::Image => format!("{format} photo"),
        MediaKind::Video => format!("{format} video"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_a_file_browser() {
        assert_eq!(human_size(0), "0 bytes");
        assert_eq!(human_size(999), "999 bytes");
        assert_eq!(human_size(1_000), "1 KB");
        assert_eq!(human_size(3_400_000), "3.4 MB");
        assert_eq!(human_size(20_000_000), "20 MB");
        assert_eq!(human_size(1_000_000_000), "1 GB");
        assert_eq!(human_size(999_999), "1 MB");
    }

    #[test]
    fn durations_read_like_a_player() {
        assert_eq!(human_duration(7_000), "0:07");
        assert_eq!(human_duration(125_400), "2:05");
        assert_eq!(human_duration(3_723_000), "1:02:03");
    }

    #[test]
    fn excerpts_keep_the_first_words() {
        assert_eq!(excerpt("  one two\nthree ", 8), "one two three");
        assert_eq!(excerpt("a b c d e", 3), "a b c…");
        assert_eq!(excerpt("", 3), "(a post without text)");
    }

    #[test]
    fn alt_text_is_trimmed_and_limited() {
        assert_eq!(
            AltText::parse("  a red mug\u{7} ").unwrap().as_str(),
            "a red mug"
        );
        assert!(AltText::parse(&"x".repeat(ALT_TEXT_MAX + 1)).is_err());
    }

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(escape_like("50%_off\\"), "50\\%\\_off\\\\");
    }
}

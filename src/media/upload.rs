//! The streaming intake: one uploaded file from a byte stream into the library.
//!
//! The bytes go to a temporary file while we hash them (SHA-256) and count them; the first
//! few KiB decide the format, and with it the size limit, so an oversized or unsupported file
//! is refused while it is still arriving. Nothing is held whole in memory. Then: an identical
//! file the user already has is returned as is (deduplicated per user by SHA-256); otherwise
//! the file is probed on a blocking thread, copied to the store with a streaming multipart put,
//! its thumbnail stored beside it, and the row written. Whatever fails along the way, nothing
//! is left behind: the temporary file is removed on drop, stored objects are deleted.
//!
//! `accept_field` is the entry point for any handler holding an axum multipart field (the media
//! page, the API, the composer); `accept` takes any stream of bytes.

use std::path::Path;

use anyhow::Context as _;
use axum::body::Bytes;
use axum::extract::multipart::Field;
use futures::{Stream, StreamExt as _, TryStreamExt as _};
use sea_orm::{ActiveModelTrait as _, DatabaseConnection, Set, SqlErr};
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt as _;
use uuid::Uuid;

use super::probe::{self, Format, ProbeError, Refusal, SNIFF_BYTES};
use super::store::{self, MediaStore};
use crate::entities::media;

/// A stored (or found) item.
#[derive(Clone, Debug)]
pub struct Uploaded {
    pub media: media::Model,
    /// The user already had these exact bytes: `media` is the existing item.
    pub duplicate: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The file itself isn't acceptable; the message is for the person.
    #[error("{0}")]
    Refused(Refusal),
    /// The request ended before the file did (the browser went away or the connection broke).
    #[error("the upload stopped before the whole file arrived")]
    Interrupted,
    /// The whole request is larger than the upload routes accept.
    #[error("the request is larger than we accept")]
    RequestTooLarge,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Why the byte stream failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadError {
    /// The request body passed its limit.
    TooLarge,
    Interrupted,
}

/// Accepts one multipart field as a file (its name from the part's `filename`).
pub async fn accept_field(
    db: &DatabaseConnection,
    store: &MediaStore,
    user_id: Uuid,
    field: Field<'_>,
) -> Result<Uploaded, UploadError> {
    let name = field.file_name().unwrap_or_default().to_owned();
    let stream = field.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ReadError::TooLarge
        } else {
            ReadError::Interrupted
        }
    });
    accept(db, store, user_id, &name, stream).await
}

/// Accepts one file from a stream of bytes.
#[tracing::instrument(skip(db, store, body), fields(file_name = %file_name))]
pub async fn accept<S>(
    db: &DatabaseConnection,
    store: &MediaStore,
    user_id: Uuid,
    file_name: &str,
    body: S,
) -> Result<Uploaded, UploadError>
where
    S: Stream<Item = Result<Bytes, ReadError>>,
{
    let file_name = clean_file_name(file_name);
    let limits = store.limits();
    let temp = tempfile::NamedTempFile::new().context("creating a temporary file")?;
    let mut out = tokio::fs::File::from_std(temp.reopen().context("opening the temporary file")?);

    let mut hasher = Sha256::new();
    let mut len: u64 = 0;
    let mut head: Vec<u8> = Vec::with_capacity(SNIFF_BYTES);
    let mut format: Option<Format> = None;
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| match e {
            ReadError::TooLarge => UploadError::RequestTooLarge,
            ReadError::Interrupted => UploadError::Interrupted,
        })?;
        len += chunk.len() as u64;
        if format.is_none() {
            let take = (SNIFF_BYTES - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
            if head.len() == SNIFF_BYTES {
                format = Some(probe::sniff(&head, &file_name).map_err(UploadError::Refused)?);
            }
        }
        let limit = format.map_or(limits.largest(), |f| limits.for_kind(f.kind()));
        if len > limit {
            return Err(UploadError::Refused(Refusal::TooLarge {
                kind: format.map(Format::kind),
                limit,
            }));
        }
        hasher.update(&chunk);
        out.write_all(&chunk)
            .await
            .context("writing the temporary file")?;
    }
    out.flush().await.context("writing the temporary file")?;
    drop(out);

    if len == 0 {
        return Err(UploadError::Refused(Refusal::Empty));
    }
    let format = match format {
        Some(f) => f,
        None => probe::sniff(&head, &file_name).map_err(UploadError::Refused)?,
    };
    let sha256: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();

    if let Some(existing) = super::find_by_sha256(db, user_id, &sha256)
        .await
        .context("looking for a duplicate")?
    {
        return Ok(Uploaded {
            media: existing,
            duplicate: true,
        });
    }

    let path = temp.path().to_owned();
    let probed = tokio::task::spawn_blocking(move || probe::probe(&path, format, len))
        .await
        .context("the probe thread failed")?
        .map_err(|e| match e {
            ProbeError::Refused(r) => UploadError::Refused(r),
            other => UploadError::Internal(anyhow::Error::new(other)),
        })?;

    let id = Uuid::now_v7();
    let original_key = store::original_key(user_id, id, format.extension());
    let thumbnail_key = store::thumbnail_key(user_id, id, probed.thumbnail.extension);
    store
        .put_file(&original_key, open(temp.path()).await?)
        .await?;
    if let Err(e) = store
        .put_bytes(&thumbnail_key, probed.thumbnail.bytes.clone())
        .await
    {
        remove(store, &[&original_key]).await;
        return Err(e.into());
    }

    let row = media::ActiveModel {
        id: Set(id),
        user_id: Set(user_id),
        kind: Set(format.kind()),
        mime: Set(format.mime().to_owned()),
        size_bytes: Set(i64::try_from(len).unwrap_or(i64::MAX)),
        width: Set(i32::try_from(probed.width).ok()),
        height: Set(i32::try_from(probed.height).ok()),
        duration_ms: Set(probed.duration_ms.and_then(|d| i32::try_from(d).ok())),
        sha256: Set(sha256.clone()),
        storage_key: Set(original_key.clone()),
        thumbnail_key: Set(Some(thumbnail_key.clone())),
        original_filename: Set(file_name),
        alt_text: Set(String::new()),
        category_check: Set(None),
        created_at: Set(chrono::Utc::now()),
    };
    match row.insert(db).await {
        Ok(media) => {
            tracing::info!(media_id = %media.id, mime = %media.mime, size = len, "media stored");
            Ok(Uploaded {
                media,
                duplicate: false,
            })
        }
        Err(e) => {
            remove(store, &[&original_key, &thumbnail_key]).await;
            // The same file finished uploading in another request a moment ago.
            if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
                && let Some(existing) = super::find_by_sha256(db, user_id, &sha256)
                    .await
                    .context("looking for a duplicate")?
            {
                return Ok(Uploaded {
                    media: existing,
                    duplicate: true,
                });
            }
            Err(anyhow::Error::new(e).context("saving the media row").into())
        }
    }
}

async fn open(path: &Path) -> anyhow::Result<tokio::fs::File> {
    tokio::fs::File::open(path)
        .await
        .context("reopening the temporary file")
}

async fn remove(store: &MediaStore, keys: &[&str]) {
    for key in keys {
        if let Err(e) = store.delete(key).await {
            tracing::warn!(error = %e, key, "couldn't remove an object after a failed upload");
        }
    }
}

/// The file's own name, without any folder a browser sent along (`C:\fakepath\…`), control
/// characters, or more than 255 characters.
pub fn clean_file_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(255).collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        "untitled".into()
    } else {
        cleaned.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_their_folders_and_control_characters() {
        assert_eq!(clean_file_name("C:\\fakepath\\mug.jpg"), "mug.jpg");
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("a\u{0}b\nc.png"), "abc.png");
        assert_eq!(clean_file_name(""), "untitled");
    }
}

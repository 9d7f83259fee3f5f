//! Bringing a photo from a web address (a product's image on its shop) into the library, through
//! the same intake as an upload (`upload::accept`: sniffed, size-capped, probed, deduplicated,
//! stored with its thumbnail).
//!
//! Only `http`/`https`, only answers that say they are an image, at most the photo size limit
//! and `IMPORT_TIMEOUT` for the whole exchange.

use std::time::Duration;

use futures::StreamExt as _;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::store::MediaStore;
use super::upload::{self, ReadError, UploadError, Uploaded};
use crate::entities::enums::MediaKind;

/// The whole fetch, from connecting to the last byte.
pub const IMPORT_TIMEOUT: Duration = Duration::from_secs(20);

/// Why a photo couldn't be brought in. `Display` is for the seller.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the address isn't a web address we fetch (only http and https are)")]
    NotWeb,
    #[error("the shop's server didn't give us the photo ({0})")]
    Fetch(String),
    #[error("the address doesn't lead to a photo (the shop sent {0})")]
    NotImage(String),
    #[error("the photo is larger than the {0} we accept")]
    TooLarge(String),
    #[error("{0}")]
    Refused(super::Refusal),
    #[error(transparent)]
    Internal(anyhow::Error),
}

/// Downloads the photo at `url` into `user_id`'s library (or finds the identical one there).
#[tracing::instrument(skip(db, store))]
pub async fn image_from_url(
    db: &DatabaseConnection,
    store: &MediaStore,
    user_id: Uuid,
    url: &str,
) -> Result<Uploaded, ImportError> {
    let parsed = url::Url::parse(url.trim()).map_err(|_| ImportError::NotWeb)?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(ImportError::NotWeb);
    }
    // SSRF: the guard belongs here — resolve the host and refuse loopback, private, link-local
    // and metadata addresses (for every redirect hop too) before connecting. Tracked separately;
    // until then only the scheme, size and time are limited.
    let limit = store.limits().for_kind(MediaKind::Image);
    let client = reqwest::Client::builder()
        .timeout(IMPORT_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::limited(3))
        .user_agent(concat!("Picscripter/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ImportError::Internal(e.into()))?;
    let res = client
        .get(parsed.clone())
        .header(reqwest::header::ACCEPT, "image/*")
        .send()
        .await
        .map_err(|e| {
            ImportError::Fetch(if e.is_timeout() {
                "it took too long".into()
            } else {
                "it couldn't be reached".into()
            })
        })?;
    if !res.status().is_success() {
        return Err(ImportError::Fetch(format!(
            "it answered {}",
            res.status().as_u16()
        )));
    }
    let content_type = res
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if !content_type.starts_with("image/") {
        let shown = if content_type.is_empty() {
            "no type".to_owned()
        } else {
            content_type
        };
        return Err(ImportError::NotImage(shown));
    }
    if res.content_length().is_some_and(|n| n > limit) {
        return Err(ImportError::TooLarge(super::human_size(limit)));
    }
    let file_name = parsed
        .path_segments()
        .and_then(|mut s| s.next_back())
        .filter(|s| !s.is_empty())
        .unwrap_or("product-photo")
        .to_owned();
    let mut seen: u64 = 0;
    let stream = res.bytes_stream().map(move |chunk| {
        let chunk = chunk.map_err(|_| ReadError::Interrupted)?;
        seen += chunk.len() as u64;
        // A server that lies about (or omits) its length is cut off at the limit all the same.
        if seen > limit {
            return Err(ReadError::TooLarge);
        }
        Ok(chunk)
    });
    match upload::accept(db, store, user_id, &file_name, stream).await {
        Ok(up) => Ok(up),
        Err(UploadError::Refused(r)) => Err(ImportError::Refused(r)),
        Err(UploadError::RequestTooLarge) => Err(ImportError::TooLarge(super::human_size(limit))),
        Err(UploadError::Interrupted) => Err(ImportError::Fetch(
            "the download broke off or took too long".into(),
        )),
        Err(UploadError::Internal(e)) => Err(ImportError::Internal(e)),
    }
}

//! Bringing a photo from a web address (a product's image on its shop) into the library, through
//! the same intake as an upload (`upload::accept`: sniffed, size-capped, probed, deduplicated,
//! stored with its thumbnail).
//!
//! The address is fetched with [`SafeFetch`]: only `http`/`https`, never an address inside our
//! network (on any redirect hop), at most the photo size limit and `OUTBOUND_TIMEOUT_SECS` for
//! the whole exchange. Only answers that say they are an image are taken.

use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use sea_orm::DatabaseConnection;
use serde_json::json;
use uuid::Uuid;

use super::store::MediaStore;
use super::upload::{self, ReadError, UploadError, Uploaded};
use crate::entities::enums::MediaKind;
use crate::net::{FetchError, Limits, SafeFetch};
use crate::security::audit::{self, Action};

/// Why a photo couldn't be brought in. `Display` is for the seller.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the address isn't a web address we fetch (only http and https are)")]
    NotWeb,
    #[error("the shop's server didn't give us the photo ({0})")]
    Fetch(String),
    /// Refused before or while fetching: an inward address, too slow, unreachable…
    #[error("{0}")]
    Unfetchable(FetchError),
    #[error("the address doesn't lead to a photo (the shop sent {0})")]
    NotImage(String),
    #[error("the photo is larger than the {0} we accept")]
    TooLarge(String),
    #[error("{0}")]
    Refused(super::Refusal),
    #[error(transparent)]
    Internal(anyhow::Error),
}

/// Downloads the photo at `url` into `user_id`'s library (or finds the identical one there),
/// taking at most `timeout`. A refusal because the address points inside is audited.
#[tracing::instrument(skip(db, store, fetch))]
pub async fn image_from_url(
    db: &DatabaseConnection,
    store: &MediaStore,
    fetch: &SafeFetch,
    timeout: Duration,
    user_id: Uuid,
    url: &str,
) -> Result<Uploaded, ImportError> {
    let parsed = url::Url::parse(url.trim()).map_err(|_| ImportError::NotWeb)?;
    let limit = store.limits().for_kind(MediaKind::Image);
    let mut headers = HeaderMap::new();
    headers.insert(header::ACCEPT, HeaderValue::from_static("image/*"));
    let res = match fetch
        .request(
            reqwest::Method::GET,
            parsed.as_str(),
            headers,
            None,
            Limits::new(limit, timeout),
        )
        .await
    {
        Ok(res) => res,
        Err(FetchError::NotWeb) => return Err(ImportError::NotWeb),
        Err(FetchError::TooLarge(_)) => {
            return Err(ImportError::TooLarge(super::human_size(limit)));
        }
        Err(FetchError::Inward) => {
            // Only the host: the address may carry credentials or tokens in its other parts.
            audit::record(
                db,
                audit::Event::new(Action::OutboundRefused)
                    .actor(user_id)
                    .details(json!({ "purpose": "media_import", "host": parsed.host_str() })),
            )
            .await
            .map_err(|e| ImportError::Internal(e.into()))?;
            return Err(ImportError::Unfetchable(FetchError::Inward));
        }
        Err(e) => return Err(ImportError::Unfetchable(e)),
    };
    if !res.status.is_success() {
        return Err(ImportError::Fetch(format!(
            "it answered {}",
            res.status.as_u16()
        )));
    }
    let content_type = res
        .headers
        .get(header::CONTENT_TYPE)
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
    let file_name = parsed
        .path_segments()
        .and_then(|mut s| s.next_back())
        .filter(|s| !s.is_empty())
        .unwrap_or("product-photo")
        .to_owned();
    let stream = futures::stream::iter([Ok::<_, ReadError>(res.bytes)]);
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

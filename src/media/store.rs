//! Where media bytes live: an `object_store` chosen by `MEDIA_STORE` — a local folder (the
//! default, `./data/media`), or `s3://bucket/prefix` for S3 and S3-compatible services, with
//! credentials, region and `AWS_ENDPOINT` (plus `AWS_ALLOW_HTTP` for a plain-http endpoint)
//! from the standard AWS environment variables.
//!
//! Keys are `{user_id}/{media_id}/original.{ext}` and `{user_id}/{media_id}/thumb.{ext}`;
//! nothing a user typed is ever part of a key.

use std::ops::Range;
use std::sync::Arc;

use anyhow::Context as _;
use axum::body::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::prefix::PrefixStore;
use object_store::{
    GetOptions, GetRange, GetResult, ObjectStore, ObjectStoreExt as _, PutPayload, WriteMultipart,
};
use tokio::io::AsyncReadExt as _;
use uuid::Uuid;

use super::Limits;
use crate::config::Config;

/// Parts of a multipart put. S3 wants at least 5 MiB per part (but the last).
const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts uploading at once, so a large file costs at most a few parts of memory.
const PARTS_IN_FLIGHT: usize = 2;

/// The media store handle every handler reaches through `AppState::media`.
#[derive(Clone)]
pub struct MediaStore {
    store: Arc<dyn ObjectStore>,
    limits: Limits,
}

impl std::fmt::Debug for MediaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaStore")
            .field("store", &self.store.to_string())
            .field("limits", &self.limits)
            .finish()
    }
}

impl MediaStore {
    /// Opens the store `MEDIA_STORE` names, creating the local folder if needed.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let limits = Limits {
            image_bytes: config.media_max_image_bytes,
            video_bytes: config.media_max_video_bytes,
        };
        let location = config.media_store.as_str();
        let store: Arc<dyn ObjectStore> = if let Some(rest) = location.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let s3 = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()
                .with_context(|| format!("couldn't set up S3 storage for bucket {bucket:?} (MEDIA_STORE); check the AWS_* variables"))?;
            let prefix = prefix.trim_matches('/');
            if prefix.is_empty() {
                Arc::new(s3)
            } else {
                Arc::new(PrefixStore::new(s3, prefix))
            }
        } else {
            std::fs::create_dir_all(location).with_context(|| {
                format!("couldn't create the media folder {location:?} (MEDIA_STORE)")
            })?;
            Arc::new(
                LocalFileSystem::new_with_prefix(location)
                    .with_context(|| format!("couldn't open the media folder {location:?}"))?
                    // Deleting an item's last file removes its folder too.
                    .with_automatic_cleanup(true),
            )
        };
        Ok(Self::new(store, limits))
    }

    pub fn new(store: Arc<dyn ObjectStore>, limits: Limits) -> Self {
        Self { store, limits }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The underlying store, for callers that need more than this module offers.
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Copies a file into the store with a streaming multipart put: a few parts in memory at
    /// a time, whatever the file's size.
    pub async fn put_file(&self, key: &str, mut file: tokio::fs::File) -> anyhow::Result<()> {
        let upload = self
            .store
            .put_multipart(&StorePath::from(key))
            .await
            .with_context(|| format!("starting the upload of {key}"))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut buf = vec![0u8; 256 * 1024];
        let copied: anyhow::Result<()> = async {
            loop {
                let n = file.read(&mut buf).await.context("reading the upload")?;
                if n == 0 {
                    return Ok(());
                }
                writer
                    .wait_for_capacity(PARTS_IN_FLIGHT)
                    .await
                    .with_context(|| format!("storing {key}"))?;
                writer.write(&buf[..n]);
            }
        }
        .await;
        match copied {
            Ok(()) => {
                writer
                    .finish()
                    .await
                    .with_context(|| format!("finishing {key}"))?;
                Ok(())
            }
            Err(e) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(error = %abort, key, "couldn't abort a failed upload");
                }
                Err(e)
            }
        }
    }

    /// Stores a small object (a thumbnail) in one put.
    pub async fn put_bytes(&self, key: &str, bytes: Vec<u8>) -> anyhow::Result<()> {
        self.store
            .put(&StorePath::from(key), PutPayload::from(bytes))
            .await
            .with_context(|| format!("storing {key}"))?;
        Ok(())
    }

    /// An object, or the bytes `range` of it.
    pub async fn get(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> object_store::Result<GetResult> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        self.store.get_opts(&StorePath::from(key), options).await
    }

    /// The size of a stored object, in bytes.
    pub async fn size(&self, key: &str) -> object_store::Result<u64> {
        Ok(self.store.head(&StorePath::from(key)).await?.size)
    }

    /// Reads a whole (small) object.
    pub async fn read(&self, key: &str) -> object_store::Result<Bytes> {
        self.store.get(&StorePath::from(key)).await?.bytes().await
    }

    /// Deletes an object; one that is already gone counts as deleted.
    pub async fn delete(&self, key: &str) -> object_store::Result<()> {
        match self.store.delete(&StorePath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Where an item's original goes.
pub fn original_key(user_id: Uuid, media_id: Uuid, extension: &str) -> String {
    format!("{user_id}/{media_id}/original.{extension}")
}

/// Where an item's thumbnail goes.
pub fn thumbnail_key(user_id: Uuid, media_id: Uuid, extension: &str) -> String {
    format!("{user_id}/{media_id}/thumb.{extension}")
}

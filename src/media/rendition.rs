//! Renditions: the same photo in another format, made once and kept in the store. Some
//! networks that pull photos by URL take only JPEG (Instagram; WebP and GIF elsewhere), so the
//! publisher hands them a JPEG made from the original, with transparency laid on white.

use std::io::Cursor;

use anyhow::Context as _;

use super::store::MediaStore;
use crate::entities::media;

/// Where an item's JPEG rendition lives (next to, not instead of, the original).
pub fn jpeg_key(m: &media::Model) -> String {
    format!("renditions/{}/{}.jpg", m.user_id, m.sha256)
}

/// Makes the JPEG rendition of a photo if it doesn't exist yet; returns its key. A JPEG
/// original is its own rendition.
pub async fn ensure_jpeg(store: &MediaStore, m: &media::Model) -> anyhow::Result<String> {
    if m.mime == "image/jpeg" {
        return Ok(m.storage_key.clone());
    }
    anyhow::ensure!(
        m.mime.starts_with("image/"),
        "only photos have JPEG renditions"
    );
    let key = jpeg_key(m);
    if store.read(&key).await.is_ok() {
        return Ok(key);
    }
    let original = store
        .read(&m.storage_key)
        .await
        .with_context(|| format!("reading {}", m.storage_key))?;
    let jpeg = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<u8>> {
        let img = image::load_from_memory(&original).context("decoding the photo")?;
        // JPEG has no transparency: lay the photo on white, as the networks show it.
        let rgba = img.to_rgba8();
        let mut rgb = image::RgbImage::new(rgba.width(), rgba.height());
        for (x, y, p) in rgba.enumerate_pixels() {
            let a = u16::from(p[3]);
            let blend = |c: u8| ((u16::from(c) * a + 255 * (255 - a)) / 255) as u8;
            rgb.put_pixel(x, y, image::Rgb([blend(p[0]), blend(p[1]), blend(p[2])]));
        }
        let mut out = Cursor::new(Vec::new());
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90);
        rgb.write_with_encoder(encoder)
            .context("encoding the JPEG")?;
        Ok(out.into_inner())
    })
    .await
    .context("the conversion task panicked")??;
    store.put_bytes(&key, jpeg).await?;
    Ok(key)
}

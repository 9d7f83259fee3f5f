//! Thumbnails: photos scaled to fit a 400-pixel box — JPEG for opaque pictures, lossless WebP
//! where there is transparency — and, for videos, a neutral poster of the video's shape with a
//! play mark. We can't decode video frames without ffmpeg, so the poster never pretends to
//! be one.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageFormat, ImageResult, Rgb, RgbImage};

/// The box thumbnails fit in.
pub const BOX: u32 = 400;
const JPEG_QUALITY: u8 = 82;

#[derive(Clone, Debug)]
pub struct Thumbnail {
    pub bytes: Vec<u8>,
    pub mime: &'static str,
    pub extension: &'static str,
}

/// A photo's thumbnail; small photos keep their size.
pub fn from_image(image: &DynamicImage) -> ImageResult<Thumbnail> {
    let scaled = if image.width() > BOX || image.height() > BOX {
        image.thumbnail(BOX, BOX)
    } else {
        image.clone()
    };
    let mut bytes = Vec::new();
    // Decoders often give an alpha channel to pictures that use none (lossless WebP always).
    let transparent = scaled.color().has_alpha() && scaled.to_rgba8().pixels().any(|p| p[3] < 255);
    if transparent {
        DynamicImage::ImageRgba8(scaled.to_rgba8())
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::WebP)?;
        Ok(Thumbnail {
            bytes,
            mime: "image/webp",
            extension: "webp",
        })
    } else {
        JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY).encode_image(&scaled.to_rgb8())?;
        Ok(Thumbnail {
            bytes,
            mime: "image/jpeg",
            extension: "jpg",
        })
    }
}

/// The size of a `width` × `height` picture fitted into the thumbnail box.
pub fn fit(width: u32, height: u32) -> (u32, u32) {
    if width == 0 || height == 0 {
        return (BOX, BOX * 9 / 16);
    }
    let scale = f64::from(BOX) / f64::from(width.max(height));
    let scale = scale.min(1.0);
    (
        ((f64::from(width) * scale).round() as u32).max(1),
        ((f64::from(height) * scale).round() as u32).max(1),
    )
}

/// A plain dark poster of the video's proportions with a light play mark in the middle.
pub fn video_poster(width: u32, height: u32) -> ImageResult<Thumbnail> {
    let (w, h) = fit(width, height);
    let background = Rgb([39u8, 39, 42]);
    let mark = Rgb([161u8, 161, 170]);
    let side = f64::from(w.min(h)) * 0.3;
    let (cx, cy) = (f64::from(w) / 2.0, f64::from(h) / 2.0);
    let (left, right) = (cx - side * 0.4, cx + side * 0.6);
    let poster = RgbImage::from_fn(w, h, |x, y| {
        let (x, y) = (f64::from(x) + 0.5, f64::from(y) + 0.5);
        let inside = x >= left
            && x <= right
            && (y - cy).abs() <= (side / 2.0) * (right - x) / (right - left);
        if inside { mark } else { background }
    });
    let mut bytes = Vec::new();
    DynamicImage::ImageRgb8(poster).write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)?;
    Ok(Thumbnail {
        bytes,
        mime: "image/png",
        extension: "png",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_fit_the_box_and_keep_their_shape() {
        assert_eq!(fit(1600, 900), (400, 225));
        assert_eq!(fit(900, 1600), (225, 400));
        assert_eq!(fit(120, 80), (120, 80));
    }

    #[test]
    fn a_poster_is_a_small_png_of_the_videos_shape() {
        let poster = video_poster(1920, 1080).unwrap();
        assert_eq!(poster.mime, "image/png");
        let img = image::load_from_memory(&poster.bytes).unwrap();
        assert_eq!((img.width(), img.height()), (400, 225));
        assert!(poster.bytes.len() < 10_000);
    }
}

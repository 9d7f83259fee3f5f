//! Static assets compiled into the binary: one file to deploy, and every asset URL carries a
//! content hash (`/static/app.css?v=…`) so browsers may cache it forever.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::error::AppError;
use crate::state::AppState;

struct File {
    path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const FILES: &[File] = &[
    File {
        path: "app.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../static/app.css"),
    },
    File {
        path: "app.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../static/app.js"),
    },
    File {
        path: "htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../static/htmx.min.js"),
    },
    File {
        path: "favicon.svg",
        content_type: "image/svg+xml",
        bytes: include_bytes!("../../static/favicon.svg"),
    },
    File {
        path: "fonts/inter-latin-wght-normal.woff2",
        content_type: "font/woff2",
        bytes: include_bytes!("../../static/fonts/inter-latin-wght-normal.woff2"),
    },
];

pub struct Assets {
    by_path: HashMap<&'static str, (&'static File, String)>,
}

impl Assets {
    pub fn load() -> Self {
        let by_path = FILES
            .iter()
            .map(|f| {
                (
                    f.path,
                    (f, crate::security::sha256_hex(f.bytes)[..12].to_owned()),
                )
            })
            .collect();
        Self { by_path }
    }

    /// The cache-busting URL of an asset, for templates.
    pub fn url(&self, path: &str) -> String {
        match self.by_path.get(path) {
            Some((_, hash)) => format!("/static/{path}?v={hash}"),
            None => format!("/static/{path}"),
        }
    }
}

#[derive(Deserialize)]
pub struct Version {
    v: Option<String>,
}

pub async fn serve(
    State(state): State<AppState>,
    Path(path): Path<String>,
    Query(version): Query<Version>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let Some((file, hash)) = state.assets.by_path.get(path.as_str()) else {
        return Err(AppError::NotFound);
    };
    let etag = format!("\"{hash}\"");
    let cache = if version.v.as_deref() == Some(hash.as_str()) {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    let mut res = if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, file.content_type)], file.bytes).into_response()
    };
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    Ok(res)
}

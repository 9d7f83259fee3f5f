//! In-process tests: each starts the sandbox on 127.0.0.1:0 and drives it over HTTP the way a
//! browser and a client would, reading the consent form out of the served HTML. Publishing tests
//! mint their tokens directly (the OAuth tests cover how they are obtained) and serve their media
//! from a small local server, which the sandbox pulls from like a platform would.

mod etsy;
mod etsy_catalog;
mod facebook;
mod facebook_publishing;
mod inspection;
mod instagram;
mod instagram_publishing;
mod linkedin;
mod linkedin_publishing;
mod metrics;
mod pinterest;
mod pinterest_publishing;
mod shopify;
mod shopify_catalog;
mod squarespace;
mod squarespace_catalog;
mod tiktok;
mod tiktok_publishing;
mod tt_yt_metrics;
mod x;
mod x_metrics;
mod x_publishing;
mod youtube;
mod youtube_publishing;

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode};
use serde_json::Value;
use url::Url;

use super::state::{Issue, Token};
use super::{Sandbox, SandboxConfig, default_client_id, default_client_secret};
use crate::domain::Platform;

pub(super) struct Harness {
    pub sandbox: Sandbox,
    pub base: String,
    pub http: Client,
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut SandboxConfig)) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut config = SandboxConfig::new(Url::parse(&base).unwrap());
        adjust(&mut config);
        let sandbox = Sandbox::new(config);
        let served = sandbox.clone();
        tokio::spawn(async move {
            super::serve(served, listener, std::future::pending())
                .await
                .unwrap();
        });
        let http = Client::builder().redirect(Policy::none()).build().unwrap();
        Self {
            sandbox,
            base,
            http,
        }
    }

    /// The sandbox address of `https://{host_path}` on `platform`.
    pub fn url(&self, platform: Platform, host_path: &str) -> String {
        format!("{}/{platform}/{host_path}", self.base)
    }

    /// Opens a consent page and reads its form.
    pub async fn consent(&self, url: &str) -> ConsentForm {
        let res = self.http.get(url).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "consent page for {url}");
        let html = res.text().await.unwrap();
        ConsentForm::parse(&self.base, html)
    }

    /// Answers a consent form the way a browser would, optionally typing another account.
    pub async fn answer(
        &self,
        form: &ConsentForm,
        decision: &str,
        account: Option<&str>,
    ) -> reqwest::Response {
        let mut fields: Vec<(String, String)> = form
            .fields
            .iter()
            .filter(|(k, _)| !(account.is_some() && k == "account"))
            .cloned()
            .collect();
        if let Some(a) = account {
            fields.push(("account".into(), a.into()));
        }
        fields.push(("decision".into(), decision.into()));
        self.http
            .post(&form.action)
            .form(&fields)
            .send()
            .await
            .unwrap()
    }

    /// Answers a consent form and returns where the browser is sent.
    pub async fn decide(&self, form: &ConsentForm, decision: &str, account: Option<&str>) -> Url {
        let res = self.answer(form, decision, account).await;
        redirect_target(res)
    }

    /// Opens the consent page at `url`, allows it, and returns the redirect.
    pub async fn allow(&self, url: &str) -> Url {
        let form = self.consent(url).await;
        self.decide(&form, "allow", None).await
    }

    pub async fn get_json(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        json_of(req.send().await.unwrap()).await
    }

    /// An access token for `account` with `scopes`, as if it had just connected.
    pub fn token(&self, platform: Platform, account: &str, scopes: &[&str]) -> String {
        self.mint(platform, account, scopes, &[]).value
    }

    fn mint(&self, platform: Platform, account: &str, scopes: &[&str], pages: &[&str]) -> Token {
        let now = self.sandbox.now();
        let mut store = self.sandbox.shared.store();
        let mut grant = store.new_grant(
            platform,
            &default_client_id(platform),
            account,
            scopes.iter().map(|s| (*s).to_owned()).collect(),
        );
        grant.pages = pages.iter().map(|p| (*p).to_owned()).collect();
        store.issue(Issue::access("sbx", 48, Some(3600)), &grant, now)
    }

    /// A Facebook user token that granted `pages`.
    pub fn facebook_user_token(&self, account: &str, scopes: &[&str], pages: &[&str]) -> String {
        self.mint(Platform::Facebook, account, scopes, pages).value
    }

    /// The Page token of `page` for a user who granted it.
    pub fn page_token(&self, account: &str, scopes: &[&str], page: &str) -> String {
        let user = self.mint(Platform::Facebook, account, scopes, &[page]);
        let now = self.sandbox.now();
        self.sandbox
            .shared
            .store()
            .page_token(&user.grant, page, now)
            .value
    }

    /// Adds a fault through the HTTP endpoint.
    pub async fn fault(&self, fault: Value) -> Value {
        let (status, body) = self
            .get_json(
                self.http
                    .post(format!("{}/_sandbox/faults", self.base))
                    .json(&fault),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    pub async fn published(&self, platform: &str) -> Vec<Value> {
        let (_, body) = self
            .get_json(self.http.get(format!(
                "{}/_sandbox/published?platform={platform}",
                self.base
            )))
            .await;
        body.as_array().unwrap().clone()
    }

    pub async fn duplicates(&self) -> Value {
        let (status, body) = self
            .get_json(
                self.http
                    .get(format!("{}/_sandbox/published/duplicates", self.base)),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        body
    }
}

/// A small web server holding media files, the way an app serves media platforms pull.
/// `/private/…` answers 403 and unknown paths 404.
pub(super) struct MediaServer {
    base: String,
}

impl MediaServer {
    pub async fn start() -> Self {
        let files: Arc<HashMap<&'static str, (Vec<u8>, &'static str)>> = Arc::new(
            [
                ("/square.jpg", (jpeg(320, 320), "image/jpeg")),
                ("/portrait.jpg", (jpeg(320, 400), "image/jpeg")),
                ("/wide.jpg", (jpeg(382, 200), "image/jpeg")),
                ("/tall.jpg", (jpeg(100, 300), "image/jpeg")),
                ("/square.png", (png(64, 64), "image/png")),
                ("/square.webp", (webp(64, 64), "image/webp")),
                ("/clip.mp4", (mp4(4096), "video/mp4")),
                (
                    "/page.html",
                    (
                        b"<html><body>not a photo</body></html>".to_vec(),
                        "text/html",
                    ),
                ),
                ("/private/square.jpg", (Vec::new(), "image/jpeg")),
            ]
            .into_iter()
            .collect(),
        );
        let serve = move |uri: axum::http::Uri| {
            let files = files.clone();
            async move {
                use axum::response::IntoResponse;
                let path = uri.path();
                if path.starts_with("/private/") {
                    return axum::http::StatusCode::FORBIDDEN.into_response();
                }
                match files.get(path) {
                    Some((bytes, kind)) => {
                        ([(axum::http::header::CONTENT_TYPE, *kind)], bytes.clone()).into_response()
                    }
                    None => axum::http::StatusCode::NOT_FOUND.into_response(),
                }
            }
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new().fallback(serve);
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { base }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// A URL nothing listens on.
pub(super) async fn dead_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/gone.jpg")
}

pub(super) fn encode(img: image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), format).unwrap();
    out
}

pub(super) fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    encode(
        image::DynamicImage::ImageRgb8(img),
        image::ImageFormat::Jpeg,
    )
}

pub(super) fn png(w: u32, h: u32) -> Vec<u8> {
    encode(
        image::DynamicImage::ImageRgb8(image::RgbImage::new(w, h)),
        image::ImageFormat::Png,
    )
}

pub(super) fn webp(w: u32, h: u32) -> Vec<u8> {
    encode(
        image::DynamicImage::ImageRgba8(image::RgbaImage::new(w, h)),
        image::ImageFormat::WebP,
    )
}

/// Bytes that start like an MP4 file (an `ftyp` box), padded to `len`.
pub(super) fn mp4(len: usize) -> Vec<u8> {
    let mut out = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom".to_vec();
    out.resize(len.max(out.len()), 0);
    out
}

pub(super) async fn json_of(res: reqwest::Response) -> (StatusCode, Value) {
    let status = res.status();
    let text = res.text().await.unwrap();
    let body =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, body)
}

pub(super) fn redirect_target(res: reqwest::Response) -> Url {
    assert_eq!(res.status(), StatusCode::FOUND, "expected a redirect");
    let location = res.headers()["location"].to_str().unwrap();
    Url::parse(location).unwrap()
}

pub(super) struct ConsentForm {
    pub html: String,
    pub action: String,
    /// Hidden fields, the account field and ticked checkboxes, in page order.
    pub fields: Vec<(String, String)>,
}

impl ConsentForm {
    fn parse(base: &str, html: String) -> Self {
        let doc = scraper::Html::parse_document(&html);
        let form_sel = scraper::Selector::parse("form").unwrap();
        let input_sel = scraper::Selector::parse("input").unwrap();
        let form = doc.select(&form_sel).next().expect("a form");
        let action = format!("{base}{}", form.value().attr("action").unwrap());
        let mut fields = Vec::new();
        for input in form.select(&input_sel) {
            let el = input.value();
            let (Some(name), value) = (el.attr("name"), el.attr("value").unwrap_or("")) else {
                continue;
            };
            let kind = el.attr("type").unwrap_or("text");
            if kind == "checkbox" && el.attr("checked").is_none() {
                continue;
            }
            fields.push((name.to_owned(), value.to_owned()));
        }
        Self {
            html,
            action,
            fields,
        }
    }

    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// A fixed PKCE pair (RFC 7636 appendix B).
pub(super) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub(super) const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub(super) const REDIRECT: &str = "http://127.0.0.1:8080/oauth/callback";

pub(super) fn basic(platform: Platform) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!(
            "{}:{}",
            default_client_id(platform),
            default_client_secret(platform)
        ))
    )
}

pub(super) fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

pub(super) fn id(platform: Platform) -> String {
    default_client_id(platform)
}

pub(super) fn secret(platform: Platform) -> String {
    default_client_secret(platform)
}

/// `?k=v&…` with every value encoded.
pub(super) fn query(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

//! Publishing on Instagram (PLATFORMS.md §2, Instagram Login flavour on `graph.instagram.com`):
//! create a container (one per carousel item, then the carousel), wait for it to be `FINISHED`,
//! then `media_publish`. Each container id is recorded as soon as it exists, so a resumed job
//! reuses it; the container's status tells reconciliation whether the post went out.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::oauth::GRAPH_VERSION;
use crate::domain::{Format, MediaKind, Platform};
use crate::platforms::Http;
use crate::platforms::meta::{self, GraphError};
use crate::platforms::publish::{
    self, Kind, MediaInput, Progress, PublishError, PublishRequest, Published, Publisher,
    Reconciled,
};

pub struct InstagramPublisher {
    pub http: Http,
}

const NETWORK: &str = "Instagram";

fn graph(path: &str) -> String {
    format!("https://graph.instagram.com/{GRAPH_VERSION}/{path}")
}

/// Instagram's refusals in plain words (subcodes from Postiz's mapping, PLATFORMS.md §2).
fn plain(e: &GraphError) -> Option<String> {
    Some(match e.subcode {
        2207001 => "Instagram flagged this post as possible spam. Change the caption (fewer hashtags and links) and try again.".into(),
        2207005 => "Instagram doesn't accept this photo's format. Use a JPEG photo.".into(),
        2207009 | 36003 => "Instagram refused the photo's shape: feed photos must be between 4:5 (portrait) and 1.91:1 (landscape). Crop it and try again.".into(),
        36001 => "Instagram refused the photo's resolution. Use a larger photo (at least 320 pixels wide).".into(),
        2207042 => "This account has reached Instagram's limit of posts per 24 hours. Schedule this one for tomorrow.".into(),
        2207051 => "Instagram blocked this post as against its rules. Check the caption and media, then try again.".into(),
        2207077 | 2207052 => "Instagram couldn't download the media from Picscripter. Make sure PUBLIC_BASE_URL is an address the internet can reach, then retry.".into(),
        2207026 => "Instagram couldn't process this video. Check it is an MP4 of 3 seconds to 15 minutes, then try again.".into(),
        _ => return None,
    })
}

fn classify(answer: &publish::Answer) -> PublishError {
    let e = GraphError::read(&answer.json);
    // "Not ready yet" and "upload failed, try again" are worth another go.
    if matches!(e.subcode, 2207027 | 2207082) || e.code == 9007 {
        return PublishError::Retryable {
            status: Some(answer.status),
            message: "Instagram is still preparing the media; we'll try again shortly.".into(),
            retry_after: None,
        };
    }
    if e.subcode == 2207042 {
        return PublishError::Retryable {
            status: Some(answer.status),
            message: plain(&e).unwrap_or_default(),
            retry_after: Some(chrono::Utc::now() + chrono::Duration::hours(1)),
        };
    }
    meta::classify(answer, NETWORK, plain)
}

/// What a container's `status_code` says.
enum Container {
    Finished,
    InProgress,
    Published,
    /// `ERROR` (with Meta's reason) or `EXPIRED`.
    Failed(String),
    Expired,
}

impl InstagramPublisher {
    async fn post_form(
        &self,
        token: &str,
        path: &str,
        form: &[(&str, String)],
        kind: Kind,
    ) -> Result<publish::Answer, PublishError> {
        let req = self
            .http
            .client()
            .post(self.http.url(Platform::Instagram, &graph(path)))
            .bearer_auth(token)
            .form(form);
        publish::send(req, kind).await
    }

    async fn create_container(
        &self,
        token: &str,
        ig_user: &str,
        form: Vec<(&str, String)>,
    ) -> Result<String, PublishError> {
        let answer = self
            .post_form(token, &format!("{ig_user}/media"), &form, Kind::Step)
            .await?;
        if !(200..300).contains(&answer.status) {
            return Err(classify(&answer));
        }
        meta::id(&answer.json, "id")
            .ok_or_else(|| PublishError::retryable("Instagram didn't return a container id."))
    }

    async fn container_status(&self, token: &str, id: &str) -> Result<Container, PublishError> {
        let url = format!("{}?fields=status_code,status", graph(id));
        let req = self
            .http
            .client()
            .get(self.http.url(Platform::Instagram, &url))
            .bearer_auth(token);
        let answer = publish::send(req, Kind::Step).await?;
        if !(200..300).contains(&answer.status) {
            return Err(classify(&answer));
        }
        Ok(
            match answer.json.get("status_code").and_then(Value::as_str) {
                Some("FINISHED") => Container::Finished,
                Some("PUBLISHED") => Container::Published,
                Some("EXPIRED") => Container::Expired,
                Some("ERROR") => {
                    let status = answer
                        .json
                        .get("status")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned();
                    let subcode = status
                        .split(|c: char| !c.is_ascii_digit())
                        .rfind(|p| p.len() >= 5)
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0);
                    let e = GraphError {
                        subcode,
                        message: status.clone(),
                        ..GraphError::default()
                    };
                    Container::Failed(plain(&e).unwrap_or_else(|| {
                        format!("Instagram couldn't prepare the media: {status}")
                    }))
                }
                _ => Container::InProgress,
            },
        )
    }

    /// Waits until the container is ready, polling quickly at first and then more gently.
    async fn wait_finished(&self, token: &str, id: &str) -> Result<Container, PublishError> {
        let started = std::time::Instant::now();
        let mut wait = std::time::Duration::from_millis(200);
        loop {
            match self.container_status(token, id).await? {
                Container::InProgress => {}
                other => return Ok(other),
            }
            if started.elapsed() > publish::POLL_BUDGET {
                return Err(PublishError::retryable(
                    "Instagram is still processing the media; we'll check again shortly.",
                ));
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(std::time::Duration::from_secs(10));
        }
    }

    fn item_form(m: &MediaInput, carousel_item: bool) -> Vec<(&'static str, String)> {
        let mut form = Vec::new();
        match m.facts.kind() {
            MediaKind::Image => {
                form.push(("image_url", m.url.clone()));
                if !carousel_item && !m.alt_text.trim().is_empty() {
                    form.push(("alt_text", m.alt_text.clone()));
                }
            }
            MediaKind::Video => {
                form.push(("media_type", "VIDEO".into()));
                form.push(("video_url", m.url.clone()));
            }
        }
        if carousel_item {
            form.push(("is_carousel_item", "true".into()));
        }
        form
    }

    /// Creates (or finds, on a resumed job) the container to publish.
    async fn container(
        &self,
        token: &str,
        ig_user: &str,
        req: &PublishRequest,
        progress: &mut dyn Progress,
    ) -> Result<String, PublishError> {
        if let Some(id) = progress.get_str("container") {
            return Ok(id);
        }
        let first = req.media.first().ok_or_else(|| {
            PublishError::permanent(
                "An Instagram post needs a photo or a video. Add one and try again.",
            )
        })?;
        let form: Vec<(&str, String)> = match req.format {
            Format::InstagramCarousel => {
                let mut children = Vec::with_capacity(req.media.len());
                for (i, m) in req.media.iter().enumerate() {
                    let key = format!("child.{i}");
                    let id = match progress.get_str(&key) {
                        Some(id) => id,
                        None => {
                            let id = self
                                .create_container(token, ig_user, Self::item_form(m, true))
                                .await?;
                            progress.set(&key, json!(id)).await?;
                            id
                        }
                    };
                    children.push(id);
                }
                // Video children must be processed before the carousel is made.
                for (i, child) in children.iter().enumerate() {
                    if req.media[i].facts.kind() == MediaKind::Video {
                        self.expect_ready(token, child, progress, Some(format!("child.{i}")))
                            .await?;
                    }
                }
                vec![
                    ("media_type", "CAROUSEL".into()),
                    ("children", children.join(",")),
                    ("caption", req.caption.clone()),
                ]
            }
            Format::InstagramReel => {
                vec![
                    ("media_type", "REELS".into()),
                    ("video_url", first.url.clone()),
                    ("caption", req.caption.clone()),
                    ("share_to_feed", "true".into()),
                ]
            }
            Format::InstagramStory => {
                let mut form = vec![("media_type", "STORIES".into())];
                match first.facts.kind() {
                    MediaKind::Image => form.push(("image_url", first.url.clone())),
                    MediaKind::Video => form.push(("video_url", first.url.clone())),
                }
                form
            }
            _ => {
                let mut form = Self::item_form(first, false);
                form.push(("caption", req.caption.clone()));
                form
            }
        };
        let id = self.create_container(token, ig_user, form).await?;
        progress.set("container", json!(id)).await?;
        Ok(id)
    }

    /// Waits for a container to be ready; an expired one is forgotten so the next attempt makes
    /// a new one.
    async fn expect_ready(
        &self,
        token: &str,
        id: &str,
        progress: &mut dyn Progress,
        key: Option<String>,
    ) -> Result<bool, PublishError> {
        match self.wait_finished(token, id).await? {
            Container::Finished => Ok(false),
            Container::Published => Ok(true),
            Container::Failed(why) => Err(PublishError::permanent(why)),
            Container::Expired | Container::InProgress => {
                progress
                    .set(key.as_deref().unwrap_or("container"), Value::Null)
                    .await?;
                Err(PublishError::retryable(
                    "Instagram let the prepared media expire; we'll prepare it again.",
                ))
            }
        }
    }

    async fn permalink(&self, token: &str, media_id: &str) -> Option<String> {
        let url = format!("{}?fields=permalink", graph(media_id));
        let answer = publish::send(
            self.http
                .client()
                .get(self.http.url(Platform::Instagram, &url))
                .bearer_auth(token),
            Kind::Step,
        )
        .await
        .ok()?;
        answer
            .json
            .get("permalink")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// The account's latest posts, to find one whose container was published but whose id we
    /// never heard.
    async fn find_recent(
        &self,
        token: &str,
        ig_user: &str,
        caption: &str,
    ) -> Result<Option<Published>, PublishError> {
        let url = format!(
            "{}?fields=id,caption,permalink,timestamp&limit=25",
            graph(&format!("{ig_user}/media"))
        );
        let answer = publish::send(
            self.http
                .client()
                .get(self.http.url(Platform::Instagram, &url))
                .bearer_auth(token),
            Kind::Step,
        )
        .await?;
        if !(200..300).contains(&answer.status) {
            return Err(classify(&answer));
        }
        let wanted = caption.trim();
        Ok(answer
            .json
            .get("data")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find_map(|m| {
                let same = m
                    .get("caption")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .trim()
                    == wanted;
                if !same {
                    return None;
                }
                Some(Published {
                    remote_id: meta::id(m, "id")?,
                    remote_url: m
                        .get("permalink")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                })
            }))
    }
}

fn ig_user(req: &PublishRequest) -> String {
    req.metadata
        .get("ig_user_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| req.account_id.clone())
}

#[async_trait]
impl Publisher for InstagramPublisher {
    async fn publish(
        &self,
        token: &SecretString,
        req: &PublishRequest,
        progress: &mut dyn Progress,
    ) -> Result<Published, PublishError> {
        let token = token.expose_secret();
        let ig_user = ig_user(req);
        let container = self.container(token, &ig_user, req, progress).await?;
        if self.expect_ready(token, &container, progress, None).await? {
            // Published by an earlier attempt whose answer we lost.
            return self
                .find_recent(token, &ig_user, &req.caption)
                .await?
                .ok_or_else(|| PublishError::Unknown { message: "Instagram says the post went out, but we couldn't find it on the account yet.".into() });
        }
        progress.mark_sent().await?;
        let answer = self
            .post_form(
                token,
                &format!("{ig_user}/media_publish"),
                &[("creation_id", container.clone())],
                Kind::Irreversible,
            )
            .await?;
        if (200..300).contains(&answer.status) {
            let id = meta::id(&answer.json, "id").ok_or_else(|| PublishError::Unknown {
                message: "Instagram accepted the post but didn't say its id.".into(),
            })?;
            let url = self.permalink(token, &id).await;
            return Ok(Published {
                remote_id: id,
                remote_url: url,
            });
        }
        progress.clear_sent().await?;
        Err(classify(&answer))
    }

    async fn reconcile(
        &self,
        token: &SecretString,
        req: &PublishRequest,
        progress: &mut dyn Progress,
    ) -> Result<Reconciled, PublishError> {
        let token = token.expose_secret();
        let Some(container) = progress.get_str("container") else {
            return Ok(Reconciled::NotPublished);
        };
        Ok(match self.container_status(token, &container).await? {
            Container::Published => {
                match self.find_recent(token, &ig_user(req), &req.caption).await? {
                    Some(p) => Reconciled::Published(p),
                    None => Reconciled::Processing,
                }
            }
            Container::InProgress => Reconciled::Processing,
            // Ready but never published, or dead: it did not go out.
            Container::Finished | Container::Failed(_) | Container::Expired => {
                Reconciled::NotPublished
            }
        })
    }
}

//! Publishing on X (PLATFORMS.md §1): media through the v2 upload endpoints (simple for photos,
//! chunked for video and GIFs), then `POST /2/tweets`. Reconciliation reads the account's recent
//! posts and matches the text and time.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::domain::{MediaKind, Platform};
use crate::platforms::Http;
use crate::platforms::publish::{
    self, Kind, Progress, PublishError, PublishRequest, Published, Publisher, Reconciled,
};

const UPLOAD: &str = "https://api.x.com/2/media/upload";
const TWEETS: &str = "https://api.x.com/2/tweets";
/// Chunks of 1 MiB, as the documented clients send.
const CHUNK: u64 = 1024 * 1024;

pub struct XPublisher {
    pub http: Http,
}

fn problem(json: &Value) -> String {
    json.get("detail")
        .or_else(|| json.pointer("/errors/0/message"))
        .or_else(|| json.get("title"))
        .and_then(Value::as_str)
        .unwrap_or("X refused the request")
        .to_owned()
}

/// X's refusals in plain words, with what to change.
fn plain(status: u16, detail: &str) -> String {
    let d = detail.to_lowercase();
    if d.contains("duplicate") {
        "X refused this post because you published the same text recently. Change the text a little and try again.".into()
    } else if d.contains("maximum of 4") || d.contains("media_ids") {
        "X takes up to four photos, or one GIF or video, per post. Remove some media and try again."
            .into()
    } else if d.contains("text") && (d.contains("long") || d.contains("length")) {
        "The text is too long for X. Shorten it to 280 characters (links count as 23).".into()
    } else if status == 403 && d.contains("not permitted") {
        "X says this account isn't allowed to post this. Check the account on X, then try again."
            .into()
    } else {
        format!("X refused the post: {detail}")
    }
}

impl XPublisher {
    async fn upload_media(
        &self,
        token: &str,
        req: &PublishRequest,
        progress: &mut dyn Progress,
    ) -> Result<Vec<String>, PublishError> {
        let mut ids = Vec::new();
        for (i, m) in req.media.iter().enumerate() {
            let key = format!("media.{i}");
            if let Some(id) = progress.get_str(&key) {
                ids.push(id);
                continue;
            }
            let id = if m.facts.kind() == MediaKind::Image && !m.facts.is_gif() {
                self.simple_upload(token, m).await?
            } else {
                self.chunked_upload(token, m).await?
            };
            progress.set(&key, json!(id)).await?;
            ids.push(id);
        }
        Ok(ids)
    }

    async fn simple_upload(
        &self,
        token: &str,
        m: &publish::MediaInput,
    ) -> Result<String, PublishError> {
        let bytes = m.loader.all().await.map_err(PublishError::retryable)?;
        let part = reqwest::multipart::Part::bytes(bytes.to_vec())
            .file_name("media")
            .mime_str(m.facts.mime().as_str())
            .map_err(|e| PublishError::permanent(e.to_string()))?;
        let form = reqwest::multipart::Form::new()
            .part("media", part)
            .text("media_category", "tweet_image");
        let req = self
            .http
            .client()
            .post(self.http.url(Platform::X, UPLOAD))
            .bearer_auth(token)
            .multipart(form);
        let answer = publish::send(req, Kind::Step).await?;
        self.media_id(answer)
    }

    fn media_id(&self, answer: publish::Answer) -> Result<String, PublishError> {
        if !(200..300).contains(&answer.status) {
            let detail = problem(&answer.json);
            return Err(publish::classify(
                &answer,
                Utc::now(),
                plain(answer.status, &detail),
            ));
        }
        answer
            .json
            .pointer("/data/id")
            .or_else(|| answer.json.get("media_id_string"))
            .and_then(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .or_else(|| v.as_u64().map(|n| n.to_string()))
            })
            .ok_or_else(|| PublishError::retryable("X didn't return a media id"))
    }

    async fn chunked_upload(
        &self,
        token: &str,
        m: &publish::MediaInput,
    ) -> Result<String, PublishError> {
        let category = if m.facts.is_gif() {
            "tweet_gif"
        } else {
            "tweet_video"
        };
        let init = self
            .http
            .client()
            .post(self.http.url(Platform::X, &format!("{UPLOAD}/initialize")))
            .bearer_auth(token)
            .json(&json!({ "media_type": m.facts.mime().as_str(), "total_bytes": m.loader.len(), "media_category": category }));
        let id = self.media_id(publish::send(init, Kind::Step).await?)?;
        for (index, (start, end)) in publish::chunks(m.loader.len(), CHUNK)
            .into_iter()
            .enumerate()
        {
            let chunk = m
                .loader
                .range(start, end)
                .await
                .map_err(PublishError::retryable)?;
            let form = reqwest::multipart::Form::new()
                .text("segment_index", index.to_string())
                .part(
                    "media",
                    reqwest::multipart::Part::bytes(chunk.to_vec()).file_name("chunk"),
                );
            let req = self
                .http
                .client()
                .post(self.http.url(Platform::X, &format!("{UPLOAD}/{id}/append")))
                .bearer_auth(token)
                .multipart(form);
            let answer = publish::send(req, Kind::Step).await?;
            if !(200..300).contains(&answer.status) {
                let detail = problem(&answer.json);
                return Err(publish::classify(
                    &answer,
                    Utc::now(),
                    plain(answer.status, &detail),
                ));
            }
        }
        let fin = self
            .http
            .client()
            .post(
                self.http
                    .url(Platform::X, &format!("{UPLOAD}/{id}/finalize")),
            )
            .bearer_auth(token);
        let answer = publish::send(fin, Kind::Step).await?;
        if !(200..300).contains(&answer.status) {
            let detail = problem(&answer.json);
            return Err(publish::classify(
                &answer,
                Utc::now(),
                plain(answer.status, &detail),
            ));
        }
        let mut info = answer.json.pointer("/data/processing_info").cloned();
        let started = std::time::Instant::now();
        while let Some(p) = info.clone() {
            match p.get("state").and_then(Value::as_str) {
                Some("succeeded") | None => break,
                Some("failed") => {
                    let why = p
                        .pointer("/error/message")
                        .and_then(Value::as_str)
                        .unwrap_or("X couldn't process the video");
                    return Err(PublishError::permanent(format!(
                        "X couldn't process the video: {why}. Check its length (0.5–140 seconds) and format (MP4)."
                    )));
                }
                _ => {}
            }
            if started.elapsed() > publish::POLL_BUDGET {
                return Err(PublishError::retryable(
                    "X is still processing the video; we'll check again shortly.",
                ));
            }
            let wait = p
                .get("check_after_secs")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .clamp(1, 10);
            tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
            let mut url = url::Url::parse(UPLOAD).expect("constant URL");
            url.query_pairs_mut()
                .append_pair("command", "STATUS")
                .append_pair("media_id", &id);
            let status = self
                .http
                .client()
                .get(self.http.url(Platform::X, url.as_str()))
                .bearer_auth(token);
            let answer = publish::send(status, Kind::Step).await?;
            info = answer.json.pointer("/data/processing_info").cloned();
        }
        Ok(id)
    }

    fn permalink(req: &PublishRequest, id: &str) -> String {
        match req.metadata.get("username").and_then(Value::as_str) {
            Some(u) => format!("https://x.com/{u}/status/{id}"),
            None => format!("https://x.com/i/web/status/{id}"),
        }
    }
}

#[async_trait]
impl Publisher for XPublisher {
    async fn publish(
        &self,
        token: &SecretString,
        req: &PublishRequest,
        progress: &mut dyn Progress,
    ) -> Result<Published, PublishError> {
        let token = token.expose_secret();
        let media_ids = self.upload_media(token, req, progress).await?;
        let mut body = json!({ "text": req.caption });
        if !media_ids.is_empty() {
            body["media"] = json!({ "media_ids": media_ids });
        }
        progress.mark_sent().await?;
        let create = self
            .http
            .client()
            .post(self.http.url(Platform::X, TWEETS))
            .bearer_auth(token)
            .json(&body);
        let answer = publish::send(create, Kind::Irreversible).await?;
        if answer.status == 201 || answer.status == 200 {
            let id = answer
                .json
                .pointer("/data/id")
                .and_then(Value::as_str)
                .ok_or_else(|| PublishError::Unknown {
                    message: "X accepted the post but didn't say its id.".into(),
                })?
                .to_owned();
            return Ok(Published {
                remote_url: Some(Self::permalink(req, &id)),
                remote_id: id,
            });
        }
        // X answered: it did not take the post.
        progress.clear_sent().await?;
        let detail = problem(&answer.json);
        Err(publish::classify(
            &answer,
            Utc::now(),
            plain(answer.status, &detail),
        ))
    }

    /// Looks for the post among the account's latest, by text and time.
    async fn reconcile(
        &self,
        token: &SecretString,
        req: &PublishRequest,
        progress: &mut dyn Progress,
    ) -> Result<Reconciled, PublishError> {
        let sent_at = progress
            .get_str("sent_at")
            .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|t| t.with_timezone(&Utc));
        let mut url = url::Url::parse(&format!(
            "https://api.x.com/2/users/{}/tweets",
            req.account_id
        ))
        .expect("account ids are URL-safe");
        url.query_pairs_mut()
            .append_pair("max_results", "20")
            .append_pair("tweet.fields", "created_at,text");
        let answer = publish::send(
            self.http
                .client()
                .get(self.http.url(Platform::X, url.as_str()))
                .bearer_auth(token.expose_secret()),
            Kind::Step,
        )
        .await?;
        if !(200..300).contains(&answer.status) {
            let detail = problem(&answer.json);
            return Err(publish::classify(&answer, Utc::now(), detail));
        }
        let wanted = req.caption.trim();
        let found = answer
            .json
            .get("data")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|t| {
                let same_text = t
                    .get("text")
                    .and_then(Value::as_str)
                    .is_some_and(|x| x.trim() == wanted);
                let recent = match (
                    sent_at,
                    t.get("created_at")
                        .and_then(Value::as_str)
                        .and_then(|c| DateTime::parse_from_rfc3339(c).ok()),
                ) {
                    (Some(sent), Some(created)) => {
                        created.with_timezone(&Utc) >= sent - chrono::Duration::minutes(2)
                    }
                    _ => true,
                };
                same_text && recent
            });
        Ok(
            match found.and_then(|t| t.get("id").and_then(Value::as_str)) {
                Some(id) => Reconciled::Published(Published {
                    remote_url: Some(Self::permalink(req, id)),
                    remote_id: id.to_owned(),
                }),
                // X's own timeline is authoritative for posts made minutes ago.
                None => Reconciled::NotPublished,
            },
        )
    }
}

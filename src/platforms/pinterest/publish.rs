//! Publishing on Pinterest (PLATFORMS.md §5): `POST /v5/pins` to the chosen board, with the photo
//! pulled from its signed URL, or a video registered with `POST /v5/media`, uploaded to the
//! address Pinterest gives, and processed before the pin is made.

use async_trait::async_trait;
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::domain::{MediaKind, Platform, TargetOptions};
use crate::platforms::Http;
use crate::platforms::publish::{
    self, Kind, MediaInput, Progress, PublishError, PublishRequest, Published, Publisher,
};

const PINS: &str = "https://api.pinterest.com/v5/pins";
const MEDIA: &str = "https://api.pinterest.com/v5/media";

pub struct PinterestPublisher {
    pub http: Http,
}

fn plain(status: u16, json: &Value) -> String {
    let detail = json
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("Pinterest refused the request");
    let d = detail.to_lowercase();
    if d.contains("board")
        && (d.contains("not found") || d.contains("doesn't exist") || d.contains("does not exist"))
    {
        "Pinterest can't find the board this pin was for. Choose another board and schedule it again.".into()
    } else if d.contains("image")
        && (d.contains("download") || d.contains("fetch") || d.contains("url"))
    {
        "Pinterest couldn't download the photo from Picscripter. Make sure PUBLIC_BASE_URL is an address the internet can reach, then retry.".into()
    } else if status == 403 {
        format!(
            "Pinterest says Picscripter isn't allowed to pin for this account ({detail}). Reconnect it and approve every permission asked."
        )
    } else {
        format!("Pinterest refused the pin: {detail}")
    }
}

/// Pinterest titles hold 100 characters.
fn title(req: &PublishRequest) -> String {
    let chosen = match &req.options {
        TargetOptions::Pinterest(o) => o.title.clone().filter(|t| !t.trim().is_empty()),
        _ => None,
    };
    let raw = chosen.unwrap_or_else(|| {
        req.caption
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .to_owned()
    });
    raw.trim().chars().take(100).collect()
}

impl PinterestPublisher {
    async fn upload_video(&self, token: &str, m: &MediaInput) -> Result<String, PublishError> {
        let register = self
            .http
            .client()
            .post(self.http.url(Platform::Pinterest, MEDIA))
            .bearer_auth(token)
            .json(&json!({ "media_type": "video" }));
        let answer = publish::send(register, Kind::Step).await?;
        if !(200..300).contains(&answer.status) {
            return Err(publish::classify(
                &answer,
                Utc::now(),
                plain(answer.status, &answer.json),
            ));
        }
        let id = answer
            .json
            .get("media_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let upload = answer
            .json
            .get("upload_url")
            .and_then(Value::as_str)
            .and_then(|u| self.http.remote_url(Platform::Pinterest, u));
        let (Some(id), Some(upload)) = (id, upload) else {
            return Err(PublishError::retryable(
                "Pinterest didn't say where to upload the video.",
            ));
        };
        let mut form = reqwest::multipart::Form::new();
        if let Some(params) = answer
            .json
            .get("upload_parameters")
            .and_then(Value::as_object)
        {
            for (k, v) in params {
                form = form.text(
                    k.clone(),
                    v.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string()),
                );
            }
        }
        let bytes = m.loader.all().await.map_err(PublishError::retryable)?;
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(bytes.to_vec())
                .file_name("video")
                .mime_str(m.facts.mime().as_str())
                .map_err(|e| PublishError::permanent(e.to_string()))?,
        );
        let answer =
            publish::send(self.http.client().post(upload).multipart(form), Kind::Step).await?;
        if !(200..300).contains(&answer.status) {
            return Err(PublishError::retryable(format!(
                "Pinterest's upload failed ({}); we'll try again.",
                answer.status
            )));
        }
        let started = std::time::Instant::now();
        let mut wait = std::time::Duration::from_millis(250);
        loop {
            let status = self
                .http
                .client()
                .get(self.http.url(Platform::Pinterest, &format!("{MEDIA}/{id}")))
                .bearer_auth(token);
            let answer = publish::send(status, Kind::Step).await?;
            match answer.json.get("status").and_then(Value::as_str) {
                Some("succeeded") => return Ok(id),
                Some("failed") => {
                    return Err(PublishError::permanent(
                        "Pinterest couldn't process the video. Check that it is an MP4 or MOV of 4 seconds to 15 minutes, then try again.",
                    ));
                }
                _ if !(200..300).contains(&answer.status) => {
                    return Err(publish::classify(
                        &answer,
                        Utc::now(),
                        plain(answer.status, &answer.json),
                    ));
                }
                _ => {}
            }
            if started.elapsed() > publish::POLL_BUDGET {
                return Err(PublishError::retryable(
                    "Pinterest is still processing the video; we'll check again shortly.",
                ));
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(std::time::Duration::from_secs(10));
        }
    }
}

#[async_trait]
impl Publisher for PinterestPublisher {
    async fn publish(
        &self,
        token: &SecretString,
        req: &PublishRequest,
        progress: &mut dyn Progress,
    ) -> Result<Published, PublishError> {
        let token = token.expose_secret();
        let TargetOptions::Pinterest(options) = &req.options else {
            return Err(PublishError::permanent(
                "This pin has no board. Choose one and schedule it again.",
            ));
        };
        let Some(board) = options.board_id.as_ref() else {
            return Err(PublishError::permanent(
                "This pin has no board. Choose one and schedule it again.",
            ));
        };
        let m = req.media.first().ok_or_else(|| {
            PublishError::permanent("A pin needs a photo or a video. Add one and try again.")
        })?;
        let media_source = match m.facts.kind() {
            MediaKind::Image => json!({ "source_type": "image_url", "url": m.url }),
            MediaKind::Video => {
                let id = match progress.get_str("media_id") {
                    Some(id) => id,
                    None => {
                        let id = self.upload_video(token, m).await?;
                        progress.set("media_id", json!(id)).await?;
                        id
                    }
                };
                json!({ "source_type": "video_id", "media_id": id, "cover_image_key_frame_time": 0 })
            }
        };
        let mut body = json!({
            "board_id": board.as_str(),
            "title": title(req),
            "description": req.caption.chars().take(800).collect::<String>(),
            "media_source": media_source,
        });
        if let Some(link) = options.link.as_ref().filter(|l| !l.is_empty()) {
            body["link"] = json!(link);
        }
        if !m.alt_text.trim().is_empty() {
            body["alt_text"] = json!(m.alt_text.chars().take(500).collect::<String>());
        }
        progress.mark_sent().await?;
        let create = self
            .http
            .client()
            .post(self.http.url(Platform::Pinterest, PINS))
            .bearer_auth(token)
            .json(&body);
        let answer = publish::send(create, Kind::Irreversible).await?;
        if (200..300).contains(&answer.status) {
            let id = answer
                .json
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| PublishError::Unknown {
                    message: "Pinterest accepted the pin but didn't say its id.".into(),
                })?;
            return Ok(Published {
                remote_url: Some(format!("https://www.pinterest.com/pin/{id}/")),
                remote_id: id,
            });
        }
        progress.clear_sent().await?;
        Err(publish::classify(
            &answer,
            Utc::now(),
            plain(answer.status, &answer.json),
        ))
    }
}

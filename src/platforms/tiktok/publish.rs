//! Publishing on TikTok (PLATFORMS.md §6): creator info first (the privacy level must be one it
//! offers), then a photo post pulled from signed URLs or a video sent in chunks, then the status
//! until TikTok says it is published. The `publish_id` is recorded the moment TikTok returns it;
//! its status is how reconciliation learns what happened.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::domain::{Format, Platform, TargetOptions};
use crate::platforms::Http;
use crate::platforms::publish::{
    self, Kind, MediaInput, Progress, PublishError, PublishRequest, Published, Publisher,
    Reconciled,
};

const CREATOR_INFO: &str = "https://open.tiktokapis.com/v2/post/publish/creator_info/query/";
const VIDEO_INIT: &str = "https://open.tiktokapis.com/v2/post/publish/video/init/";
const PHOTO_INIT: &str = "https://open.tiktokapis.com/v2/post/publish/content/init/";
const STATUS: &str = "https://open.tiktokapis.com/v2/post/publish/status/fetch/";
/// Videos up to this size go in one piece; larger ones in chunks of `CHUNK` (the last chunk takes
/// the remainder, so it stays under TikTok's 128 MB ceiling).
const WHOLE_MAX: u64 = 64 * 1_000_000;
const CHUNK: u64 = 10 * 1_000_000;
/// The status endpoint allows 30 calls a minute per token.
const STATUS_MIN_GAP: std::time::Duration = std::time::Duration::from_secs(2);

pub struct TiktokPublisher {
    pub http: Http,
}

/// TikTok's error codes and fail reasons in plain words.
fn plain(code: &str, message: &str) -> String {
    match code {
        "spam_risk_too_many_posts" => "TikTok says this account has posted too much today. Schedule this one for tomorrow.".into(),
        "spam_risk_user_banned_from_posting" => "TikTok has stopped this account from posting. Check the account in the TikTok app.".into(),
        "spam_risk_too_many_pending_share" => "This account has too many TikTok posts waiting to be processed. Try again in a few hours.".into(),
        "spam_risk_text" | "spam_risk" => "TikTok flagged this caption as possible spam. Change the text (fewer links and hashtags) and try again.".into(),
        "reached_active_user_cap" => "Picscripter's TikTok app has reached its daily limit of posting users. Try again tomorrow.".into(),
        "unaudited_client_can_only_post_to_private_accounts" => "TikTok only lets this Picscripter app post as \"Only me\" until TikTok approves it. Choose \"Only me\" and schedule again.".into(),
        "url_ownership_unverified" => "TikTok only pulls photos from web addresses verified for the TikTok app. Verify the domain of PUBLIC_BASE_URL in the TikTok developer portal, then retry.".into(),
        "privacy_level_option_mismatch" => "TikTok no longer offers the audience chosen for this post. Open it, choose who can see it again, and schedule it.".into(),
        "file_format_check_failed" => "TikTok couldn't read this file. Use an MP4, MOV or WebM video, or JPEG/WebP photos.".into(),
        "duration_check_failed" => "TikTok refused the video's length for this account. Shorten it and try again.".into(),
        "frame_rate_check_failed" => "TikTok refused the video's frame rate. Export it at 23–60 frames per second and try again.".into(),
        "picture_size_check_failed" => "TikTok refused a photo's size. Use photos of at most 1080×1920 pixels.".into(),
        "video_pull_failed" | "photo_pull_failed" => "TikTok couldn't download the media from Picscripter. Make sure PUBLIC_BASE_URL is an address the internet can reach, then retry.".into(),
        "publish_cancelled" => "The post was cancelled on TikTok.".into(),
        "auth_removed" => "The TikTok account removed Picscripter's access. Reconnect it, then retry.".into(),
        _ if message.is_empty() => format!("TikTok refused the post ({code})."),
        _ => format!("TikTok refused the post: {message}"),
    }
}

/// Reads TikTok's envelope: `Ok(data)` when `error.code` is `ok`.
fn envelope(answer: &publish::Answer) -> Result<Value, PublishError> {
    let code = answer
        .json
        .pointer("/error/code")
        .and_then(Value::as_str)
        .unwrap_or(if (200..300).contains(&answer.status) {
            "ok"
        } else {
            "unknown"
        });
    if code == "ok" && (200..300).contains(&answer.status) {
        return Ok(answer.json.get("data").cloned().unwrap_or(Value::Null));
    }
    let message = answer
        .json
        .pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or("");
    let status = Some(answer.status);
    let now = chrono::Utc::now();
    Err(match code {
        "access_token_invalid" | "scope_not_authorized" | "scope_permission_missed" if answer.status == 401 || code == "access_token_invalid" => {
            PublishError::Auth { status, message: format!("TikTok no longer accepts this account's sign-in ({message}).") }
        }
        "scope_not_authorized" | "scope_permission_missed" => PublishError::Permanent {
            status,
            message: "TikTok says Picscripter isn't allowed to post for this account. Reconnect it and approve every permission asked.".into(),
        },
        "rate_limit_exceeded" => PublishError::Retryable {
            status,
            message: "TikTok asked us to slow down; we'll try again when it allows.".into(),
            retry_after: publish::reset_time(&answer.headers, now).or(Some(now + chrono::Duration::minutes(1))),
        },
        "internal_error" => PublishError::Retryable { status, message: "TikTok had a temporary problem; we'll try again shortly.".into(), retry_after: None },
        _ if answer.status == 401 => PublishError::Auth { status, message: format!("TikTok no longer accepts this account's sign-in ({message}).") },
        _ if answer.status == 429 => PublishError::Retryable { status, message: "TikTok asked us to slow down; we'll try again when it allows.".into(), retry_after: publish::reset_time(&answer.headers, now) },
        _ if answer.status >= 500 => PublishError::Retryable { status, message: "TikTok had a temporary problem; we'll try again shortly.".into(), retry_after: None },
        _ => PublishError::Permanent { status, message: plain(code, message) },
    })
}

/// What TikTok's status says.
enum Status {
    Complete(Option<String>),
    Processing,
    Failed(String),
}

impl TiktokPublisher {
    fn call(&self, url: &str, token: &str) -> reqwest::RequestBuilder {
        self.http
            .client()
            .post(self.http.url(Platform::Tiktok, url))
            .bearer_auth(token)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/json; charset=UTF-8",
            )
    }

    async fn status(&self, token: &str, publish_id: &str) -> Result<Status, PublishError> {
        let answer = publish::send(
            self.call(STATUS, token)
                .json(&json!({ "publish_id": publish_id })),
            Kind::Step,
        )
        .await?;
        let data = envelope(&answer)?;
        Ok(match data.get("status").and_then(Value::as_str) {
            Some("PUBLISH_COMPLETE") | Some("SEND_TO_USER_INBOX") => {
                let id = data
                    .get("publicaly_available_post_id")
                    .and_then(Value::as_array)
                    .and_then(|a| a.first())
                    .and_then(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .or_else(|| v.as_u64().map(|n| n.to_string()))
                    });
                Status::Complete(id)
            }
            Some("FAILED") => {
                let reason = data
                    .get("fail_reason")
                    .and_then(Value::as_str)
                    .unwrap_or("internal");
                Status::Failed(plain(reason, ""))
            }
            _ => Status::Processing,
        })
    }

    fn published(req: &PublishRequest, publish_id: &str, post_id: Option<String>) -> Published {
        let username = req.metadata.get("username").and_then(Value::as_str);
        let kind = if req.format == Format::TiktokPhotos {
            "photo"
        } else {
            "video"
        };
        match (post_id, username) {
            (Some(id), Some(user)) => Published {
                remote_url: Some(format!("https://www.tiktok.com/@{user}/{kind}/{id}")),
                remote_id: id,
            },
            (Some(id), None) => Published {
                remote_url: None,
                remote_id: id,
            },
            // Private posts never get a public id: the publish id is what identifies it.
            (None, user) => Published {
                remote_url: user.map(|u| format!("https://www.tiktok.com/@{u}")),
                remote_id: publish_id.to_owned(),
            },
        }
    }

    async fn wait(
        &self,
        token: &str,
        req: &PublishRequest,
        publish_id: &str,
    ) -> Result<Published, PublishError> {
        let started = std::time::Instant::now();
        let mut gap = STATUS_MIN_GAP;
        loop {
            match self.status(token, publish_id).await? {
                Status::Complete(id) => return Ok(Self::published(req, publish_id, id)),
                Status::Failed(why) => return Err(PublishError::permanent(why)),
                Status::Processing => {}
            }
            if started.elapsed() > publish::POLL_BUDGET {
                return Err(PublishError::retryable(
                    "TikTok is still processing the post; we'll check again shortly.",
                ));
            }
            tokio::time::sleep(gap).await;
            gap = (gap * 2).min(std::time::Duration::from_secs(15));
        }
    }

    async fn upload(
        &self,
        upload_url: &str,
        m: &MediaInput,
        progress: &mut dyn Progress,
    ) -> Result<(), PublishError> {
        let url = self
            .http
            .remote_url(Platform::Tiktok, upload_url)
            .ok_or_else(|| {
                PublishError::retryable("TikTok gave an upload address we couldn't use.")
            })?;
        let total = m.loader.len();
        let (chunk_size, count) = chunking(total);
        for index in 0..count {
            let start = index * chunk_size;
            let end = if index + 1 == count {
                total
            } else {
                start + chunk_size
            };
            let last = index + 1 == count;
            if last {
                // The final chunk is what makes TikTok publish.
                progress.mark_sent().await?;
            }
            let bytes = m
                .loader
                .range(start, end)
                .await
                .map_err(PublishError::retryable)?;
            let put = self
                .http
                .client()
                .put(url.clone())
                .header(reqwest::header::CONTENT_TYPE, m.facts.mime().as_str())
                .header(
                    reqwest::header::CONTENT_RANGE,
                    format!("bytes {}-{}/{}", start, end - 1, total),
                )
                .body(bytes);
            let answer =
                publish::send(put, if last { Kind::Irreversible } else { Kind::Step }).await?;
            if !matches!(answer.status, 200 | 201 | 206) {
                if last {
                    progress.clear_sent().await?;
                }
                return Err(envelope(&answer).err().unwrap_or_else(|| {
                    PublishError::retryable(format!(
                        "TikTok's upload failed ({}); we'll try again.",
                        answer.status
                    ))
                }));
            }
        }
        Ok(())
    }
}

/// `(chunk_size, total_chunk_count)` per the media transfer guide: whole up to 64 MB, otherwise
/// `floor(size / chunk)` chunks with the remainder in the last.
pub fn chunking(size: u64) -> (u64, u64) {
    if size <= WHOLE_MAX {
        (size.max(1), 1)
    } else {
        (CHUNK, size / CHUNK)
    }
}

#[async_trait]
impl Publisher for TiktokPublisher {
    async fn publish(
        &self,
        token: &SecretString,
        req: &PublishRequest,
        progress: &mut dyn Progress,
    ) -> Result<Published, PublishError> {
        let token = token.expose_secret();
        // A resumed job whose post TikTok already has: only the outcome is missing.
        if let (Some(publish_id), Some(_)) =
            (progress.get_str("publish_id"), progress.get_str("sent_at"))
        {
            return self.wait(token, req, &publish_id).await;
        }
        let TargetOptions::Tiktok(options) = &req.options else {
            return Err(PublishError::permanent(
                "Choose who can see this TikTok post, then schedule it again.",
            ));
        };
        let Some(privacy) = options.privacy_level else {
            return Err(PublishError::permanent(
                "Choose who can see this TikTok post, then schedule it again.",
            ));
        };
        let privacy = serde_json::to_value(privacy).expect("privacy levels serialize");
        let creator = envelope(&publish::send(self.call(CREATOR_INFO, token), Kind::Step).await?)?;
        let offered = creator
            .get("privacy_level_options")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if !offered.is_empty() && !offered.contains(&privacy) {
            return Err(PublishError::permanent(plain(
                "privacy_level_option_mismatch",
                "",
            )));
        }
        let flag = |field: &str| creator.get(field).and_then(Value::as_bool).unwrap_or(false);
        let disable_comment = options.disable_comment || flag("comment_disabled");

        if req.format == Format::TiktokPhotos {
            let images: Vec<&str> = req.media.iter().map(|m| m.url.as_str()).collect();
            let title: String = req
                .caption
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim()
                .chars()
                .take(90)
                .collect();
            let body = json!({
                "media_type": "PHOTO",
                "post_mode": "DIRECT_POST",
                "post_info": { "title": title, "description": req.caption, "privacy_level": privacy, "disable_comment": disable_comment, "auto_add_music": true },
                "source_info": { "source": "PULL_FROM_URL", "photo_cover_index": 0, "photo_images": images },
            });
            progress.mark_sent().await?;
            let answer =
                publish::send(self.call(PHOTO_INIT, token).json(&body), Kind::Irreversible).await?;
            let data = match envelope(&answer) {
                Ok(d) => d,
                Err(e) => {
                    progress.clear_sent().await?;
                    return Err(e);
                }
            };
            let publish_id = data
                .get("publish_id")
                .and_then(Value::as_str)
                .ok_or_else(|| PublishError::Unknown {
                    message: "TikTok accepted the post but didn't say its id.".into(),
                })?
                .to_owned();
            progress.set("publish_id", json!(publish_id)).await?;
            return self.wait(token, req, &publish_id).await;
        }

        let video = req.media.first().ok_or_else(|| {
            PublishError::permanent(
                "A TikTok post needs a video or photos. Add some and try again.",
            )
        })?;
        let (chunk_size, count) = chunking(video.loader.len());
        let body = json!({
            "post_info": {
                "title": req.caption,
                "privacy_level": privacy,
                "disable_comment": disable_comment,
                "disable_duet": options.disable_duet || flag("duet_disabled"),
                "disable_stitch": options.disable_stitch || flag("stitch_disabled"),
            },
            "source_info": { "source": "FILE_UPLOAD", "video_size": video.loader.len(), "chunk_size": chunk_size, "total_chunk_count": count },
        });
        // Starting a video post publishes nothing until the last chunk arrives, so it is a step.
        let data =
            envelope(&publish::send(self.call(VIDEO_INIT, token).json(&body), Kind::Step).await?)?;
        let publish_id = data
            .get("publish_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let upload_url = data
            .get("upload_url")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let (Some(publish_id), Some(upload_url)) = (publish_id, upload_url) else {
            return Err(PublishError::retryable(
                "TikTok didn't say where to upload the video.",
            ));
        };
        progress.set("publish_id", json!(publish_id)).await?;
        self.upload(&upload_url, video, progress).await?;
        self.wait(token, req, &publish_id).await
    }

    async fn reconcile(
        &self,
        token: &SecretString,
        req: &PublishRequest,
        progress: &mut dyn Progress,
    ) -> Result<Reconciled, PublishError> {
        let Some(publish_id) = progress.get_str("publish_id") else {
            // The post was sent but TikTok's answer (with its id) never came.
            return Ok(Reconciled::CannotTell);
        };
        Ok(
            match self.status(token.expose_secret(), &publish_id).await? {
                Status::Complete(id) => {
                    Reconciled::Published(Self::published(req, &publish_id, id))
                }
                Status::Processing => Reconciled::Processing,
                Status::Failed(_) => Reconciled::NotPublished,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::chunking;

    #[test]
    fn videos_are_chunked_as_the_transfer_guide_says() {
        assert_eq!(chunking(3_000_000), (3_000_000, 1));
        assert_eq!(chunking(64_000_000), (64_000_000, 1));
        // 95 MB: nine 10 MB chunks, the last carrying 15 MB.
        assert_eq!(chunking(95_000_000), (10_000_000, 9));
    }
}

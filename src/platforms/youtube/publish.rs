//! Publishing on YouTube (PLATFORMS.md §7): a resumable upload. The session URI from `Location`
//! is recorded at once; bytes go up in 256 KiB-aligned chunks; a resumed job asks the session how
//! much arrived (`Content-Range: bytes */total`) and continues from there. The final chunk
//! creates the video, so it is the irreversible call — and the session probe is also how
//! reconciliation tells whether it landed.

use async_trait::async_trait;
use chrono::Utc;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::domain::{Platform, TargetOptions};
use crate::platforms::Http;
use crate::platforms::publish::{
    self, Kind, MediaInput, Progress, PublishError, PublishRequest, Published, Publisher,
    Reconciled,
};

const START: &str = "https://www.googleapis.com/upload/youtube/v3/videos?uploadType=resumable&part=snippet%2Cstatus";
/// 32 × 256 KiB: chunks must be multiples of 256 KiB except the last.
const CHUNK: u64 = 32 * 256 * 1024;

pub struct YoutubePublisher {
    pub http: Http,
}

fn reason(json: &Value) -> (String, String) {
    let reason = json
        .pointer("/error/errors/0/reason")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let message = json
        .pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or("YouTube refused the request")
        .to_owned();
    (reason, message)
}

/// The next midnight in Pacific time, when YouTube's quotas reset (PLATFORMS.md §7).
fn next_quota_reset() -> chrono::DateTime<Utc> {
    let pacific: chrono_tz::Tz = chrono_tz::America::Los_Angeles;
    let now = Utc::now().with_timezone(&pacific);
    let tomorrow = now.date_naive().succ_opt().unwrap_or(now.date_naive());
    tomorrow
        .and_hms_opt(0, 5, 0)
        .and_then(|t| t.and_local_timezone(pacific).earliest())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc::now() + chrono::Duration::hours(24))
}

fn classify(answer: &publish::Answer) -> PublishError {
    let (reason, message) = reason(&answer.json);
    let status = Some(answer.status);
    match reason.as_str() {
        "quotaExceeded" | "rateLimitExceeded" | "userRateLimitExceeded" => PublishError::Retryable {
            status,
            message: "YouTube's daily upload quota for Picscripter is used up; we'll try again after it resets (midnight Pacific time).".into(),
            retry_after: Some(if reason == "quotaExceeded" { next_quota_reset() } else { Utc::now() + chrono::Duration::minutes(5) }),
        },
        "uploadLimitExceeded" => PublishError::Permanent { status, message: "This YouTube channel has reached its upload limit for today. Schedule the video for tomorrow.".into() },
        "invalidTitle" => PublishError::Permanent { status, message: "YouTube refused the title: it must be 1–100 characters without < or >. Change it and try again.".into() },
        "invalidDescription" => PublishError::Permanent { status, message: "YouTube refused the description: it must be under 5,000 bytes without < or >. Shorten it and try again.".into() },
        "invalidTags" => PublishError::Permanent { status, message: "YouTube refused the tags: together they must be under 500 characters. Remove some and try again.".into() },
        "invalidPublishAt" => PublishError::Permanent { status, message: "YouTube refused the premiere time. Choose a time in the future, with privacy set to private.".into() },
        "youtubeSignupRequired" => PublishError::Permanent { status, message: "This Google account has no YouTube channel. Create one on YouTube, then reconnect.".into() },
        "forbidden" | "insufficientPermissions" => PublishError::Permanent {
            status,
            message: "YouTube says Picscripter isn't allowed to upload for this channel. Reconnect it and approve every permission asked.".into(),
        },
        _ => publish::classify(answer, Utc::now(), format!("YouTube refused the video: {message}")),
    }
}

fn published(json: &Value) -> Result<Published, PublishError> {
    let id = json
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| PublishError::Unknown {
            message: "YouTube finished the upload but didn't say the video's id.".into(),
        })?
        .to_owned();
    Ok(Published {
        remote_url: Some(format!("https://www.youtube.com/watch?v={id}")),
        remote_id: id,
    })
}

/// What the upload session says about itself.
enum Session {
    /// Complete: the video exists.
    Done(Value),
    /// Bytes received so far.
    Partial(u64),
    /// Gone (expired or never completed in time).
    Gone,
}

impl YoutubePublisher {
    async fn start(
        &self,
        token: &str,
        req: &PublishRequest,
        video: &MediaInput,
    ) -> Result<String, PublishError> {
        let TargetOptions::Youtube(options) = &req.options else {
            return Err(PublishError::permanent(
                "This video has no title. Add one and schedule it again.",
            ));
        };
        let mut snippet = json!({ "title": options.title, "description": req.caption, "categoryId": options.category_id });
        if !options.tags.is_empty() {
            snippet["tags"] = json!(options.tags);
        }
        let mut status =
            json!({ "privacyStatus": options.privacy.as_str(), "selfDeclaredMadeForKids": false });
        if let Some(at) = options.publish_at {
            // Honoured for private videos only; the options refuse it with any other privacy.
            status["publishAt"] = json!(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        }
        let body = json!({ "snippet": snippet, "status": status });
        let request = self
            .http
            .client()
            .post(self.http.url(Platform::Youtube, START))
            .bearer_auth(token)
            .header(CONTENT_TYPE, "application/json; charset=UTF-8")
            .header("X-Upload-Content-Length", video.loader.len().to_string())
            .header("X-Upload-Content-Type", video.facts.mime().as_str())
            .json(&body);
        let answer = publish::send(request, Kind::Step).await?;
        if !(200..300).contains(&answer.status) {
            return Err(classify(&answer));
        }
        answer
            .headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| PublishError::retryable("YouTube didn't open an upload session."))
    }

    fn session_url(&self, session: &str) -> Result<url::Url, PublishError> {
        self.http
            .remote_url(Platform::Youtube, session)
            .ok_or_else(|| {
                PublishError::retryable("YouTube gave an upload address we couldn't use.")
            })
    }

    async fn probe(&self, token: &str, session: &str, total: u64) -> Result<Session, PublishError> {
        let request = self
            .http
            .client()
            .put(self.session_url(session)?)
            .bearer_auth(token)
            .header(CONTENT_LENGTH, "0")
            .header(CONTENT_RANGE, format!("bytes */{total}"));
        let answer = publish::send(request, Kind::Step).await?;
        Ok(match answer.status {
            200 | 201 => Session::Done(answer.json),
            308 => Session::Partial(received(&answer.headers)),
            404 | 410 => Session::Gone,
            _ => return Err(classify(&answer)),
        })
    }

    async fn upload_from(
        &self,
        token: &str,
        session: &str,
        video: &MediaInput,
        mut offset: u64,
        progress: &mut dyn Progress,
    ) -> Result<Published, PublishError> {
        let total = video.loader.len();
        let url = self.session_url(session)?;
        loop {
            let end = (offset + CHUNK).min(total);
            let last = end == total;
            if last {
                progress.mark_sent().await?;
            }
            let bytes = video
                .loader
                .range(offset, end)
                .await
                .map_err(PublishError::retryable)?;
            let request = self
                .http
                .client()
                .put(url.clone())
                .bearer_auth(token)
                .header(CONTENT_TYPE, video.facts.mime().as_str())
                .header(
                    CONTENT_RANGE,
                    format!("bytes {}-{}/{}", offset, end.max(1) - 1, total),
                )
                .body(bytes);
            let answer =
                publish::send(request, if last { Kind::Irreversible } else { Kind::Step }).await?;
            match answer.status {
                200 | 201 => return published(&answer.json),
                308 => {
                    if last {
                        progress.clear_sent().await?;
                    }
                    let got = received(&answer.headers);
                    if got <= offset && !last {
                        return Err(PublishError::retryable(
                            "YouTube didn't keep the last chunk; we'll resume shortly.",
                        ));
                    }
                    offset = got;
                    if offset >= total {
                        return Err(PublishError::retryable(
                            "YouTube has the whole file but hasn't confirmed it; we'll ask again shortly.",
                        ));
                    }
                }
                404 | 410 => {
                    progress.clear_sent().await?;
                    progress.set("session", Value::Null).await?;
                    return Err(PublishError::retryable(
                        "YouTube's upload session expired; we'll start the upload again.",
                    ));
                }
                _ => {
                    if last {
                        progress.clear_sent().await?;
                    }
                    return Err(classify(&answer));
                }
            }
        }
    }
}

/// Bytes received, from a 308's `Range: bytes=0-N` (none means nothing yet).
fn received(headers: &reqwest::header::HeaderMap) -> u64 {
    headers
        .get("range")
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.rsplit('-').next())
        .and_then(|n| n.trim().parse::<u64>().ok())
        .map_or(0, |last| last + 1)
}

#[async_trait]
impl Publisher for YoutubePublisher {
    async fn publish(
        &self,
        token: &SecretString,
        req: &PublishRequest,
        progress: &mut dyn Progress,
    ) -> Result<Published, PublishError> {
        let token = token.expose_secret();
        let video = req.media.first().ok_or_else(|| {
            PublishError::permanent("A YouTube post needs a video. Add one and try again.")
        })?;
        let total = video.loader.len();
        let mut offset = 0;
        let session = match progress.get_str("session") {
            Some(session) => match self.probe(token, &session, total).await? {
                Session::Done(json) => return published(&json),
                Session::Partial(got) => {
                    offset = got;
                    Some(session)
                }
                Session::Gone => None,
            },
            None => None,
        };
        let session = match session {
            Some(s) => s,
            None => {
                let s = self.start(token, req, video).await?;
                progress.set("session", json!(s)).await?;
                s
            }
        };
        self.upload_from(token, &session, video, offset, progress)
            .await
    }

    async fn reconcile(
        &self,
        token: &SecretString,
        req: &PublishRequest,
        progress: &mut dyn Progress,
    ) -> Result<Reconciled, PublishError> {
        let Some(session) = progress.get_str("session") else {
            return Ok(Reconciled::NotPublished);
        };
        let total = req.media.first().map_or(0, |m| m.loader.len());
        Ok(
            match self.probe(token.expose_secret(), &session, total).await? {
                Session::Done(json) => Reconciled::Published(published(&json)?),
                Session::Partial(_) | Session::Gone => Reconciled::NotPublished,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_header_says_how_much_arrived() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(received(&h), 0);
        h.insert("range", "bytes=0-262143".parse().unwrap());
        assert_eq!(received(&h), 262_144);
    }
}

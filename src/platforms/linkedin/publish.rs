//! Publishing on LinkedIn (PLATFORMS.md §4): the Posts API with the required version headers,
//! photos through the Images API (initialize, then PUT the bytes), a video through the Videos API
//! (initialize, PUT each part, finalize with the parts' ETags). The post's id arrives in the
//! `x-restli-id` header of an empty 201.

use async_trait::async_trait;
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::domain::{MediaKind, Platform, TargetOptions, options::LinkedinVisibility};
use crate::platforms::Http;
use crate::platforms::publish::{
    self, Kind, MediaInput, Progress, PublishError, PublishRequest, Published, Publisher,
};

/// The Marketing API version we speak (`LinkedIn-Version: YYYYMM`); LinkedIn sunsets versions
/// after about a year, so this moves with each release of Picscripter.
pub const API_VERSION: &str = "202610";

const POSTS: &str = "https://api.linkedin.com/rest/posts";
const IMAGES_INIT: &str = "https://api.linkedin.com/rest/images?action=initializeUpload";
const VIDEOS_INIT: &str = "https://api.linkedin.com/rest/videos?action=initializeUpload";
const VIDEOS_FINALIZE: &str = "https://api.linkedin.com/rest/videos?action=finalizeUpload";

pub struct LinkedinPublisher {
    pub http: Http,
}

/// LinkedIn's "little text": reserved characters are escaped, and `#word` becomes a hashtag.
pub fn little_text(text: &str) -> String {
    const RESERVED: &[char] = &[
        '\\', '|', '{', '}', '@', '[', ']', '(', ')', '<', '>', '#', '*', '_', '~',
    ];
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.char_indices().peekable();
    let mut prev: Option<char> = None;
    while let Some((i, c)) = chars.next() {
        if c == '#' && !prev.is_some_and(|p| p.is_alphanumeric()) {
            let tag: String = text[i + 1..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !tag.is_empty() && tag.chars().any(char::is_alphabetic) {
                out.push_str("{hashtag|\\#|");
                out.push_str(&tag.replace('_', "\\_"));
                out.push('}');
                for _ in 0..tag.chars().count() {
                    chars.next();
                }
                prev = tag.chars().last();
                continue;
            }
        }
        if RESERVED.contains(&c) {
            out.push('\\');
        }
        out.push(c);
        prev = Some(c);
    }
    out
}

fn message(json: &Value) -> String {
    json.get("message")
        .and_then(Value::as_str)
        .unwrap_or("LinkedIn refused the request")
        .to_owned()
}

fn plain(status: u16, detail: &str) -> String {
    let d = detail.to_lowercase();
    if d.contains("duplicate") {
        "LinkedIn refused this post because you published the same text recently. Change the text a little and try again.".into()
    } else if status == 403 {
        format!(
            "LinkedIn says Picscripter isn't allowed to post for this account ({detail}). Reconnect it and approve every permission asked."
        )
    } else if status == 426 || d.contains("version") {
        "LinkedIn no longer accepts the API version this Picscripter speaks. Update Picscripter."
            .into()
    } else {
        format!("LinkedIn refused the post: {detail}")
    }
}

fn classify(answer: &publish::Answer) -> PublishError {
    let detail = message(&answer.json);
    publish::classify(answer, Utc::now(), plain(answer.status, &detail))
}

impl LinkedinPublisher {
    fn rest(&self, method: reqwest::Method, url: url::Url, token: &str) -> reqwest::RequestBuilder {
        self.http
            .client()
            .request(method, url)
            .bearer_auth(token)
            .header("LinkedIn-Version", API_VERSION)
            .header("X-Restli-Protocol-Version", "2.0.0")
    }

    async fn upload_image(
        &self,
        token: &str,
        owner: &str,
        m: &MediaInput,
    ) -> Result<String, PublishError> {
        let init = self
            .rest(
                reqwest::Method::POST,
                self.http.url(Platform::Linkedin, IMAGES_INIT),
                token,
            )
            .json(&json!({ "initializeUploadRequest": { "owner": owner } }));
        let answer = publish::send(init, Kind::Step).await?;
        if !(200..300).contains(&answer.status) {
            return Err(classify(&answer));
        }
        let upload = answer
            .json
            .pointer("/value/uploadUrl")
            .and_then(Value::as_str)
            .and_then(|u| self.http.remote_url(Platform::Linkedin, u));
        let image = answer
            .json
            .pointer("/value/image")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let (Some(upload), Some(image)) = (upload, image) else {
            return Err(PublishError::retryable(
                "LinkedIn didn't say where to upload the photo.",
            ));
        };
        let bytes = m.loader.all().await.map_err(PublishError::retryable)?;
        let put = self
            .http
            .client()
            .put(upload)
            .bearer_auth(token)
            .header("Content-Type", m.facts.mime().as_str())
            .body(bytes);
        let answer = publish::send(put, Kind::Step).await?;
        if !(200..300).contains(&answer.status) {
            return Err(classify(&answer));
        }
        Ok(image)
    }

    async fn upload_video(
        &self,
        token: &str,
        owner: &str,
        m: &MediaInput,
    ) -> Result<String, PublishError> {
        let body = json!({ "initializeUploadRequest": { "owner": owner, "fileSizeBytes": m.loader.len(), "uploadCaptions": false, "uploadThumbnail": false } });
        let answer = publish::send(
            self.rest(
                reqwest::Method::POST,
                self.http.url(Platform::Linkedin, VIDEOS_INIT),
                token,
            )
            .json(&body),
            Kind::Step,
        )
        .await?;
        if !(200..300).contains(&answer.status) {
            return Err(classify(&answer));
        }
        let video = answer
            .json
            .pointer("/value/video")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let upload_token = answer
            .json
            .pointer("/value/uploadToken")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let instructions = answer
            .json
            .pointer("/value/uploadInstructions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let Some(video) = video.filter(|_| !instructions.is_empty()) else {
            return Err(PublishError::retryable(
                "LinkedIn didn't say where to upload the video.",
            ));
        };
        let mut etags = Vec::with_capacity(instructions.len());
        for part in instructions {
            let first = part.get("firstByte").and_then(Value::as_u64);
            let last = part.get("lastByte").and_then(Value::as_u64);
            let url = part
                .get("uploadUrl")
                .and_then(Value::as_str)
                .and_then(|u| self.http.remote_url(Platform::Linkedin, u));
            let (Some(first), Some(last), Some(url)) = (first, last, url) else {
                return Err(PublishError::retryable(
                    "LinkedIn gave upload instructions we couldn't read.",
                ));
            };
            let bytes = m
                .loader
                .range(first, last + 1)
                .await
                .map_err(PublishError::retryable)?;
            let put = self
                .http
                .client()
                .put(url)
                .header("Content-Type", "application/octet-stream")
                .body(bytes);
            let answer = publish::send(put, Kind::Step).await?;
            if !(200..300).contains(&answer.status) {
                return Err(classify(&answer));
            }
            let etag = answer
                .headers
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            etags.push(etag);
        }
        let body = json!({ "finalizeUploadRequest": { "video": video, "uploadToken": upload_token, "uploadedPartIds": etags } });
        let answer = publish::send(
            self.rest(
                reqwest::Method::POST,
                self.http.url(Platform::Linkedin, VIDEOS_FINALIZE),
                token,
            )
            .json(&body),
            Kind::Step,
        )
        .await?;
        if !(200..300).contains(&answer.status) {
            return Err(classify(&answer));
        }
        Ok(video)
    }
}

#[async_trait]
impl Publisher for LinkedinPublisher {
    async fn publish(
        &self,
        token: &SecretString,
        req: &PublishRequest,
        progress: &mut dyn Progress,
    ) -> Result<Published, PublishError> {
        let token = token.expose_secret();
        // The person or organization the connection posts as; images and videos are uploaded
        // for the same owner, as LinkedIn requires.
        let author = req
            .metadata
            .get("author_urn")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| {
                if req.account_id.starts_with("urn:li:") {
                    req.account_id.clone()
                } else {
                    format!("urn:li:person:{}", req.account_id)
                }
            });
        let mut assets = Vec::with_capacity(req.media.len());
        for (i, m) in req.media.iter().enumerate() {
            let key = format!("asset.{i}");
            let urn = match progress.get_str(&key) {
                Some(urn) => urn,
                None => {
                    let urn = match m.facts.kind() {
                        MediaKind::Image => self.upload_image(token, &author, m).await?,
                        MediaKind::Video => self.upload_video(token, &author, m).await?,
                    };
                    progress.set(&key, json!(urn)).await?;
                    urn
                }
            };
            assets.push((urn, m.alt_text.clone()));
        }
        let visibility = match &req.options {
            TargetOptions::Linkedin(o) => match o.visibility {
                LinkedinVisibility::Public => "PUBLIC",
                LinkedinVisibility::Connections => "CONNECTIONS",
                LinkedinVisibility::LoggedIn => "LOGGED_IN",
            },
            _ => "PUBLIC",
        };
        let mut body = json!({
            "author": author,
            "commentary": little_text(&req.caption),
            "visibility": visibility,
            "distribution": { "feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": [] },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": false,
        });
        match assets.as_slice() {
            [] => {}
            [(urn, alt)] => {
                let mut media = json!({ "id": urn });
                if !alt.trim().is_empty() && urn.starts_with("urn:li:image:") {
                    media["altText"] = json!(alt);
                }
                body["content"] = json!({ "media": media });
            }
            many => {
                let images: Vec<Value> = many
                    .iter()
                    .map(|(urn, alt)| {
                        if alt.trim().is_empty() {
                            json!({ "id": urn })
                        } else {
                            json!({ "id": urn, "altText": alt })
                        }
                    })
                    .collect();
                body["content"] = json!({ "multiImage": { "images": images } });
            }
        }
        progress.mark_sent().await?;
        let create = self
            .rest(
                reqwest::Method::POST,
                self.http.url(Platform::Linkedin, POSTS),
                token,
            )
            .json(&body);
        let answer = publish::send(create, Kind::Irreversible).await?;
        if (200..300).contains(&answer.status) {
            let urn = answer
                .headers
                .get("x-restli-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .ok_or_else(|| PublishError::Unknown {
                    message: "LinkedIn accepted the post but didn't say its id.".into(),
                })?;
            return Ok(Published {
                remote_url: Some(format!("https://www.linkedin.com/feed/update/{urn}")),
                remote_id: urn,
            });
        }
        progress.clear_sent().await?;
        Err(classify(&answer))
    }
}

#[cfg(test)]
mod tests {
    use super::little_text;

    #[test]
    fn little_text_escapes_reserved_characters_and_keeps_hashtags() {
        assert_eq!(
            little_text("Mugs (new) #handmade"),
            "Mugs \\(new\\) {hashtag|\\#|handmade}"
        );
        assert_eq!(little_text("email me@shop"), "email me\\@shop");
        assert_eq!(little_text("#1 seller"), "\\#1 seller");
        assert_eq!(little_text("a_b"), "a\\_b");
    }
}

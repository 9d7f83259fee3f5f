//! Publishing on a Facebook Page (PLATFORMS.md §3) with the Page's own token: text (with a link
//! preview for the first link), one photo (`/photos`), several photos (each uploaded unpublished,
//! then one `/feed` post with `attached_media`), or a video (`/videos` by `file_url`).

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::oauth::GRAPH_VERSION;
use crate::domain::{MediaKind, Platform};
use crate::platforms::Http;
use crate::platforms::meta::{self, GraphError};
use crate::platforms::publish::{
    self, Kind, Progress, PublishError, PublishRequest, Published, Publisher,
};

pub struct FacebookPublisher {
    pub http: Http,
}

const NETWORK: &str = "Facebook";

fn plain(e: &GraphError) -> Option<String> {
    Some(match e.code {
        506 => "Facebook refused this post because the Page published the same text recently. Change the text a little and try again.".into(),
        368 => "Facebook blocked this post as against its rules. Check the text and link, then try again.".into(),
        1609005 => "Facebook couldn't read the link in this post. Check that the address opens in a browser, then try again.".into(),
        324 | 2069019 => "Facebook couldn't download the media from Picscripter. Make sure PUBLIC_BASE_URL is an address the internet can reach, then retry.".into(),
        _ => return None,
    })
}

/// The first web address in the text, for Facebook's link preview.
fn first_link(text: &str) -> Option<String> {
    text.split_whitespace()
        .find(|w| w.starts_with("https://") || w.starts_with("http://"))
        .map(|w| {
            w.trim_end_matches(['.', ',', ')', '!', '?', ';', ':'])
                .to_owned()
        })
}

impl FacebookPublisher {
    fn url(&self, path: &str) -> url::Url {
        self.http.url(
            Platform::Facebook,
            &format!("https://graph.facebook.com/{GRAPH_VERSION}/{path}"),
        )
    }

    async fn post(
        &self,
        token: &str,
        path: &str,
        body: Value,
        kind: Kind,
    ) -> Result<publish::Answer, PublishError> {
        publish::send(
            self.http
                .client()
                .post(self.url(path))
                .bearer_auth(token)
                .json(&body),
            kind,
        )
        .await
    }

    fn done(
        page: &str,
        answer: &publish::Answer,
        id_field: &str,
    ) -> Result<Published, PublishError> {
        let id = meta::id(&answer.json, id_field)
            .or_else(|| meta::id(&answer.json, "id"))
            .ok_or_else(|| PublishError::Unknown {
                message: "Facebook accepted the post but didn't say its id.".into(),
            })?;
        let url = answer
            .json
            .get("permalink_url")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| {
                if id.contains('_') {
                    format!("https://www.facebook.com/{id}")
                } else {
                    format!("https://www.facebook.com/{page}/posts/{id}")
                }
            });
        Ok(Published {
            remote_id: id,
            remote_url: Some(url),
        })
    }

    /// The irreversible call: marked first, and un-marked when Facebook answers "no".
    async fn create(
        &self,
        token: &str,
        path: &str,
        body: Value,
        progress: &mut dyn Progress,
    ) -> Result<publish::Answer, PublishError> {
        progress.mark_sent().await?;
        let answer = self.post(token, path, body, Kind::Irreversible).await?;
        if !(200..300).contains(&answer.status) {
            progress.clear_sent().await?;
            return Err(meta::classify(&answer, NETWORK, plain));
        }
        Ok(answer)
    }
}

#[async_trait]
impl Publisher for FacebookPublisher {
    async fn publish(
        &self,
        token: &SecretString,
        req: &PublishRequest,
        progress: &mut dyn Progress,
    ) -> Result<Published, PublishError> {
        let token = token.expose_secret();
        let page = req
            .metadata
            .get("page_id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| req.account_id.clone());
        let videos: Vec<_> = req
            .media
            .iter()
            .filter(|m| m.facts.kind() == MediaKind::Video)
            .collect();
        if let Some(video) = videos.first() {
            let body =
                json!({ "file_url": video.url, "description": req.caption, "published": true });
            let answer = self
                .create(token, &format!("{page}/videos"), body, progress)
                .await?;
            let id = meta::id(&answer.json, "id").ok_or_else(|| PublishError::Unknown {
                message: "Facebook accepted the video but didn't say its id.".into(),
            })?;
            return Ok(Published {
                remote_url: Some(format!("https://www.facebook.com/{page}/videos/{id}")),
                remote_id: id,
            });
        }
        match req.media.len() {
            0 => {
                let mut body = json!({ "message": req.caption });
                if let Some(link) = first_link(&req.caption) {
                    body["link"] = json!(link);
                }
                let answer = self
                    .create(
                        token,
                        &format!("{page}/feed?fields=id,permalink_url"),
                        body,
                        progress,
                    )
                    .await?;
                Self::done(&page, &answer, "id")
            }
            1 => {
                let m = &req.media[0];
                let mut body = json!({ "url": m.url, "caption": req.caption, "published": true });
                if !m.alt_text.trim().is_empty() {
                    body["alt_text_custom"] = json!(m.alt_text);
                }
                let answer = self
                    .create(token, &format!("{page}/photos"), body, progress)
                    .await?;
                Self::done(&page, &answer, "post_id")
            }
            _ => {
                let mut attached = Vec::with_capacity(req.media.len());
                for (i, m) in req.media.iter().enumerate() {
                    let key = format!("photo.{i}");
                    let id = match progress.get_str(&key) {
                        Some(id) => id,
                        None => {
                            let mut body = json!({ "url": m.url, "published": false });
                            if !m.alt_text.trim().is_empty() {
                                body["alt_text_custom"] = json!(m.alt_text);
                            }
                            let answer = self
                                .post(token, &format!("{page}/photos"), body, Kind::Step)
                                .await?;
                            if !(200..300).contains(&answer.status) {
                                return Err(meta::classify(&answer, NETWORK, plain));
                            }
                            let id = meta::id(&answer.json, "id").ok_or_else(|| {
                                PublishError::retryable("Facebook didn't return a photo id.")
                            })?;
                            progress.set(&key, json!(id)).await?;
                            id
                        }
                    };
                    attached.push(json!({ "media_fbid": id }));
                }
                let body = json!({ "message": req.caption, "attached_media": attached });
                let answer = self
                    .create(
                        token,
                        &format!("{page}/feed?fields=id,permalink_url"),
                        body,
                        progress,
                    )
                    .await?;
                Self::done(&page, &answer, "id")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::first_link;

    #[test]
    fn the_first_link_is_found_without_trailing_punctuation() {
        assert_eq!(
            first_link("New mugs! See https://shop.example/mugs."),
            Some("https://shop.example/mugs".into())
        );
        assert_eq!(first_link("No links here"), None);
    }
}

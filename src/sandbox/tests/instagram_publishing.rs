use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::sandbox::facebook::pages_of;
use crate::sandbox::personas::instagram_user_id;

const P: Platform = Platform::Instagram;
const IG_SCOPES: &[&str] = &[
    "instagram_business_basic",
    "instagram_business_content_publish",
];
const SEED: &str = "mapleandmoss.studio";

pub(super) struct Ig<'a> {
    pub h: &'a Harness,
    pub token: String,
    pub user: String,
    pub host: &'static str,
}

impl<'a> Ig<'a> {
    pub fn login(h: &'a Harness) -> Self {
        Self {
            h,
            token: h.token(P, SEED, IG_SCOPES),
            user: instagram_user_id(SEED),
            host: "graph.instagram.com",
        }
    }

    fn url(&self, path: &str, params: &[(&str, &str)]) -> String {
        let mut pairs = params.to_vec();
        pairs.push(("access_token", &self.token));
        format!(
            "{}?{}",
            self.h.url(P, &format!("{}/v21.0{path}", self.host)),
            query(&pairs)
        )
    }

    pub async fn create(&self, params: &[(&str, &str)]) -> (StatusCode, Value) {
        self.h
            .get_json(
                self.h
                    .http
                    .post(self.url(&format!("/{}/media", self.user), params)),
            )
            .await
    }

    pub async fn container(&self, params: &[(&str, &str)]) -> String {
        let (status, body) = self.create(params).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    pub async fn status(&self, id: &str) -> Value {
        let (status, body) = self
            .h
            .get_json(
                self.h
                    .http
                    .get(self.url(&format!("/{id}"), &[("fields", "status_code,status")])),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Polls until the container is no longer IN_PROGRESS (the pull is real, so it takes a moment).
    pub async fn settled(&self, id: &str) -> Value {
        for _ in 0..200 {
            let body = self.status(id).await;
            if body["status_code"] != "IN_PROGRESS" {
                return body;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("container {id} stayed IN_PROGRESS");
    }

    pub async fn publish(&self, creation_id: &str) -> (StatusCode, Value) {
        self.h
            .get_json(self.h.http.post(self.url(
                &format!("/{}/media_publish", self.user),
                &[("creation_id", creation_id)],
            )))
            .await
    }

    pub async fn get(&self, id: &str, fields: &str) -> (StatusCode, Value) {
        self.h
            .get_json(
                self.h
                    .http
                    .get(self.url(&format!("/{id}"), &[("fields", fields)])),
            )
            .await
    }
}

#[tokio::test]
async fn an_instagram_image_is_pulled_then_published_once_with_a_permalink() {
    let h = Harness::start().await;
    let media = MediaServer::start().await;
    let ig = Ig::login(&h);
    let url = media.url("/square.jpg");
    let id = ig
        .container(&[
            ("image_url", &url),
            ("caption", "Speckled mugs #ceramics @maya"),
        ])
        .await;
    assert!(id.len() >= 15 && id.bytes().all(|b| b.is_ascii_digit()));
    let status = ig.settled(&id).await;
    assert_eq!(status["status_code"], "FINISHED", "{status}");
    assert_eq!(status["id"], id);

    let (code, published) = ig.publish(&id).await;
    assert_eq!(code, StatusCode::OK, "{published}");
    let media_id = published["id"].as_str().unwrap().to_owned();
    let (code, node) = ig
        .get(&media_id, "permalink,caption,media_type,timestamp")
        .await;
    assert_eq!(code, StatusCode::OK, "{node}");
    let permalink = node["permalink"].as_str().unwrap();
    assert!(permalink.starts_with("https://www.instagram.com/p/") && permalink.ends_with('/'));
    assert_eq!(node["caption"], "Speckled mugs #ceramics @maya");
    assert_eq!(node["media_type"], "IMAGE");
    assert!(node["timestamp"].as_str().unwrap().ends_with("+0000"));

    assert_eq!(ig.status(&id).await["status_code"], "PUBLISHED");
    let (code, again) = ig.publish(&id).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "a container publishes once");
    assert_eq!(again["error"]["code"], 9007);

    let record = &h.published("instagram").await;
    assert_eq!(record.len(), 1);
    assert_eq!(record[0]["remote_id"], media_id);
    assert_eq!(record[0]["account_id"], ig.user);
    assert_eq!(record[0]["url"], permalink);
    assert_eq!(record[0]["media"][0]["url"], url);
    assert_eq!(record[0]["media"][0]["width"], 320);
    assert_eq!(record[0]["options"]["container_id"], id);

    let (code, limit) = h
        .get_json(h.http.get(ig.url(
            &format!("/{}/content_publishing_limit", ig.user),
            &[("fields", "quota_usage,config")],
        )))
        .await;
    assert_eq!(code, StatusCode::OK, "{limit}");
    assert_eq!(limit["data"][0]["quota_usage"], 1);
    assert_eq!(limit["data"][0]["config"]["quota_total"], 50);
    assert_eq!(limit["data"][0]["config"]["quota_duration"], 86_400);

    let (code, listed) = h
        .get_json(
            h.http
                .get(ig.url("/me/media", &[("fields", "id,permalink")])),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{listed}");
    assert_eq!(listed["data"][0]["id"], media_id);
}

#[tokio::test]
async fn instagram_publishes_only_jpeg_images_with_an_aspect_ratio_from_4_5_to_1_91() {
    let h = Harness::start().await;
    let media = MediaServer::start().await;
    let ig = Ig::login(&h);
    for (path, subcode) in [
        ("/square.png", 2_207_005),
        ("/square.webp", 2_207_005),
        ("/tall.jpg", 2_207_009),
    ] {
        let id = ig.container(&[("image_url", &media.url(path))]).await;
        let status = ig.settled(&id).await;
        assert_eq!(status["status_code"], "ERROR", "{path}: {status}");
        assert!(
            status["status"]
                .as_str()
                .unwrap()
                .contains(&subcode.to_string()),
            "{path}: {status}"
        );
        let (code, body) = ig.publish(&id).await;
        assert_eq!(code, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["error_subcode"], subcode, "{path}: {body}");
    }
    for path in ["/wide.jpg", "/portrait.jpg"] {
        let id = ig.container(&[("image_url", &media.url(path))]).await;
        assert_eq!(ig.settled(&id).await["status_code"], "FINISHED", "{path}");
    }
    assert!(h.published("instagram").await.is_empty());
}

#[tokio::test]
async fn a_media_url_instagram_cannot_fetch_fails_the_container_with_2207052() {
    let h = Harness::start().await;
    let media = MediaServer::start().await;
    let ig = Ig::login(&h);
    for url in [
        media.url("/missing.jpg"),
        media.url("/private/square.jpg"),
        dead_url().await,
    ] {
        let id = ig.container(&[("image_url", &url)]).await;
        let status = ig.settled(&id).await;
        assert_eq!(status["status_code"], "ERROR", "{url}");
        assert!(
            status["status"].as_str().unwrap().ends_with("2207052"),
            "{status}"
        );
    }
    let (code, body) = ig.create(&[("image_url", "not a url")]).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn an_instagram_carousel_has_2_to_10_items_and_publishes_as_one_post() {
    let h = Harness::start().await;
    let media = MediaServer::start().await;
    let ig = Ig::login(&h);
    let (code, body) = ig
        .create(&[
            ("image_url", &media.url("/square.jpg")),
            ("is_carousel_item", "true"),
            ("caption", "no"),
        ])
        .await;
    assert_eq!(
        code,
        StatusCode::BAD_REQUEST,
        "items take no caption: {body}"
    );
    let a = ig
        .container(&[
            ("image_url", &media.url("/square.jpg")),
            ("is_carousel_item", "true"),
        ])
        .await;
    let b = ig
        .container(&[
            ("video_url", &media.url("/clip.mp4")),
            ("media_type", "VIDEO"),
            ("is_carousel_item", "true"),
        ])
        .await;
    assert_eq!(ig.settled(&a).await["status_code"], "FINISHED");
    assert_eq!(ig.settled(&b).await["status_code"], "FINISHED");

    let (code, body) = ig
        .create(&[("media_type", "CAROUSEL"), ("children", &a)])
        .await;
    assert_eq!(
        code,
        StatusCode::BAD_REQUEST,
        "one child is not a carousel: {body}"
    );
    let (code, body) = ig.publish(&a).await;
    assert_eq!(
        code,
        StatusCode::BAD_REQUEST,
        "an item alone is not a post: {body}"
    );

    let children = format!("{a},{b}");
    let carousel = ig
        .container(&[
            ("media_type", "CAROUSEL"),
            ("children", &children),
            ("caption", "Two views"),
        ])
        .await;
    assert_eq!(ig.settled(&carousel).await["status_code"], "FINISHED");
    let (code, body) = ig.publish(&carousel).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let record = &h.published("instagram").await[0];
    assert_eq!(record["kind"], "carousel");
    assert_eq!(record["text"], "Two views");
    assert_eq!(record["media"].as_array().unwrap().len(), 2);
    assert_eq!(record["media"][1]["mime"], "video/mp4");
    assert_eq!(ig.status(&a).await["status_code"], "PUBLISHED");
}

#[tokio::test]
async fn a_reel_is_published_through_facebook_login_for_the_pages_instagram_account() {
    let h = Harness::start().await;
    let media = MediaServer::start().await;
    let page = &pages_of("maya.moss")[0];
    let ig_account = page.instagram.as_ref().unwrap();
    let token = h.facebook_user_token(
        "maya.moss",
        &[
            "instagram_basic",
            "instagram_content_publish",
            "pages_read_engagement",
            "pages_show_list",
        ],
        &[&page.id],
    );
    let ig = Ig {
        h: &h,
        token,
        user: ig_account.id.clone(),
        host: "graph.facebook.com",
    };
    let id = ig
        .container(&[
            ("media_type", "REELS"),
            ("video_url", &media.url("/clip.mp4")),
            ("caption", "Trimming"),
            ("share_to_feed", "true"),
        ])
        .await;
    assert_eq!(ig.settled(&id).await["status_code"], "FINISHED");
    let (code, body) = ig.publish(&id).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let record = &h.published("instagram").await[0];
    assert_eq!(record["kind"], "reel");
    assert_eq!(record["account"], ig_account.username);
    assert!(
        record["url"]
            .as_str()
            .unwrap()
            .starts_with("https://www.instagram.com/reel/")
    );
    assert_eq!(record["options"]["share_to_feed"], true);

    let (code, body) = ig
        .create(&[
            ("media_type", "REELS"),
            ("video_url", &media.url("/square.jpg")),
        ])
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let status = ig.settled(body["id"].as_str().unwrap()).await;
    assert!(
        status["status"].as_str().unwrap().ends_with("2207026"),
        "{status}"
    );

    // The second Page has no Instagram account; the Instagram Login id is not accepted here.
    let (code, body) = h
        .get_json(h.http.post(format!(
            "{}?{}",
            h.url(
                P,
                &format!(
                    "graph.facebook.com/v21.0/{}/media",
                    instagram_user_id("someone.else")
                )
            ),
            query(&[
                ("image_url", &media.url("/square.jpg")),
                ("access_token", &ig.token)
            ])
        )))
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["error_subcode"], 33);
}

#[tokio::test]
async fn instagram_checks_captions_permissions_ownership_and_expired_tokens() {
    let h = Harness::start().await;
    let media = MediaServer::start().await;
    let ig = Ig::login(&h);
    let url = media.url("/square.jpg");
    let long = "a".repeat(2201);
    let (code, body) = ig.create(&[("image_url", &url), ("caption", &long)]).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], 100);
    let tags: String = (0..31).map(|i| format!("#tag{i} ")).collect();
    let (code, _) = ig.create(&[("image_url", &url), ("caption", &tags)]).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let thirty: String = (0..30).map(|i| format!("#tag{i} ")).collect();
    let (code, _) = ig
        .create(&[("image_url", &url), ("caption", &thirty)])
        .await;
    assert_eq!(code, StatusCode::OK);

    let someone = Ig {
        user: instagram_user_id("someone.else"),
        ..Ig::login(&h)
    };
    let (code, body) = someone.create(&[("image_url", &url)]).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["error_subcode"], 33);

    let basic = Ig {
        token: h.token(P, SEED, &["instagram_business_basic"]),
        ..Ig::login(&h)
    };
    let (code, body) = basic.create(&[("image_url", &url)]).await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], 10);

    let id = ig.container(&[("image_url", &url)]).await;
    ig.settled(&id).await;
    h.fault(json!({ "platform": "instagram", "expire_tokens": true }))
        .await;
    let (code, body) = ig.publish(&id).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], 190);
    assert_eq!(body["error"]["error_subcode"], 463);
}

#[tokio::test]
async fn the_publishing_limit_refuses_posts_past_the_quota_with_2207042() {
    let h = Harness::start().await;
    let media = MediaServer::start().await;
    let (status, limits) = h
        .get_json(
            h.http
                .post(format!("{}/_sandbox/limits", h.base))
                .json(&json!({ "instagram_publish_limit": 1 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(limits["instagram_publish_limit"], 1);
    let ig = Ig::login(&h);
    let url = media.url("/square.jpg");
    let first = ig
        .container(&[("image_url", &url), ("caption", "one")])
        .await;
    let second = ig
        .container(&[("image_url", &url), ("caption", "two")])
        .await;
    ig.settled(&first).await;
    ig.settled(&second).await;
    assert_eq!(ig.publish(&first).await.0, StatusCode::OK);
    let (code, body) = ig.publish(&second).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["error_subcode"], 2_207_042);
    assert_eq!(ig.status(&second).await["status_code"], "FINISHED");
}

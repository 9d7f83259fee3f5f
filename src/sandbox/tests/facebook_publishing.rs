use reqwest::StatusCode;
use reqwest::multipart;
use serde_json::{Value, json};

use super::*;
use crate::sandbox::facebook::pages_of;

const P: Platform = Platform::Facebook;
const SEED: &str = "maya.moss";
const SCOPES: &[&str] = &[
    "pages_show_list",
    "pages_manage_posts",
    "pages_read_engagement",
];

struct Fb<'a> {
    h: &'a Harness,
    page: String,
    token: String,
}

impl<'a> Fb<'a> {
    fn new(h: &'a Harness, scopes: &[&str]) -> Self {
        Self::of(h, SEED, scopes)
    }

    /// The first Page of `account`. A Page token, once issued, is the same on every call, so a
    /// test wanting other scopes takes another account.
    fn of(h: &'a Harness, account: &str, scopes: &[&str]) -> Self {
        let page = pages_of(account)[0].id.clone();
        let token = h.page_token(account, scopes, &page);
        Self { h, page, token }
    }

    fn url(&self, path: &str) -> String {
        self.h.url(P, &format!("graph.facebook.com/v21.0{path}"))
    }

    /// A JSON body with the token as a Bearer header, the way Picscripter's client sends it.
    async fn json(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.h
            .get_json(
                self.h
                    .http
                    .post(self.url(path))
                    .bearer_auth(&self.token)
                    .json(&body),
            )
            .await
    }

    /// A urlencoded form with `access_token` in it, the way Mixpost sends it.
    async fn form(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut fields = fields.to_vec();
        fields.push(("access_token", &self.token));
        self.h
            .get_json(self.h.http.post(self.url(path)).form(&fields))
            .await
    }

    async fn unpublished_photo(&self, url: &str) -> String {
        let (status, body) = self
            .json(
                &format!("/{}/photos", self.page),
                json!({ "url": url, "published": false }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.get("post_id").is_none(), "unpublished: no post yet");
        body["id"].as_str().unwrap().to_owned()
    }
}

fn error_code(body: &Value) -> i64 {
    body["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("a Graph error: {body}"))
}

#[tokio::test]
async fn a_text_post_and_a_link_post_go_on_the_page_feed_with_composite_ids() {
    let h = Harness::start().await;
    let fb = Fb::new(&h, SCOPES);
    let feed = format!("/{}/feed?fields=id,permalink_url", fb.page);
    let (status, body) = fb
        .json(&feed, json!({ "message": "Studio open on Saturday" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["id"].as_str().unwrap();
    let (page, post) = id.split_once('_').unwrap();
    assert_eq!(page, fb.page);
    assert!(post.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(
        body["permalink_url"],
        format!("https://www.facebook.com/{id}")
    );

    // A form body works as well as JSON.
    let (status, linked) = fb
        .form(
            &format!("/{}/feed", fb.page),
            &[
                ("message", "New collection"),
                ("link", "https://maple-and-moss.example/mugs"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{linked}");
    assert_eq!(
        linked.as_object().unwrap().len(),
        1,
        "only the id: {linked}"
    );

    let records = h.published("facebook").await;
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["kind"], "post");
    assert_eq!(records[0]["remote_id"], id);
    assert_eq!(records[0]["account_id"], fb.page);
    assert_eq!(records[0]["text"], "Studio open on Saturday");
    assert_eq!(records[0]["url"], format!("https://www.facebook.com/{id}"));
    assert_eq!(records[1]["kind"], "link");
    assert_eq!(
        records[1]["options"]["link"],
        "https://maple-and-moss.example/mugs"
    );

    // The post can be read back with the Page token.
    let (status, node) = h
        .get_json(
            h.http
                .get(fb.url(&format!("/{id}?fields=message,permalink_url,created_time")))
                .bearer_auth(&fb.token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{node}");
    assert_eq!(node["message"], "Studio open on Saturday");
    assert_eq!(node["id"], id);
}

#[tokio::test]
async fn a_photo_is_pulled_and_published_with_its_post_id_and_fingerprint() {
    let h = Harness::start().await;
    let media = MediaServer::start().await;
    let fb = Fb::new(&h, SCOPES);
    let url = media.url("/square.jpg");
    let (status, body) = fb
        .json(
            &format!("/{}/photos", fb.page),
            json!({ "url": url, "caption": "One mug", "published": true, "alt_text_custom": "A speckled mug" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let photo = body["id"].as_str().unwrap();
    let post = body["post_id"].as_str().unwrap();
    assert_eq!(post, format!("{}_{photo}", fb.page));

    let records = h.published("facebook").await;
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r["kind"], "photo");
    assert_eq!(r["remote_id"], post);
    assert_eq!(r["url"], format!("https://www.facebook.com/{post}"));
    assert_eq!(r["text"], "One mug");
    assert_eq!(r["options"]["alt_text_custom"], "A speckled mug");
    let m = &r["media"][0];
    assert_eq!(m["url"], url);
    assert_eq!(m["id"], photo);
    assert_eq!(m["mime"], "image/jpeg");
    assert_eq!(m["width"], 320);
    assert_eq!(m["sha256"].as_str().unwrap().len(), 64);
}

#[tokio::test]
async fn a_photo_may_be_uploaded_as_a_multipart_source() {
    let h = Harness::start().await;
    let fb = Fb::new(&h, SCOPES);
    let form = multipart::Form::new()
        .text("message", "Glaze test")
        .text("access_token", fb.token.clone())
        .part(
            "source",
            multipart::Part::bytes(png(64, 48))
                .file_name("glaze.png")
                .mime_str("image/png")
                .unwrap(),
        );
    let (status, body) = h
        .get_json(
            h.http
                .post(fb.url(&format!("/{}/photos", fb.page)))
                .multipart(form),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let records = h.published("facebook").await;
    assert_eq!(
        records[0]["text"], "Glaze test",
        "message stands in for caption"
    );
    assert_eq!(records[0]["media"][0]["mime"], "image/png");
    assert_eq!(records[0]["media"][0]["url"], Value::Null);
}

#[tokio::test]
async fn several_photos_are_uploaded_unpublished_then_attached_to_one_post() {
    let h = Harness::start().await;
    let media = MediaServer::start().await;
    let fb = Fb::new(&h, SCOPES);
    let first = fb.unpublished_photo(&media.url("/square.jpg")).await;
    let second = fb.unpublished_photo(&media.url("/portrait.jpg")).await;
    assert!(
        h.published("facebook").await.is_empty(),
        "unpublished photos are not posts"
    );

    let (status, body) = fb
        .json(
            &format!("/{}/feed", fb.page),
            json!({ "message": "Two mugs", "attached_media": [{ "media_fbid": first }, { "media_fbid": second }] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let records = h.published("facebook").await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["kind"], "photos");
    assert_eq!(records[0]["remote_id"], body["id"]);
    let ids: Vec<&str> = records[0]["media"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [first.as_str(), second.as_str()]);
    assert_eq!(records[0]["media"][1]["height"], 400);

    // A photo goes out once.
    let (status, again) = fb
        .json(
            &format!("/{}/feed", fb.page),
            json!({ "message": "Again", "attached_media": [{ "media_fbid": first }] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&again), 100);

    // Indexed form parameters, as Graph's own examples send them.
    let third = fb.unpublished_photo(&media.url("/wide.jpg")).await;
    let fourth = fb.unpublished_photo(&media.url("/tall.jpg")).await;
    let a = format!(r#"{{"media_fbid":"{third}"}}"#);
    let b = format!(r#"{{"media_fbid":"{fourth}"}}"#);
    let (status, body) = fb
        .form(
            &format!("/{}/feed", fb.page),
            &[
                ("message", "Wide and tall"),
                ("attached_media[1]", &b),
                ("attached_media[0]", &a),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let records = h.published("facebook").await;
    assert_eq!(records[1]["media"][0]["id"], third, "in index order");
    assert_eq!(records[1]["media"][1]["id"], fourth);
}

#[tokio::test]
async fn a_video_is_pulled_from_its_file_url_with_publish_video_granted() {
    let h = Harness::start().await;
    let media = MediaServer::start().await;
    let mut scopes = SCOPES.to_vec();
    scopes.push("publish_video");
    let fb = Fb::new(&h, &scopes);
    let url = media.url("/clip.mp4");
    let (status, body) = fb
        .json(
            &format!("/{}/videos", fb.page),
            json!({ "file_url": url, "description": "Glazing day", "published": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["id"].as_str().unwrap();
    let records = h.published("facebook").await;
    assert_eq!(records[0]["kind"], "video");
    assert_eq!(records[0]["remote_id"], id);
    assert_eq!(
        records[0]["url"],
        format!("https://www.facebook.com/{}/videos/{id}", fb.page)
    );
    assert_eq!(records[0]["media"][0]["mime"], "video/mp4");

    let (status, body) = fb
        .json(
            &format!("/{}/videos", fb.page),
            json!({ "file_url": media.url("/square.jpg") }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), 352, "not a video");

    // Without publish_video the Page cannot post videos.
    let fb = Fb::of(&h, "sam.lee", SCOPES);
    let (status, body) = fb
        .json(&format!("/{}/videos", fb.page), json!({ "file_url": url }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&body), 200);
}

#[tokio::test]
async fn only_the_page_s_own_token_may_publish_on_it() {
    let h = Harness::start().await;
    let pages = pages_of(SEED);
    let (first, second) = (pages[0].id.clone(), pages[1].id.clone());
    let feed = |page: &str| h.url(P, &format!("graph.facebook.com/{page}/feed"));
    let body = json!({ "message": "Hello" });

    // The user token that granted the Page is not enough.
    let user = h.facebook_user_token(SEED, SCOPES, &[&first]);
    let (status, res) = h
        .get_json(h.http.post(feed(&first)).bearer_auth(&user).json(&body))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&res), 210, "{res}");

    // One Page's token does not reach another Page.
    let fb = Fb::new(&h, SCOPES);
    let (status, res) = h
        .get_json(
            h.http
                .post(feed(&second))
                .bearer_auth(&fb.token)
                .json(&body),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(res["error"]["error_subcode"], 33);

    // A token that is not one, or an expired one, is code 190.
    let (status, res) = h
        .get_json(
            h.http
                .post(feed(&first))
                .bearer_auth("EAAGnope")
                .json(&body),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&res), 190);
    assert_eq!(res["error"]["type"], "OAuthException");
    h.fault(json!({ "platform": "facebook", "expire_tokens": true }))
        .await;
    let (_, res) = h
        .get_json(h.http.post(feed(&first)).bearer_auth(&fb.token).json(&body))
        .await;
    assert_eq!(error_code(&res), 190);
    assert_eq!(res["error"]["error_subcode"], 463);

    // Without pages_manage_posts: a permissions error.
    let fb = Fb::of(&h, "sam.lee", &["pages_show_list", "pages_read_engagement"]);
    let (status, res) = fb.json(&format!("/{}/feed", fb.page), body).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&res), 200);
    assert!(h.published("facebook").await.is_empty());
}

#[tokio::test]
async fn facebook_refuses_bad_feed_and_photo_parameters_in_graph_s_words() {
    let h = Harness::start().await;
    let media = MediaServer::start().await;
    let fb = Fb::new(&h, SCOPES);
    let feed = format!("/{}/feed", fb.page);
    let photos = format!("/{}/photos", fb.page);
    let in_an_hour = (h.sandbox.now() + chrono::Duration::hours(1))
        .timestamp()
        .to_string();
    let in_five_minutes = (h.sandbox.now() + chrono::Duration::minutes(5))
        .timestamp()
        .to_string();
    let cases: Vec<(&str, Value, i64, &str)> = vec![
        (&feed, json!({}), 100, "Missing message or attachment"),
        (
            &feed,
            json!({ "message": "  " }),
            100,
            "Missing message or attachment",
        ),
        (
            &feed,
            json!({ "message": "x", "published": "maybe" }),
            100,
            "published must be a boolean",
        ),
        (
            &feed,
            json!({ "message": "x", "link": "not a link" }),
            100,
            "link",
        ),
        (
            &feed,
            json!({ "message": "x", "attached_media": "[1" }),
            100,
            "attached_media",
        ),
        (
            &feed,
            json!({ "message": "x", "attached_media": [{ "id": "1" }] }),
            100,
            "media_fbid",
        ),
        (
            &feed,
            json!({ "message": "x", "attached_media": [{ "media_fbid": "999" }] }),
            100,
            "unpublished photo",
        ),
        (
            &feed,
            json!({ "message": "x", "scheduled_publish_time": in_an_hour }),
            100,
            "published post",
        ),
        (
            &feed,
            json!({ "message": "x", "published": false, "scheduled_publish_time": in_five_minutes }),
            100,
            "at least 10 minutes",
        ),
        (
            &feed,
            json!({ "message": "x".repeat(63_207) }),
            100,
            "at most 63206",
        ),
        (
            &photos,
            json!({ "caption": "no photo" }),
            324,
            "Requires upload file",
        ),
        (
            &photos,
            json!({ "url": media.url("/page.html") }),
            324,
            "Missing or invalid image file",
        ),
        (
            &photos,
            json!({ "url": media.url("/missing.jpg") }),
            324,
            "Missing or invalid image file",
        ),
        (
            &photos,
            json!({ "url": "ftp://example.com/a.jpg" }),
            100,
            "valid URL",
        ),
    ];
    for (path, body, code, words) in cases {
        let (status, res) = fb.json(path, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {res}");
        assert_eq!(error_code(&res), code, "{path} {body}: {res}");
        assert!(res["error"]["fbtrace_id"].is_string());
        assert!(
            res.to_string().contains(words),
            "{path} {body}: {res} should say {words:?}"
        );
    }
    assert!(h.published("facebook").await.is_empty());

    // A scheduled post is accepted for later, and said so in the record.
    let (status, res) = fb
        .json(
            &feed,
            json!({ "message": "Later", "published": false, "scheduled_publish_time": in_an_hour }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let records = h.published("facebook").await;
    assert_eq!(records[0]["options"]["published"], false);
    assert!(records[0]["options"]["scheduled_publish_time"].is_i64());
}

#[tokio::test]
async fn a_rejected_facebook_post_is_a_duplicate_and_an_accepted_one_is_recorded_before_the_hang() {
    let h = Harness::start().await;
    let fb = Fb::new(&h, SCOPES);
    let feed = format!("/{}/feed", fb.page);
    h.fault(json!({ "platform": "facebook", "path": "/feed", "reject": true, "times": 1 }))
        .await;
    let (status, res) = fb.json(&feed, json!({ "message": "Same again" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&res), 506);
    assert!(h.published("facebook").await.is_empty());

    h.fault(json!({ "platform": "facebook", "path": "/feed", "timeout_after_accept": true, "timeout_secs": 30, "times": 1 }))
        .await;
    let lost = h
        .http
        .post(fb.url(&feed))
        .bearer_auth(&fb.token)
        .json(&json!({ "message": "Did it go?" }))
        .timeout(std::time::Duration::from_millis(500))
        .send()
        .await;
    assert!(lost.is_err_and(|e| e.is_timeout()));
    let records = h.published("facebook").await;
    assert_eq!(records.len(), 1, "accepted even though no answer came");
    assert_eq!(records[0]["text"], "Did it go?");
}

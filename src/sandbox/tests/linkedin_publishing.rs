use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::sandbox::linkedin::member_id;

const P: Platform = Platform::Linkedin;
const SEED: &str = "maya-moss";
const SCOPES: &[&str] = &["openid", "profile", "w_member_social"];
const VERSION: &str = "202610";

struct Li<'a> {
    h: &'a Harness,
    token: String,
    author: String,
}

impl<'a> Li<'a> {
    fn new(h: &'a Harness, scopes: &[&str]) -> Self {
        Self {
            h,
            token: h.token(P, SEED, scopes),
            author: format!("urn:li:person:{}", member_id(SEED)),
        }
    }

    fn rest(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.h
            .http
            .request(
                method,
                self.h.url(P, &format!("api.linkedin.com/rest{path}")),
            )
            .bearer_auth(&self.token)
            .header("LinkedIn-Version", VERSION)
            .header("X-Restli-Protocol-Version", "2.0.0")
    }

    fn body(&self, commentary: &str) -> Value {
        json!({
            "author": self.author,
            "commentary": commentary,
            "visibility": "PUBLIC",
            "distribution": { "feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": [] },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": false,
        })
    }

    /// Creates a post; returns the status, the `x-restli-id` and the body text.
    async fn post(&self, body: &Value) -> (StatusCode, Option<String>, String) {
        let res = self
            .rest(reqwest::Method::POST, "/posts")
            .json(body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let id = res
            .headers()
            .get("x-restli-id")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, id, res.text().await.unwrap())
    }

    async fn error(&self, body: &Value) -> (StatusCode, Value) {
        let (status, id, text) = self.post(body).await;
        assert!(id.is_none(), "refused posts have no id");
        (status, serde_json::from_str(&text).unwrap())
    }

    /// The sandbox address of an upload URL LinkedIn handed out.
    fn upload_url(&self, given: &str) -> String {
        let rest = given.strip_prefix("https://").expect("an https upload URL");
        assert!(rest.starts_with("www.linkedin.com/dms-uploads/"), "{given}");
        self.h.url(P, rest)
    }

    async fn init_image(&self) -> (String, String) {
        let (status, body) = self
            .h
            .get_json(
                self.rest(reqwest::Method::POST, "/images?action=initializeUpload")
                    .json(&json!({ "initializeUploadRequest": { "owner": self.author } })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let value = &body["value"];
        assert!(value["uploadUrlExpiresAt"].as_i64().unwrap() > 1_600_000_000_000);
        (
            value["uploadUrl"].as_str().unwrap().to_owned(),
            value["image"].as_str().unwrap().to_owned(),
        )
    }

    async fn put_image(&self, upload: &str, bytes: Vec<u8>) -> StatusCode {
        self.h
            .http
            .put(self.upload_url(upload))
            .bearer_auth(&self.token)
            .header("Content-Type", "image/jpeg")
            .body(bytes)
            .send()
            .await
            .unwrap()
            .status()
    }

    async fn image(&self, bytes: Vec<u8>) -> String {
        let (upload, urn) = self.init_image().await;
        assert_eq!(self.put_image(&upload, bytes).await, StatusCode::CREATED);
        urn
    }

    async fn status_of(&self, urn: &str) -> Value {
        let kind = if urn.starts_with("urn:li:video:") {
            "videos"
        } else {
            "images"
        };
        let encoded = url::form_urlencoded::byte_serialize(urn.as_bytes()).collect::<String>();
        let (status, body) = self
            .h
            .get_json(self.rest(reqwest::Method::GET, &format!("/{kind}/{encoded}")))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

#[tokio::test]
async fn a_linkedin_text_post_answers_201_with_its_urn_in_x_restli_id() {
    let h = Harness::start().await;
    let li = Li::new(&h, SCOPES);
    let (status, id, text) = li
        .post(&li.body("We are hiring a potter {hashtag|\\#|ceramics} \\(apply today\\)"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    assert!(text.is_empty(), "an empty body");
    let urn = id.unwrap();
    let digits = urn.strip_prefix("urn:li:share:").unwrap();
    assert!(digits.len() == 19 && digits.bytes().all(|b| b.is_ascii_digit()));

    let records = h.published("linkedin").await;
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r["kind"], "post");
    assert_eq!(r["remote_id"], urn);
    assert_eq!(r["account_id"], li.author);
    assert_eq!(r["account"], SEED);
    assert_eq!(
        r["url"],
        format!("https://www.linkedin.com/feed/update/{urn}")
    );
    assert_eq!(r["text"], "We are hiring a potter #ceramics (apply today)");
    assert_eq!(r["options"]["visibility"], "PUBLIC");
    assert_eq!(r["options"]["linkedin_version"], "20261001");

    let encoded = url::form_urlencoded::byte_serialize(urn.as_bytes()).collect::<String>();
    let (status, post) = h
        .get_json(li.rest(reqwest::Method::GET, &format!("/posts/{encoded}")))
        .await;
    assert_eq!(status, StatusCode::OK, "{post}");
    assert_eq!(post["id"], urn);
    assert_eq!(post["lifecycleState"], "PUBLISHED");

    // A draft is created but not published.
    let mut draft = li.body("Not yet");
    draft["lifecycleState"] = json!("DRAFT");
    let (status, id, _) = li.post(&draft).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(id.is_some());
    assert_eq!(h.published("linkedin").await.len(), 1);
}

#[tokio::test]
async fn every_rest_call_needs_an_active_version_the_protocol_header_and_a_good_token() {
    let h = Harness::start().await;
    let li = Li::new(&h, SCOPES);
    let body = li.body("Hello");
    let posts = h.url(P, "api.linkedin.com/rest/posts");
    let send = |version: Option<&str>, restli: Option<&str>, token: &str| {
        let mut req = h.http.post(&posts).bearer_auth(token).json(&body);
        if let Some(v) = version {
            req = req.header("LinkedIn-Version", v);
        }
        if let Some(r) = restli {
            req = req.header("X-Restli-Protocol-Version", r);
        }
        h.get_json(req)
    };
    let (status, res) = send(None, Some("2.0.0"), &li.token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(res["code"], "VERSION_MISSING");
    assert_eq!(res["status"], 400);

    let (status, res) = send(Some("202401"), Some("2.0.0"), &li.token).await;
    assert_eq!(status, StatusCode::UPGRADE_REQUIRED);
    assert_eq!(res["code"], "NONEXISTENT_VERSION");
    assert_eq!(res["message"], "Requested version 20240101 is not active");

    let (status, res) = send(Some(VERSION), None, &li.token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert!(
        res["message"]
            .as_str()
            .unwrap()
            .contains("X-Restli-Protocol-Version")
    );

    let (status, res) = send(Some(VERSION), Some("2.0.0"), "AQnope").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(res["serviceErrorCode"], 65600);
    assert_eq!(res["code"], "INVALID_ACCESS_TOKEN");

    let reader = h.token(P, SEED, &["openid", "profile"]);
    let (status, res) = send(Some(VERSION), Some("2.0.0"), &reader).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(res["code"], "ACCESS_DENIED");
    assert_eq!(res["serviceErrorCode"], 100);

    h.fault(json!({ "platform": "linkedin", "expire_tokens": true }))
        .await;
    let (status, res) = send(Some(VERSION), Some("2.0.0"), &li.token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(res["code"], "EXPIRED_ACCESS_TOKEN");
    assert!(h.published("linkedin").await.is_empty());
}

#[tokio::test]
async fn linkedin_checks_the_post_body_field_by_field() {
    let h = Harness::start().await;
    let li = Li::new(&h, SCOPES);
    let with = |key: &str, value: Value| {
        let mut b = li.body("Hello");
        if value.is_null() {
            b.as_object_mut().unwrap().remove(key);
        } else {
            b[key] = value;
        }
        b
    };
    let cases: Vec<(Value, &str)> = vec![
        (li.body("Mugs (new)"), "/commentary"),
        (li.body("#ceramics"), "/commentary"),
        (li.body("mail me@shop"), "/commentary"),
        (li.body(""), "/commentary"),
        (li.body(&"a".repeat(3001)), "/commentary"),
        (with("visibility", Value::Null), "/visibility"),
        (with("visibility", json!("EVERYONE")), "/visibility"),
        (with("lifecycleState", Value::Null), "/lifecycleState"),
        (with("lifecycleState", json!("LIVE")), "/lifecycleState"),
        (with("distribution", Value::Null), "/distribution"),
        (
            with("distribution", json!({ "feedDistribution": "EVERYWHERE" })),
            "/distribution/feedDistribution",
        ),
        (with("commentary", json!(42)), "/commentary"),
        (with("author", Value::Null), "/author"),
        (with("author", json!("maya")), "/author"),
        (
            with("shareCommentary", json!({ "text": "v2 field" })),
            "/shareCommentary",
        ),
        (
            with("isReshareDisabledByAuthor", json!("no")),
            "/isReshareDisabledByAuthor",
        ),
        (with("content", json!({ "poll": {} })), "/content/poll"),
        (
            with("content", json!({ "media": { "id": "urn:li:image:nope" } })),
            "/content/media/id",
        ),
        (
            with("content", json!({ "article": { "title": "no source" } })),
            "/content/article/source",
        ),
    ];
    for (body, path) in cases {
        let (status, res) = li.error(&body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {res}");
        assert_eq!(res["status"], 422);
        let message = res["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("ERROR :: {path} :: ")),
            "{body}: {message}"
        );
    }

    // Posting as someone else.
    let (status, res) = li
        .error(&with("author", json!("urn:li:person:someoneElse")))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(res["code"], "ACCESS_DENIED");
    let (status, _) = li
        .error(&with("author", json!("urn:li:organization:2414183")))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Not JSON at all.
    let res = li
        .rest(reqwest::Method::POST, "/posts")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("commentary=hello")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let res = li
        .rest(reqwest::Method::POST, "/posts")
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(h.published("linkedin").await.is_empty());

    // An article needs no commentary; a mention renders as the name.
    let (status, _, text) = li
        .post(&with(
            "content",
            json!({ "article": { "source": "https://maple-and-moss.example/mugs", "title": "Mugs" } }),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let (status, _, text) = li
        .post(&li.body("Thanks @[Maple & Moss](urn:li:organization:2414183)"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let records = h.published("linkedin").await;
    assert_eq!(records[0]["kind"], "article");
    assert_eq!(records[1]["text"], "Thanks Maple & Moss");
}

#[tokio::test]
async fn images_are_initialized_uploaded_then_posted_alone_or_several_together() {
    let h = Harness::start().await;
    let li = Li::new(&h, SCOPES);
    let (upload, urn) = li.init_image().await;
    assert!(urn.starts_with("urn:li:image:"));
    assert_eq!(li.status_of(&urn).await["status"], "WAITING_UPLOAD");

    // Posting it before the bytes arrive is refused.
    let mut body = li.body("Kiln day");
    body["content"] = json!({ "media": { "id": urn, "altText": "The kiln" } });
    let (status, res) = li.error(&body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res["message"].as_str().unwrap().contains("WAITING_UPLOAD"),
        "{res}"
    );

    // The upload needs the Bearer token and the URL's own signature.
    let anonymous = h
        .http
        .put(li.upload_url(&upload))
        .body(jpeg(64, 64))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let forged = li.upload_url(&upload).replace("ut=", "ut=x");
    let res = h
        .http
        .put(forged)
        .bearer_auth(&li.token)
        .body(jpeg(64, 64))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    assert_eq!(
        li.put_image(&upload, jpeg(64, 48)).await,
        StatusCode::CREATED
    );
    assert_eq!(
        li.put_image(&upload, jpeg(64, 48)).await,
        StatusCode::CONFLICT,
        "an upload URL takes one file"
    );
    let status = li.status_of(&urn).await;
    assert_eq!(status["status"], "AVAILABLE");
    assert_eq!(status["owner"], li.author);

    let (code, id, text) = li.post(&body).await;
    assert_eq!(code, StatusCode::CREATED, "{text}");
    let records = h.published("linkedin").await;
    assert_eq!(records[0]["kind"], "image");
    assert_eq!(records[0]["remote_id"], id.unwrap());
    assert_eq!(records[0]["media"][0]["id"], urn);
    assert_eq!(records[0]["media"][0]["width"], 64);
    assert_eq!(
        records[0]["options"]["content"]["media"]["altText"],
        "The kiln"
    );

    // Several images: 2 to 20, PNG as well as JPEG.
    let second = li.image(png(40, 40)).await;
    let mut many = li.body("Behind the scenes \\(kiln day\\)");
    many["content"] = json!({ "multiImage": { "images": [{ "id": urn }, { "id": second, "altText": "Glaze" }] } });
    let (code, _, text) = li.post(&many).await;
    assert_eq!(code, StatusCode::CREATED, "{text}");
    let records = h.published("linkedin").await;
    assert_eq!(records[1]["kind"], "images");
    assert_eq!(records[1]["text"], "Behind the scenes (kiln day)");
    assert_eq!(records[1]["media"].as_array().unwrap().len(), 2);
    assert_eq!(records[1]["media"][1]["mime"], "image/png");

    many["content"] = json!({ "multiImage": { "images": [{ "id": urn }] } });
    let (status, _) = li.error(&many).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "one image is not a multi-image post"
    );

    // A WebP is taken in but fails processing.
    let webp_urn = li.image(webp(32, 32)).await;
    let status = li.status_of(&webp_urn).await;
    assert_eq!(status["status"], "PROCESSING_FAILED");
    many["content"] = json!({ "multiImage": { "images": [{ "id": urn }, { "id": webp_urn }] } });
    let (status, _) = li.error(&many).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Another member cannot use these images.
    let other = Li {
        token: h.token(P, "sam-lee", SCOPES),
        author: format!("urn:li:person:{}", member_id("sam-lee")),
        h: &h,
    };
    let mut theirs = other.body("Borrowed");
    theirs["content"] = json!({ "media": { "id": urn } });
    let (status, _) = other.error(&theirs).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = h
        .get_json(
            other
                .rest(reqwest::Method::POST, "/images?action=initializeUpload")
                .json(&json!({ "initializeUploadRequest": { "owner": li.author } })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only for oneself");
}

#[tokio::test]
async fn an_image_still_processing_cannot_be_posted_until_it_is_available() {
    let h = Harness::start().await;
    let li = Li::new(&h, SCOPES);
    h.fault(json!({ "platform": "linkedin", "path": "/dms-uploads/", "processing_secs": 30 }))
        .await;
    let urn = li.image(jpeg(32, 32)).await;
    assert_eq!(li.status_of(&urn).await["status"], "PROCESSING");
    let mut body = li.body("Soon");
    body["content"] = json!({ "media": { "id": urn } });
    let (status, _) = li.error(&body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    h.sandbox.advance_clock(31);
    assert_eq!(li.status_of(&urn).await["status"], "AVAILABLE");
    let (status, _, text) = li.post(&body).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
}

#[tokio::test]
async fn a_video_is_uploaded_in_parts_finalized_with_their_etags_and_posted() {
    let h = Harness::start().await;
    let li = Li::new(&h, SCOPES);
    let bytes = mp4(4 * 1024 * 1024 + 1000);
    let (status, body) = h
        .get_json(
            li.rest(reqwest::Method::POST, "/videos?action=initializeUpload")
                .json(&json!({ "initializeUploadRequest": {
                    "owner": li.author, "fileSizeBytes": bytes.len(), "uploadCaptions": false, "uploadThumbnail": false,
                }})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let value = &body["value"];
    let video = value["video"].as_str().unwrap().to_owned();
    let token = value["uploadToken"].as_str().unwrap().to_owned();
    assert!(!token.is_empty(), "a multi-part upload has an upload token");
    let parts = value["uploadInstructions"].as_array().unwrap().clone();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0]["firstByte"], 0);
    assert_eq!(parts[0]["lastByte"], 4 * 1024 * 1024 - 1);
    assert_eq!(parts[1]["lastByte"], bytes.len() - 1);

    let finalize = |ids: Vec<String>| {
        li.rest(reqwest::Method::POST, "/videos?action=finalizeUpload")
            .json(&json!({ "finalizeUploadRequest": { "video": video, "uploadToken": token, "uploadedPartIds": ids } }))
            .send()
    };
    // Parts may arrive in any order; each answer carries its ETag.
    let mut etags = vec![String::new(); parts.len()];
    for i in [1, 0] {
        let part = &parts[i];
        let (first, last) = (
            part["firstByte"].as_u64().unwrap() as usize,
            part["lastByte"].as_u64().unwrap() as usize,
        );
        if i == 1 {
            let early = finalize(vec![]).await.unwrap();
            assert_eq!(
                early.status(),
                StatusCode::BAD_REQUEST,
                "not every part is there"
            );
        }
        let res = h
            .http
            .put(li.upload_url(part["uploadUrl"].as_str().unwrap()))
            .header("Content-Type", "application/octet-stream")
            .body(bytes[first..=last].to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        etags[i] = res.headers()["etag"].to_str().unwrap().to_owned();
    }
    assert_eq!(li.status_of(&video).await["status"], "WAITING_UPLOAD");
    let mut wrong = etags.clone();
    wrong.reverse();
    assert_eq!(
        finalize(wrong).await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        finalize(etags.clone()).await.unwrap().status(),
        StatusCode::OK
    );
    let status = li.status_of(&video).await;
    assert_eq!(status["status"], "AVAILABLE");
    assert_eq!(status["fileSizeBytes"], bytes.len());

    let mut post = li.body("Glazing day");
    post["content"] = json!({ "media": { "id": video } });
    let (code, id, text) = li.post(&post).await;
    assert_eq!(code, StatusCode::CREATED, "{text}");
    assert!(id.unwrap().starts_with("urn:li:ugcPost:"));
    let records = h.published("linkedin").await;
    assert_eq!(records[0]["kind"], "video");
    assert_eq!(records[0]["media"][0]["size"], bytes.len());
    assert_eq!(
        records[0]["media"][0]["sha256"],
        crate::sandbox::media::Facts::of(&bytes).sha256
    );
}

#[tokio::test]
async fn a_rejected_linkedin_post_is_not_recorded_and_an_accepted_one_is_recorded_before_the_hang()
{
    let h = Harness::start().await;
    let li = Li::new(&h, SCOPES);
    h.fault(json!({ "platform": "linkedin", "path": "/rest/posts", "method": "POST", "reject": true, "times": 1 }))
        .await;
    let (status, res) = li.error(&li.body("Same words as yesterday")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res["message"].as_str().unwrap().contains("duplicate"),
        "{res}"
    );
    assert!(h.published("linkedin").await.is_empty());

    h.fault(json!({ "platform": "linkedin", "path": "/rest/posts", "method": "POST", "timeout_after_accept": true, "timeout_secs": 30, "times": 1 }))
        .await;
    let lost = li
        .rest(reqwest::Method::POST, "/posts")
        .json(&li.body("Did it go?"))
        .timeout(std::time::Duration::from_millis(500))
        .send()
        .await;
    assert!(lost.is_err_and(|e| e.is_timeout()));
    let records = h.published("linkedin").await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["text"], "Did it go?");
    assert_eq!(h.duplicates().await["count"], 0);

    // LinkedIn itself does not refuse the same text again, so a blind retry would post twice;
    // the sandbox's duplicate report is where that shows.
    let (status, id, _) = li.post(&li.body("Did it go?")).await;
    assert_eq!(status, StatusCode::CREATED);
    let report = h.duplicates().await;
    assert_eq!(report["count"], 1);
    assert_eq!(report["duplicates"][0]["count"], 2);
    assert_eq!(
        report["duplicates"][0]["records"][1]["remote_id"],
        id.unwrap()
    );
}

// ---------------------------------------------------------------------------------------------
// Organizations (company pages)

const ORG_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "w_member_social",
    "w_organization_social",
    "rw_organization_admin",
];

fn org_urn(account: &str) -> String {
    crate::sandbox::linkedin::organizations_of(account)[0].urn()
}

#[tokio::test]
async fn organization_acls_list_the_company_pages_a_member_administers_and_name_them() {
    let h = Harness::start().await;
    let li = Li::new(&h, ORG_SCOPES);
    let acls = "/organizationAcls?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED";
    let (status, body) = h.get_json(li.rest(reqwest::Method::GET, acls)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let elements = body["elements"].as_array().unwrap();
    assert_eq!(elements.len(), 1, "the seed persona runs one company page");
    let org = elements[0]["organization"].as_str().unwrap().to_owned();
    assert_eq!(org, org_urn(SEED));
    assert_eq!(
        org, "urn:li:organization:12014966",
        "as docs/SANDBOX.md says"
    );
    assert_eq!(elements[0]["role"], "ADMINISTRATOR");
    assert_eq!(elements[0]["state"], "APPROVED");
    assert_eq!(elements[0]["roleAssignee"], li.author);
    assert_eq!(body["paging"]["total"], 1);
    assert_eq!(body["paging"]["start"], 0);

    let id = org.strip_prefix("urn:li:organization:").unwrap();
    let (status, body) = h
        .get_json(li.rest(reqwest::Method::GET, &format!("/organizations/{id}")))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["localizedName"], "Maple & Moss Ceramics");
    assert_eq!(body["id"].as_u64().unwrap().to_string(), id);

    // Other roles and states find nothing; the finder must be named.
    let (status, body) = h
        .get_json(li.rest(
            reqwest::Method::GET,
            "/organizationAcls?q=roleAssignee&role=ANALYST",
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["elements"], json!([]));
    let (status, body) = h
        .get_json(li.rest(reqwest::Method::GET, "/organizationAcls"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "ILLEGAL_ARGUMENT");

    // An organization the member doesn't administer is not theirs to read.
    let (status, body) = h
        .get_json(li.rest(reqwest::Method::GET, "/organizations/2414183"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "ACCESS_DENIED");

    // Without rw_organization_admin: LinkedIn's 403.
    let poster = Li::new(&h, SCOPES);
    let (status, body) = h.get_json(poster.rest(reqwest::Method::GET, acls)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "ACCESS_DENIED");
    assert_eq!(body["serviceErrorCode"], 100);
    assert_eq!(body["status"], 403);

    // A member who runs no page has no roles; one whose login says admin runs two.
    for (login, pages) in [("sam-lee", 0), ("jo-admin", 2)] {
        let other = Li {
            token: h.token(P, login, ORG_SCOPES),
            author: String::new(),
            h: &h,
        };
        let (_, body) = h.get_json(other.rest(reqwest::Method::GET, acls)).await;
        assert_eq!(body["elements"].as_array().unwrap().len(), pages, "{login}");
    }
}

#[tokio::test]
async fn a_member_posts_as_a_company_page_they_administer_with_w_organization_social() {
    let h = Harness::start().await;
    let mut li = Li::new(&h, ORG_SCOPES);
    li.author = org_urn(SEED);

    // An image owned by the organization, uploaded with the member's token, then posted.
    let (upload, image) = li.init_image().await;
    assert_eq!(
        li.put_image(&upload, jpeg(64, 48)).await,
        StatusCode::CREATED
    );
    assert_eq!(li.status_of(&image).await["owner"], li.author);
    let mut body = li.body("New glazes from the studio");
    body["content"] = json!({ "media": { "id": image } });
    let (status, id, text) = li.post(&body).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let urn = id.unwrap();
    let records = h.published("linkedin").await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["account_id"], li.author, "posted as the page");
    assert_eq!(records[0]["account"], SEED);
    assert_eq!(
        records[0]["url"],
        format!("https://www.linkedin.com/feed/update/{urn}")
    );
    let encoded = url::form_urlencoded::byte_serialize(urn.as_bytes()).collect::<String>();
    let (status, post) = h
        .get_json(li.rest(reqwest::Method::GET, &format!("/posts/{encoded}")))
        .await;
    assert_eq!(status, StatusCode::OK, "{post}");
    assert_eq!(post["author"], li.author);

    // The member's own image can't go on the page's post.
    let person = Li::new(&h, ORG_SCOPES);
    let own = person.image(jpeg(32, 32)).await;
    let mut mixed = li.body("Mixed");
    mixed["content"] = json!({ "media": { "id": own } });
    let (status, _) = li.error(&mixed).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // A video can be initialized for the page too.
    let (status, res) = h
        .get_json(
            li.rest(reqwest::Method::POST, "/videos?action=initializeUpload")
                .json(&json!({ "initializeUploadRequest": { "owner": li.author, "fileSizeBytes": 1000, "uploadCaptions": false, "uploadThumbnail": false } })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");

    // Only w_member_social: the page is off limits (posts and uploads).
    let mut member_only = Li::new(&h, SCOPES);
    member_only.author = li.author.clone();
    let (status, res) = member_only.error(&member_only.body("Nope")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(res["code"], "ACCESS_DENIED");
    let (status, _) = h
        .get_json(
            member_only
                .rest(reqwest::Method::POST, "/images?action=initializeUpload")
                .json(&json!({ "initializeUploadRequest": { "owner": li.author } })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Only w_organization_social: the page yes, the member's own profile no.
    let org_only = Li::new(&h, &["openid", "w_organization_social"]);
    let (status, res) = org_only.error(&org_only.body("As me")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{res}");
    let mut as_page = Li::new(&h, &["openid", "w_organization_social"]);
    as_page.author = li.author.clone();
    let (status, _, text) = as_page.post(&as_page.body("As the page")).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");

    // Someone who doesn't administer the page can't post as it, whatever their scopes.
    let mut stranger = Li {
        token: h.token(P, "sam-lee", ORG_SCOPES),
        author: li.author.clone(),
        h: &h,
    };
    let (status, res) = stranger.error(&stranger.body("Hijack")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(res["code"], "ACCESS_DENIED");
    stranger.author = "urn:li:organization:2414183".into();
    let (status, _) = stranger.error(&stranger.body("Hijack")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(h.published("linkedin").await.len(), 2);
}

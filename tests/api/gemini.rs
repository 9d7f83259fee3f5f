//! The Gemini client against the sandbox's Gemini, and against wiremock where a test needs an
//! exact answer. No app or database: the client is built by hand, pointed at either.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use picscripter::ai::builtin::{Brief, ProductFacts, Tone};
use picscripter::ai::gemini::{CaptionsRequest, Gemini, GeminiConfig, GeminiError, Image};
use picscripter::domain::Platform;
use picscripter::sandbox::{GeminiFault, GeminiFaultSpec};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::TestSandbox;

const MODEL: &str = "gemini-3.5-flash";

fn gemini_at(base: &str, model: &str, key: &str, timeout: Duration) -> Gemini {
    Gemini::new(GeminiConfig {
        api_key: SecretString::from(key.to_owned()),
        model: model.to_owned(),
        base_url: base.parse().unwrap(),
        timeout,
    })
}

fn gemini_in(sandbox: &TestSandbox) -> Gemini {
    gemini_with(sandbox, MODEL, "sandbox-key")
}

fn gemini_with(sandbox: &TestSandbox, model: &str, key: &str) -> Gemini {
    gemini_at(
        &format!("{}/gemini/generativelanguage.googleapis.com", sandbox.url),
        model,
        key,
        Duration::from_secs(10),
    )
}

fn fault(sandbox: &TestSandbox, spec: GeminiFaultSpec) {
    sandbox.sandbox.add_gemini_fault(spec).unwrap();
}

const TAGS: &[String] = &[];

fn mug() -> ProductFacts<'static> {
    ProductFacts {
        title: "Speckled clay mug",
        description: "A wheel-thrown mug glazed in speckled white. Holds 350 ml.",
        price: Some("$28.00"),
        tags: TAGS,
        url: Some("https://maple-and-moss.example/products/speckled-clay-mug"),
    }
}

fn brief(product: &ProductFacts<'static>) -> Brief<'static> {
    Brief {
        product: Some(*product),
        brief: "Spring restock, back in all colours",
        tone: Tone::Friendly,
        call_to_action: Some("Shop now"),
        hashtags: true,
    }
}

fn two_images() -> Vec<Image> {
    vec![
        Image {
            mime: "image/jpeg".into(),
            data: b"\xff\xd8\xff\xe0 a jpeg of the mug".to_vec(),
        },
        Image {
            mime: "image/png".into(),
            data: b"\x89PNG\r\n\x1a\n the mug again".to_vec(),
        },
    ]
}

async fn captions(gemini: &Gemini, platforms: &[Platform]) -> Result<Vec<String>, GeminiError> {
    let product = mug();
    let brief = brief(&product);
    let req = CaptionsRequest {
        brief: &brief,
        platforms,
        language: "English",
        images: &[],
        avoid: None,
        variation: 1,
    };
    gemini
        .captions(&req)
        .await
        .map(|m| m.into_values().collect())
}

#[tokio::test]
async fn captions_for_every_platform_asked_come_back_from_one_call_with_the_images_inline() {
    let sandbox = TestSandbox::start().await;
    let gemini = gemini_in(&sandbox);
    let product = mug();
    let brief = brief(&product);
    let images = two_images();
    let platforms = [Platform::X, Platform::Instagram, Platform::Linkedin];
    let req = CaptionsRequest {
        brief: &brief,
        platforms: &platforms,
        language: "English",
        images: &images,
        avoid: Some("An older caption"),
        variation: 2,
    };

    let captions = gemini.captions(&req).await.unwrap();

    assert_eq!(captions.keys().copied().collect::<Vec<_>>(), {
        let mut p = platforms.to_vec();
        p.sort();
        p
    });
    for (platform, text) in &captions {
        assert!(!text.trim().is_empty(), "{platform} has a caption");
    }
    assert!(captions[&Platform::X].contains("Speckled clay mug"));
    let requests = sandbox.sandbox.gemini_requests();
    assert_eq!(requests.len(), 1, "one call for all platforms");
    let parts = requests[0]["contents"][0]["parts"].as_array().unwrap();
    let inline: Vec<&Value> = parts.iter().filter_map(|p| p.get("inlineData")).collect();
    assert_eq!(inline.len(), 2);
    assert_eq!(inline[0]["mimeType"], "image/jpeg");
    assert_eq!(inline[1]["mimeType"], "image/png");
    assert_eq!(
        STANDARD
            .decode(inline[0]["data"].as_str().unwrap())
            .unwrap(),
        images[0].data
    );
    let prompt = parts[0]["text"].as_str().unwrap();
    assert!(prompt.contains("$28.00"), "the price is in the prompt");
    assert!(
        prompt.contains("An older caption"),
        "the caption to avoid is named"
    );
    let schema = &requests[0]["generationConfig"]["responseSchema"];
    assert_eq!(schema["required"], json!(["x", "instagram", "linkedin"]));
}

#[tokio::test]
async fn an_unreadable_answer_is_asked_for_once_more_and_the_second_answer_is_used() {
    let sandbox = TestSandbox::start().await;
    fault(&sandbox, GeminiFaultSpec::new(GeminiFault::Malformed));

    let captions = captions(&gemini_in(&sandbox), &[Platform::X])
        .await
        .unwrap();

    assert_eq!(captions.len(), 1);
    assert_eq!(sandbox.sandbox.gemini_requests().len(), 2);
}

#[tokio::test]
async fn an_answer_unreadable_twice_is_malformed() {
    let sandbox = TestSandbox::start().await;
    fault(
        &sandbox,
        GeminiFaultSpec::new(GeminiFault::Malformed).times(2),
    );

    let err = captions(&gemini_in(&sandbox), &[Platform::X])
        .await
        .unwrap_err();

    assert!(matches!(err, GeminiError::Malformed), "{err:?}");
    assert_eq!(sandbox.sandbox.gemini_requests().len(), 2);
    assert_eq!(
        err.user_message(),
        "Gemini sent back something we couldn't read, twice. Try again."
    );
}

#[tokio::test]
async fn a_caption_stopped_by_the_safety_filter_is_blocked() {
    let sandbox = TestSandbox::start().await;
    fault(&sandbox, GeminiFaultSpec::new(GeminiFault::Safety));

    let err = captions(&gemini_in(&sandbox), &[Platform::X])
        .await
        .unwrap_err();

    assert!(
        matches!(&err, GeminiError::Blocked { reason } if reason == "SAFETY"),
        "{err:?}"
    );
    assert!(err.user_message().contains("safety filter: SAFETY"));
    assert_eq!(sandbox.sandbox.gemini_requests().len(), 1, "no retry");
}

#[tokio::test]
async fn a_prompt_blocked_without_any_candidate_is_blocked_for_safety() {
    let sandbox = TestSandbox::start().await;
    fault(&sandbox, GeminiFaultSpec::new(GeminiFault::PromptBlocked));

    let err = captions(&gemini_in(&sandbox), &[Platform::X])
        .await
        .unwrap_err();

    assert!(
        matches!(&err, GeminiError::Blocked { reason } if reason == "SAFETY"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_rate_limit_tells_the_seller_when_to_try_again() {
    let sandbox = TestSandbox::start().await;
    fault(&sandbox, GeminiFaultSpec::new(GeminiFault::RateLimited));

    let err = captions(&gemini_in(&sandbox), &[Platform::X])
        .await
        .unwrap_err();

    assert!(
        matches!(err, GeminiError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(30)),
        "{err:?}"
    );
    assert!(
        err.user_message().contains("30 s"),
        "{}",
        err.user_message()
    );
}

#[tokio::test]
async fn a_cut_off_answer_is_incomplete_and_says_why() {
    let sandbox = TestSandbox::start().await;
    fault(&sandbox, GeminiFaultSpec::new(GeminiFault::MaxTokens));

    let err = captions(&gemini_in(&sandbox), &[Platform::X])
        .await
        .unwrap_err();

    assert!(
        matches!(&err, GeminiError::Incomplete { finish_reason } if finish_reason == "MAX_TOKENS"),
        "{err:?}"
    );
    assert!(err.user_message().contains("MAX_TOKENS"));
}

#[tokio::test]
async fn an_overloaded_model_is_unavailable_with_googles_message() {
    let sandbox = TestSandbox::start().await;
    fault(&sandbox, GeminiFaultSpec::new(GeminiFault::Unavailable));

    let err = captions(&gemini_in(&sandbox), &[Platform::X])
        .await
        .unwrap_err();

    assert!(
        matches!(&err, GeminiError::Unavailable { status: 503, message } if message.contains("overloaded")),
        "{err:?}"
    );
}

#[tokio::test]
async fn gemini_answering_too_late_is_a_timeout() {
    let sandbox = TestSandbox::start().await;
    let mut spec = GeminiFaultSpec::new(GeminiFault::Timeout);
    spec.hang_secs = Some(30);
    fault(&sandbox, spec);
    let gemini = gemini_at(
        &format!("{}/gemini/generativelanguage.googleapis.com", sandbox.url),
        MODEL,
        "sandbox-key",
        Duration::from_secs(2),
    );

    let started = std::time::Instant::now();
    let err = captions(&gemini, &[Platform::X]).await.unwrap_err();

    assert!(matches!(err, GeminiError::Timeout), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(err.user_message().contains("your text is kept"));
}

#[tokio::test]
async fn a_retired_model_is_reported_as_retired_for_the_operator_to_fix() {
    let sandbox = TestSandbox::start().await;
    let gemini = gemini_with(&sandbox, "gemini-2.5-flash", "sandbox-key");

    let err = captions(&gemini, &[Platform::X]).await.unwrap_err();

    assert!(
        matches!(&err, GeminiError::ModelRetired { model } if model == "gemini-2.5-flash"),
        "{err:?}"
    );
    assert!(err.is_configuration());
    assert!(err.user_message().contains("GEMINI_MODEL"));
}

#[tokio::test]
async fn an_invalid_key_is_refused_as_a_bad_key() {
    let sandbox = TestSandbox::start().await;
    let gemini = gemini_with(&sandbox, MODEL, "invalid-key");

    let err = captions(&gemini, &[Platform::X]).await.unwrap_err();

    assert!(matches!(err, GeminiError::BadKey), "{err:?}");
    assert!(err.user_message().contains("GEMINI_API_KEY"));
}

#[tokio::test]
async fn proofreading_keeps_only_corrections_found_in_the_text() {
    let server = MockServer::start().await;
    let answer = json!({ "corrections": [
        { "before": "grate", "after": "great", "reason": "Spelling" },
        { "before": "teh", "after": "the", "reason": "Not in the text" },
        { "before": "", "after": "x", "reason": "Empty" },
        { "before": "tea", "after": "tea", "reason": "No change" },
    ]});
    Mock::given(method("POST"))
        .and(path(format!("/v1beta/models/{MODEL}:generateContent")))
        .and(header("x-goog-api-key", "wiremock-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "candidates": [{
                "content": { "role": "model", "parts": [{ "text": answer.to_string() }] },
                "finishReason": "STOP",
                "index": 0,
            }],
            "modelVersion": MODEL,
        })))
        .expect(1)
        .mount(&server)
        .await;
    let gemini = gemini_at(&server.uri(), MODEL, "wiremock-key", Duration::from_secs(5));

    let corrections = gemini
        .proofread("Our mug is grate for tea.", "English")
        .await
        .unwrap();

    assert_eq!(corrections.len(), 1);
    assert_eq!(corrections[0].before, "grate");
    assert_eq!(corrections[0].after, "great");
    let received = server.received_requests().await.unwrap();
    assert!(
        !received[0].url.as_str().contains("wiremock-key"),
        "the key never goes in the URL"
    );
}

#[tokio::test]
async fn image_checks_give_one_verdict_per_image_in_order() {
    let sandbox = TestSandbox::start().await;
    let mut images = two_images();
    images.push(Image {
        mime: "image/webp".into(),
        data: picscripter::sandbox::MISMATCH_MARKER.to_vec(),
    });

    let verdicts = gemini_in(&sandbox)
        .check_images(&mug(), &images)
        .await
        .unwrap();

    assert_eq!(verdicts.len(), 3);
    assert!(verdicts[0].matches && verdicts[1].matches);
    assert!(!verdicts[2].matches, "the sandbox's mismatch marker");
    assert!(verdicts.iter().all(|v| !v.reason.is_empty()));
}

#[tokio::test]
async fn a_rewrite_comes_back_as_text() {
    let sandbox = TestSandbox::start().await;
    let product = mug();

    let text = gemini_in(&sandbox)
        .rewrite(
            "Our speckled clay mug is back. Shop now!",
            Platform::Instagram,
            picscripter::ai::gemini::Rewrite::Shorter,
            "English",
            Some(&product),
        )
        .await
        .unwrap();

    assert!(!text.is_empty());
}

async fn post_raw(sandbox: &TestSandbox, key: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = sandbox.client.post(format!(
        "{}/gemini/generativelanguage.googleapis.com/v1beta/models/{MODEL}:generateContent",
        sandbox.url
    ));
    if let Some(key) = key {
        req = req.header("x-goog-api-key", key);
    }
    let res = req.json(&body).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn the_sandbox_refuses_bad_base64_naming_the_field() {
    let sandbox = TestSandbox::start().await;

    let (status, body) = post_raw(
        &sandbox,
        Some("k"),
        json!({ "contents": [{ "parts": [
            { "text": "Describe this" },
            { "inlineData": { "mimeType": "image/png", "data": "not base64!" } },
        ]}]}),
    )
    .await;

    assert_eq!(status, 400);
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("contents[0].parts[1].inline_data.data"),
        "{message}"
    );
}

#[tokio::test]
async fn the_sandbox_refuses_json_mode_without_a_schema() {
    let sandbox = TestSandbox::start().await;

    let (status, body) = post_raw(
        &sandbox,
        Some("k"),
        json!({
            "contents": [{ "parts": [{ "text": "Hi" }] }],
            "generationConfig": { "responseMimeType": "application/json" },
        }),
    )
    .await;

    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("response_schema")
    );
}

#[tokio::test]
async fn the_sandbox_refuses_a_request_without_a_key_and_answers_plain_text_without_json_mode() {
    let sandbox = TestSandbox::start().await;
    let plain = json!({ "contents": [{ "parts": [{ "text": "Say hello" }] }] });

    let (status, body) = post_raw(&sandbox, None, plain.clone()).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["status"], "PERMISSION_DENIED");

    let (status, body) = post_raw(&sandbox, Some("k"), plain).await;
    assert_eq!(status, 200);
    assert_eq!(body["candidates"][0]["finishReason"], "STOP");
    let text = body["candidates"][0]["content"]["parts"][0]["text"]
        .as_str()
        .unwrap();
    assert!(serde_json::from_str::<Value>(text).is_err(), "plain text");
    assert_eq!(body["modelVersion"], MODEL);
}

#[tokio::test]
async fn gemini_faults_can_be_queued_over_http() {
    let sandbox = TestSandbox::start().await;
    let res = sandbox
        .client
        .post(format!("{}/_sandbox/gemini/faults", sandbox.url))
        .json(&json!({ "fault": "rate_limited", "retry_delay_secs": 7 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    let err = captions(&gemini_in(&sandbox), &[Platform::X])
        .await
        .unwrap_err();
    assert!(
        matches!(err, GeminiError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(7)),
        "{err:?}"
    );
    assert!(
        captions(&gemini_in(&sandbox), &[Platform::X]).await.is_ok(),
        "the fault was used up"
    );
}

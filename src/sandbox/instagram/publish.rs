//! Instagram content publishing (PLATFORMS.md §2), on both hosts: `graph.instagram.com` with an
//! Instagram Login token, and `graph.facebook.com` with a Facebook Login token (user or Page)
//! whose Page is linked to the Instagram account. Containers (`POST /{ig-user-id}/media`) are
//! created IN_PROGRESS; the media URL is then pulled for real, and the container becomes
//! FINISHED, or ERROR with Instagram's subcode (2207005 not a JPEG, 2207009 aspect ratio,
//! 2207052 could not fetch…). `media_publish` turns a FINISHED container into a post, once, within
//! the account's 24-hour publishing limit. `GET /{id}` answers for containers (`status_code`),
//! published media (`permalink`) and the account; `GET /{ig-user-id}/media` lists recent posts.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};

use crate::domain::Platform;
use crate::sandbox::dispatch::RouteCtx;
use crate::sandbox::errors::{Graph, graph_for_user, json_response};
use crate::sandbox::facebook::pages_of;
use crate::sandbox::form::Form;
use crate::sandbox::graph;
use crate::sandbox::media::{self, Facts, FetchError, Format};
use crate::sandbox::oauth::Params;
use crate::sandbox::personas;
use crate::sandbox::published::{Accepted, PublishedMedia, PublishedRecord};
use crate::sandbox::state::{Shared, Token, TokenKind, lock};

/// Unpublished containers expire after a day.
const CONTAINER_TTL_SECS: i64 = 86_400;
const MAX_CAPTION: usize = 2200;
const MAX_HASHTAGS: usize = 30;
const MAX_MENTIONS: usize = 20;
const MAX_IMAGE_BYTES: u64 = 8 * 1024 * 1024;
/// Feed images must be between 4:5 and 1.91:1.
const MIN_RATIO: f64 = 0.8;
const MAX_RATIO: f64 = 1.91;
const HOSTS: [&str; 2] = ["graph.instagram.com", "graph.facebook.com"];

pub(in crate::sandbox) fn routes() -> Router<Arc<Shared>> {
    let mut router = Router::new();
    for host in HOSTS {
        router = router
            .route(&format!("/{host}/{{id}}"), get(node))
            .route(
                &format!("/{host}/{{id}}/media"),
                get(list_media).post(create_container),
            )
            .route(&format!("/{host}/{{id}}/media_publish"), post(publish))
            .route(
                &format!("/{host}/{{id}}/content_publishing_limit"),
                get(publishing_limit),
            );
    }
    router
}

#[derive(Default)]
pub(crate) struct IgState {
    containers: HashMap<String, Container>,
    /// When each account published, within the last 24 hours.
    published_at: HashMap<String, VecDeque<DateTime<Utc>>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Image,
    Reel,
    StoryImage,
    StoryVideo,
    ItemImage,
    ItemVideo,
    Carousel,
}

impl Kind {
    fn is_video(self) -> bool {
        matches!(self, Kind::Reel | Kind::StoryVideo | Kind::ItemVideo)
    }

    fn is_item(self) -> bool {
        matches!(self, Kind::ItemImage | Kind::ItemVideo)
    }

    fn media_type(self) -> &'static str {
        match self {
            Kind::Image | Kind::StoryImage | Kind::ItemImage => "IMAGE",
            Kind::Reel | Kind::StoryVideo | Kind::ItemVideo => "VIDEO",
            Kind::Carousel => "CAROUSEL_ALBUM",
        }
    }

    fn product_type(self) -> &'static str {
        match self {
            Kind::Reel => "REELS",
            Kind::StoryImage | Kind::StoryVideo => "STORY",
            _ => "FEED",
        }
    }

    fn record_kind(self) -> &'static str {
        match self {
            Kind::Image | Kind::ItemImage | Kind::ItemVideo => "image",
            Kind::Reel => "reel",
            Kind::StoryImage | Kind::StoryVideo => "story",
            Kind::Carousel => "carousel",
        }
    }
}

/// Why a container failed: the error its `status` names and `media_publish` answers with.
#[derive(Clone, Debug)]
struct MediaError {
    code: u32,
    subcode: u32,
    message: String,
    title: &'static str,
    user_msg: String,
}

#[derive(Clone, Debug)]
enum Fetch {
    Pending,
    Done(Facts),
    Failed(MediaError),
}

#[derive(Clone, Debug)]
struct Container {
    owner: String,
    username: String,
    kind: Kind,
    caption: String,
    url: Option<String>,
    children: Vec<String>,
    options: Map<String, Value>,
    created_at: DateTime<Utc>,
    /// Processing ends here (a `processing_secs` fault moves it later).
    ready_at: DateTime<Utc>,
    fetch: Fetch,
    /// The media id, once published.
    published: Option<String>,
}

#[derive(Clone, Debug)]
enum Status {
    InProgress,
    Finished,
    Error(MediaError),
    Published,
    Expired,
}

impl Status {
    fn code(&self) -> &'static str {
        match self {
            Status::InProgress => "IN_PROGRESS",
            Status::Finished => "FINISHED",
            Status::Error(_) => "ERROR",
            Status::Published => "PUBLISHED",
            Status::Expired => "EXPIRED",
        }
    }

    fn text(&self) -> String {
        match self {
            Status::InProgress => "In Progress: Media is still being processed.".into(),
            Status::Finished => {
                "Finished: Media has been uploaded and it is ready to be published.".into()
            }
            Status::Error(e) => format!(
                "Error: Media upload has failed with error code {}",
                e.subcode
            ),
            Status::Published => "Published: Media has been successfully published.".into(),
            Status::Expired => "Expired: Media was not published within 24 hours.".into(),
        }
    }
}

impl IgState {
    fn status(&self, id: &str, now: DateTime<Utc>) -> Option<Status> {
        let c = self.containers.get(id)?;
        if c.published.is_some() {
            return Some(Status::Published);
        }
        if now >= c.created_at + Duration::seconds(CONTAINER_TTL_SECS) {
            return Some(Status::Expired);
        }
        let own = match &c.fetch {
            Fetch::Pending => Status::InProgress,
            Fetch::Failed(e) => Status::Error(e.clone()),
            Fetch::Done(_) if now < c.ready_at => Status::InProgress,
            Fetch::Done(_) => Status::Finished,
        };
        if c.kind != Kind::Carousel {
            return Some(own);
        }
        let mut in_progress = false;
        for child in &c.children {
            match self.status(child, now) {
                Some(Status::Error(e)) => return Some(Status::Error(e)),
                Some(Status::InProgress) => in_progress = true,
                Some(Status::Finished) => {}
                _ => return Some(Status::Error(child_gone(child))),
            }
        }
        Some(if in_progress { Status::InProgress } else { own })
    }
}

fn child_gone(child: &str) -> MediaError {
    MediaError {
        code: 9007,
        subcode: 2207027,
        message: format!("The carousel item {child} is expired or already published."),
        title: "Carousel item not available",
        user_msg: "One of the carousel items can no longer be used.".into(),
    }
}

/// An Instagram account the token may act for.
#[derive(Clone)]
pub(super) struct Identity {
    pub id: String,
    pub username: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Need {
    Read,
    Publish,
    Insights,
}

/// The token on the request and the Instagram accounts it may act for: the account itself with
/// Instagram Login, or the accounts linked to the Pages it reaches with Facebook Login.
pub(super) fn identities(
    shared: &Shared,
    ctx: &RouteCtx,
    params: &Params,
    headers: &HeaderMap,
    need: Need,
) -> Result<(Token, Vec<Identity>), Response> {
    let presented = graph::presented_token(params, headers);
    let now = shared.clock.now();
    let instagram_login = ctx.host == "graph.instagram.com";
    let platform = if instagram_login {
        Platform::Instagram
    } else {
        Platform::Facebook
    };
    let token = shared
        .store()
        .check(platform, TokenKind::Access, presented.as_deref(), now)
        .map_err(|e| graph::token_error(ctx, e, shared.client_id(platform)))?;
    let scopes: &[&str] = match (instagram_login, need) {
        (true, Need::Read) => &["instagram_business_basic"],
        (true, Need::Publish) => &[
            "instagram_business_basic",
            "instagram_business_content_publish",
        ],
        (true, Need::Insights) => &[
            "instagram_business_basic",
            "instagram_business_manage_insights",
        ],
        (false, Need::Read) => &["instagram_basic"],
        (false, Need::Insights) => &["instagram_basic", "instagram_manage_insights"],
        (false, Need::Publish) => &[
            "instagram_basic",
            "instagram_content_publish",
            "pages_read_engagement",
        ],
    };
    if let Some(missing) = scopes.iter().find(|s| !token.grant.has_scope(s)) {
        return Err(graph::permission(
            ctx,
            10,
            &format!(
                "(#10) Application does not have permission for this action (it needs {missing})."
            ),
        ));
    }
    let accounts = if instagram_login {
        let username = token.grant.account.clone();
        vec![Identity {
            id: personas::instagram_user_id(&username),
            username,
        }]
    } else {
        pages_of(&token.grant.account)
            .into_iter()
            .filter(|p| match &token.page_id {
                Some(own) => own == &p.id,
                None => token.grant.pages.contains(&p.id),
            })
            .filter_map(|p| p.instagram)
            .map(|ig| Identity {
                id: ig.id,
                username: ig.username,
            })
            .collect()
    };
    Ok((token, accounts))
}

/// The account a path names (`me` only with Instagram Login), if the token may act for it.
fn resolve<'a>(ctx: &RouteCtx, accounts: &'a [Identity], path_id: &str) -> Option<&'a Identity> {
    if path_id == "me" && ctx.host == "graph.instagram.com" {
        return accounts.first();
    }
    accounts.iter().find(|a| a.id == path_id)
}

fn params_of(ctx: &RouteCtx, form: Form) -> Result<Params, Response> {
    if let Some(error) = &form.error {
        return Err(graph::bad_request(ctx, 100, error));
    }
    Ok(form.with_query(&ctx.params()).params)
}

fn invalid(ctx: &RouteCtx, message: &str) -> Response {
    graph::bad_request(ctx, 100, message)
}

// ---------------------------------------------------------------------------------------------
// Containers

/// `POST /{ig-user-id}/media`.
async fn create_container(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    Path(path_id): Path<String>,
    headers: HeaderMap,
    form: Form,
) -> Response {
    let params = match params_of(&ctx, form) {
        Ok(p) => p,
        Err(res) => return res,
    };
    let (_, accounts) = match identities(&shared, &ctx, &params, &headers, Need::Publish) {
        Ok(t) => t,
        Err(res) => return res,
    };
    let Some(me) = resolve(&ctx, &accounts, &path_id).cloned() else {
        return graph::unsupported(&ctx, &path_id);
    };
    let is_item = match params.get("is_carousel_item").map(graph::boolean) {
        None => false,
        Some(Some(b)) => b,
        Some(None) => return invalid(&ctx, "(#100) Param is_carousel_item must be a boolean"),
    };
    let media_type = params.get("media_type").map(str::to_ascii_uppercase);
    let image_url = params.get("image_url");
    let video_url = params.get("video_url");
    let kind = match (media_type.as_deref(), is_item) {
        (None | Some("IMAGE"), false) => Kind::Image,
        (None | Some("IMAGE"), true) => Kind::ItemImage,
        (Some("VIDEO"), true) => Kind::ItemVideo,
        (Some("VIDEO"), false) => {
            return invalid(
                &ctx,
                "(#100) media_type VIDEO is only for carousel items; feed videos are published as REELS.",
            );
        }
        (Some("REELS"), false) => Kind::Reel,
        (Some("STORIES"), false) if video_url.is_some() => Kind::StoryVideo,
        (Some("STORIES"), false) => Kind::StoryImage,
        (Some("CAROUSEL"), false) => Kind::Carousel,
        (Some("REELS" | "STORIES" | "CAROUSEL"), true) => {
            return invalid(&ctx, "(#100) Only images and videos can be carousel items.");
        }
        (Some(other), _) => {
            return invalid(
                &ctx,
                &format!(
                    "(#100) The parameter media_type has an invalid value: {other}. Use REELS, STORIES, CAROUSEL or VIDEO (carousel items), or leave it out for an image."
                ),
            );
        }
    };
    let url = match kind {
        Kind::Image | Kind::ItemImage | Kind::StoryImage => {
            if video_url.is_some() && kind != Kind::StoryImage {
                return invalid(
                    &ctx,
                    "(#100) video_url needs media_type=REELS (or VIDEO for a carousel item).",
                );
            }
            match image_url {
                Some(u) => Some(u.to_owned()),
                None => return invalid(&ctx, "(#100) The parameter image_url is required."),
            }
        }
        Kind::Reel | Kind::ItemVideo | Kind::StoryVideo => {
            if image_url.is_some() && kind != Kind::StoryVideo {
                return invalid(
                    &ctx,
                    "(#100) This media type takes video_url, not image_url.",
                );
            }
            match video_url {
                Some(u) => Some(u.to_owned()),
                None => return invalid(&ctx, "(#100) The parameter video_url is required."),
            }
        }
        Kind::Carousel => {
            if image_url.is_some() || video_url.is_some() {
                return invalid(
                    &ctx,
                    "(#100) A CAROUSEL container takes children, not image_url or video_url.",
                );
            }
            None
        }
    };
    if let Some(u) = &url
        && !media::is_http_url(u)
    {
        return graph_for_user(
            &ctx,
            StatusCode::BAD_REQUEST,
            Graph {
                message: "(#100) The media URL must be an absolute http(s) URL.",
                kind: "OAuthException",
                code: 100,
                subcode: None,
            },
            "Invalid media URL",
            &format!("{u} is not a URL Instagram can download."),
        );
    }
    let caption = params.raw("caption").unwrap_or("").to_owned();
    if kind.is_item() && params.raw("caption").is_some() {
        return invalid(
            &ctx,
            "(#100) The parameter caption is not supported on carousel items.",
        );
    }
    if let Err(res) = check_caption(&ctx, &caption) {
        return res;
    }
    let options = match container_options(&ctx, &params) {
        Ok(o) => o,
        Err(res) => return res,
    };
    let now = shared.clock.now();
    let children: Vec<String> = if kind == Kind::Carousel {
        let ids: Vec<String> = params
            .get("children")
            .map(|c| {
                c.trim_matches(['[', ']'])
                    .split(',')
                    .map(|s| s.trim().trim_matches('"').to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if !(2..=10).contains(&ids.len()) {
            return graph_for_user(
                &ctx,
                StatusCode::BAD_REQUEST,
                Graph {
                    message: "(#100) The carousel must have between 2 and 10 children.",
                    kind: "OAuthException",
                    code: 100,
                    subcode: None,
                },
                "Invalid number of carousel items",
                &format!("A carousel has 2 to 10 items; {} were given.", ids.len()),
            );
        }
        let state = lock(&shared.instagram);
        for child in &ids {
            let usable = state
                .containers
                .get(child)
                .is_some_and(|c| c.owner == me.id && c.kind.is_item() && c.published.is_none())
                && !matches!(state.status(child, now), Some(Status::Expired));
            if !usable {
                return invalid(
                    &ctx,
                    &format!(
                        "(#100) The child {child} is not a usable carousel item of this account."
                    ),
                );
            }
        }
        ids
    } else {
        Vec::new()
    };

    let id = format!("17{}", shared.new_digits(15));
    let processing = i64::try_from(ctx.processing_secs).unwrap_or(i64::MAX / 4);
    let container = Container {
        owner: me.id,
        username: me.username,
        kind,
        caption,
        url: url.clone(),
        children,
        options,
        created_at: now,
        ready_at: now + Duration::seconds(processing),
        fetch: if url.is_some() {
            Fetch::Pending
        } else {
            Fetch::Done(Facts::of(&[]))
        },
        published: None,
    };
    lock(&shared.instagram)
        .containers
        .insert(id.clone(), container);
    if let Some(url) = url {
        // Instagram downloads the media while the container is IN_PROGRESS.
        let shared = Arc::clone(&shared);
        let id = id.clone();
        tokio::spawn(async move {
            let cap = if kind.is_video() {
                media::VIDEO_FETCH_CAP
            } else {
                media::IMAGE_FETCH_CAP
            };
            let fetched = media::fetch(&shared.http, &url, cap).await;
            let fetch = match judge(kind, &url, fetched) {
                Ok(facts) => Fetch::Done(facts),
                Err(e) => Fetch::Failed(e),
            };
            if let Some(c) = lock(&shared.instagram).containers.get_mut(&id) {
                c.fetch = fetch;
            }
        });
    }
    json_response(StatusCode::OK, json!({ "id": id }))
}

/// Instagram's caption rules: 2200 characters, 30 hashtags, 20 mentions.
fn check_caption(ctx: &RouteCtx, caption: &str) -> Result<(), Response> {
    let chars = caption.chars().count();
    let hashtags = tags(caption, '#');
    let mentions = tags(caption, '@');
    let problem = if chars > MAX_CAPTION {
        Some(format!(
            "The caption is {chars} characters long; at most {MAX_CAPTION} are allowed."
        ))
    } else if hashtags > MAX_HASHTAGS {
        Some(format!(
            "The caption has {hashtags} hashtags; at most {MAX_HASHTAGS} are allowed."
        ))
    } else if mentions > MAX_MENTIONS {
        Some(format!(
            "The caption mentions {mentions} accounts; at most {MAX_MENTIONS} are allowed."
        ))
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(user_msg) => Err(graph_for_user(
            ctx,
            StatusCode::BAD_REQUEST,
            Graph {
                message: "(#100) Invalid parameter",
                kind: "OAuthException",
                code: 100,
                subcode: None,
            },
            "Caption not allowed",
            &user_msg,
        )),
    }
}

/// `#word` or `@name` occurrences.
fn tags(text: &str, sigil: char) -> usize {
    let mut chars = text.chars().peekable();
    let mut n = 0;
    let mut previous: Option<char> = None;
    while let Some(c) = chars.next() {
        let starts_word = previous.is_none_or(|p| !(p.is_alphanumeric() || p == '_'));
        if c == sigil
            && starts_word
            && chars
                .peek()
                .is_some_and(|next| next.is_alphanumeric() || *next == '_')
        {
            n += 1;
        }
        previous = Some(c);
    }
    n
}

/// The optional container parameters, checked and kept for the record.
fn container_options(ctx: &RouteCtx, params: &Params) -> Result<Map<String, Value>, Response> {
    let mut options = Map::new();
    for name in ["user_tags", "product_tags", "collaborators", "children"] {
        if let Some(raw) = params.get(name) {
            if name == "children" {
                continue;
            }
            match serde_json::from_str::<Value>(raw) {
                Ok(v @ Value::Array(_)) => {
                    options.insert(name.into(), v);
                }
                _ => {
                    return Err(invalid(
                        ctx,
                        &format!("(#100) Param {name} must be a JSON array."),
                    ));
                }
            }
        }
    }
    if let Some(Value::Array(c)) = options.get("collaborators")
        && c.len() > 3
    {
        return Err(invalid(
            ctx,
            "(#100) At most 3 collaborators can be invited.",
        ));
    }
    if let Some(raw) = params.get("share_to_feed") {
        match graph::boolean(raw) {
            Some(b) => {
                options.insert("share_to_feed".into(), json!(b));
            }
            None => return Err(invalid(ctx, "(#100) Param share_to_feed must be a boolean")),
        }
    }
    if let Some(raw) = params.get("thumb_offset") {
        match raw.parse::<u64>() {
            Ok(n) => {
                options.insert("thumb_offset".into(), json!(n));
            }
            Err(_) => {
                return Err(invalid(
                    ctx,
                    "(#100) Param thumb_offset must be a number of milliseconds",
                ));
            }
        }
    }
    if let Some(alt) = params.get("alt_text") {
        if alt.chars().count() > 1000 {
            return Err(invalid(
                ctx,
                "(#100) alt_text is limited to 1000 characters.",
            ));
        }
        options.insert("alt_text".into(), json!(alt));
    }
    for name in ["location_id", "cover_url", "audio_name"] {
        if let Some(v) = params.get(name) {
            options.insert(name.into(), json!(v));
        }
    }
    Ok(options)
}

/// What Instagram makes of the downloaded media.
fn judge(kind: Kind, url: &str, fetched: Result<Facts, FetchError>) -> Result<Facts, MediaError> {
    let video = kind.is_video();
    let facts = fetched.map_err(|e| match e {
        FetchError::TooLarge if !video => MediaError {
            code: 9004,
            subcode: 2207004,
            message: "The image is too large to download.".into(),
            title: "Image too large",
            user_msg: "The image should be less than 8 MiB.".into(),
        },
        other => MediaError {
            code: 9004,
            subcode: if video { 2207077 } else { 2207052 },
            message: "The media could not be fetched from this uri.".into(),
            title: "Media download has failed",
            user_msg: other.describe(url),
        },
    })?;
    if video {
        if !matches!(facts.format, Format::Mp4 | Format::Mov) {
            return Err(MediaError {
                code: 9004,
                subcode: 2207026,
                message: "The video format is not supported.".into(),
                title: "Unsupported video format",
                user_msg: format!("The file is {}; publish MP4 or MOV.", facts.format.mime()),
            });
        }
        return Ok(facts);
    }
    if facts.format != Format::Jpeg || facts.width.is_none() {
        return Err(MediaError {
            code: 9004,
            subcode: 2207005,
            message: "The image format is not supported.".into(),
            title: "Unsupported format",
            user_msg: format!(
                "The image is {}; only JPEG images can be published.",
                facts.format.mime()
            ),
        });
    }
    if facts.size > MAX_IMAGE_BYTES {
        return Err(MediaError {
            code: 9004,
            subcode: 2207004,
            message: "The image is too large to download.".into(),
            title: "Image too large",
            user_msg: "The image should be less than 8 MiB.".into(),
        });
    }
    if kind != Kind::StoryImage
        && let Some(ratio) = facts.aspect_ratio()
        && !(MIN_RATIO - 0.005..=MAX_RATIO + 0.005).contains(&ratio)
    {
        return Err(MediaError {
            code: 36003,
            subcode: 2207009,
            message: "The aspect ratio is not supported.".into(),
            title: "Cannot Create Media",
            user_msg: format!(
                "The submitted image with aspect ratio ('{ratio:.2}',) cannot be published. Please submit an image with a valid aspect ratio (between 4:5 and 1.91:1)."
            ),
        });
    }
    Ok(facts)
}

fn media_error(ctx: &RouteCtx, e: &MediaError) -> Response {
    graph_for_user(
        ctx,
        StatusCode::BAD_REQUEST,
        Graph {
            message: &e.message,
            kind: "OAuthException",
            code: e.code,
            subcode: Some(e.subcode),
        },
        e.title,
        &e.user_msg,
    )
}

// ---------------------------------------------------------------------------------------------
// Publishing

/// `POST /{ig-user-id}/media_publish?creation_id=…`.
async fn publish(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    Path(path_id): Path<String>,
    headers: HeaderMap,
    form: Form,
) -> Response {
    let params = match params_of(&ctx, form) {
        Ok(p) => p,
        Err(res) => return res,
    };
    let (_, accounts) = match identities(&shared, &ctx, &params, &headers, Need::Publish) {
        Ok(t) => t,
        Err(res) => return res,
    };
    let Some(me) = resolve(&ctx, &accounts, &path_id).cloned() else {
        return graph::unsupported(&ctx, &path_id);
    };
    let Some(creation_id) = params.get("creation_id").map(str::to_owned) else {
        return invalid(&ctx, "(#100) The parameter creation_id is required.");
    };
    let now = shared.clock.now();
    let limit = shared.limits.instagram_publish() as usize;
    let media_id = format!("17{}", shared.new_digits(15));
    let (container, media) = {
        let mut state = lock(&shared.instagram);
        let Some(container) = state
            .containers
            .get(&creation_id)
            .filter(|c| c.owner == me.id)
            .cloned()
        else {
            return graph::unsupported(&ctx, &creation_id);
        };
        if container.kind.is_item() {
            return invalid(
                &ctx,
                "(#100) A carousel item cannot be published on its own; publish a CAROUSEL container that has it as a child.",
            );
        }
        let not_ready = |message: &str, user_msg: &str| {
            graph_for_user(
                &ctx,
                StatusCode::BAD_REQUEST,
                Graph {
                    message,
                    kind: "OAuthException",
                    code: 9007,
                    subcode: Some(2207027),
                },
                "Media not ready for publishing",
                user_msg,
            )
        };
        match state.status(&creation_id, now) {
            Some(Status::Finished) => {}
            Some(Status::InProgress) => {
                return not_ready(
                    "Media ID is not available",
                    "The media is not ready for publishing, please wait for a moment",
                );
            }
            Some(Status::Published) => {
                return not_ready(
                    "Media ID is not available",
                    "This container has already been published.",
                );
            }
            Some(Status::Expired) | None => {
                return not_ready(
                    "Media ID is not available",
                    "The container expired: it was not published within 24 hours.",
                );
            }
            Some(Status::Error(e)) => return media_error(&ctx, &e),
        }
        let recent = state.published_at.entry(me.id.clone()).or_default();
        while recent
            .front()
            .is_some_and(|at| now - *at >= Duration::seconds(86_400))
        {
            recent.pop_front();
        }
        if recent.len() >= limit {
            return graph_for_user(
                &ctx,
                StatusCode::BAD_REQUEST,
                Graph {
                    message: "Application request limit reached",
                    kind: "OAuthException",
                    code: 9,
                    subcode: Some(2207042),
                },
                "Maximum number of posts reached",
                &format!(
                    "The account reached its limit of {limit} posts published through the API in 24 hours."
                ),
            );
        }
        recent.push_back(now);
        let mut media = Vec::new();
        let sources: Vec<String> = if container.kind == Kind::Carousel {
            container.children.clone()
        } else {
            vec![creation_id.clone()]
        };
        for source in &sources {
            if let Some(c) = state.containers.get_mut(source) {
                if let Fetch::Done(facts) = &c.fetch {
                    media.push(PublishedMedia::new(facts, c.url.as_deref(), Some(source)));
                }
                c.published = Some(media_id.clone());
            }
        }
        if let Some(c) = state.containers.get_mut(&creation_id) {
            c.published = Some(media_id.clone());
        }
        (container, media)
    };

    let shortcode = shortcode(&media_id);
    let url = match container.kind {
        Kind::Reel => format!("https://www.instagram.com/reel/{shortcode}/"),
        Kind::StoryImage | Kind::StoryVideo => format!(
            "https://www.instagram.com/stories/{}/{media_id}/",
            container.username
        ),
        _ => format!("https://www.instagram.com/p/{shortcode}/"),
    };
    let mut options = container.options.clone();
    options.insert("container_id".into(), json!(creation_id));
    options.insert("media_type".into(), json!(container.kind.media_type()));
    options.insert(
        "media_product_type".into(),
        json!(container.kind.product_type()),
    );
    options.insert("shortcode".into(), json!(shortcode));
    if !container.children.is_empty() {
        options.insert("children".into(), json!(container.children));
    }
    shared.record_published(Accepted {
        request_seq: ctx.seq,
        at: now,
        platform: Platform::Instagram,
        account_id: container.owner,
        account: container.username,
        kind: container.kind.record_kind(),
        remote_id: media_id.clone(),
        url: Some(url),
        text: container.caption,
        media,
        options,
    });
    json_response(StatusCode::OK, json!({ "id": media_id }))
}

fn shortcode(media_id: &str) -> String {
    personas::derived_chars(
        &["instagram", "shortcode", media_id],
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        11,
    )
}

/// `GET /{ig-user-id}/content_publishing_limit?fields=quota_usage,config&since=…`.
async fn publishing_limit(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    Path(path_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let params = ctx.params();
    let (_, accounts) = match identities(&shared, &ctx, &params, &headers, Need::Read) {
        Ok(t) => t,
        Err(res) => return res,
    };
    let Some(me) = resolve(&ctx, &accounts, &path_id).cloned() else {
        return graph::unsupported(&ctx, &path_id);
    };
    let now = shared.clock.now();
    let day_ago = now - Duration::seconds(86_400);
    let since = match params.get("since").map(str::parse::<i64>) {
        None => day_ago,
        Some(Ok(ts)) => match DateTime::from_timestamp(ts, 0) {
            Some(at) if at >= day_ago - Duration::seconds(60) => at.max(day_ago),
            _ => {
                return invalid(
                    &ctx,
                    "(#100) since must be a Unix timestamp within the last 24 hours.",
                );
            }
        },
        Some(Err(_)) => return invalid(&ctx, "(#100) since must be a Unix timestamp."),
    };
    let usage = lock(&shared.instagram)
        .published_at
        .get(&me.id)
        .map_or(0, |times| times.iter().filter(|at| **at >= since).count());
    let limit = shared.limits.instagram_publish();
    let mut fields = graph::requested_fields(&params);
    if fields.is_empty() {
        fields.push("quota_usage".into());
    }
    let mut item = Map::new();
    for field in fields {
        match field.as_str() {
            "quota_usage" => {
                item.insert(field, json!(usage));
            }
            "config" => {
                item.insert(
                    field,
                    json!({ "quota_total": limit, "quota_duration": 86_400 }),
                );
            }
            other => return graph::unknown_field(&ctx, other, "ContentPublishingLimitResponse"),
        }
    }
    json_response(StatusCode::OK, json!({ "data": [item] }))
}

// ---------------------------------------------------------------------------------------------
// Reading back

/// `GET /{id}`: a container, a published media, or the account.
async fn node(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let params = ctx.params();
    let (_, accounts) = match identities(&shared, &ctx, &params, &headers, Need::Read) {
        Ok(t) => t,
        Err(res) => return res,
    };
    let now = shared.clock.now();
    let container = {
        let state = lock(&shared.instagram);
        state
            .containers
            .get(&id)
            .filter(|c| accounts.iter().any(|a| a.id == c.owner))
            .map(|c| (c.clone(), state.status(&id, now)))
    };
    if let Some((c, Some(status))) = container {
        let node = graph::select(&ctx, &params, "IGContainer", &["id"], |field| {
            Some(Some(match field {
                "id" => json!(id),
                "status_code" => json!(status.code()),
                "status" => json!(status.text()),
                "media_type" => json!(c.kind.media_type()),
                "copyright_check_status" => {
                    json!({ "status": "completed", "matches_found": false })
                }
                _ => return None,
            }))
        });
        return match node {
            Ok(n) => json_response(StatusCode::OK, Value::Object(n)),
            Err(res) => res,
        };
    }
    let record = shared
        .published()
        .find(Platform::Instagram, &id)
        .filter(|r| accounts.iter().any(|a| a.id == r.account_id))
        .cloned();
    if let Some(r) = record {
        return match media_node(&ctx, &params, &r) {
            Ok(n) => json_response(StatusCode::OK, n),
            Err(res) => res,
        };
    }
    if let Some(me) = resolve(&ctx, &accounts, &id) {
        let node = graph::select(&ctx, &params, "IGUser", &["id"], |field| {
            Some(Some(match field {
                "id" => json!(me.id),
                "username" => json!(me.username),
                "name" => json!(personas::display_name(Platform::Instagram, &me.username)),
                "media_count" => json!(
                    shared
                        .published()
                        .recent(Platform::Instagram, &me.id)
                        .count()
                ),
                _ => return None,
            }))
        });
        return match node {
            Ok(n) => json_response(StatusCode::OK, Value::Object(n)),
            Err(res) => res,
        };
    }
    graph::unsupported(&ctx, &id)
}

fn media_node(ctx: &RouteCtx, params: &Params, r: &PublishedRecord) -> Result<Value, Response> {
    let node = graph::select(ctx, params, "IGMedia", &["id"], |field| {
        Some(Some(match field {
            "id" => json!(r.remote_id),
            "caption" => json!(r.text),
            "media_type" => r
                .options
                .get("media_type")
                .cloned()
                .unwrap_or(json!("IMAGE")),
            "media_product_type" => r
                .options
                .get("media_product_type")
                .cloned()
                .unwrap_or(json!("FEED")),
            "permalink" => json!(r.url),
            "shortcode" => r.options.get("shortcode").cloned().unwrap_or(Value::Null),
            "timestamp" => json!(graph::timestamp(r.at)),
            "username" => json!(r.account),
            "owner" => json!({ "id": r.account_id }),
            "media_url" => match r.media.first().and_then(|m| m.url.clone()) {
                Some(u) => json!(u),
                None => return Some(None),
            },
            "is_comment_enabled" => json!(true),
            "like_count" | "comments_count" => json!(0),
            _ => return None,
        }))
    })?;
    Ok(Value::Object(node))
}

/// `GET /{ig-user-id}/media`: the account's posts, newest first (`limit`, `after`).
async fn list_media(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    Path(path_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let params = ctx.params();
    let (_, accounts) = match identities(&shared, &ctx, &params, &headers, Need::Read) {
        Ok(t) => t,
        Err(res) => return res,
    };
    let Some(me) = resolve(&ctx, &accounts, &path_id).cloned() else {
        return graph::unsupported(&ctx, &path_id);
    };
    let limit = match params.get("limit").map(str::parse::<usize>) {
        None => 25,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => return invalid(&ctx, "(#100) limit must be a number from 1 to 100."),
    };
    let offset = match params.get("after") {
        None => 0,
        Some(raw) => match URL_SAFE_NO_PAD
            .decode(raw)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse::<usize>().ok())
        {
            Some(o) => o,
            None => return invalid(&ctx, "(#100) The after cursor is invalid."),
        },
    };
    let records: Vec<PublishedRecord> = shared
        .published()
        .recent(Platform::Instagram, &me.id)
        .skip(offset)
        .take(limit + 1)
        .cloned()
        .collect();
    let more = records.len() > limit;
    let mut data = Vec::new();
    for r in records.iter().take(limit) {
        match media_node(&ctx, &params, r) {
            Ok(n) => data.push(n),
            Err(res) => return res,
        }
    }
    let mut body = json!({ "data": data });
    if more {
        body["paging"] = json!({ "cursors": {
            "before": URL_SAFE_NO_PAD.encode(offset.to_string()),
            "after": URL_SAFE_NO_PAD.encode((offset + limit).to_string()),
        }});
    }
    json_response(StatusCode::OK, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtags_and_mentions_are_counted_where_a_word_starts() {
        assert_eq!(tags("#one #two x#no ## #", '#'), 2);
        assert_eq!(tags("@maya and @sam.lee, mail@example.com", '@'), 2);
    }
}

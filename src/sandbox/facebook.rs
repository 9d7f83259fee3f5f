//! Facebook Login and the Graph API's account surface (PLATFORMS.md §3 and §2 "Facebook Login
//! flavour"): the OAuth dialog with a Page picker, the code and long-lived exchanges, `/me`,
//! `/me/accounts` with never-expiring Page tokens, `/me/permissions` (and revoking it), and
//! `/{id}` for Pages and their linked Instagram accounts. Paths may carry a version prefix.
//! Publishing on a Page (feed posts, photos, videos) lives in [`publish`], the engagement of
//! what was published in [`engagement`].

mod engagement;
pub(crate) mod publish;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::consent::{self, PageChoice, Provider, unknown_scope};
use super::dispatch::RouteCtx;
use super::errors::{Graph, graph as graph_error, json_response};
use super::graph;
use super::oauth::Params;
use super::personas;
use super::state::{Flavour, Issue, Redemption, Shared, Token, TokenError, TokenKind};
use crate::domain::Platform;

/// Short-lived user tokens last "an hour or two".
const SHORT_TTL: i64 = 5400;
const LONG_TTL: i64 = 5_183_944;

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/www.facebook.com/dialog/oauth",
            get(consent::show::<FacebookAuth>).post(consent::decide::<FacebookAuth>),
        )
        .route(
            "/graph.facebook.com/oauth/access_token",
            get(access_token).post(access_token_form),
        )
        .route("/graph.facebook.com/me", get(me))
        .route("/graph.facebook.com/me/accounts", get(accounts))
        .route(
            "/graph.facebook.com/me/permissions",
            get(permissions).delete(revoke_permissions),
        )
        .route("/graph.facebook.com/{id}", get(node))
        .merge(publish::routes())
}

struct FacebookAuth;

impl Provider for FacebookAuth {
    const PLATFORM: Platform = Platform::Facebook;
    const SCOPE_SEPARATOR: char = ',';
    const RESPONSE_TYPE_REQUIRED: bool = false;
    const SCOPE_REQUIRED: bool = false;
    const ACCOUNT_LABEL: &'static str = "Facebook account";

    fn describe_scope(scope: &str) -> String {
        match scope {
            "public_profile" => "See your name and profile picture".into(),
            "email" => "See your e-mail address".into(),
            "pages_show_list" => "See the Pages you manage".into(),
            "pages_manage_posts" => "Publish posts on your Pages".into(),
            "pages_read_engagement" => "See posts and engagement on your Pages".into(),
            "pages_manage_engagement" => "Manage comments on your Pages".into(),
            "publish_video" => "Publish videos on your Pages".into(),
            "read_insights" => "See how your Pages perform".into(),
            "business_management" => "Manage your business assets".into(),
            "instagram_basic" => "See your Instagram profile and posts".into(),
            "instagram_content_publish" => "Publish on Instagram for you".into(),
            "instagram_manage_insights" => "See how your Instagram posts perform".into(),
            "instagram_manage_comments" => "Manage Instagram comments".into(),
            other => unknown_scope(other),
        }
    }

    fn pages(_shared: &Shared, account: &str) -> Vec<PageChoice> {
        pages_of(account)
            .into_iter()
            .map(|p| PageChoice {
                detail: match &p.instagram {
                    Some(ig) => format!("{} · Instagram @{}", p.category, ig.username),
                    None => format!("{} · no Instagram account linked", p.category),
                },
                id: p.id,
                name: p.name,
            })
            .collect()
    }

    fn deny_params() -> Vec<(&'static str, String)> {
        vec![
            ("error", "access_denied".into()),
            ("error_code", "200".into()),
            ("error_description", "Permissions error".into()),
            ("error_reason", "user_denied".into()),
        ]
    }
}

pub(crate) struct LinkedInstagram {
    pub id: String,
    pub username: String,
}

pub(crate) struct Page {
    pub id: String,
    pub name: String,
    pub category: &'static str,
    pub instagram: Option<LinkedInstagram>,
}

/// Every account manages two Pages; the first has an Instagram business account linked.
pub(crate) fn pages_of(account: &str) -> Vec<Page> {
    let seed = account == personas::seed_account(Platform::Facebook);
    let name = personas::display_name(Platform::Facebook, account);
    let (first, second, ig_username) = if seed {
        (
            "Maple & Moss Ceramics".to_owned(),
            "Maya Moss Pottery Classes".to_owned(),
            personas::seed_account(Platform::Instagram).to_owned(),
        )
    } else {
        (
            format!("{name} Studio"),
            format!("{name} Workshops"),
            format!("{}.studio", personas::slug(account).replace('-', "")),
        )
    };
    vec![
        Page {
            id: page_id(account, 1),
            name: first,
            category: "Shopping & retail",
            instagram: Some(LinkedInstagram {
                id: personas::instagram_user_id(&ig_username),
                username: ig_username,
            }),
        },
        Page {
            id: page_id(account, 2),
            name: second,
            category: "Education",
            instagram: None,
        },
    ]
}

fn page_id(account: &str, n: u8) -> String {
    format!(
        "1{}",
        personas::numeric_id(&["facebook", "page", account, &n.to_string()], 14)
    )
}

pub(crate) fn user_id(client_id: &str, account: &str) -> String {
    format!(
        "10{}",
        personas::numeric_id(&["facebook", "user", client_id, account], 15)
    )
}

async fn access_token(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
) -> Response {
    let params = ctx.params();
    exchange(&shared, &ctx, &params)
}

async fn access_token_form(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    body: Params,
) -> Response {
    let params = body.with_query(&ctx.params());
    exchange(&shared, &ctx, &params)
}

fn exchange(shared: &Shared, ctx: &RouteCtx, params: &Params) -> Response {
    let client = shared.config.client(Platform::Facebook);
    if let Err(res) = graph::check_client(
        ctx,
        client,
        params.get("client_id"),
        params.get("client_secret"),
    ) {
        return res;
    }
    let now = shared.clock.now();
    let mut store = shared.store();
    match params.get("grant_type") {
        Some("fb_exchange_token") => {
            let user = match store.check(
                Platform::Facebook,
                TokenKind::Access,
                params.get("fb_exchange_token"),
                now,
            ) {
                Ok(t) if t.flavour != Flavour::Page => t,
                Ok(_) => {
                    return graph::bad_request(
                        ctx,
                        100,
                        "fb_exchange_token must be a user access token.",
                    );
                }
                Err(TokenError::Missing) => {
                    return graph::bad_request(ctx, 100, "Missing fb_exchange_token parameter.");
                }
                Err(e) => return graph::token_error(ctx, e, client.0),
            };
            let long = store.issue(
                Issue::access("EAAG", 180, Some(LONG_TTL)).flavour(Flavour::LongLived),
                &user.grant,
                now,
            );
            token_response(&long, LONG_TTL)
        }
        None | Some("authorization_code") => {
            let code = match store.redeem_code(
                Redemption {
                    platform: Platform::Facebook,
                    code: params.get("code"),
                    client_id: client.0,
                    redirect_uri: Some(params.raw("redirect_uri").unwrap_or("")),
                    verifier: params.get("code_verifier"),
                },
                now,
            ) {
                Ok(c) => c,
                Err(e) => return graph::code_error(ctx, e),
            };
            let short = store.issue(
                Issue::access("EAAG", 180, Some(SHORT_TTL)).flavour(Flavour::ShortLived),
                &code.grant,
                now,
            );
            token_response(&short, SHORT_TTL)
        }
        Some(other) => graph::bad_request(ctx, 100, &format!("Unsupported grant_type {other:?}.")),
    }
}

fn token_response(token: &Token, ttl: i64) -> Response {
    json_response(
        StatusCode::OK,
        json!({ "access_token": token.value, "token_type": "bearer", "expires_in": ttl }),
    )
}

/// The usable token on a Graph request, or the Graph error to answer with.
fn authenticate(
    shared: &Shared,
    ctx: &RouteCtx,
    params: &Params,
    headers: &HeaderMap,
) -> Result<Token, Response> {
    let now = shared.clock.now();
    let presented = graph::presented_token(params, headers);
    shared
        .store()
        .check(
            Platform::Facebook,
            TokenKind::Access,
            presented.as_deref(),
            now,
        )
        .map_err(|e| graph::token_error(ctx, e, shared.client_id(Platform::Facebook)))
}

fn user_only(ctx: &RouteCtx, token: &Token, edge: &str) -> Result<(), Response> {
    if token.flavour == Flavour::Page {
        Err(graph::unknown_field(ctx, edge, "Page"))
    } else {
        Ok(())
    }
}

fn picture(url: String) -> Value {
    json!({ "data": { "height": 50, "is_silhouette": false, "url": url, "width": 50 } })
}

async fn me(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
) -> Response {
    let params = ctx.params();
    let token = match authenticate(&shared, &ctx, &params, &headers) {
        Ok(t) => t,
        Err(res) => return res,
    };
    // A Page token's `/me` is the Page.
    if let Some(page_id) = &token.page_id
        && let Some(page) = pages_of(&token.grant.account)
            .into_iter()
            .find(|p| &p.id == page_id)
    {
        return page_node(&shared, &ctx, &params, &token, page);
    }
    user_node(&shared, &ctx, &params, &token)
}

fn user_node(shared: &Shared, ctx: &RouteCtx, params: &Params, token: &Token) -> Response {
    let account = token.grant.account.clone();
    let name = personas::display_name(Platform::Facebook, &account);
    let base = shared.config.base();
    let id = user_id(&token.grant.client_id, &account);
    let has_email = token.grant.has_scope("email");
    let node = graph::select(ctx, params, "User", &["id", "name"], |field| {
        Some(Some(match field {
            "id" => json!(id),
            "name" => json!(name),
            "first_name" => json!(name.split(' ').next().unwrap_or(&name)),
            "last_name" => json!(name.split(' ').skip(1).collect::<Vec<_>>().join(" ")),
            "picture" => picture(personas::avatar_url(&base, Platform::Facebook, &account)),
            "email" if has_email => json!(format!("{}@sandbox.example", personas::slug(&account))),
            "email" => return Some(None),
            _ => return None,
        }))
    });
    match node {
        Ok(n) => json_response(StatusCode::OK, Value::Object(n)),
        Err(res) => res,
    }
}

fn page_node(
    shared: &Shared,
    ctx: &RouteCtx,
    params: &Params,
    token: &Token,
    page: Page,
) -> Response {
    match page_fields(shared, ctx, params, token, &page, &["id", "name"]) {
        Ok(v) => json_response(StatusCode::OK, v),
        Err(res) => res,
    }
}

fn page_fields(
    shared: &Shared,
    ctx: &RouteCtx,
    params: &Params,
    token: &Token,
    page: &Page,
    default: &[&str],
) -> Result<Value, Response> {
    let base = shared.config.base();
    let wants_token = {
        let requested = graph::requested_fields(params);
        if requested.is_empty() {
            default.contains(&"access_token")
        } else {
            requested.iter().any(|f| f == "access_token")
        }
    };
    // Only a user who granted the Page gets its token; a Page token may read its own.
    let page_token = if wants_token {
        Some(
            shared
                .store()
                .page_token(&token.grant, &page.id, shared.clock.now())
                .value,
        )
    } else {
        None
    };
    let node = graph::select(ctx, params, "Page", default, |field| {
        Some(Some(match field {
            "id" => json!(page.id),
            "name" => json!(page.name),
            "access_token" => json!(page_token.clone().unwrap_or_default()),
            "category" => json!(page.category),
            "category_list" => json!([{ "id": "2200", "name": page.category }]),
            "tasks" => json!([
                "ADVERTISE",
                "ANALYZE",
                "CREATE_CONTENT",
                "MESSAGING",
                "MODERATE",
                "MANAGE"
            ]),
            "username" => json!(personas::slug(&page.name).replace('-', "")),
            "link" => json!(format!("https://www.facebook.com/{}", page.id)),
            "picture" => picture(personas::avatar_url(&base, Platform::Facebook, &page.name)),
            "fan_count" => json!(personas::derived_count(
                &["facebook", "fans", &page.id],
                100..20_000
            )),
            "followers_count" => json!(personas::derived_count(
                &["facebook", "followers", &page.id],
                100..20_000
            )),
            "instagram_business_account" => match &page.instagram {
                Some(ig) => json!({ "id": ig.id, "username": ig.username }),
                None => return Some(None),
            },
            _ => return None,
        }))
    })?;
    Ok(Value::Object(node))
}

async fn accounts(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
) -> Response {
    let params = ctx.params();
    let token = match authenticate(&shared, &ctx, &params, &headers) {
        Ok(t) => t,
        Err(res) => return res,
    };
    if let Err(res) = user_only(&ctx, &token, "accounts") {
        return res;
    }
    // Without `pages_show_list` the list is simply empty, as on the real API.
    let visible: Vec<Page> = if token.grant.has_scope("pages_show_list") {
        pages_of(&token.grant.account)
            .into_iter()
            .filter(|p| token.grant.pages.contains(&p.id))
            .collect()
    } else {
        Vec::new()
    };
    let mut data = Vec::new();
    for page in &visible {
        match page_fields(
            &shared,
            &ctx,
            &params,
            &token,
            page,
            &[
                "access_token",
                "category",
                "category_list",
                "name",
                "id",
                "tasks",
            ],
        ) {
            Ok(v) => data.push(v),
            Err(res) => return res,
        }
    }
    let mut body = json!({ "data": data });
    if let (Some(first), Some(last)) = (visible.first(), visible.last()) {
        body["paging"] = json!({ "cursors": {
            "before": STANDARD.encode(&first.id),
            "after": STANDARD.encode(&last.id),
        }});
    }
    json_response(StatusCode::OK, body)
}

async fn permissions(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
) -> Response {
    let params = ctx.params();
    let token = match authenticate(&shared, &ctx, &params, &headers) {
        Ok(t) => t,
        Err(res) => return res,
    };
    if let Err(res) = user_only(&ctx, &token, "permissions") {
        return res;
    }
    let mut scopes = token.grant.scopes.clone();
    if !scopes.iter().any(|s| s == "public_profile") {
        scopes.push("public_profile".into());
    }
    let data: Vec<Value> = scopes
        .iter()
        .map(|s| json!({ "permission": s, "status": "granted" }))
        .collect();
    json_response(StatusCode::OK, json!({ "data": data }))
}

async fn revoke_permissions(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
) -> Response {
    let params = ctx.params();
    let token = match authenticate(&shared, &ctx, &params, &headers) {
        Ok(t) => t,
        Err(res) => return res,
    };
    if let Err(res) = user_only(&ctx, &token, "permissions") {
        return res;
    }
    shared.store().revoke_account(
        Platform::Facebook,
        &token.grant.client_id,
        &token.grant.account,
    );
    json_response(StatusCode::OK, json!({ "success": true }))
}

async fn node(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let params = ctx.params();
    let token = match authenticate(&shared, &ctx, &params, &headers) {
        Ok(t) => t,
        Err(res) => return res,
    };
    let account = token.grant.account.clone();
    if token.page_id.is_none() && id == user_id(&token.grant.client_id, &account) {
        return user_node(&shared, &ctx, &params, &token);
    }
    let reachable = |page: &Page| match &token.page_id {
        Some(own) => own == &page.id,
        None => token.grant.pages.contains(&page.id),
    };
    for page in pages_of(&account).into_iter().filter(reachable) {
        if page.id == id {
            return page_node(&shared, &ctx, &params, &token, page);
        }
        if let Some(ig) = page.instagram.as_ref().filter(|ig| ig.id == id) {
            let base = shared.config.base();
            let node = graph::select(&ctx, &params, "IGUser", &["id"], |field| {
                Some(Some(match field {
                    "id" => json!(ig.id),
                    "username" => json!(ig.username),
                    "name" => json!(personas::display_name(Platform::Instagram, &ig.username)),
                    "profile_picture_url" => {
                        json!(personas::avatar_url(
                            &base,
                            Platform::Instagram,
                            &ig.username
                        ))
                    }
                    "followers_count" => json!(personas::derived_count(
                        &["instagram", "followers", &ig.username],
                        300..25_000
                    )),
                    "media_count" => json!(personas::derived_count(
                        &["instagram", "media", &ig.username],
                        20..800
                    )),
                    _ => return None,
                }))
            });
            return match node {
                Ok(n) => json_response(StatusCode::OK, Value::Object(n)),
                Err(res) => res,
            };
        }
    }
    if let Some(res) = publish::post_node(&shared, &ctx, &params, &token, &id) {
        return res;
    }
    graph_error(
        &ctx,
        StatusCode::BAD_REQUEST,
        Graph {
            message: &format!(
                "Unsupported get request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."
            ),
            kind: "GraphMethodException",
            code: 100,
            subcode: Some(33),
        },
    )
}

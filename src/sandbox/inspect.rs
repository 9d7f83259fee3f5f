//! The sandbox's own endpoints under `/_sandbox`: the request log, what was published (and what
//! was published twice), faults, platform limits, the clock, health, a small HTML index and the
//! account avatars. JSON in and out, except the index and the avatars.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde::Deserialize;
use serde_json::json;

use super::catalog::ProductEdit;
use super::consent::{accent, html};
use super::errors::json_response;
use super::faults::{ActiveFault, FaultSpec};
use super::personas;
use super::published::Filter;
use super::recorder::RecordedRequest;
use super::state::{LimitsSpec, Shared};
use crate::domain::Platform;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_sandbox", get(index))
        .route("/_sandbox/", get(index))
        .route("/_sandbox/health", get(health))
        .route("/_sandbox/requests", get(requests).delete(clear_requests))
        .route(
            "/_sandbox/published",
            get(published).delete(clear_published),
        )
        .route("/_sandbox/published/duplicates", get(duplicates))
        .route("/_sandbox/limits", get(limits).post(set_limits))
        .route(
            "/_sandbox/faults",
            get(faults).post(add).delete(clear_faults),
        )
        .route("/_sandbox/faults/{id}", delete(remove_fault))
        .route("/_sandbox/clock", get(clock).post(advance))
        .route("/_sandbox/avatars/{platform}/{file}", get(avatar))
        .route(
            "/_sandbox/catalog/{platform}/{shop}/{index}",
            axum::routing::post(catalog_edit),
        )
}

#[derive(Deserialize)]
struct PlatformFilter {
    platform: Option<String>,
}

impl PlatformFilter {
    fn parse(&self) -> Result<Option<Platform>, Response> {
        match self.platform.as_deref().filter(|p| !p.is_empty()) {
            None => Ok(None),
            Some(name) => name
                .parse()
                .map(Some)
                .map_err(|_| bad_request(&format!("unknown platform {name:?}"))),
        }
    }
}

fn bad_request(message: &str) -> Response {
    json_response(StatusCode::BAD_REQUEST, json!({ "error": message }))
}

async fn health(State(shared): State<Arc<Shared>>) -> Response {
    json_response(
        StatusCode::OK,
        json!({ "status": "ok", "now": shared.clock.now().to_rfc3339() }),
    )
}

async fn requests(
    State(shared): State<Arc<Shared>>,
    Query(filter): Query<PlatformFilter>,
) -> Response {
    match filter.parse() {
        Ok(platform) => json_response(StatusCode::OK, json!(shared.log().list(platform))),
        Err(res) => res,
    }
}

async fn clear_requests(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.log().clear();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct PublishedQuery {
    platform: Option<String>,
    account_id: Option<String>,
}

async fn published(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<PublishedQuery>,
) -> Response {
    let platform = match (PlatformFilter {
        platform: query.platform,
    })
    .parse()
    {
        Ok(p) => p,
        Err(res) => return res,
    };
    let filter = Filter {
        platform,
        account_id: query.account_id.filter(|a| !a.is_empty()),
    };
    json_response(StatusCode::OK, json!(shared.published_list(&filter)))
}

async fn duplicates(
    State(shared): State<Arc<Shared>>,
    Query(filter): Query<PlatformFilter>,
) -> Response {
    let platform = match filter.parse() {
        Ok(p) => p,
        Err(res) => return res,
    };
    let groups = shared.duplicates(platform);
    let extra: usize = groups.iter().map(|g| g.count - 1).sum();
    json_response(
        StatusCode::OK,
        json!({ "count": groups.len(), "extra_publications": extra, "duplicates": groups }),
    )
}

async fn limits(State(shared): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, json!(shared.limits.view()))
}

async fn set_limits(State(shared): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<LimitsSpec>(&body) {
        Ok(spec) => {
            shared.limits.set(&spec);
            json_response(StatusCode::OK, json!(shared.limits.view()))
        }
        Err(e) => bad_request(&format!("not a set of limits: {e}")),
    }
}

async fn clear_published(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.clear_published();
    StatusCode::NO_CONTENT
}

async fn faults(State(shared): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, json!(shared.faults().list()))
}

/// What adding a fault did.
pub(crate) struct Added {
    pub id: u64,
    pub fault: ActiveFault,
    pub expired_tokens: Option<usize>,
}

pub(crate) fn add_fault(shared: &Shared, spec: FaultSpec) -> Result<Added, String> {
    spec.validate()?;
    let now = shared.clock.now();
    let expired_tokens = spec
        .expire_tokens
        .then(|| shared.store().expire_access_tokens(spec.platform, now));
    let fault = shared.faults().add(spec, now);
    Ok(Added {
        id: fault.id,
        fault,
        expired_tokens,
    })
}

async fn add(State(shared): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    let spec: FaultSpec = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return bad_request(&format!("not a fault: {e}")),
    };
    match add_fault(&shared, spec) {
        Ok(added) => {
            let mut body = json!(added.fault);
            if let Some(n) = added.expired_tokens {
                body["expired_tokens"] = json!(n);
            }
            body["active"] = json!(added.fault.spec.is_lasting());
            json_response(StatusCode::CREATED, body)
        }
        Err(message) => bad_request(&message),
    }
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.faults().clear();
    StatusCode::NO_CONTENT
}

async fn remove_fault(State(shared): State<Arc<Shared>>, Path(id): Path<u64>) -> Response {
    if shared.faults().remove(id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        json_response(
            StatusCode::NOT_FOUND,
            json!({ "error": format!("no fault {id}") }),
        )
    }
}

/// Edits product `index` of `shop`'s catalog (see [`ProductEdit`]); the product's `updated_at`
/// becomes now.
pub(crate) fn edit_product(
    shared: &Shared,
    platform: Platform,
    shop: &str,
    index: usize,
    edit: ProductEdit,
) -> Result<(), String> {
    if !matches!(
        platform,
        Platform::Shopify | Platform::Etsy | Platform::Squarespace
    ) {
        return Err(format!("{platform} has no product catalog"));
    }
    if index >= shared.config.products_per_shop {
        return Err(format!(
            "product {index} does not exist: shops have {} products (0 to {})",
            shared.config.products_per_shop,
            shared.config.products_per_shop.saturating_sub(1)
        ));
    }
    edit.cents()?;
    let now = shared.clock.now();
    shared.catalog().edit(platform, shop, index, edit, now);
    Ok(())
}

async fn catalog_edit(
    State(shared): State<Arc<Shared>>,
    Path((platform, shop, index)): Path<(String, String, usize)>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(platform) = platform.parse::<Platform>() else {
        return bad_request(&format!("unknown platform {platform:?}"));
    };
    let edit: ProductEdit = match serde_json::from_slice(&body) {
        Ok(e) => e,
        Err(e) => return bad_request(&format!("expected a product edit: {e}")),
    };
    match edit_product(&shared, platform, &shop, index, edit) {
        Ok(()) => json_response(
            StatusCode::OK,
            json!({ "platform": platform, "shop": shop, "index": index, "updated_at": shared.clock.now().to_rfc3339() }),
        ),
        Err(e) => bad_request(&e),
    }
}

async fn clock(State(shared): State<Arc<Shared>>) -> Response {
    json_response(
        StatusCode::OK,
        json!({ "now": shared.clock.now().to_rfc3339() }),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    advance_secs: i64,
}

async fn advance(State(shared): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    let advance: Advance = match serde_json::from_slice(&body) {
        Ok(a) => a,
        Err(e) => return bad_request(&format!("expected {{\"advance_secs\": N}}: {e}")),
    };
    let Ok(secs) = u64::try_from(advance.advance_secs) else {
        return bad_request("the clock only moves forward: advance_secs must be 0 or more");
    };
    let now = shared.clock.advance(secs);
    json_response(StatusCode::OK, json!({ "now": now.to_rfc3339() }))
}

struct PlatformRow {
    name: &'static str,
    key: &'static str,
    account: &'static str,
    client_id: String,
}

#[derive(Template)]
#[template(path = "sandbox/index.html")]
struct IndexPage {
    accent: &'static str,
    now: String,
    platforms: Vec<PlatformRow>,
    requests: Vec<RecordedRequest>,
    faults: Vec<ActiveFault>,
}

async fn index(State(shared): State<Arc<Shared>>) -> Response {
    let page = IndexPage {
        accent: "#4f46e5",
        now: shared.clock.now().to_rfc3339(),
        platforms: Platform::ALL
            .into_iter()
            .map(|p| PlatformRow {
                name: p.display_name(),
                key: p.as_str(),
                account: personas::seed_account(p),
                client_id: shared.client_id(p).to_owned(),
            })
            .collect(),
        requests: shared.log().recent(25),
        faults: shared.faults().list(),
    };
    html(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "sandbox/avatar.svg")]
struct Avatar {
    initials: String,
    background: String,
    accent: &'static str,
}

async fn avatar(Path((platform, file)): Path<(String, String)>) -> Response {
    let Ok(platform) = platform.parse::<Platform>() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(login) = file.strip_suffix(".svg") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let name = personas::display_name(platform, login);
    let initials: String = name
        .split_whitespace()
        .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        .collect::<String>()
        .to_uppercase();
    let hue = personas::derived_count(&["avatar", platform.as_str(), login], 0..360);
    let svg = Avatar {
        initials,
        background: format!("hsl({hue} 55% 45%)"),
        accent: accent(platform),
    };
    match svg.render() {
        Ok(body) => {
            let mut res = (StatusCode::OK, body).into_response();
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml"),
            );
            res.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            );
            res
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

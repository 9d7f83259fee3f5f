//! Shopify Admin (PLATFORMS.md §8): every `*.myshopify.com` host is a shop. The authorization
//! code grant with Shopify's signed callback (`hmac` over the sorted parameters), offline tokens
//! that never expire or (with `expiring=1`) expire hourly with rotating refresh tokens, and the
//! GraphQL Admin API with version fall-forward and cost reporting. GraphQL is answered by
//! resolving the parsed query against one closure per type (see [`query_root`]), so products
//! and other types slot in beside `shop`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;

use super::consent::{self, Allowed, Provider, unknown_scope};
use super::dispatch::RouteCtx;
use super::errors::{json_response, oauth, shopify};
use super::graphql::{self, Exec, Field, GqlError, OpKind};
use super::oauth::{Params, header as header_value};
use super::personas;
use super::state::{CodeError, Grant, Issue, Redemption, Shared, Token, TokenKind};
use crate::domain::Platform;

pub(crate) mod bulk;
pub(crate) mod products;

use super::catalog::ShopCatalog;

const ACCESS_TTL: i64 = 3600;
const REFRESH_TTL: i64 = 7_776_000;
/// Stable versions the sandbox serves, oldest first.
pub(crate) const SUPPORTED_VERSIONS: &[&str] = &["2025-10", "2026-01", "2026-04", "2026-07"];
const BUCKET_MAX: f64 = 2000.0;
const RESTORE_RATE: f64 = 100.0;
/// The most a single query may cost.
const MAX_QUERY_COST: u64 = 1000;

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/{shop}/admin/oauth/authorize",
            get(consent::show::<ShopifyAuth>).post(consent::decide::<ShopifyAuth>),
        )
        .route("/{shop}/admin/oauth/access_token", post(access_token))
        .route(
            "/{shop}/admin/api/{version}/graphql.json",
            post(graphql_endpoint),
        )
        .route(
            "/storage.googleapis.com/shopify-tiers-assets-prod-us-east1/bulk-operation-outputs/{file}",
            get(bulk::file),
        )
}

/// `^[a-zA-Z0-9][a-zA-Z0-9\-]*\.myshopify\.com$`
pub(crate) fn is_shop_domain(host: &str) -> bool {
    let Some(name) = host.strip_suffix(".myshopify.com") else {
        return false;
    };
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

struct ShopifyAuth;

impl Provider for ShopifyAuth {
    const PLATFORM: Platform = Platform::Shopify;
    const SCOPE_SEPARATOR: char = ',';
    const RESPONSE_TYPE_REQUIRED: bool = false;
    const ACCOUNT_LABEL: &'static str = "Staff account (e-mail)";

    fn describe_scope(scope: &str) -> String {
        let (verb, what) = match scope.split_once('_') {
            Some(("read", what)) => ("See", what),
            Some(("write", what)) => ("Change", what),
            _ => return unknown_scope(scope),
        };
        format!("{verb} your store\u{2019}s {}", what.replace('_', " "))
    }

    /// Shopify signs the callback: `hmac` over the other parameters, sorted, as `k=v&k=v`.
    fn allow_params(a: &Allowed<'_>) -> (Vec<(&'static str, String)>, Option<&'static str>) {
        let shop = a.ctx.host.clone();
        let mut params = a.code_and_state();
        params.push(("host", STANDARD.encode(format!("{shop}/admin"))));
        params.push(("shop", shop));
        params.push(("timestamp", a.shared.clock.now().timestamp().to_string()));
        params.sort_by(|x, y| x.0.cmp(y.0));
        let signature = sign(a.shared.client_secret(Platform::Shopify), &params);
        params.push(("hmac", signature));
        params.sort_by(|x, y| x.0.cmp(y.0));
        (params, None)
    }
}

/// Hex HMAC-SHA256 of `k=v&k=v` over `params` in the order given (callers sort them).
pub(crate) fn sign(secret: &str, params: &[(&str, String)]) -> String {
    let message = params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(message.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn access_token(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    params: Params,
) -> Response {
    let (id, secret) = shared.config.client(Platform::Shopify);
    if params.get("client_id") != Some(id) || params.get("client_secret") != Some(secret) {
        return oauth(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client credentials are invalid.",
        );
    }
    let now = shared.clock.now();
    let mut store = shared.store();
    match params.get("grant_type") {
        None | Some("authorization_code") => {
            let code = match store.redeem_code(
                Redemption {
                    platform: Platform::Shopify,
                    code: params.get("code"),
                    client_id: id,
                    // Shopify's token request carries no redirect_uri; one that is sent must match.
                    redirect_uri: params.raw("redirect_uri"),
                    verifier: params.get("code_verifier"),
                },
                now,
            ) {
                Ok(c) if c.grant.shop.as_deref() == Some(ctx.host.as_str()) => c,
                Ok(_)
                | Err(
                    CodeError::Unknown | CodeError::Used | CodeError::Expired | CodeError::Missing,
                ) => {
                    return oauth(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        "The authorization code was not found or was already used",
                    );
                }
                Err(e) => return oauth(StatusCode::BAD_REQUEST, "invalid_request", e.describe()),
            };
            let expiring = matches!(params.get("expiring"), Some("1" | "true"));
            if expiring {
                let (access, refresh) = issue_expiring(&mut store, &code.grant, now);
                expiring_response(&access, &refresh)
            } else {
                let access = store.issue(Issue::access("shpat_", 32, None), &code.grant, now);
                json_response(
                    StatusCode::OK,
                    json!({ "access_token": access.value, "scope": access.grant.scopes.join(",") }),
                )
            }
        }
        Some("refresh_token") => {
            let old = match store.check(
                Platform::Shopify,
                TokenKind::Refresh,
                params.get("refresh_token"),
                now,
            ) {
                Ok(t) if t.grant.shop.as_deref() == Some(ctx.host.as_str()) => t,
                _ => {
                    return oauth(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "The refresh token is invalid, expired or already used.",
                    );
                }
            };
            // Shopify replaces its refresh token every time it is used.
            store.revoke(&old.value);
            let (access, refresh) = issue_expiring(&mut store, &old.grant, now);
            expiring_response(&access, &refresh)
        }
        Some(other) => oauth(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("The grant_type {other:?} is not supported."),
        ),
    }
}

fn issue_expiring(
    store: &mut super::state::Store,
    grant: &Grant,
    now: chrono::DateTime<chrono::Utc>,
) -> (Token, Token) {
    let access = store.issue(Issue::access("shpat_", 32, Some(ACCESS_TTL)), grant, now);
    let refresh = store.issue(Issue::refresh("shprt_", 32, Some(REFRESH_TTL)), grant, now);
    (access, refresh)
}

fn expiring_response(access: &Token, refresh: &Token) -> Response {
    json_response(
        StatusCode::OK,
        json!({
            "access_token": access.value,
            "scope": access.grant.scopes.join(","),
            "expires_in": ACCESS_TTL,
            "refresh_token": refresh.value,
            "refresh_token_expires_in": REFRESH_TTL,
        }),
    )
}

/// The version that serves a request: the one asked for when supported, otherwise the oldest
/// supported one ("falls forward").
pub(crate) fn serving_version(requested: &str) -> &'static str {
    SUPPORTED_VERSIONS
        .iter()
        .find(|v| **v == requested)
        .copied()
        .unwrap_or(SUPPORTED_VERSIONS[0])
}

fn with_version(mut res: Response, version: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(version) {
        res.headers_mut().insert("x-shopify-api-version", v);
    }
    res
}

async fn graphql_endpoint(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    Path((_shop, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let version = serving_version(&version);
    let now = shared.clock.now();
    let token = shared.store().check(
        Platform::Shopify,
        TokenKind::Access,
        header_value(&headers, "x-shopify-access-token"),
        now,
    );
    let token = match token {
        Ok(t) if t.grant.shop.as_deref() == Some(ctx.host.as_str()) => t,
        _ => {
            return with_version(
                shopify(
                    StatusCode::UNAUTHORIZED,
                    json!(
                        "[API] Invalid API key or access token (unrecognized login or wrong password)"
                    ),
                ),
                version,
            );
        }
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let request = if content_type.starts_with("application/graphql") {
        Some((
            String::from_utf8_lossy(&body).into_owned(),
            Map::new(),
            None,
        ))
    } else {
        serde_json::from_slice::<Value>(&body).ok().and_then(|v| {
            let query = v.get("query")?.as_str()?.to_owned();
            let variables = v
                .get("variables")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let operation = v
                .get("operationName")
                .and_then(Value::as_str)
                .map(str::to_owned);
            Some((query, variables, operation))
        })
    };
    let Some((query, variables, operation)) = request else {
        return with_version(
            shopify(
                StatusCode::BAD_REQUEST,
                json!({ "query": "Required parameter missing or invalid" }),
            ),
            version,
        );
    };
    let response = execute(&shared, &token, &query, variables, operation.as_deref());
    with_version(response, version)
}

fn execute(
    shared: &Shared,
    token: &Token,
    query: &str,
    variables: Map<String, Value>,
    operation: Option<&str>,
) -> Response {
    let errors_only =
        |e: GqlError| json_response(StatusCode::OK, json!({ "errors": [e.to_json()] }));
    let doc = match graphql::parse(query) {
        Ok(d) => d,
        Err(e) => return errors_only(e),
    };
    let (mut exec, op) = match Exec::new(&doc, operation, variables) {
        Ok(x) => x,
        Err(e) => return errors_only(e),
    };
    let shop = ShopData::new(shared, token);
    // A mutation costs 10 points on top of what it returns.
    let mutation_cost = if op.kind == OpKind::Mutation { 10 } else { 0 };
    let requested = exec.requested_cost(&op.selection).max(1) + mutation_cost;
    if requested > MAX_QUERY_COST {
        let level = bucket_level(shared, &shop.domain);
        return json_response(
            StatusCode::OK,
            json!({
                "errors": [{
                    "message": format!("Query cost is {requested}, which exceeds the single query max cost limit ({MAX_QUERY_COST}).\n\nSee https://shopify.dev/api/usage/rate-limits for more information on how the\ncost of a query is calculated.\n\nTo query larger amounts of data with fewer limits, bulk operations should be used instead.\nSee https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n"),
                    "extensions": { "code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": MAX_QUERY_COST },
                }],
                "extensions": { "cost": cost_extension(requested, None, level) },
            }),
        );
    }
    // The bucket must hold the requested cost up front; the difference to the actual cost is
    // refunded once the query has run.
    let Some(_) = take(shared, &shop.domain, requested as f64) else {
        let level = bucket_level(shared, &shop.domain);
        return json_response(
            StatusCode::OK,
            json!({
                "errors": [{ "message": "Throttled", "extensions": {
                    "code": "THROTTLED",
                    "documentation": "https://shopify.dev/api/usage/rate-limits",
                }}],
                "extensions": { "cost": cost_extension(requested, None, level) },
            }),
        );
    };
    let now = shared.clock.now();
    let catalog = ShopCatalog::new(shared, Platform::Shopify, &shop.domain, now);
    let root_type = match op.kind {
        OpKind::Query => "QueryRoot",
        OpKind::Mutation => "Mutation",
        OpKind::Subscription => "Subscription",
    };
    exec.cost += mutation_cost;
    let data = exec.object(
        root_type,
        &op.selection,
        &[],
        &mut |exec, field, path| match op.kind {
            OpKind::Query => query_root(exec, shared, &shop, &catalog, field, path),
            OpKind::Mutation => mutation_root(exec, shared, &shop, field, path),
            OpKind::Subscription => Ok(None),
        },
    );
    let data = match data {
        Ok(d) => d,
        Err(e) => {
            // A query that fails validation is not charged.
            let level = refund(shared, &shop.domain, requested as f64);
            return json_response(
                StatusCode::OK,
                json!({
                    "errors": [e.to_json()],
                    "extensions": { "cost": cost_extension(requested, Some(0), level) },
                }),
            );
        }
    };
    let actual = exec.cost.clamp(1, requested);
    let level = refund(shared, &shop.domain, (requested - actual) as f64);
    json_response(
        StatusCode::OK,
        json!({
            "data": data,
            "extensions": { "cost": cost_extension(requested, Some(actual), level) },
        }),
    )
}

fn cost_extension(requested: u64, actual: Option<u64>, available: f64) -> Value {
    json!({
        "requestedQueryCost": requested,
        "actualQueryCost": actual,
        "throttleStatus": {
            "maximumAvailable": BUCKET_MAX,
            "currentlyAvailable": available,
            "restoreRate": RESTORE_RATE,
        },
    })
}

/// The bucket's level now, refilled at the restore rate since it was last touched.
fn refilled(
    store: &mut super::state::Store,
    shop: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> f64 {
    let (level, at) = store
        .shopify_buckets
        .get(shop)
        .copied()
        .unwrap_or((BUCKET_MAX, now));
    let elapsed = (now - at).num_milliseconds().max(0) as f64 / 1000.0;
    let level = (level + elapsed * RESTORE_RATE).min(BUCKET_MAX);
    store.shopify_buckets.insert(shop.to_owned(), (level, now));
    level
}

fn bucket_level(shared: &Shared, shop: &str) -> f64 {
    let now = shared.clock.now();
    refilled(&mut shared.store(), shop, now)
}

/// Takes `cost` points from the shop's bucket, or nothing when it does not hold that many.
fn take(shared: &Shared, shop: &str, cost: f64) -> Option<f64> {
    let now = shared.clock.now();
    let mut store = shared.store();
    let level = refilled(&mut store, shop, now);
    if level < cost {
        return None;
    }
    store
        .shopify_buckets
        .insert(shop.to_owned(), (level - cost, now));
    Some(level - cost)
}

/// Gives `points` back (what a query was charged beyond its actual cost).
fn refund(shared: &Shared, shop: &str, points: f64) -> f64 {
    let now = shared.clock.now();
    let mut store = shared.store();
    let level = (refilled(&mut store, shop, now) + points).min(BUCKET_MAX);
    store.shopify_buckets.insert(shop.to_owned(), (level, now));
    level
}

/// What a shop looks like, derived from its domain and the staff account that connected it.
struct ShopData {
    domain: String,
    name: String,
    email: String,
}

impl ShopData {
    fn new(_shared: &Shared, token: &Token) -> Self {
        let domain = token.grant.shop.clone().unwrap_or_default();
        let subdomain = domain.trim_end_matches(".myshopify.com").to_owned();
        let name = if subdomain == SEED_SHOP {
            "Maple & Moss Ceramics".to_owned()
        } else {
            personas::title_words(&subdomain)
        };
        let account = &token.grant.account;
        let email = if account.contains('@') {
            account.clone()
        } else {
            format!("{}@{subdomain}.example", personas::slug(account))
        };
        Self {
            domain,
            name,
            email,
        }
    }

    fn gid(&self) -> String {
        format!(
            "gid://shopify/Shop/{}",
            personas::numeric_id(&["shopify", "shop", &self.domain], 11)
        )
    }
}

/// The seed persona's shop subdomain, `maple-and-moss.myshopify.com`.
pub(crate) const SEED_SHOP: &str = "maple-and-moss";

/// `Mutation`: the fields a mutation may start from.
fn mutation_root<'a>(
    exec: &mut Exec<'a>,
    shared: &Shared,
    shop: &ShopData,
    field: &'a Field,
    path: &[String],
) -> Result<Option<Value>, GqlError> {
    match field.name.as_str() {
        "bulkOperationRunQuery" => {
            bulk::run_query(exec, shared, &shop.domain, field, path).map(Some)
        }
        _ => Ok(None),
    }
}

/// `QueryRoot`: the fields a query may start from.
fn query_root<'a>(
    exec: &mut Exec<'a>,
    shared: &Shared,
    shop: &ShopData,
    catalog: &ShopCatalog<'_>,
    field: &'a Field,
    path: &[String],
) -> Result<Option<Value>, GqlError> {
    match field.name.as_str() {
        "currentBulkOperation" => bulk::current(exec, shared, &shop.domain, field, path).map(Some),
        "node" => bulk::node(exec, shared, catalog, &shop.domain, field, path).map(Some),
        "deletionEvents" => bulk::deletion_events(exec, catalog, field, path).map(Some),
        "products" => products::products(exec, catalog, field, path).map(Some),
        "product" => products::product(exec, catalog, field, path).map(Some),
        "productsCount" => products::products_count(exec, catalog, field, path).map(Some),
        "shop" => {
            exec.no_arguments(field, path)?;
            exec.needs_selection(field, path, "Shop")?;
            shop_object(exec, shop, field, path).map(Some)
        }
        _ => Ok(None),
    }
}

fn shop_object<'a>(
    exec: &mut Exec<'a>,
    shop: &ShopData,
    field: &'a Field,
    path: &[String],
) -> Result<Value, GqlError> {
    let url = format!("https://{}", shop.domain);
    exec.object("Shop", &field.selection, path, &mut |exec, f, path| {
        let value = match f.name.as_str() {
            "id" => json!(shop.gid()),
            "name" => json!(shop.name),
            "email" | "contactEmail" => json!(shop.email),
            "myshopifyDomain" => json!(shop.domain),
            "url" => json!(url),
            "currencyCode" => json!("USD"),
            "description" => json!(""),
            "ianaTimezone" => json!("America/Los_Angeles"),
            "weightUnit" => json!("POUNDS"),
            "enabledPresentmentCurrencies" => json!(["USD"]),
            "primaryDomain" => {
                exec.no_arguments(f, path)?;
                exec.needs_selection(f, path, "Domain")?;
                let domain_id = format!(
                    "gid://shopify/Domain/{}",
                    personas::numeric_id(&["shopify", "domain", &shop.domain], 11)
                );
                let host = shop.domain.clone();
                let url = url.clone();
                return exec
                    .object("Domain", &f.selection, path, &mut |exec, f, path| {
                        let v = match f.name.as_str() {
                            "id" => json!(domain_id),
                            "host" => json!(host),
                            "url" => json!(url),
                            "sslEnabled" => json!(true),
                            _ => return Ok(None),
                        };
                        exec.scalar(f, path, v)
                    })
                    .map(Some);
            }
            "plan" => {
                exec.no_arguments(f, path)?;
                exec.needs_selection(f, path, "ShopPlan")?;
                return exec
                    .object("ShopPlan", &f.selection, path, &mut |exec, f, path| {
                        let v = match f.name.as_str() {
                            "displayName" => json!("Basic"),
                            "partnerDevelopment" => json!(false),
                            "shopifyPlus" => json!(false),
                            _ => return Ok(None),
                        };
                        exec.scalar(f, path, v)
                    })
                    .map(Some);
            }
            _ => return Ok(None),
        };
        exec.scalar(f, path, value)
    })
}

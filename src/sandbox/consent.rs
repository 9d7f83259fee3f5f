//! The consent page every platform's authorize URL shows, and what happens when it is answered.
//!
//! GET renders the page: who is asking (the client id), what for (the scopes in plain words),
//! and as whom (an editable `account` field, prefilled with the seed persona; Facebook also
//! lists the account's Pages as `page_id` checkboxes). The form posts back to the same path with
//! the original query as hidden fields, so the request is validated again on the way out.
//! Allow issues a code and redirects; Deny redirects with the platform's error. A request the
//! sandbox cannot safely redirect (unknown client, bad redirect_uri, malformed PKCE) gets a
//! 400 page instead. Each platform describes its differences by implementing [`Provider`].

use std::sync::Arc;

use askama::Template;
use axum::extract::{Extension, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::Duration;
use url::Url;

use super::dispatch::RouteCtx;
use super::oauth::{self, Params, Pkce, PkceRule};
use super::personas;
use super::state::{AuthCode, Grant, Shared};
use crate::domain::Platform;

/// Form fields the consent page adds; everything else on the form is the original request.
const RESERVED: &[&str] = &["decision", "account", "page_id", "pages_for"];

/// A Page (or similar sub-account) the person may grant along with their account.
pub(crate) struct PageChoice {
    pub id: String,
    pub name: String,
    pub detail: String,
}

/// A validated authorize request.
pub(crate) struct AuthorizeRequest {
    pub client_id: String,
    pub redirect_uri: Url,
    /// Exactly as sent, for the comparison at the token endpoint.
    pub redirect_raw: String,
    pub state: Option<String>,
    pub scopes: Vec<String>,
    pub pkce: Option<Pkce>,
    pub params: Params,
}

/// Everything a provider may need to build the redirect after Allow.
pub(crate) struct Allowed<'a> {
    pub ctx: &'a RouteCtx,
    pub shared: &'a Shared,
    pub request: &'a AuthorizeRequest,
    pub grant: &'a Grant,
    pub code: &'a str,
}

impl Allowed<'_> {
    /// `code` and `state` (when one was sent): what every platform returns.
    pub fn code_and_state(&self) -> Vec<(&'static str, String)> {
        let mut params = vec![("code", self.code.to_owned())];
        if let Some(state) = &self.request.state {
            params.push(("state", state.clone()));
        }
        params
    }
}

/// How one platform's authorize endpoint differs from the common case.
pub(crate) trait Provider: Send + Sync + 'static {
    const PLATFORM: Platform;
    const CLIENT_PARAM: &'static str = "client_id";
    const SCOPE_SEPARATOR: char = ' ';
    const RESPONSE_TYPE_REQUIRED: bool = true;
    const SCOPE_REQUIRED: bool = true;
    const PKCE: PkceRule = PkceRule::Optional { plain: false };
    const CODE_TTL_SECS: i64 = 600;
    /// What the account field asks for, in the platform's words.
    const ACCOUNT_LABEL: &'static str = "Username";

    fn describe_scope(scope: &str) -> String;

    fn check_redirect(_uri: &Url) -> Result<(), String> {
        Ok(())
    }

    /// Sub-accounts offered as `page_id` checkboxes (Facebook Pages).
    fn pages(_shared: &Shared, _account: &str) -> Vec<PageChoice> {
        Vec::new()
    }

    /// The query parameters (and fragment) of the redirect after Allow.
    fn allow_params(a: &Allowed<'_>) -> (Vec<(&'static str, String)>, Option<&'static str>) {
        (a.code_and_state(), None)
    }

    /// The error parameters of the redirect after Deny (`state` is added after them).
    fn deny_params() -> Vec<(&'static str, String)> {
        vec![
            ("error", "access_denied".to_owned()),
            (
                "error_description",
                "The user denied your request.".to_owned(),
            ),
        ]
    }
}

/// `GET` on an authorize URL.
pub(crate) async fn show<P: Provider>(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
) -> Response {
    match parse::<P>(&shared, ctx.params()) {
        Ok(request) => {
            let account = personas::seed_account(P::PLATFORM);
            render_consent::<P>(&shared, &ctx, &request, account, None, None, StatusCode::OK)
        }
        Err(message) => error_page(P::PLATFORM, &message),
    }
}

/// `POST` from the consent form.
pub(crate) async fn decide<P: Provider>(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    form: Params,
) -> Response {
    let original = form.without(RESERVED);
    let request = match parse::<P>(&shared, original) {
        Ok(r) => r,
        Err(message) => return error_page(P::PLATFORM, &message),
    };
    let account = form.raw("account").unwrap_or("").trim().to_owned();
    match form.get("decision") {
        Some("deny") => deny::<P>(&request),
        Some("allow") => {
            if let Err(problem) = check_account(&account) {
                return render_consent::<P>(
                    &shared,
                    &ctx,
                    &request,
                    &account,
                    None,
                    Some(problem),
                    StatusCode::BAD_REQUEST,
                );
            }
            let choices = P::pages(&shared, &account);
            if !choices.is_empty() && form.get("pages_for").is_some_and(|shown| shown != account) {
                // The Pages on the form belonged to the account that was prefilled; show this
                // account's own Pages before granting any.
                let notice = format!("Choose which of {account}\u{2019}s Pages to share.");
                return render_consent::<P>(
                    &shared,
                    &ctx,
                    &request,
                    &account,
                    Some(notice),
                    None,
                    StatusCode::OK,
                );
            }
            let ticked = form.all("page_id");
            let pages = choices
                .into_iter()
                .filter(|c| ticked.contains(&c.id.as_str()))
                .map(|c| c.id)
                .collect();
            allow::<P>(&shared, &ctx, &request, &account, pages)
        }
        _ => render_consent::<P>(
            &shared,
            &ctx,
            &request,
            &account,
            None,
            Some("Choose Allow or Deny.".to_owned()),
            StatusCode::BAD_REQUEST,
        ),
    }
}

fn check_account(account: &str) -> Result<(), String> {
    if account.is_empty() {
        return Err("Type the account to connect.".to_owned());
    }
    if account.chars().count() > 100 || account.chars().any(char::is_control) {
        return Err(
            "That account name is too long or has characters an account name cannot have."
                .to_owned(),
        );
    }
    Ok(())
}

fn parse<P: Provider>(shared: &Shared, params: Params) -> Result<AuthorizeRequest, String> {
    let platform = P::PLATFORM.display_name();
    let client_id = params
        .get(P::CLIENT_PARAM)
        .ok_or_else(|| format!("The {} parameter is missing.", P::CLIENT_PARAM))?
        .to_owned();
    if client_id != shared.client_id(P::PLATFORM) {
        return Err(format!(
            "The app \u{201c}{client_id}\u{201d} is not known to {platform}. The sandbox accepts \u{201c}{}\u{201d}.",
            shared.client_id(P::PLATFORM)
        ));
    }
    let redirect_raw = params.raw("redirect_uri").map(str::to_owned);
    let redirect_uri = oauth::parse_redirect_uri(redirect_raw.as_deref())?;
    P::check_redirect(&redirect_uri)?;
    match params.get("response_type") {
        Some("code") => {}
        None if !P::RESPONSE_TYPE_REQUIRED => {}
        None => {
            return Err(
                "The response_type parameter is missing; it must be \u{201c}code\u{201d}.".into(),
            );
        }
        Some(other) => {
            return Err(format!(
                "The response_type \u{201c}{other}\u{201d} is not supported; it must be \u{201c}code\u{201d}."
            ));
        }
    }
    let scopes = oauth::split_scopes(params.raw("scope").unwrap_or(""), P::SCOPE_SEPARATOR);
    if scopes.is_empty() && P::SCOPE_REQUIRED {
        return Err(
            "The app asked for no permissions: the scope parameter is missing or empty.".into(),
        );
    }
    let pkce = oauth::parse_pkce(&params, P::PKCE)?;
    Ok(AuthorizeRequest {
        client_id,
        redirect_raw: redirect_raw.unwrap_or_default(),
        redirect_uri,
        state: params.raw("state").map(str::to_owned),
        scopes,
        pkce,
        params,
    })
}

fn deny<P: Provider>(request: &AuthorizeRequest) -> Response {
    let mut params = P::deny_params();
    if let Some(state) = &request.state {
        params.push(("state", state.clone()));
    }
    oauth::redirect(request.redirect_uri.clone(), &params, None)
}

fn allow<P: Provider>(
    shared: &Shared,
    ctx: &RouteCtx,
    request: &AuthorizeRequest,
    account: &str,
    pages: Vec<String>,
) -> Response {
    let now = shared.clock.now();
    let prompt_consent = request
        .params
        .get("prompt")
        .is_some_and(|p| p.split(' ').any(|v| v == "consent"));
    let (grant, code) = {
        let mut store = shared.store();
        let mut grant = store.new_grant(
            P::PLATFORM,
            &request.client_id,
            account,
            request.scopes.clone(),
        );
        grant.pages = pages;
        if P::PLATFORM == Platform::Shopify {
            grant.shop = Some(ctx.host.clone());
        }
        let code = store.issue_code(AuthCode {
            grant: grant.clone(),
            redirect_uri: request.redirect_raw.clone(),
            pkce: request.pkce.clone(),
            expires_at: now + Duration::seconds(P::CODE_TTL_SECS),
            used: false,
            offline: request.params.get("access_type") == Some("offline"),
            prompt_consent,
        });
        (grant, code)
    };
    let (params, fragment) = P::allow_params(&Allowed {
        ctx,
        shared,
        request,
        grant: &grant,
        code: &code,
    });
    oauth::redirect(request.redirect_uri.clone(), &params, fragment)
}

struct Hidden {
    name: String,
    value: String,
}

struct PageRow {
    id: String,
    name: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "sandbox/consent.html")]
struct ConsentPage<'a> {
    platform: &'a str,
    accent: &'a str,
    client_id: &'a str,
    redirect_host: String,
    scopes: Vec<(String, String)>,
    action: &'a str,
    hidden: Vec<Hidden>,
    account: &'a str,
    account_label: &'a str,
    pages: Vec<PageRow>,
    pages_for: Option<&'a str>,
    notice: Option<String>,
    error: Option<String>,
}

fn render_consent<P: Provider>(
    shared: &Shared,
    ctx: &RouteCtx,
    request: &AuthorizeRequest,
    account: &str,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let pages: Vec<PageRow> = P::pages(shared, account)
        .into_iter()
        .map(|c| PageRow {
            id: c.id,
            name: c.name,
            detail: c.detail,
        })
        .collect();
    let page = ConsentPage {
        platform: P::PLATFORM.display_name(),
        accent: accent(P::PLATFORM),
        client_id: &request.client_id,
        redirect_host: request
            .redirect_uri
            .host_str()
            .unwrap_or_default()
            .to_owned(),
        scopes: request
            .scopes
            .iter()
            .map(|s| (P::describe_scope(s), s.clone()))
            .collect(),
        action: &ctx.sandbox_path,
        hidden: request
            .params
            .pairs()
            .iter()
            .filter(|(k, _)| !RESERVED.contains(&k.as_str()))
            .map(|(k, v)| Hidden {
                name: k.clone(),
                value: v.clone(),
            })
            .collect(),
        account,
        account_label: P::ACCOUNT_LABEL,
        pages_for: (!pages.is_empty()).then_some(account),
        pages,
        notice,
        error,
    };
    html(status, &page)
}

#[derive(Template)]
#[template(path = "sandbox/error.html")]
struct ErrorPage<'a> {
    platform: &'a str,
    accent: &'a str,
    message: &'a str,
}

/// The 400 page for authorize requests that cannot be redirected back.
pub(crate) fn error_page(platform: Platform, message: &str) -> Response {
    html(
        StatusCode::BAD_REQUEST,
        &ErrorPage {
            platform: platform.display_name(),
            accent: accent(platform),
            message,
        },
    )
}

pub(crate) fn html<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(body) => {
            let mut res = (status, Html(body)).into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "sandbox page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The sandbox could not render this page.",
            )
                .into_response()
        }
    }
}

/// Each platform's brand colour, so it is obvious at a glance whose consent page this is.
pub(crate) fn accent(platform: Platform) -> &'static str {
    match platform {
        Platform::X => "#0f1419",
        Platform::Instagram => "#c13584",
        Platform::Facebook => "#1877f2",
        Platform::Linkedin => "#0a66c2",
        Platform::Pinterest => "#e60023",
        Platform::Tiktok => "#fe2c55",
        Platform::Youtube => "#ff0000",
        Platform::Shopify => "#008060",
        Platform::Etsy => "#f1641e",
        Platform::Squarespace => "#111111",
    }
}

/// A scope the provider has no words for: say what it is called.
pub(crate) fn unknown_scope(scope: &str) -> String {
    format!("Use the \u{201c}{scope}\u{201d} permission")
}

//! The organizations (company pages) a member administers, as LinkedIn's Community Management
//! API tells them. These shapes follow LinkedIn's Organization Access Control and Organization
//! Lookup docs (learn.microsoft.com/linkedin/marketing/community-management/organizations), not
//! PLATFORMS.md, which does not cover them.
//!
//! - `GET /rest/organizationAcls?q=roleAssignee[&role=…][&state=…][&start=…&count=…]`: the
//!   token's member's roles, `{"elements":[{"roleAssignee","role","state","organization"}],
//!   "paging":{"count","start","total","links"}}`.
//! - `GET /rest/organizations/{id}`: an organization the member administers (`localizedName`,
//!   `vanityName`, `name.localized`); any other id is `403 ACCESS_DENIED`.
//!
//! Both need the usual `/rest` headers and `rw_organization_admin`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::organizations_of;
use super::publish::{access_denied, illegal, rest_with};
use crate::sandbox::dispatch::RouteCtx;
use crate::sandbox::errors::json_response;
use crate::sandbox::state::Shared;

const SCOPE: &str = "rw_organization_admin";
const ROLES: &[&str] = &[
    "ADMINISTRATOR",
    "DIRECT_SPONSORED_CONTENT_POSTER",
    "RECRUITING_POSTER",
    "LEAD_CAPTURE_ADMINISTRATOR",
    "LEAD_GEN_FORMS_MANAGER",
    "ANALYST",
    "CURATOR",
    "CONTENT_ADMINISTRATOR",
];
const STATES: &[&str] = &["APPROVED", "REQUESTED", "REJECTED", "REVOKED"];
const DEFAULT_COUNT: usize = 10;
const MAX_COUNT: usize = 100;

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api.linkedin.com/rest/organizationAcls", get(acls))
        .route(
            "/api.linkedin.com/rest/organizations/{id}",
            get(organization),
        )
}

/// `GET /rest/organizationAcls?q=roleAssignee`: every sandbox member's role is ADMINISTRATOR,
/// APPROVED, so other roles and states find nothing.
async fn acls(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
) -> Response {
    let rest = match rest_with(
        &shared,
        &headers,
        "organizationAcls.FINDER-roleAssignee",
        &[SCOPE],
    ) {
        Ok(r) => r,
        Err(res) => return res,
    };
    let params = ctx.params();
    match params.get("q") {
        Some("roleAssignee") => {}
        Some(other) => return illegal(&format!("Unsupported finder {other} on organizationAcls")),
        None => {
            return illegal(
                "Resource method could not be resolved from request parameters: use q=roleAssignee",
            );
        }
    }
    let role = params.get("role");
    if let Some(r) = role
        && !ROLES.contains(&r)
    {
        return illegal(&format!("Invalid value {r} for parameter role"));
    }
    let state = params.get("state");
    if let Some(s) = state
        && !STATES.contains(&s)
    {
        return illegal(&format!("Invalid value {s} for parameter state"));
    }
    let number = |name: &str, default: usize| -> Result<usize, Response> {
        match params.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| illegal(&format!("Invalid value {v} for parameter {name}"))),
        }
    };
    let start = match number("start", 0) {
        Ok(n) => n,
        Err(res) => return res,
    };
    let count = match number("count", DEFAULT_COUNT) {
        Ok(n) => n.min(MAX_COUNT),
        Err(res) => return res,
    };
    let matching: Vec<Value> =
        if role.is_none_or(|r| r == "ADMINISTRATOR") && state.is_none_or(|s| s == "APPROVED") {
            organizations_of(&rest.token.grant.account)
                .iter()
                .map(|o| {
                    json!({
                        "roleAssignee": rest.member,
                        "role": "ADMINISTRATOR",
                        "state": "APPROVED",
                        "organization": o.urn(),
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
    let total = matching.len();
    let elements: Vec<Value> = matching.into_iter().skip(start).take(count).collect();
    json_response(
        StatusCode::OK,
        json!({
            "elements": elements,
            "paging": { "count": count, "start": start, "total": total, "links": [] },
        }),
    )
}

/// `GET /rest/organizations/{id}`.
async fn organization(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let rest = match rest_with(&shared, &headers, "organizations.GET", &[SCOPE]) {
        Ok(r) => r,
        Err(res) => return res,
    };
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return illegal(&format!("Invalid organization id {id}"));
    }
    let Some(org) = organizations_of(&rest.token.grant.account)
        .into_iter()
        .find(|o| o.id == id)
    else {
        return access_denied("organizations.GET", &rest.version);
    };
    json_response(
        StatusCode::OK,
        json!({
            "id": org.id.parse::<u64>().unwrap_or(0),
            "$URN": org.urn(),
            "localizedName": org.name,
            "name": {
                "localized": { "en_US": org.name },
                "preferredLocale": { "country": "US", "language": "en" },
            },
            "vanityName": org.vanity_name,
            "primaryOrganizationType": "NONE",
            "organizationType": "PRIVATELY_HELD",
            "localizedWebsite": format!("https://{}.example", org.vanity_name),
            "versionTag": "1",
        }),
    )
}

//! `/admin`: for the users listed in `ADMIN_USER_IDS` only; everyone else gets a 404, so the
//! page's existence isn't revealed.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use crate::error::AppError;
use crate::state::AppState;
use crate::web::areas::Area;
use crate::web::render;
use crate::web::session::{CurrentUser, PageContext};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin", get(admin))
}

const ADMIN: Area = Area {
    key: "admin",
    path: "/admin",
    title: "Admin",
    summary: "The state of this Picscripter installation.",
    empty_title: "Nothing to administer yet",
    empty_text: "The audit trail, the queue and worker status, and the list of users will be shown here.",
};

#[derive(Template)]
#[template(path = "areas/empty.html")]
struct AdminPage {
    ctx: PageContext,
    area: &'static Area,
}

async fn admin(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
) -> Result<Response, AppError> {
    if !state.config.is_admin(user.id) {
        return Err(AppError::NotFound);
    }
    render::page(&AdminPage {
        ctx: ctx.at("admin"),
        area: &ADMIN,
    })
}

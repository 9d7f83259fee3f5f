//! The areas whose features arrive with later work. Each shows an honest empty state that
//! says what will be there — never invented data.

use askama::Template;
use axum::Router;
use axum::response::Response;
use axum::routing::get;

use crate::error::AppError;
use crate::state::AppState;
use crate::web::render;
use crate::web::session::{CurrentUser, PageContext};

pub struct Area {
    pub key: &'static str,
    pub path: &'static str,
    pub title: &'static str,
    pub summary: &'static str,
    pub empty_title: &'static str,
    pub empty_text: &'static str,
}

/// Areas still to be built show an honest empty state (every area of the sidebar is built;
/// the admin page still uses the empty state).
pub const AREAS: &[Area] = &[];

#[derive(Template)]
#[template(path = "areas/empty.html")]
struct AreaPage {
    ctx: PageContext,
    area: &'static Area,
}

pub fn router() -> Router<AppState> {
    let mut router = Router::new();
    for area in AREAS {
        router = router.route(
            area.path,
            get(move |_user: CurrentUser, ctx: PageContext| async move { show(ctx, area) }),
        );
    }
    router
}

fn show(ctx: PageContext, area: &'static Area) -> Result<Response, AppError> {
    render::page(&AreaPage {
        ctx: ctx.at(area.key),
        area,
    })
}

//! The dashboard: where a user lands after logging in.

use askama::Template;
use axum::Router;
use axum::response::Response;
use axum::routing::get;

use crate::error::AppError;
use crate::state::AppState;
use crate::web::render;
use crate::web::session::{CurrentUser, PageContext};

pub fn router() -> Router<AppState> {
    Router::new().route("/dashboard", get(dashboard))
}

struct Step {
    icon: &'static str,
    title: &'static str,
    text: &'static str,
    href: &'static str,
    action: &'static str,
}

const STEPS: &[Step] = &[
    Step {
        icon: "connections",
        title: "Connect your accounts",
        text: "Link your social networks and your shop, so Picscripter can post for you and read your catalog.",
        href: "/connections",
        action: "Connections",
    },
    Step {
        icon: "media",
        title: "Add photos and videos",
        text: "Upload the pictures you want to post, once, and use them on every network.",
        href: "/media",
        action: "Media",
    },
    Step {
        icon: "studio",
        title: "Write captions",
        text: "Start from a product and get a caption for each network, in your voice.",
        href: "/studio",
        action: "AI Studio",
    },
    Step {
        icon: "calendar",
        title: "Schedule",
        text: "Put posts on the calendar; they go out on time, once.",
        href: "/calendar",
        action: "Calendar",
    },
];

#[derive(Template)]
#[template(path = "dashboard/index.html")]
struct DashboardPage {
    ctx: PageContext,
    steps: &'static [Step],
}

async fn dashboard(_user: CurrentUser, ctx: PageContext) -> Result<Response, AppError> {
    render::page(&DashboardPage {
        ctx: ctx.at("dashboard"),
        steps: STEPS,
    })
}

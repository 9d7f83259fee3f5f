//! The dashboard: where a user lands after logging in.

use askama::Template;
use axum::Router;
use axum::response::Response;
use axum::routing::get;

use axum::extract::State;

use crate::domain::Platform;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::connections;
use crate::web::posts as posts_page;
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

struct Attention {
    name: String,
    platform: &'static str,
    label: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "dashboard/index.html")]
struct DashboardPage {
    ctx: PageContext,
    steps: &'static [Step],
    connected: usize,
    attention: Vec<Attention>,
    upcoming: Vec<posts_page::Row>,
    failing: Vec<posts_page::Row>,
}

async fn dashboard(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
) -> Result<Response, AppError> {
    let models = state.connections.list_for_user(user.id).await?;
    let now = chrono::Utc::now();
    let attention = models
        .iter()
        .filter_map(|m| {
            let h = connections::health(m, connections::can_refresh(&state, m), now);
            h.needs_attention.then(|| Attention {
                name: m.display_name.clone(),
                platform: m
                    .platform
                    .parse::<Platform>()
                    .map(|p| p.display_name())
                    .unwrap_or("Unknown"),
                label: h.label,
                detail: h.detail,
            })
        })
        .collect();
    let zone = crate::domain::TimeZone::parse_or_utc(&user.time_zone);
    let upcoming = crate::posts::queries::upcoming(&state.db, user.id, now, 5).await?;
    let failing = crate::posts::queries::needing_attention(&state.db, user.id, 5).await?;
    render::page(&DashboardPage {
        ctx: ctx.at("dashboard"),
        steps: STEPS,
        connected: models.len(),
        attention,
        upcoming: upcoming.iter().map(|p| posts_page::row(p, zone)).collect(),
        failing: failing.iter().map(|p| posts_page::row(p, zone)).collect(),
    })
}

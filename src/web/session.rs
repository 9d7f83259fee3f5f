//! Typed access to the session, and the extractors handlers use to know who is asking.
//!
//! The session (in Redis, via tower-sessions) holds who is logged in, when they logged in, the
//! user's session epoch at that moment, the CSRF token and pending flash messages. A login
//! ends when the idle timeout passes (tower-sessions' expiry), when the absolute lifetime since
//! login passes, when the user's epoch moves on (password changed elsewhere), or when the
//! account is disabled.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::Utc;
use sea_orm::EntityTrait as _;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use uuid::Uuid;

use crate::entities::users;
use crate::error::AppError;
use crate::security::csrf;
use crate::state::AppState;
use crate::web::assets::Assets;

const AUTH: &str = "auth";
const FLASH: &str = "flash";

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Auth {
    user_id: Uuid,
    epoch: i32,
    /// Unix seconds of the login, for the absolute lifetime.
    at: i64,
}

/// Starts a logged-in session: a new session id (so a planted id is worthless), a new CSRF token.
pub async fn log_in(session: &Session, user: &users::Model) -> Result<(), AppError> {
    session.cycle_id().await?;
    session
        .insert(
            AUTH,
            Auth {
                user_id: user.id,
                epoch: user.session_epoch,
                at: Utc::now().timestamp(),
            },
        )
        .await?;
    csrf::rotate(session).await?;
    Ok(())
}

/// Ends the session entirely: the record in Redis and the cookie.
pub async fn log_out(session: &Session) -> Result<(), AppError> {
    session.flush().await?;
    Ok(())
}

/// Records the user's new epoch in this session after they changed their password (or ended
/// their other sessions), so this session survives while every other one ends. The session gets
/// a new id, saved at once; it is returned so the caller can keep it while ending the others.
pub async fn refresh_epoch(
    session: &Session,
    user: &users::Model,
) -> Result<Option<tower_sessions::session::Id>, AppError> {
    if let Some(mut auth) = session.get::<Auth>(AUTH).await? {
        auth.epoch = user.session_epoch;
        session.cycle_id().await?;
        session.insert(AUTH, auth).await?;
        session.save().await?;
    }
    Ok(session.id())
}

/// Ends every session of `user_id` but `keep`, wherever it is: the records leave Redis, so each
/// one's next request is anonymous (and sent to the login form). Returns how many ended.
///
/// Callers that must be sure no request in flight writes an ended session back also move the
/// user's `session_epoch` on (as a password change does): `load_user` refuses old epochs.
pub async fn end_sessions(
    state: &AppState,
    user_id: Uuid,
    keep: Option<&tower_sessions::session::Id>,
) -> anyhow::Result<usize> {
    Ok(
        crate::web::session_store::RedisSessionStore::new(state.redis.clone())
            .end_user_sessions(user_id, keep)
            .await?,
    )
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FlashKind {
    Success,
    Info,
    Error,
}

impl FlashKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FlashKind::Success => "success",
            FlashKind::Info => "info",
            FlashKind::Error => "error",
        }
    }
}

/// Queues a message for the next page this session sees.
pub async fn flash(
    session: &Session,
    kind: FlashKind,
    message: impl Into<String>,
) -> Result<(), AppError> {
    let mut list: Vec<Flash> = session.get(FLASH).await?.unwrap_or_default();
    list.push(Flash {
        kind,
        message: message.into(),
    });
    session.insert(FLASH, list).await?;
    Ok(())
}

#[derive(Clone)]
struct CachedUser(Option<users::Model>);

async fn session_of(parts: &mut Parts, state: &AppState) -> Result<Session, AppError> {
    Session::from_request_parts(parts, state)
        .await
        .map_err(|(_, msg)| AppError::Internal(anyhow::anyhow!("session unavailable: {msg}")))
}

/// The logged-in user, if any, loaded once per request.
async fn load_user(parts: &mut Parts, state: &AppState) -> Result<Option<users::Model>, AppError> {
    if let Some(CachedUser(u)) = parts.extensions.get::<CachedUser>() {
        return Ok(u.clone());
    }
    let session = session_of(parts, state).await?;
    let user = match session.get::<Auth>(AUTH).await? {
        None => None,
        Some(auth) => {
            let age = Utc::now().timestamp().saturating_sub(auth.at);
            let too_old = age > state.config.session_absolute_lifetime.as_secs() as i64;
            let user = if too_old {
                None
            } else {
                users::Entity::find_by_id(auth.user_id)
                    .one(&state.db)
                    .await?
            };
            match user {
                Some(u) if u.session_epoch == auth.epoch && u.disabled_at.is_none() => Some(u),
                _ => {
                    session.flush().await?;
                    None
                }
            }
        }
    };
    parts.extensions.insert(CachedUser(user.clone()));
    Ok(user)
}

/// The logged-in user. Pages without one send the visitor to the login form.
pub struct CurrentUser(pub users::Model);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        load_user(parts, state)
            .await?
            .map(CurrentUser)
            .ok_or(AppError::Unauthorized)
    }
}

/// What the layout shows of the user.
#[derive(Clone, Debug)]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub time_zone: String,
    pub is_admin: bool,
}

pub struct NavItem {
    pub key: &'static str,
    pub label: &'static str,
    pub href: &'static str,
}

const NAV: &[NavItem] = &[
    NavItem {
        key: "dashboard",
        label: "Dashboard",
        href: "/dashboard",
    },
    NavItem {
        key: "notifications",
        label: "Notifications",
        href: "/notifications",
    },
    NavItem {
        key: "studio",
        label: "AI Studio",
        href: "/studio",
    },
    NavItem {
        key: "calendar",
        label: "Calendar",
        href: "/calendar",
    },
    NavItem {
        key: "posts",
        label: "Posts",
        href: "/posts",
    },
    NavItem {
        key: "media",
        label: "Media",
        href: "/media",
    },
    NavItem {
        key: "products",
        label: "Products",
        href: "/products",
    },
    NavItem {
        key: "connections",
        label: "Connections",
        href: "/connections",
    },
    NavItem {
        key: "analytics",
        label: "Analytics",
        href: "/analytics",
    },
    NavItem {
        key: "settings",
        label: "Settings",
        href: "/settings",
    },
];

const ADMIN_NAV: NavItem = NavItem {
    key: "admin",
    label: "Admin",
    href: "/admin",
};

/// Everything the layout needs: who is logged in, the CSRF token, flashes, the current area.
pub struct PageContext {
    pub user: Option<UserView>,
    pub csrf_token: String,
    pub flashes: Vec<Flash>,
    pub nav: &'static str,
    /// Whether the analytics area is on (`METRICS_ENGAGEMENT`); off, it leaves the navigation.
    pub analytics: bool,
    assets: Arc<Assets>,
}

impl PageContext {
    /// For pages rendered outside a session (error pages): no user, no form token.
    pub fn bare(assets: Arc<Assets>) -> Self {
        Self {
            user: None,
            csrf_token: String::new(),
            flashes: Vec::new(),
            nav: "",
            analytics: true,
            assets,
        }
    }

    /// Marks which navigation entry is current.
    pub fn at(mut self, nav: &'static str) -> Self {
        self.nav = nav;
        self
    }

    pub fn asset(&self, path: &str) -> String {
        self.assets.url(path)
    }

    pub fn nav_items(&self) -> Vec<&'static NavItem> {
        let mut items: Vec<&'static NavItem> = NAV
            .iter()
            .filter(|i| self.analytics || i.key != "analytics")
            .collect();
        if self.user.as_ref().is_some_and(|u| u.is_admin) {
            items.push(&ADMIN_NAV);
        }
        items
    }
}

impl FromRequestParts<AppState> for PageContext {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = load_user(parts, state).await?;
        let session = session_of(parts, state).await?;
        let csrf_token = csrf::token_for(&session).await?;
        let flashes: Vec<Flash> = session.remove(FLASH).await?.unwrap_or_default();
        Ok(PageContext {
            user: user.map(|u| UserView {
                is_admin: state.config.is_admin(u.id),
                id: u.id,
                email: u.email,
                time_zone: u.time_zone,
            }),
            csrf_token,
            flashes,
            nav: "",
            analytics: state.config.features.metrics_engagement,
            assets: state.assets.clone(),
        })
    }
}

/// The client's address, as `security::client_ip` decides it.
pub struct ClientIp(pub std::net::IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(crate::security::client_ip::of_parts(
            parts,
            state.config.trust_proxy,
        )))
    }
}

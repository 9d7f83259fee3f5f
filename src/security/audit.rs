//! The audit log: an append-only record of security-relevant events. Never holds secrets —
//! callers pass only identifiers and plain facts in `details`.

use sea_orm::{ActiveModelTrait as _, ConnectionTrait, Set};
use serde_json::Value;
use uuid::Uuid;

use crate::entities::audit_events;

/// What happened. The string form is stored and shown in the admin viewer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    SignedUp,
    LoginSucceeded,
    LoginFailed,
    LoginThrottled,
    LoggedOut,
    PasswordChanged,
    TimeZoneChanged,
    ApiTokenCreated,
    ApiTokenRevoked,
    ConnectionConnected,
    ConnectionDisconnected,
    ConnectionRefreshed,
    ConnectionRefreshFailed,
    ConnectionNeedsReauth,
    ConnectionTokenUndecryptable,
    KeysRotated,
    /// A user-supplied address was not fetched because it points inside our network.
    OutboundRefused,
    OtherSessionsEnded,
    UserDisabled,
    UserEnabled,
    WebhookCreated,
    WebhookEnabled,
    WebhookDisabled,
    WebhookDeleted,
}

impl Action {
    /// Every action, for the admin viewer's filter.
    pub const ALL: &[Action] = &[
        Action::SignedUp,
        Action::LoginSucceeded,
        Action::LoginFailed,
        Action::LoginThrottled,
        Action::LoggedOut,
        Action::PasswordChanged,
        Action::TimeZoneChanged,
        Action::OtherSessionsEnded,
        Action::ApiTokenCreated,
        Action::ApiTokenRevoked,
        Action::ConnectionConnected,
        Action::ConnectionDisconnected,
        Action::ConnectionRefreshed,
        Action::ConnectionRefreshFailed,
        Action::ConnectionNeedsReauth,
        Action::ConnectionTokenUndecryptable,
        Action::KeysRotated,
        Action::OutboundRefused,
        Action::UserDisabled,
        Action::UserEnabled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::SignedUp => "user.signed_up",
            Action::LoginSucceeded => "user.login_succeeded",
            Action::LoginFailed => "user.login_failed",
            Action::LoginThrottled => "user.login_throttled",
            Action::LoggedOut => "user.logged_out",
            Action::PasswordChanged => "user.password_changed",
            Action::TimeZoneChanged => "user.time_zone_changed",
            Action::ApiTokenCreated => "api_token.created",
            Action::ApiTokenRevoked => "api_token.revoked",
            Action::ConnectionConnected => "connection.connected",
            Action::ConnectionDisconnected => "connection.disconnected",
            Action::ConnectionRefreshed => "connection.refreshed",
            Action::ConnectionRefreshFailed => "connection.refresh_failed",
            Action::ConnectionNeedsReauth => "connection.needs_reauth",
            Action::ConnectionTokenUndecryptable => "connection.token_undecryptable",
            Action::KeysRotated => "keys.rotated",
            Action::OutboundRefused => "outbound.refused",
            Action::OtherSessionsEnded => "user.other_sessions_ended",
            Action::UserDisabled => "admin.user_disabled",
            Action::UserEnabled => "admin.user_enabled",
            Action::WebhookCreated => "webhook.created",
            Action::WebhookEnabled => "webhook.enabled",
            Action::WebhookDisabled => "webhook.disabled",
            Action::WebhookDeleted => "webhook.deleted",
        }
    }
}

pub struct Event<'a> {
    pub action: Action,
    pub actor: Option<Uuid>,
    pub ip: Option<String>,
    pub subject: Option<&'a str>,
    pub details: Value,
}

impl<'a> Event<'a> {
    pub fn new(action: Action) -> Self {
        Self {
            action,
            actor: None,
            ip: None,
            subject: None,
            details: Value::Object(Default::default()),
        }
    }

    pub fn actor(mut self, user_id: Uuid) -> Self {
        self.actor = Some(user_id);
        self
    }

    pub fn ip(mut self, ip: impl ToString) -> Self {
        self.ip = Some(ip.to_string());
        self
    }

    pub fn subject(mut self, subject: &'a str) -> Self {
        self.subject = Some(subject);
        self
    }

    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

#[tracing::instrument(skip_all, fields(action = event.action.as_str()))]
pub async fn record(db: &impl ConnectionTrait, event: Event<'_>) -> Result<(), sea_orm::DbErr> {
    audit_events::ActiveModel {
        id: Set(Uuid::now_v7()),
        occurred_at: Set(chrono::Utc::now()),
        actor_user_id: Set(event.actor),
        ip: Set(event.ip),
        action: Set(event.action.as_str().to_owned()),
        subject: Set(event.subject.map(str::to_owned)),
        details: Set(event.details),
    }
    .insert(db)
    .await
    .map(|_| ())
}

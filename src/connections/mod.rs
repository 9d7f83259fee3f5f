//! Connected accounts: storing their tokens encrypted, handing out fresh access tokens, refresh
//! (single-flight), disconnect, and key rotation. Used by the web process (connecting) and the
//! worker (refreshing ahead of expiry, publishing).
//!
//! Refresh rules, from DESIGN.md: one refresh per connection at a time — a process-local lock
//! plus a Postgres row lock (`SELECT … FOR UPDATE`, re-read under the lock) so several web and
//! worker processes agree; a rotated refresh token is saved before anything uses it; only the
//! platform's "this grant is dead" answer marks a connection as needing re-authorization, never
//! a network error; and a stored refresh token is never replaced by an empty one.

pub mod rotate;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, ConnectionTrait, DatabaseConnection, EntityTrait as _,
    QueryFilter as _, QueryOrder as _, QuerySelect as _, Set, TransactionTrait as _,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::domain::{Platform, PlatformKind};
use crate::entities::connections::{self, Model};
use crate::entities::enums::{ConnectionKind, ConnectionStatus};
use crate::platforms::{OAuthError, Registry, RemoteAccount, StoredGrant, TokenSet};
use crate::security::audit::{self, Action};
use crate::security::cipher::TokenCipher;

/// Associated data binding a ciphertext to its row and field.
pub fn aad(id: Uuid, field: &str) -> String {
    format!("connections:{id}:{field}")
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the connection does not exist")]
    NotFound,
    /// The person must connect the account again (the reason is in plain words).
    #[error("the connection needs to be re-authorized: {0}")]
    NeedsReauth(String),
    /// A transient failure (network, platform 5xx, rate limit): try again later.
    #[error("the platform could not be reached: {0}")]
    Temporary(String),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

/// Why a refresh is wanted, which decides when it is no longer needed.
#[derive(Debug, Clone)]
pub enum RefreshReason {
    /// The token expires before this time; skip if it (no longer) does.
    ExpiresBefore(DateTime<Utc>),
    /// The platform refused the token with this SHA-256; skip if the stored token differs.
    Rejected(String),
}

/// Whether a refresh happened or someone else's fresh token was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshOutcome {
    Refreshed,
    AlreadyFresh,
}

#[derive(Clone)]
pub struct Connections {
    db: DatabaseConnection,
    cipher: TokenCipher,
    registry: Registry,
    locks: Arc<Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<()>>>>>,
}

impl Connections {
    pub fn new(db: DatabaseConnection, cipher: TokenCipher, registry: Registry) -> Self {
        Self {
            db,
            cipher,
            registry,
            locks: Arc::default(),
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn cipher(&self) -> &TokenCipher {
        &self.cipher
    }

    // ---- queries ----

    /// A user's connections, newest first, without the disconnected ones.
    pub async fn list_for_user(&self, user_id: Uuid) -> Result<Vec<Model>, sea_orm::DbErr> {
        connections::Entity::find()
            .filter(connections::Column::UserId.eq(user_id))
            .filter(connections::Column::Status.ne(ConnectionStatus::Revoked))
            .order_by_asc(connections::Column::CreatedAt)
            .all(&self.db)
            .await
    }

    /// One of the user's connections; another user's is simply not found.
    pub async fn find_for_user(
        &self,
        user_id: Uuid,
        id: Uuid,
    ) -> Result<Option<Model>, sea_orm::DbErr> {
        connections::Entity::find_by_id(id)
            .filter(connections::Column::UserId.eq(user_id))
            .filter(connections::Column::Status.ne(ConnectionStatus::Revoked))
            .one(&self.db)
            .await
    }

    // ---- storing ----

    /// Stores (or, for an account connected before, renews) a connection after consent.
    /// `grant_tokens` is what the code exchange returned; an account with its own token (a
    /// Facebook Page) keeps the grant's token in the refresh slot, for revocation.
    pub async fn save_connected(
        &self,
        user_id: Uuid,
        platform: Platform,
        account: &RemoteAccount,
        grant_tokens: &TokenSet,
        ip: Option<String>,
    ) -> Result<(Model, bool), sea_orm::DbErr> {
        let (access, refresh) = match &account.access_token {
            Some(own) => (own.clone(), Some(grant_tokens.access_token.clone())),
            None => (
                grant_tokens.access_token.clone(),
                grant_tokens.refresh_token.clone(),
            ),
        };
        let expires_at = if account.access_token.is_some() {
            None
        } else {
            grant_tokens.expires_at
        };
        let now = Utc::now();
        let existing = connections::Entity::find()
            .filter(connections::Column::UserId.eq(user_id))
            .filter(connections::Column::Platform.eq(platform.as_str()))
            .filter(connections::Column::AccountId.eq(account.account_id.as_str()))
            .one(&self.db)
            .await?;
        let is_new = existing.is_none();
        let id = existing.as_ref().map(|m| m.id).unwrap_or_else(Uuid::now_v7);
        let refresh_enc = match (&refresh, &existing) {
            (Some(r), _) => Some(self.cipher.encrypt(r, &aad(id, "refresh"))),
            // Never replace a stored refresh token with nothing.
            (None, Some(m)) => m.refresh_token_enc.clone(),
            (None, None) => None,
        };
        let mut model = connections::ActiveModel {
            id: Set(id),
            user_id: Set(user_id),
            platform: Set(platform.as_str().to_owned()),
            kind: Set(match platform.kind() {
                PlatformKind::Social => ConnectionKind::Social,
                PlatformKind::Commerce => ConnectionKind::Commerce,
            }),
            account_id: Set(account.account_id.clone()),
            display_name: Set(account.display_name.clone()),
            avatar_url: Set(account.avatar_url.clone()),
            access_token_enc: Set(Some(self.cipher.encrypt(&access, &aad(id, "access")))),
            refresh_token_enc: Set(refresh_enc),
            key_version: Set(Some(self.cipher.current_version() as i32)),
            expires_at: Set(expires_at),
            refresh_expires_at: Set(grant_tokens.refresh_expires_at),
            scopes: Set(grant_tokens.scopes.clone()),
            status: Set(ConnectionStatus::Active),
            last_error: Set(None),
            last_refreshed_at: Set(Some(now)),
            metadata: Set(merge_metadata(
                existing.as_ref().map(|m| &m.metadata),
                &account.metadata,
            )),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let saved = if let Some(old) = existing {
            model.created_at = Set(old.created_at);
            model.update(&self.db).await?
        } else {
            model.insert(&self.db).await?
        };
        let mut event = audit::Event::new(Action::ConnectionConnected)
            .actor(user_id)
            .subject(&saved.platform)
            .details(json!({ "connection_id": saved.id, "account": saved.display_name, "reconnected": !is_new }));
        if let Some(ip) = ip {
            event = event.ip(ip);
        }
        audit::record(&self.db, event).await?;
        Ok((saved, is_new))
    }

    /// The decrypted grant of a connection. A token that doesn't decrypt marks the connection as
    /// needing re-authorization (with an audit event) instead of failing the caller's request.
    pub async fn grant(&self, model: &Model) -> Result<StoredGrant, TokenError> {
        match self.decrypt(model) {
            Ok(g) => Ok(g),
            Err(e) => {
                tracing::warn!(connection = %model.id, error = %e, "a stored token does not decrypt");
                self.mark_needs_reauth(&self.db, model, "We couldn't read the stored sign-in for this account. Please connect it again.", true)
                    .await?;
                Err(TokenError::NeedsReauth(
                    "the stored token can't be decrypted".into(),
                ))
            }
        }
    }

    fn decrypt(&self, model: &Model) -> Result<StoredGrant, crate::security::cipher::CipherError> {
        let access = model
            .access_token_enc
            .as_deref()
            .map(|c| self.cipher.decrypt(c, &aad(model.id, "access")))
            .transpose()?;
        let refresh = model
            .refresh_token_enc
            .as_deref()
            .map(|c| self.cipher.decrypt(c, &aad(model.id, "refresh")))
            .transpose()?;
        Ok(StoredGrant {
            account_id: model.account_id.clone(),
            metadata: model.metadata.clone(),
            access_token: access,
            refresh_token: refresh,
            expires_at: model.expires_at,
            obtained_at: model.last_refreshed_at.unwrap_or(model.created_at),
        })
    }

    async fn mark_needs_reauth(
        &self,
        db: &impl ConnectionTrait,
        model: &Model,
        reason: &str,
        undecryptable: bool,
    ) -> Result<(), sea_orm::DbErr> {
        // The status change queues the owner's `connection.needs_reauth` webhooks in the same
        // transaction, by a trigger (`crate::webhooks`).
        connections::Entity::update_many()
            .col_expr(
                connections::Column::Status,
                Expr::value(ConnectionStatus::NeedsReauth),
            )
            .col_expr(
                connections::Column::LastError,
                Expr::value(reason.to_owned()),
            )
            .col_expr(connections::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(connections::Column::Id.eq(model.id))
            .exec(db)
            .await?;
        let action = if undecryptable {
            Action::ConnectionTokenUndecryptable
        } else {
            Action::ConnectionNeedsReauth
        };
        audit::record(
            db,
            audit::Event::new(action)
                .actor(model.user_id)
                .subject(&model.platform)
                .details(json!({ "connection_id": model.id, "reason": reason })),
        )
        .await
    }

    /// The platform refused even a freshly refreshed token: only reconnecting helps.
    pub async fn mark_rejected(&self, id: Uuid, reason: &str) -> Result<(), sea_orm::DbErr> {
        let Some(model) = connections::Entity::find_by_id(id).one(&self.db).await? else {
            return Ok(());
        };
        self.mark_needs_reauth(&self.db, &model, reason, false)
            .await
    }

    // ---- tokens for calls ----

    /// A usable access token: refreshed first if it expires within a minute and can be.
    pub async fn access_token(&self, id: Uuid) -> Result<SecretString, TokenError> {
        let model = connections::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(TokenError::NotFound)?;
        self.access_token_of(&model).await
    }

    /// Like [`Connections::access_token`], for a connection row the caller just read.
    pub async fn access_token_of(&self, model: &Model) -> Result<SecretString, TokenError> {
        let id = model.id;
        let model = model.clone();
        self.ensure_usable(&model)?;
        let grant = self.grant(&model).await?;
        let soon = Utc::now() + chrono::Duration::seconds(60);
        if model.expires_at.is_some_and(|e| e <= soon) {
            return self
                .refresh(id, RefreshReason::ExpiresBefore(soon))
                .await
                .map(|(token, _)| token);
        }
        grant
            .access_token
            .ok_or_else(|| TokenError::NeedsReauth("no token stored".into()))
    }

    fn ensure_usable(&self, model: &Model) -> Result<(), TokenError> {
        match model.status {
            ConnectionStatus::Active | ConnectionStatus::Error => Ok(()),
            ConnectionStatus::NeedsReauth => Err(TokenError::NeedsReauth(
                model.last_error.clone().unwrap_or_default(),
            )),
            ConnectionStatus::Revoked => Err(TokenError::NotFound),
        }
    }

    /// Runs `call` with a fresh token; if the platform answers that the token is no longer
    /// valid, refreshes once (unless someone already did) and runs it again.
    pub async fn with_token<T, F, Fut>(&self, id: Uuid, call: F) -> Result<T, TokenError>
    where
        F: Fn(SecretString) -> Fut,
        Fut: Future<Output = Result<T, OAuthError>>,
    {
        let token = self.access_token(id).await?;
        let seen = crate::security::sha256_hex(token.expose_secret().as_bytes());
        match call(token).await {
            Ok(v) => Ok(v),
            Err(OAuthError::InvalidGrant(_)) => {
                let (fresh, _) = self.refresh(id, RefreshReason::Rejected(seen)).await?;
                call(fresh).await.map_err(|e| match e {
                    OAuthError::InvalidGrant(m) => TokenError::NeedsReauth(m),
                    other => TokenError::Temporary(other.to_string()),
                })
            }
            Err(e) => Err(TokenError::Temporary(e.to_string())),
        }
    }

    /// Refreshes a connection's tokens, once across every caller and process. Under the lock
    /// the row is read again: if another caller already did the work (`reason` no longer
    /// holds), its token is returned as is.
    pub async fn refresh(
        &self,
        id: Uuid,
        reason: RefreshReason,
    ) -> Result<(SecretString, RefreshOutcome), TokenError> {
        let lock = self.local_lock(id);
        let _guard = lock.lock().await;
        let result = self.refresh_locked(id, reason).await;
        drop(_guard);
        self.release_local_lock(id, lock);
        result
    }

    fn local_lock(&self, id: Uuid) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self
            .locks
            .lock()
            .expect("the lock map is never poisoned: no panics while held");
        map.entry(id).or_default().clone()
    }

    fn release_local_lock(&self, id: Uuid, lock: Arc<tokio::sync::Mutex<()>>) {
        let mut map = self
            .locks
            .lock()
            .expect("the lock map is never poisoned: no panics while held");
        drop(lock);
        if map.get(&id).is_some_and(|l| Arc::strong_count(l) == 1) {
            map.remove(&id);
        }
    }

    async fn refresh_locked(
        &self,
        id: Uuid,
        reason: RefreshReason,
    ) -> Result<(SecretString, RefreshOutcome), TokenError> {
        let txn = self.db.begin().await?;
        let model = connections::Entity::find_by_id(id)
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or(TokenError::NotFound)?;
        self.ensure_usable(&model)?;
        let grant = match self.decrypt(&model) {
            Ok(g) => g,
            Err(_) => {
                self.mark_needs_reauth(&txn, &model, "We couldn't read the stored sign-in for this account. Please connect it again.", true)
                    .await?;
                txn.commit().await?;
                return Err(TokenError::NeedsReauth(
                    "the stored token can't be decrypted".into(),
                ));
            }
        };
        let current_hash = grant
            .access_token
            .as_ref()
            .map(|t| crate::security::sha256_hex(t.expose_secret().as_bytes()));
        let someone_else_refreshed = match &reason {
            RefreshReason::Rejected(seen) => current_hash.as_deref() != Some(seen.as_str()),
            RefreshReason::ExpiresBefore(before) => model.expires_at.is_none_or(|e| e > *before),
        };
        if someone_else_refreshed && let Some(token) = grant.access_token.clone() {
            txn.commit().await?;
            return Ok((token, RefreshOutcome::AlreadyFresh));
        }
        let platform: Platform = model.platform.parse().map_err(|_| TokenError::NotFound)?;
        let Some(provider) = self.registry.oauth(platform) else {
            txn.commit().await?;
            return Err(TokenError::Temporary(format!(
                "{} is not configured",
                platform.display_name()
            )));
        };
        if !provider.can_refresh(&grant) {
            let reason = format!(
                "{} access has expired and can't be renewed automatically. Please connect the account again.",
                platform.display_name()
            );
            self.mark_needs_reauth(&txn, &model, &reason, false).await?;
            txn.commit().await?;
            return Err(TokenError::NeedsReauth(reason));
        }
        match provider.refresh(&grant).await {
            Ok(tokens) => {
                let now = Utc::now();
                let mut active: connections::ActiveModel = model.clone().into();
                active.access_token_enc = Set(Some(
                    self.cipher
                        .encrypt(&tokens.access_token, &aad(id, "access")),
                ));
                // Re-seal the refresh token under the current key even when it didn't change,
                // so both ciphertexts share the row's key version.
                match tokens
                    .refresh_token
                    .as_ref()
                    .or(grant.refresh_token.as_ref())
                {
                    Some(r) => {
                        active.refresh_token_enc =
                            Set(Some(self.cipher.encrypt(r, &aad(id, "refresh"))))
                    }
                    None => active.refresh_token_enc = Set(None),
                }
                if tokens.refresh_expires_at.is_some() {
                    active.refresh_expires_at = Set(tokens.refresh_expires_at);
                }
                active.key_version = Set(Some(self.cipher.current_version() as i32));
                active.expires_at = Set(tokens.expires_at);
                if !tokens.scopes.is_empty() {
                    active.scopes = Set(tokens.scopes.clone());
                }
                active.status = Set(ConnectionStatus::Active);
                active.last_error = Set(None);
                active.last_refreshed_at = Set(Some(now));
                active.updated_at = Set(now);
                active.update(&txn).await?;
                audit::record(
                    &txn,
                    audit::Event::new(Action::ConnectionRefreshed)
                        .actor(model.user_id)
                        .subject(&model.platform)
                        .details(json!({ "connection_id": id, "rotated_refresh_token": tokens.refresh_token.is_some() })),
                )
                .await?;
                // Committed before anyone can use the new tokens: a rotated refresh token is
                // never lost between the platform issuing it and us storing it.
                txn.commit().await?;
                Ok((tokens.access_token, RefreshOutcome::Refreshed))
            }
            Err(OAuthError::InvalidGrant(detail)) => {
                let reason = format!(
                    "{} no longer accepts Picscripter's access to this account (it may have been revoked or expired). Please connect it again.",
                    platform.display_name()
                );
                tracing::info!(connection = %id, %detail, "the grant is dead");
                self.mark_needs_reauth(&txn, &model, &reason, false).await?;
                txn.commit().await?;
                Err(TokenError::NeedsReauth(reason))
            }
            Err(other) => {
                audit::record(
                    &txn,
                    audit::Event::new(Action::ConnectionRefreshFailed)
                        .actor(model.user_id)
                        .subject(&model.platform)
                        .details(json!({ "connection_id": id, "error": other.to_string() })),
                )
                .await?;
                txn.commit().await?;
                Err(TokenError::Temporary(other.to_string()))
            }
        }
    }

    /// Active connections whose token expires before `horizon`, for the refresh job.
    pub async fn expiring_before(
        &self,
        horizon: DateTime<Utc>,
    ) -> Result<Vec<Model>, sea_orm::DbErr> {
        connections::Entity::find()
            .filter(connections::Column::Status.eq(ConnectionStatus::Active))
            .filter(connections::Column::ExpiresAt.lt(horizon))
            .order_by_asc(connections::Column::ExpiresAt)
            .limit(500)
            .all(&self.db)
            .await
    }

    // ---- disconnecting ----

    /// Revokes at the platform where it allows, then deletes the tokens. The row stays (as
    /// `revoked`) so published posts keep their history; connecting the account again reuses it.
    /// Returns whether the platform confirmed the revocation.
    pub async fn disconnect(
        &self,
        model: &Model,
        ip: Option<String>,
    ) -> Result<bool, sea_orm::DbErr> {
        let platform: Option<Platform> = model.platform.parse().ok();
        let mut revoked = false;
        if let (Some(platform), Ok(grant)) = (platform, self.decrypt(model)) {
            // One Facebook login can back several Pages; revoking it would cut them all.
            let shared =
                platform == Platform::Facebook && self.shares_facebook_login(model).await?;
            if let Some(provider) = self.registry.oauth(platform).filter(|_| !shared) {
                match provider.revoke(&grant).await {
                    Ok(done) => revoked = done,
                    Err(e) => {
                        tracing::warn!(connection = %model.id, error = %e, "revoking at the platform failed; deleting our tokens anyway")
                    }
                }
            }
        }
        connections::Entity::update_many()
            .col_expr(
                connections::Column::Status,
                Expr::value(ConnectionStatus::Revoked),
            )
            .col_expr(
                connections::Column::AccessTokenEnc,
                Expr::value(Option::<Vec<u8>>::None),
            )
            .col_expr(
                connections::Column::RefreshTokenEnc,
                Expr::value(Option::<Vec<u8>>::None),
            )
            .col_expr(
                connections::Column::KeyVersion,
                Expr::value(Option::<i32>::None),
            )
            .col_expr(
                connections::Column::ExpiresAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(connections::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(connections::Column::Id.eq(model.id))
            .exec(&self.db)
            .await?;
        let mut event = audit::Event::new(Action::ConnectionDisconnected)
            .actor(model.user_id)
            .subject(&model.platform)
            .details(json!({ "connection_id": model.id, "account": model.display_name, "revoked_at_platform": revoked }));
        if let Some(ip) = ip {
            event = event.ip(ip);
        }
        audit::record(&self.db, event).await?;
        Ok(revoked)
    }

    async fn shares_facebook_login(&self, model: &Model) -> Result<bool, sea_orm::DbErr> {
        let Some(fb_user) = model.metadata.get("fb_user_id").and_then(Value::as_str) else {
            return Ok(false);
        };
        let others = connections::Entity::find()
            .filter(connections::Column::UserId.eq(model.user_id))
            .filter(connections::Column::Platform.eq(Platform::Facebook.as_str()))
            .filter(connections::Column::Status.ne(ConnectionStatus::Revoked))
            .filter(connections::Column::Id.ne(model.id))
            .all(&self.db)
            .await?;
        Ok(others
            .iter()
            .any(|o| o.metadata.get("fb_user_id").and_then(Value::as_str) == Some(fb_user)))
    }

    /// Updates non-secret metadata (e.g. Pinterest's default board).
    pub async fn set_metadata(
        &self,
        model: &Model,
        key: &str,
        value: Value,
    ) -> Result<Model, sea_orm::DbErr> {
        let mut metadata = model.metadata.clone();
        if let Value::Object(map) = &mut metadata {
            map.insert(key.to_owned(), value);
        }
        let mut active: connections::ActiveModel = model.clone().into();
        active.metadata = Set(metadata);
        active.updated_at = Set(Utc::now());
        active.update(&self.db).await
    }

    /// Checks a connection by looking its account up at the platform (refreshing once if the
    /// platform says the token is no longer valid).
    pub async fn check(&self, model: &Model) -> Result<(), TokenError> {
        let platform: Platform = model.platform.parse().map_err(|_| TokenError::NotFound)?;
        let provider = self.registry.oauth(platform).ok_or_else(|| {
            TokenError::Temporary(format!("{} is not configured", platform.display_name()))
        })?;
        let shop = model
            .metadata
            .get("shop_domain")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let result = self
            .with_token(model.id, |token| {
                let provider = &provider;
                let shop = shop.clone();
                async move {
                    let tokens = TokenSet {
                        access_token: token,
                        refresh_token: None,
                        expires_at: None,
                        refresh_expires_at: None,
                        scopes: vec![],
                    };
                    provider.accounts(&tokens, shop.as_deref()).await
                }
            })
            .await;
        match result {
            Ok(_) => {
                if model.status == ConnectionStatus::Error {
                    connections::Entity::update_many()
                        .col_expr(
                            connections::Column::Status,
                            Expr::value(ConnectionStatus::Active),
                        )
                        .col_expr(
                            connections::Column::LastError,
                            Expr::value(Option::<String>::None),
                        )
                        .filter(connections::Column::Id.eq(model.id))
                        .exec(&self.db)
                        .await?;
                }
                Ok(())
            }
            Err(TokenError::NeedsReauth(reason)) => {
                if let Some(current) = connections::Entity::find_by_id(model.id)
                    .one(&self.db)
                    .await?
                    && current.status == ConnectionStatus::Active
                {
                    self.mark_needs_reauth(&self.db, &current, &reason, false)
                        .await?;
                }
                Err(TokenError::NeedsReauth(reason))
            }
            Err(e) => Err(e),
        }
    }
}

/// New facts from the platform win; choices the user made (the default board) survive.
fn merge_metadata(old: Option<&Value>, new: &Value) -> Value {
    let mut out = new.clone();
    if let (Some(Value::Object(old)), Value::Object(map)) = (old, &mut out) {
        // The default board is the user's choice; keep it while the board still exists.
        let key = "default_board_id";
        let still_exists = map
            .get("boards")
            .and_then(Value::as_array)
            .is_none_or(|boards| boards.iter().any(|b| b.get("id") == old.get(key)));
        if let Some(v) = old.get(key).filter(|v| !v.is_null())
            && still_exists
        {
            map.insert(key.to_owned(), v.clone());
        }
    }
    out
}

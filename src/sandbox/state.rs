//! The sandbox's memory: authorization codes, tokens, the accounts that have consented, what was
//! published, each platform's publishing work in progress (uploads, containers, sessions), and
//! the generators every token and id comes from. One `Shared` sits behind every router; each
//! part has its own lock, held only for a few map operations and never across an `.await`, so
//! requests for different platforms never wait on each other.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::SandboxConfig;
use super::catalog::CatalogState;
use super::clock::Clock;
use super::facebook::publish::FbState;
use super::faults::Faults;
use super::gemini::GeminiState;
use super::instagram::publish::IgState;
use super::linkedin::publish::LiState;
use super::media;
use super::oauth::Pkce;
use super::personas;
use super::pinterest::publish::PinState;
use super::published::{Accepted, Duplicate, Filter, PublishedLog, PublishedRecord};
use super::recorder::RequestLog;
use super::tiktok::publish::TiktokState;
use super::x::publish::XState;
use super::youtube::publish::YtState;
use crate::domain::Platform;

pub(crate) struct Shared {
    pub config: SandboxConfig,
    pub clock: Clock,
    store: Mutex<Store>,
    faults: Mutex<Faults>,
    log: Mutex<RequestLog>,
    published: Mutex<PublishedLog>,
    /// Ids of published things (posts, media, containers…), apart from token material so that
    /// publishing does not wait on the token store.
    ids: Mutex<IdGen>,
    /// Pulls media from the URLs platforms are given.
    pub http: reqwest::Client,
    pub limits: Limits,
    pub x: Mutex<XState>,
    pub instagram: Mutex<IgState>,
    pub pinterest: Mutex<PinState>,
    pub tiktok: Mutex<TiktokState>,
    pub youtube: Mutex<YtState>,
    pub facebook: Mutex<FbState>,
    pub linkedin: Mutex<LiState>,
    /// Hand edits of the commerce catalogs, Squarespace cursors, and the catalog epoch.
    catalog: Mutex<CatalogState>,
    /// Etsy's per-second and per-day request counts (per API key) and Squarespace's
    /// per-minute counts and cooldowns (per site).
    pub commerce_limits: Mutex<CommerceLimits>,
    /// Shopify's bulk operations and their files' measurements.
    pub shopify_bulk: Mutex<super::shopify::bulk::BulkState>,
    /// Gemini's queued faults and the request bodies it received.
    gemini: Mutex<GeminiState>,
}

impl Shared {
    pub fn new(config: SandboxConfig) -> Self {
        let store = Store::new(config.seed);
        let faults = Faults::new(config.seed);
        let log = RequestLog::new(config.request_log_limit);
        let limits = Limits {
            instagram_publish: AtomicU32::new(config.instagram_publish_limit),
            youtube_uploads: AtomicU32::new(config.youtube_uploads_per_day),
            youtube_units: AtomicU32::new(config.youtube_units_per_day),
            x_post_lookups: AtomicU32::new(config.x_post_lookups_per_15_min),
        };
        let clock = Clock::default();
        let epoch = clock.now();
        Self {
            ids: Mutex::new(IdGen::new(config.seed ^ 0x7075_626c_6973_6821)),
            config,
            clock,
            store: Mutex::new(store),
            faults: Mutex::new(faults),
            log: Mutex::new(log),
            published: Mutex::new(PublishedLog::default()),
            http: media::http_client(),
            limits,
            x: Mutex::default(),
            instagram: Mutex::default(),
            pinterest: Mutex::default(),
            tiktok: Mutex::default(),
            youtube: Mutex::default(),
            facebook: Mutex::default(),
            linkedin: Mutex::default(),
            catalog: Mutex::new(CatalogState::new(epoch)),
            commerce_limits: Mutex::default(),
            shopify_bulk: Mutex::default(),
            gemini: Mutex::default(),
        }
    }

    pub fn gemini(&self) -> MutexGuard<'_, GeminiState> {
        lock(&self.gemini)
    }

    pub fn catalog(&self) -> MutexGuard<'_, CatalogState> {
        lock(&self.catalog)
    }

    pub fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.faults)
    }

    pub fn log(&self) -> MutexGuard<'_, RequestLog> {
        lock(&self.log)
    }

    pub fn published_list(&self, filter: &Filter) -> Vec<PublishedRecord> {
        lock(&self.published).list(filter)
    }

    /// The log of publications, for lookups by id or account.
    pub fn published(&self) -> MutexGuard<'_, PublishedLog> {
        lock(&self.published)
    }

    /// Keeps what a platform accepted for publication, for `GET /_sandbox/published`.
    pub fn record_published(&self, accepted: Accepted) -> PublishedRecord {
        lock(&self.published).record(accepted)
    }

    pub fn duplicates(&self, platform: Option<Platform>) -> Vec<Duplicate> {
        lock(&self.published).duplicates(platform)
    }

    pub fn clear_published(&self) {
        lock(&self.published).clear();
    }

    /// A decimal id of `digits` digits that does not start with zero.
    pub fn new_digits(&self, digits: usize) -> String {
        let mut ids = lock(&self.ids);
        let first = ids.token("123456789", 1);
        first + &ids.token("0123456789", digits.saturating_sub(1))
    }

    /// `len` characters from `alphabet` (alphanumeric when empty).
    pub fn new_chars(&self, alphabet: &str, len: usize) -> String {
        lock(&self.ids).token(alphabet, len)
    }

    pub fn client_id(&self, platform: Platform) -> &str {
        self.config.client(platform).0
    }

    pub fn client_secret(&self, platform: Platform) -> &str {
        self.config.client(platform).1
    }
}

/// A poisoned lock only means another request panicked mid-update; the maps stay usable, and a
/// sandbox that keeps answering is worth more than one that stops.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Request counters of the commerce APIs' documented rate limits.
#[derive(Debug, Default)]
pub(crate) struct CommerceLimits {
    /// Etsy, per API key: the second being counted and its count, and the requests of the
    /// last 24 hours (sliding).
    pub etsy_second: HashMap<String, (i64, u32)>,
    pub etsy_day: HashMap<String, std::collections::VecDeque<DateTime<Utc>>>,
    /// Squarespace, per site: the minute window's start and count, and a cooldown's end.
    pub squarespace_minute: HashMap<String, (DateTime<Utc>, u32)>,
    pub squarespace_cooldown: HashMap<String, DateTime<Utc>>,
}

/// Platform quotas that a benchmark may want to lift at run time (`POST /_sandbox/limits`).
pub(crate) struct Limits {
    instagram_publish: AtomicU32,
    youtube_uploads: AtomicU32,
    youtube_units: AtomicU32,
    x_post_lookups: AtomicU32,
}

impl Limits {
    /// Posts an Instagram account may publish in a moving 24 hours.
    pub fn instagram_publish(&self) -> u32 {
        self.instagram_publish.load(Ordering::Relaxed)
    }

    /// `videos.insert` calls a client may make per (Pacific) day.
    pub fn youtube_uploads(&self) -> u32 {
        self.youtube_uploads.load(Ordering::Relaxed)
    }

    /// Units of the shared YouTube bucket a client may use per (Pacific) day.
    pub fn youtube_units(&self) -> u32 {
        self.youtube_units.load(Ordering::Relaxed)
    }

    /// `GET /2/tweets?ids=` requests an X token may make per 15 minutes.
    pub fn x_post_lookups(&self) -> u32 {
        self.x_post_lookups.load(Ordering::Relaxed)
    }

    pub fn view(&self) -> LimitsSpec {
        LimitsSpec {
            instagram_publish_limit: Some(self.instagram_publish()),
            youtube_uploads_per_day: Some(self.youtube_uploads()),
            youtube_units_per_day: Some(self.youtube_units()),
            x_post_lookups_per_15_min: Some(self.x_post_lookups()),
        }
    }

    pub fn set(&self, spec: &LimitsSpec) {
        if let Some(n) = spec.instagram_publish_limit {
            self.instagram_publish.store(n, Ordering::Relaxed);
        }
        if let Some(n) = spec.youtube_uploads_per_day {
            self.youtube_uploads.store(n, Ordering::Relaxed);
        }
        if let Some(n) = spec.youtube_units_per_day {
            self.youtube_units.store(n, Ordering::Relaxed);
        }
        if let Some(n) = spec.x_post_lookups_per_15_min {
            self.x_post_lookups.store(n, Ordering::Relaxed);
        }
    }
}

/// `GET` / `POST /_sandbox/limits`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instagram_publish_limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub youtube_uploads_per_day: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub youtube_units_per_day: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_post_lookups_per_15_min: Option<u32>,
}

/// What a person agreed to on a consent page; every code and token carries the grant it came
/// from, so revoking "the app's access" can find all of them.
#[derive(Clone, Debug)]
pub(crate) struct Grant {
    pub id: u64,
    pub platform: Platform,
    pub client_id: String,
    /// The login typed (or left prefilled) on the consent page.
    pub account: String,
    pub scopes: Vec<String>,
    /// The shop domain, for Shopify.
    pub shop: Option<String>,
    /// The Facebook Pages the person ticked.
    pub pages: Vec<String>,
}

impl Grant {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct AuthCode {
    pub grant: Grant,
    pub redirect_uri: String,
    pub pkce: Option<Pkce>,
    pub expires_at: DateTime<Utc>,
    pub used: bool,
    /// `access_type=offline` (Google, Squarespace).
    pub offline: bool,
    /// Google `prompt=consent`.
    pub prompt_consent: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    Access,
    Refresh,
}

/// The finer kinds of access token some platforms distinguish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavour {
    Standard,
    /// Instagram's 1-hour token and Facebook's short-lived user token.
    ShortLived,
    /// Instagram's and Facebook's 60-day tokens.
    LongLived,
    /// A Facebook Page token (see `page_id`).
    Page,
}

#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub value: String,
    pub kind: TokenKind,
    pub flavour: Flavour,
    pub grant: Grant,
    pub issued_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked: bool,
    pub page_id: Option<String>,
}

impl Token {
    pub fn expires_in(&self, now: DateTime<Utc>) -> Option<i64> {
        self.expires_at.map(|at| (at - now).num_seconds().max(0))
    }
}

/// Why a presented token was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenError {
    Missing,
    Unknown,
    Expired,
    Revoked,
}

/// Why an authorization code could not be exchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CodeError {
    Missing,
    Unknown,
    Used,
    Expired,
    ClientMismatch,
    RedirectMismatch,
    VerifierMissing,
    VerifierMismatch,
}

impl CodeError {
    /// A sentence for the `error_description`-like fields.
    pub fn describe(self) -> &'static str {
        match self {
            CodeError::Missing => "The code parameter is missing.",
            CodeError::Unknown => "The authorization code is invalid.",
            CodeError::Used => "The authorization code has already been used.",
            CodeError::Expired => "The authorization code has expired.",
            CodeError::ClientMismatch => "The authorization code was issued to another client.",
            CodeError::RedirectMismatch => {
                "The redirect_uri does not match the one used in the authorization request."
            }
            CodeError::VerifierMissing => "The code_verifier is missing.",
            CodeError::VerifierMismatch => "The code_verifier does not match the code_challenge.",
        }
    }
}

/// What a token exchange presented, for [`Store::redeem_code`].
pub(crate) struct Redemption<'a> {
    pub platform: Platform,
    pub code: Option<&'a str>,
    pub client_id: &'a str,
    /// `None` where the platform's token request carries no redirect_uri (Shopify); a value
    /// that is present must still match.
    pub redirect_uri: Option<&'a str>,
    pub verifier: Option<&'a str>,
}

pub(crate) struct Store {
    ids: IdGen,
    next_grant: u64,
    codes: HashMap<String, AuthCode>,
    tokens: HashMap<String, Token>,
    /// `(client_id, account)` pairs that have already consented to a Google client, because
    /// Google only hands out a refresh token on the first consent (or with `prompt=consent`).
    google_consents: HashSet<(String, String)>,
    /// Accounts that exist: the seed personas plus everyone who has consented since.
    accounts: BTreeSet<(Platform, String)>,
    /// Platform-specific counters that later work keeps here (Shopify's cost bucket…).
    pub shopify_buckets: HashMap<String, (f64, DateTime<Utc>)>,
}

impl Store {
    pub fn new(seed: u64) -> Self {
        let accounts = Platform::ALL
            .into_iter()
            .map(|p| (p, personas::seed_account(p).to_owned()))
            .collect();
        Self {
            ids: IdGen::new(seed),
            next_grant: 1,
            codes: HashMap::new(),
            tokens: HashMap::new(),
            google_consents: HashSet::new(),
            accounts,
            shopify_buckets: HashMap::new(),
        }
    }

    pub fn new_grant(
        &mut self,
        platform: Platform,
        client_id: &str,
        account: &str,
        scopes: Vec<String>,
    ) -> Grant {
        let id = self.next_grant;
        self.next_grant += 1;
        self.accounts.insert((platform, account.to_owned()));
        Grant {
            id,
            platform,
            client_id: client_id.to_owned(),
            account: account.to_owned(),
            scopes,
            shop: None,
            pages: Vec::new(),
        }
    }

    /// Every known login of `platform`, the seed persona first among equals (sorted).
    pub fn accounts(&self, platform: Platform) -> impl Iterator<Item = &str> {
        self.accounts
            .iter()
            .filter(move |(p, _)| *p == platform)
            .map(|(_, login)| login.as_str())
    }

    pub fn issue_code(&mut self, code: AuthCode) -> String {
        let value = self.ids.token("", 43);
        self.codes.insert(value.clone(), code);
        value
    }

    /// Exchanges a code: single use, unexpired, same client, same redirect_uri, and the PKCE
    /// verifier when a challenge was sent. A failed check leaves the code usable, as a typo in
    /// one parameter should not cost the person their consent.
    pub fn redeem_code(
        &mut self,
        r: Redemption<'_>,
        now: DateTime<Utc>,
    ) -> Result<AuthCode, CodeError> {
        let Some(value) = r.code.filter(|c| !c.is_empty()) else {
            return Err(CodeError::Missing);
        };
        let code = self
            .codes
            .get_mut(value)
            .filter(|c| c.grant.platform == r.platform)
            .ok_or(CodeError::Unknown)?;
        if code.used {
            return Err(CodeError::Used);
        }
        if now >= code.expires_at {
            return Err(CodeError::Expired);
        }
        if code.grant.client_id != r.client_id {
            return Err(CodeError::ClientMismatch);
        }
        if let Some(uri) = r.redirect_uri
            && uri != code.redirect_uri
        {
            return Err(CodeError::RedirectMismatch);
        }
        if let Some(pkce) = &code.pkce {
            match r.verifier.filter(|v| !v.is_empty()) {
                None => return Err(CodeError::VerifierMissing),
                Some(v) if !pkce.verify(v) => return Err(CodeError::VerifierMismatch),
                Some(_) => {}
            }
        }
        code.used = true;
        Ok(code.clone())
    }

    pub fn issue(&mut self, spec: Issue<'_>, grant: &Grant, now: DateTime<Utc>) -> Token {
        let value = format!("{}{}", spec.prefix, self.ids.token("", spec.len));
        let token = Token {
            value: value.clone(),
            kind: spec.kind,
            flavour: spec.flavour,
            grant: grant.clone(),
            issued_at: now,
            expires_at: spec.ttl_secs.map(|s| now + Duration::seconds(s)),
            revoked: false,
            page_id: spec.page_id,
        };
        self.tokens.insert(value, token.clone());
        token
    }

    pub fn find(&self, platform: Platform, value: &str) -> Option<&Token> {
        self.tokens
            .get(value)
            .filter(|t| t.grant.platform == platform)
    }

    /// A usable token of `kind`: known, of this platform, not revoked, not expired.
    pub fn check(
        &self,
        platform: Platform,
        kind: TokenKind,
        value: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Token, TokenError> {
        let value = value.filter(|v| !v.is_empty()).ok_or(TokenError::Missing)?;
        let token = self
            .find(platform, value)
            .filter(|t| t.kind == kind)
            .ok_or(TokenError::Unknown)?;
        if token.revoked {
            return Err(TokenError::Revoked);
        }
        if token.expires_at.is_some_and(|at| now >= at) {
            return Err(TokenError::Expired);
        }
        Ok(token.clone())
    }

    pub fn revoke(&mut self, value: &str) -> bool {
        match self.tokens.get_mut(value) {
            Some(t) => {
                t.revoked = true;
                true
            }
            None => false,
        }
    }

    /// Revokes every token that came from the same consent.
    pub fn revoke_grant(&mut self, grant_id: u64) -> usize {
        let mut n = 0;
        for t in self.tokens.values_mut().filter(|t| t.grant.id == grant_id) {
            t.revoked = true;
            n += 1;
        }
        n
    }

    /// Revokes every token `client_id` holds for `account`, across all of their consents.
    pub fn revoke_account(&mut self, platform: Platform, client_id: &str, account: &str) -> usize {
        let mut n = 0;
        for t in self.tokens.values_mut().filter(|t| {
            t.grant.platform == platform
                && t.grant.client_id == client_id
                && t.grant.account == account
        }) {
            t.revoked = true;
            n += 1;
        }
        self.google_consents
            .remove(&(client_id.to_owned(), account.to_owned()));
        n
    }

    /// The `expire_tokens` fault: every access token of the platform issued so far is past its
    /// expiry now, including the ones that normally never expire.
    pub fn expire_access_tokens(&mut self, platform: Platform, now: DateTime<Utc>) -> usize {
        let mut n = 0;
        for t in self
            .tokens
            .values_mut()
            .filter(|t| t.grant.platform == platform && t.kind == TokenKind::Access)
        {
            t.expires_at = Some(now - Duration::seconds(1));
            n += 1;
        }
        n
    }

    /// Whether this is the first consent of `account` to this Google client (and remembers it).
    pub fn first_google_consent(&mut self, client_id: &str, account: &str) -> bool {
        self.google_consents
            .insert((client_id.to_owned(), account.to_owned()))
    }

    /// The Page token `grant`'s user holds for `page_id`, issued once and then reused, as the
    /// Graph API hands out the same long-lived Page token on every `/me/accounts`.
    pub fn page_token(&mut self, grant: &Grant, page_id: &str, now: DateTime<Utc>) -> Token {
        let existing = self.tokens.values().find(|t| {
            t.flavour == Flavour::Page
                && t.page_id.as_deref() == Some(page_id)
                && t.grant.client_id == grant.client_id
                && t.grant.account == grant.account
                && !t.revoked
                && t.expires_at.is_none_or(|at| now < at)
        });
        if let Some(t) = existing {
            return t.clone();
        }
        self.issue(
            Issue {
                kind: TokenKind::Access,
                flavour: Flavour::Page,
                prefix: "EAAG",
                len: 160,
                ttl_secs: None,
                page_id: Some(page_id.to_owned()),
            },
            grant,
            now,
        )
    }
}

/// How to mint a token.
pub(crate) struct Issue<'a> {
    pub kind: TokenKind,
    pub flavour: Flavour,
    pub prefix: &'a str,
    pub len: usize,
    pub ttl_secs: Option<i64>,
    pub page_id: Option<String>,
}

impl<'a> Issue<'a> {
    pub fn access(prefix: &'a str, len: usize, ttl_secs: Option<i64>) -> Self {
        Self {
            kind: TokenKind::Access,
            flavour: Flavour::Standard,
            prefix,
            len,
            ttl_secs,
            page_id: None,
        }
    }

    pub fn refresh(prefix: &'a str, len: usize, ttl_secs: Option<i64>) -> Self {
        Self {
            kind: TokenKind::Refresh,
            ..Self::access(prefix, len, ttl_secs)
        }
    }

    pub fn flavour(self, flavour: Flavour) -> Self {
        Self { flavour, ..self }
    }
}

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Deterministic token material: SHA-256 of the seed and a counter, so a run is reproducible
/// from its seed and the order of its requests, yet no two tokens are alike.
pub(crate) struct IdGen {
    seed: u64,
    counter: u64,
}

impl IdGen {
    pub fn new(seed: u64) -> Self {
        Self { seed, counter: 0 }
    }

    fn block(&mut self) -> [u8; 32] {
        self.counter += 1;
        let mut h = Sha256::new();
        h.update(self.seed.to_le_bytes());
        h.update(self.counter.to_le_bytes());
        h.finalize().into()
    }

    /// `len` characters from `alphabet` (alphanumeric when empty).
    pub fn token(&mut self, alphabet: &str, len: usize) -> String {
        let alphabet = if alphabet.is_empty() {
            ALPHANUMERIC
        } else {
            alphabet.as_bytes()
        };
        let mut out = String::with_capacity(len);
        while out.len() < len {
            for b in self.block() {
                if out.len() == len {
                    break;
                }
                out.push(char::from(alphabet[usize::from(b) % alphabet.len()]));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_tokens_in_the_same_order() {
        let mut a = IdGen::new(7);
        let mut b = IdGen::new(7);
        let first: Vec<_> = (0..3).map(|_| a.token("", 40)).collect();
        let second: Vec<_> = (0..3).map(|_| b.token("", 40)).collect();
        assert_eq!(first, second);
        assert_ne!(first[0], first[1]);
        assert_ne!(IdGen::new(8).token("", 40), first[0]);
    }
}

//! Throttling of guessable actions, counted in Redis so every web process shares the counts.
//!
//! Failed logins are limited per account and per client address: an attacker can neither guess
//! one account's password quickly nor spray many accounts from one address. Sign-ups are limited
//! per address. API calls are limited per token (by its id, never its secret). The limits are
//! fixed windows starting at the first counted event.

use std::net::IpAddr;
use std::time::Duration;

use crate::domain::Email;
use crate::redis::Redis;

pub const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);
pub const LOGIN_FAILURES_PER_ACCOUNT: i64 = 5;
pub const LOGIN_FAILURES_PER_IP: i64 = 20;
pub const SIGNUP_WINDOW: Duration = Duration::from_secs(60 * 60);
pub const SIGNUPS_PER_IP: i64 = 10;
pub const API_WINDOW: Duration = Duration::from_secs(60);

/// Throttled: try again after this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

fn account_key(email: &str) -> String {
    // Hashed so Redis never holds the addresses people typed.
    format!(
        "throttle:login:account:{}",
        super::sha256_hex(email.trim().to_lowercase().as_bytes())
    )
}

fn ip_key(ip: IpAddr) -> String {
    format!("throttle:login:ip:{ip}")
}

/// Whether a login attempt may proceed. `email` is what was typed, valid or not.
pub async fn check_login(redis: &Redis, email: &str, ip: IpAddr) -> Result<(), LimitOrError> {
    let (account, account_ttl) = redis.peek_window(&account_key(email)).await?;
    if account >= LOGIN_FAILURES_PER_ACCOUNT {
        return Err(LimitOrError::Limited(RetryAfter(account_ttl.max(1) as u64)));
    }
    let (by_ip, ip_ttl) = redis.peek_window(&ip_key(ip)).await?;
    if by_ip >= LOGIN_FAILURES_PER_IP {
        return Err(LimitOrError::Limited(RetryAfter(ip_ttl.max(1) as u64)));
    }
    Ok(())
}

pub async fn record_login_failure(
    redis: &Redis,
    email: &str,
    ip: IpAddr,
) -> Result<(), fred::error::Error> {
    redis
        .count_in_window(&account_key(email), LOGIN_WINDOW)
        .await?;
    redis.count_in_window(&ip_key(ip), LOGIN_WINDOW).await?;
    Ok(())
}

/// A successful login forgives the account's earlier failures (not the address's).
pub async fn clear_login_failures(redis: &Redis, email: &Email) -> Result<(), fred::error::Error> {
    redis.del(&account_key(email.as_str())).await
}

/// Counts a sign-up attempt from `ip`; refuses once the hourly limit is reached.
pub async fn count_signup(redis: &Redis, ip: IpAddr) -> Result<(), LimitOrError> {
    let (n, ttl) = redis
        .count_in_window(&format!("throttle:signup:ip:{ip}"), SIGNUP_WINDOW)
        .await?;
    if n > SIGNUPS_PER_IP {
        return Err(LimitOrError::Limited(RetryAfter(ttl.max(1) as u64)));
    }
    Ok(())
}

/// Counts one API call made with the token `token_id`; refuses once `per_minute` is used up.
pub async fn count_api_call(
    redis: &Redis,
    token_id: uuid::Uuid,
    per_minute: u32,
) -> Result<(), LimitOrError> {
    let (n, ttl) = redis
        .count_in_window(&format!("throttle:api:token:{token_id}"), API_WINDOW)
        .await?;
    if n > i64::from(per_minute) {
        return Err(LimitOrError::Limited(RetryAfter(ttl.max(1) as u64)));
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum LimitOrError {
    #[error("throttled for {} s", .0.0)]
    Limited(RetryAfter),
    #[error(transparent)]
    Redis(#[from] fred::error::Error),
}

/// "3 minutes", "45 seconds": how long to wait, in plain words.
pub fn wait_in_words(secs: u64) -> String {
    if secs >= 90 {
        let mins = secs.div_ceil(60);
        format!("{mins} minutes")
    } else if secs > 1 {
        format!("{secs} seconds")
    } else {
        "a second".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_naturally() {
        assert_eq!(wait_in_words(1), "a second");
        assert_eq!(wait_in_words(45), "45 seconds");
        assert_eq!(wait_in_words(600), "10 minutes");
        assert_eq!(wait_in_words(601), "11 minutes");
    }
}

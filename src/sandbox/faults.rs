//! Faults a test or a person asks for through `POST /_sandbox/faults`: latency, hangs (before
//! the request is processed, or after it was accepted and recorded), error statuses (always or
//! at a rate), permanent content rejections, slow processing, and rate-limit windows. The
//! dispatcher asks [`Faults::apply`] before every platform request; the answer is a delay,
//! perhaps a response to send instead, and what to do once the request has been processed.
//! The dice for `error_rate` come from a generator seeded by the sandbox seed, so a run can be
//! repeated exactly.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::domain::Platform;

/// A fault as posted to `/_sandbox/faults`. Every effect is optional; at least one is needed.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub platform: Platform,
    /// Only requests whose `host/path` contains this text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Only requests with this method (any case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Answer with this status, in the platform's error shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Apply to the next N matching requests only, then disappear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Fail this share of matching requests (0.0–1.0) with `status` (default 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitSpec>,
    /// Hang this long before answering (then answer normally).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    /// Expire every access token of the platform issued so far (applied once, at once).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expire_tokens: bool,
    /// Process the request fully (a post is recorded as published), then hang without
    /// answering for `timeout_secs` (default [`DEFAULT_HANG_SECS`]): the client cannot know
    /// the outcome.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timeout_after_accept: bool,
    /// Refuse the request as permanently rejected content, in the platform's words (X: duplicate
    /// content; Instagram: unsupported image format; Pinterest: invalid board…).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reject: bool,
    /// The message of an injected `status` or `reject` answer, instead of the default one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Asynchronous processing started by a matching request (an Instagram container, a TikTok
    /// publish, an X video, a LinkedIn image, a YouTube video) takes this long on the sandbox
    /// clock before it is done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_secs: Option<u64>,
}

/// How long `timeout_after_accept` hangs when `timeout_secs` is not given.
pub const DEFAULT_HANG_SECS: u64 = 600;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSpec {
    /// How long the window lasts; every matching request gets 429 until it ends.
    #[serde(default = "default_reset")]
    pub reset_after_secs: u64,
}

fn default_reset() -> u64 {
    60
}

impl FaultSpec {
    /// A fault on `platform` with no effect yet; set the fields you need.
    pub fn new(platform: Platform) -> Self {
        Self {
            platform,
            path: None,
            method: None,
            status: None,
            times: None,
            latency_ms: None,
            error_rate: None,
            rate_limit: None,
            timeout_secs: None,
            expire_tokens: false,
            timeout_after_accept: false,
            reject: false,
            message: None,
            processing_secs: None,
        }
    }

    /// Whether the fault needs to stay in the list (an `expire_tokens`-only fault is done once
    /// applied).
    pub(crate) fn is_lasting(&self) -> bool {
        self.status.is_some()
            || self.latency_ms.is_some()
            || self.error_rate.is_some()
            || self.rate_limit.is_some()
            || self.timeout_secs.is_some()
            || self.timeout_after_accept
            || self.reject
            || self.processing_secs.is_some()
    }

    /// Whether the fault answers in place of the platform.
    fn answers(&self) -> bool {
        self.status.is_some()
            || self.error_rate.is_some()
            || self.rate_limit.is_some()
            || self.reject
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if !self.is_lasting() && !self.expire_tokens {
            return Err("a fault needs at least one of status, latency_ms, error_rate, rate_limit, timeout_secs, timeout_after_accept, reject, processing_secs or expire_tokens".into());
        }
        if self.timeout_after_accept && self.answers() {
            return Err("timeout_after_accept lets the platform process the request, so it cannot be combined with status, error_rate, rate_limit or reject".into());
        }
        if self.reject && (self.status.is_some() || self.rate_limit.is_some()) {
            return Err("reject answers with the platform's own rejection status; leave out status and rate_limit".into());
        }
        if self.message.is_some()
            && !(self.status.is_some() || self.error_rate.is_some() || self.reject)
        {
            return Err("message only applies to status, error_rate or reject faults".into());
        }
        if let Some(s) = self.status
            && !(400..=599).contains(&s)
        {
            return Err(format!("status must be between 400 and 599, not {s}"));
        }
        if let Some(r) = self.error_rate
            && !(0.0..=1.0).contains(&r)
        {
            return Err(format!("error_rate must be between 0 and 1, not {r}"));
        }
        if self.times == Some(0) {
            return Err("times must be at least 1".into());
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct ActiveFault {
    pub id: u64,
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// How many more requests it applies to, when limited.
    pub remaining: Option<u32>,
    /// When a rate-limit window ends.
    pub rate_limited_until: Option<DateTime<Utc>>,
}

/// What the dispatcher should do with one request.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Wait this long before anything else.
    pub delay: Duration,
    pub respond: Option<Injected>,
    /// Once the request is processed, hang this long before answering.
    pub hang_after_accept: Option<Duration>,
    /// Asynchronous processing the request starts takes this long (sandbox seconds).
    pub processing_secs: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Injected {
    Status {
        status: u16,
        message: Option<String>,
    },
    RateLimited {
        until: DateTime<Utc>,
    },
    Rejected {
        message: Option<String>,
    },
}

/// The request as the fault matcher sees it.
pub(crate) struct Target<'a> {
    pub platform: Platform,
    pub method: &'a str,
    /// `host/path`, so a fault can name either.
    pub host_path: &'a str,
}

pub(crate) struct Faults {
    active: Vec<ActiveFault>,
    next_id: u64,
    rng: StdRng,
}

impl Faults {
    pub fn new(seed: u64) -> Self {
        Self {
            active: Vec::new(),
            next_id: 1,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    pub fn add(&mut self, spec: FaultSpec, now: DateTime<Utc>) -> ActiveFault {
        let id = self.next_id;
        self.next_id += 1;
        let rate_limited_until = spec.rate_limit.as_ref().map(|r| {
            now + chrono::Duration::seconds(
                i64::try_from(r.reset_after_secs).unwrap_or(i64::MAX / 4),
            )
        });
        let fault = ActiveFault {
            id,
            remaining: spec.times,
            rate_limited_until,
            spec,
        };
        if fault.spec.is_lasting() {
            self.active.push(fault.clone());
        }
        fault
    }

    pub fn list(&self) -> Vec<ActiveFault> {
        self.active.clone()
    }

    pub fn remove(&mut self, id: u64) -> bool {
        let before = self.active.len();
        self.active.retain(|f| f.id != id);
        before != self.active.len()
    }

    pub fn clear(&mut self) {
        self.active.clear();
    }

    /// Decides what happens to `target`. Delays add up; the first fault that answers wins, and
    /// faults after it are not consumed.
    pub fn apply(&mut self, target: &Target<'_>, now: DateTime<Utc>) -> Outcome {
        let mut outcome = Outcome::default();
        // Rate-limit windows that have ended are over, whatever `times` said.
        self.active
            .retain(|f| f.rate_limited_until.is_none_or(|until| now < until));
        for fault in self.active.iter_mut() {
            if outcome.respond.is_some() {
                break;
            }
            let spec = &fault.spec;
            if spec.platform != target.platform
                || spec
                    .method
                    .as_deref()
                    .is_some_and(|m| !m.eq_ignore_ascii_case(target.method))
                || spec
                    .path
                    .as_deref()
                    .is_some_and(|p| !target.host_path.contains(p))
            {
                continue;
            }
            let mut applied = false;
            if let Some(ms) = spec.latency_ms {
                outcome.delay += Duration::from_millis(ms);
                applied = true;
            }
            if spec.timeout_after_accept {
                let secs = spec.timeout_secs.unwrap_or(DEFAULT_HANG_SECS);
                *outcome.hang_after_accept.get_or_insert(Duration::ZERO) +=
                    Duration::from_secs(secs);
                applied = true;
            } else if let Some(secs) = spec.timeout_secs {
                outcome.delay += Duration::from_secs(secs);
                applied = true;
            }
            if let Some(secs) = spec.processing_secs {
                outcome.processing_secs = Some(outcome.processing_secs.unwrap_or(0).max(secs));
                applied = true;
            }
            if let Some(until) = fault.rate_limited_until {
                outcome.respond = Some(Injected::RateLimited { until });
                applied = true;
            } else if spec.status.is_some() || spec.error_rate.is_some() || spec.reject {
                let fires = match spec.error_rate {
                    Some(rate) => self.rng.random::<f64>() < rate,
                    None => true,
                };
                if fires {
                    let message = spec.message.clone();
                    outcome.respond = Some(if spec.reject {
                        Injected::Rejected { message }
                    } else {
                        Injected::Status {
                            status: spec.status.unwrap_or(500),
                            message,
                        }
                    });
                    applied = true;
                }
            }
            if applied && let Some(n) = fault.remaining.as_mut() {
                *n = n.saturating_sub(1);
            }
        }
        self.active.retain(|f| f.remaining != Some(0));
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(path: &str) -> Target<'_> {
        Target {
            platform: Platform::X,
            method: "POST",
            host_path: path,
        }
    }

    #[test]
    fn a_fault_with_times_applies_to_that_many_matching_requests_then_disappears() {
        let mut faults = Faults::new(1);
        let now = Utc::now();
        faults.add(
            FaultSpec {
                platform: Platform::X,
                path: Some("/2/oauth2/token".into()),
                status: Some(500),
                times: Some(1),
                ..FaultSpec::new(Platform::X)
            },
            now,
        );
        assert_eq!(
            faults.apply(&target("api.x.com/2/users/me"), now).respond,
            None
        );
        assert_eq!(
            faults
                .apply(&target("api.x.com/2/oauth2/token"), now)
                .respond,
            Some(Injected::Status {
                status: 500,
                message: None
            })
        );
        assert_eq!(
            faults
                .apply(&target("api.x.com/2/oauth2/token"), now)
                .respond,
            None
        );
        assert!(faults.list().is_empty());
    }

    #[test]
    fn the_same_seed_fails_the_same_requests_at_an_error_rate() {
        let run = |seed| {
            let mut faults = Faults::new(seed);
            let now = Utc::now();
            faults.add(
                FaultSpec {
                    platform: Platform::X,
                    error_rate: Some(0.3),
                    status: Some(503),
                    ..FaultSpec::new(Platform::X)
                },
                now,
            );
            (0..50)
                .map(|_| faults.apply(&target("api.x.com/x"), now).respond.is_some())
                .collect::<Vec<_>>()
        };
        let a = run(42);
        assert_eq!(a, run(42));
        let failures = a.iter().filter(|f| **f).count();
        assert!((5..=25).contains(&failures), "{failures} of 50 failed");
    }

    #[test]
    fn a_rate_limit_window_ends_by_itself() {
        let mut faults = Faults::new(1);
        let now = Utc::now();
        faults.add(
            FaultSpec {
                platform: Platform::X,
                rate_limit: Some(RateLimitSpec {
                    reset_after_secs: 30,
                }),
                ..FaultSpec::new(Platform::X)
            },
            now,
        );
        assert!(matches!(
            faults.apply(&target("api.x.com/2/tweets"), now).respond,
            Some(Injected::RateLimited { .. })
        ));
        let later = now + chrono::Duration::seconds(31);
        assert_eq!(
            faults.apply(&target("api.x.com/2/tweets"), later).respond,
            None
        );
        assert!(faults.list().is_empty());
    }

    #[test]
    fn timeout_after_accept_lets_the_request_through_then_hangs() {
        let mut faults = Faults::new(1);
        let now = Utc::now();
        let spec = FaultSpec {
            timeout_after_accept: true,
            timeout_secs: Some(5),
            ..FaultSpec::new(Platform::X)
        };
        spec.validate().unwrap();
        faults.add(spec, now);
        let outcome = faults.apply(&target("api.x.com/2/tweets"), now);
        assert_eq!(outcome.respond, None);
        assert_eq!(outcome.delay, Duration::ZERO);
        assert_eq!(outcome.hang_after_accept, Some(Duration::from_secs(5)));
        let both = FaultSpec {
            timeout_after_accept: true,
            status: Some(500),
            ..FaultSpec::new(Platform::X)
        };
        assert!(both.validate().is_err());
    }
}

//! The publishing life cycle: where each target (one post on one account) stands, which moves
//! between statuses are allowed, and the status of a post as a whole, derived from its targets.
//!
//! These are plain Rust enums with the same spellings as the database's `CHECK` constraints, so
//! the rules don't depend on the database layer; `entities` maps to and from them by name.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where one target stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetStatus {
    /// Being written; not going anywhere yet.
    Draft,
    /// Waiting for its time.
    Scheduled,
    /// Its time has come and a publish job is waiting for a worker.
    Queued,
    /// A worker is talking to the platform right now.
    Publishing,
    Published,
    /// The last attempt failed in a way worth retrying; another attempt is due later.
    RetryWait,
    /// Gave up; needs the seller's attention.
    Failed,
    /// The platform didn't say whether it worked (a timeout mid-request). Not retried blindly,
    /// since that could post twice; reconciliation finds out.
    Unknown,
    Cancelled,
}

impl TargetStatus {
    pub const ALL: [TargetStatus; 9] = [
        TargetStatus::Draft,
        TargetStatus::Scheduled,
        TargetStatus::Queued,
        TargetStatus::Publishing,
        TargetStatus::Published,
        TargetStatus::RetryWait,
        TargetStatus::Failed,
        TargetStatus::Unknown,
        TargetStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TargetStatus::Draft => "draft",
            TargetStatus::Scheduled => "scheduled",
            TargetStatus::Queued => "queued",
            TargetStatus::Publishing => "publishing",
            TargetStatus::Published => "published",
            TargetStatus::RetryWait => "retry_wait",
            TargetStatus::Failed => "failed",
            TargetStatus::Unknown => "unknown",
            TargetStatus::Cancelled => "cancelled",
        }
    }

    /// Whether the seller may still change the caption, media, options or time. Once a worker
    /// may have started (queued, publishing) or the platform may have the post (published,
    /// unknown), an edit could never reach the platform, so we don't offer one.
    pub fn is_editable(self) -> bool {
        matches!(
            self,
            TargetStatus::Draft
                | TargetStatus::Scheduled
                | TargetStatus::RetryWait
                | TargetStatus::Failed
                | TargetStatus::Cancelled
        )
    }

    /// Whether nothing more will happen without the seller (or reconciliation) acting.
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            TargetStatus::Published | TargetStatus::Failed | TargetStatus::Cancelled
        )
    }

    /// Whether the target is on its way to the platform.
    fn is_in_flight(self) -> bool {
        matches!(
            self,
            TargetStatus::Queued | TargetStatus::Publishing | TargetStatus::RetryWait
        )
    }
}

/// Whether a target may move from `from` to `to`. Staying put isn't a transition.
///
/// The moves, and why:
/// - draft → scheduled, queued ("publish now"), cancelled.
/// - scheduled → draft (unschedule), queued (time's up), cancelled.
/// - queued → publishing (a worker took it), cancelled (withdrawn before a worker took it; the
///   worker's compare-and-set on the status then finds nothing to do), failed (refused before
///   any request, e.g. the connection was revoked).
/// - publishing → published, retry_wait, failed, unknown.
/// - retry_wait → queued (retry due), scheduled (edited and rescheduled), draft, cancelled.
/// - failed → queued (retry now), scheduled (retry later), draft, cancelled.
/// - unknown → published or failed, once reconciliation knows. Never straight back to a queue:
///   the post may already be live, and retrying could post it twice.
/// - cancelled → draft, scheduled (restored).
/// - published → nothing; it's on the platform.
pub fn can_transition(from: TargetStatus, to: TargetStatus) -> bool {
    use TargetStatus::*;
    matches!(
        (from, to),
        (Draft, Scheduled | Queued | Cancelled)
            | (Scheduled, Draft | Queued | Cancelled)
            | (Queued, Publishing | Cancelled | Failed)
            | (Publishing, Published | RetryWait | Failed | Unknown)
            | (RetryWait, Queued | Scheduled | Draft | Cancelled)
            | (Failed, Queued | Scheduled | Draft | Cancelled)
            | (Unknown, Published | Failed)
            | (Cancelled, Draft | Scheduled)
    )
}

impl fmt::Display for TargetStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown status {0:?}")]
pub struct UnknownStatus(pub String);

impl FromStr for TargetStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TargetStatus::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

/// A post's status, derived from its targets' statuses; never set on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostStatus {
    Draft,
    Scheduled,
    Publishing,
    Published,
    /// Some targets published, others failed or were cancelled.
    Partial,
    Failed,
    Unknown,
    Cancelled,
}

impl PostStatus {
    pub const ALL: [PostStatus; 8] = [
        PostStatus::Draft,
        PostStatus::Scheduled,
        PostStatus::Publishing,
        PostStatus::Published,
        PostStatus::Partial,
        PostStatus::Failed,
        PostStatus::Unknown,
        PostStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PostStatus::Draft => "draft",
            PostStatus::Scheduled => "scheduled",
            PostStatus::Publishing => "publishing",
            PostStatus::Published => "published",
            PostStatus::Partial => "partial",
            PostStatus::Failed => "failed",
            PostStatus::Unknown => "unknown",
            PostStatus::Cancelled => "cancelled",
        }
    }

    /// The post's status given its targets', in this order of precedence:
    ///
    /// 1. no targets, or all drafts → draft;
    /// 2. any unknown → unknown: the seller must look before anything else matters;
    /// 3. any queued, publishing or waiting to retry → publishing;
    /// 4. otherwise any scheduled → scheduled;
    /// 5. all published → published;
    /// 6. some published, the rest failed, cancelled or draft → partial;
    /// 7. any failed (none published) → failed;
    /// 8. all cancelled → cancelled; cancelled mixed with drafts → draft, since it can still be
    ///    scheduled.
    pub fn derive(targets: &[TargetStatus]) -> PostStatus {
        use TargetStatus as T;
        let any = |s: T| targets.contains(&s);
        let all = |s: T| targets.iter().all(|&t| t == s);
        if targets.is_empty() || all(T::Draft) {
            PostStatus::Draft
        } else if any(T::Unknown) {
            PostStatus::Unknown
        } else if targets.iter().any(|t| t.is_in_flight()) {
            PostStatus::Publishing
        } else if any(T::Scheduled) {
            PostStatus::Scheduled
        } else if all(T::Published) {
            PostStatus::Published
        } else if any(T::Published) {
            PostStatus::Partial
        } else if any(T::Failed) {
            PostStatus::Failed
        } else if all(T::Cancelled) {
            PostStatus::Cancelled
        } else {
            PostStatus::Draft
        }
    }
}

impl fmt::Display for PostStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PostStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PostStatus::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::TargetStatus::*;
    use super::*;

    #[test]
    fn every_status_name_parses_back_to_itself() {
        for s in TargetStatus::ALL {
            assert_eq!(s.as_str().parse::<TargetStatus>().unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in PostStatus::ALL {
            assert_eq!(s.as_str().parse::<PostStatus>().unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert!("retry-wait".parse::<TargetStatus>().is_err());
        assert!("partial".parse::<TargetStatus>().is_err());
    }

    #[test]
    fn the_spellings_match_the_database() {
        let names: Vec<_> = TargetStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "draft",
                "scheduled",
                "queued",
                "publishing",
                "published",
                "retry_wait",
                "failed",
                "unknown",
                "cancelled"
            ]
        );
    }

    #[test]
    fn only_statuses_nothing_is_happening_to_are_editable() {
        let editable: Vec<_> = TargetStatus::ALL
            .into_iter()
            .filter(|s| s.is_editable())
            .collect();
        assert_eq!(editable, [Draft, Scheduled, RetryWait, Failed, Cancelled]);
    }

    #[test]
    fn allowed_and_refused_moves() {
        for (from, to, allowed) in [
            (Draft, Scheduled, true),
            (Draft, Queued, true),
            (Draft, Published, false),
            (Scheduled, Queued, true),
            (Scheduled, Draft, true),
            (Scheduled, Publishing, false),
            (Queued, Publishing, true),
            (Queued, Cancelled, true),
            (Queued, Published, false),
            (Publishing, Published, true),
            (Publishing, RetryWait, true),
            (Publishing, Unknown, true),
            (Publishing, Cancelled, false),
            (RetryWait, Queued, true),
            (RetryWait, Publishing, false),
            (Failed, Queued, true),
            (Failed, Scheduled, true),
            (Unknown, Published, true),
            (Unknown, Failed, true),
            (Unknown, Queued, false),
            (Unknown, RetryWait, false),
            (Cancelled, Scheduled, true),
            (Cancelled, Queued, false),
            (Published, Draft, false),
            (Published, Failed, false),
            (Scheduled, Scheduled, false),
        ] {
            assert_eq!(can_transition(from, to), allowed, "{from} → {to}");
        }
    }

    #[test]
    fn nothing_leaves_published() {
        for to in TargetStatus::ALL {
            assert!(!can_transition(Published, to), "published → {to}");
        }
    }

    #[test]
    fn no_target_is_edited_while_a_worker_may_hold_it() {
        // Every way into queued or publishing starts from an editable status or from queued,
        // and nothing editable is reachable from publishing except through a settled outcome.
        for from in TargetStatus::ALL {
            for to in [Queued, Publishing] {
                if can_transition(from, to) {
                    assert!(from.is_editable() || from == Queued, "{from} → {to}");
                }
            }
        }
    }

    #[test]
    fn a_post_status_is_derived_from_its_targets() {
        for (targets, want) in [
            (&[][..], PostStatus::Draft),
            (&[Draft, Draft][..], PostStatus::Draft),
            (&[Scheduled, Scheduled][..], PostStatus::Scheduled),
            (&[Scheduled, Draft][..], PostStatus::Scheduled),
            (&[Scheduled, Queued][..], PostStatus::Publishing),
            (&[Publishing, Scheduled][..], PostStatus::Publishing),
            (&[RetryWait, Published][..], PostStatus::Publishing),
            (&[Published, Published][..], PostStatus::Published),
            (&[Published, Failed][..], PostStatus::Partial),
            (&[Published, Cancelled][..], PostStatus::Partial),
            (&[Published, Failed, Unknown][..], PostStatus::Unknown),
            (&[Unknown, Publishing][..], PostStatus::Unknown),
            (&[Failed, Failed][..], PostStatus::Failed),
            (&[Failed, Cancelled][..], PostStatus::Failed),
            (&[Cancelled, Cancelled][..], PostStatus::Cancelled),
            (&[Cancelled, Draft][..], PostStatus::Draft),
            (&[Published, Scheduled][..], PostStatus::Scheduled),
        ] {
            assert_eq!(PostStatus::derive(targets), want, "{targets:?}");
        }
    }
}

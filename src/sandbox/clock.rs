//! The sandbox clock: real time plus an offset. Every expiry (codes, tokens, rate-limit windows)
//! is measured against it, so a test can jump past a 30-second code or a 60-day token without
//! waiting.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Default)]
pub(crate) struct Clock {
    offset_secs: AtomicI64,
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::seconds(self.offset_secs.load(Ordering::SeqCst))
    }

    /// Moves the clock forward and returns the new time. Only forward: tokens already handed
    /// out must never become younger than they were.
    pub fn advance(&self, secs: u64) -> DateTime<Utc> {
        let secs = i64::try_from(secs).unwrap_or(i64::MAX / 2);
        self.offset_secs.fetch_add(secs, Ordering::SeqCst);
        self.now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_the_clock_moves_now_forward_by_that_much() {
        let clock = Clock::default();
        let before = clock.now();
        let after = clock.advance(3600);
        let moved = (after - before).num_seconds();
        assert!((3600..3602).contains(&moved), "moved {moved}s");
    }
}

//! When to publish: a date and time on the seller's own clock, turned into one instant in UTC.
//!
//! Daylight saving makes this more than arithmetic. When clocks jump forward some local times
//! never happen; when they fall back some happen twice. We never guess: a time that doesn't exist
//! is refused with the first valid time, and a time that happens twice is refused with both
//! instants on offer unless the caller says which one it means ([`Fold`]).
//!
//! The current time is always an argument, never read here, so every rule is testable.

use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone as _, Timelike, Utc,
};
use serde::{Deserialize, Serialize};

use crate::domain::time_zone::TimeZone;

/// Which of two instants a twice-happening local time means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fold {
    /// The first time round, before the clocks go back (summer time).
    Earlier,
    /// The second time round, after the clocks went back.
    Later,
}

impl Fold {
    pub fn as_str(self) -> &'static str {
        match self {
            Fold::Earlier => "earlier",
            Fold::Later => "later",
        }
    }
}

impl FromStr for Fold {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "earlier" => Ok(Fold::Earlier),
            "later" => Ok(Fold::Later),
            _ => Err("Choose the first or the second time.".into()),
        }
    }
}

/// One of the two instants a twice-happening local time can mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FoldChoice {
    pub fold: Fold,
    pub instant: DateTime<Utc>,
    /// The zone's offset from UTC at that instant, in seconds.
    pub offset_seconds: i32,
}

/// Why a date and time can't be scheduled. `Display` gives the sentence to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScheduleError {
    BadDate,
    BadTime,
    /// The local time falls in a spring-forward gap.
    DoesNotExist {
        local: NaiveDateTime,
        zone: TimeZone,
        /// The local wall-clock times the clocks jump from and to.
        jumps_from: NaiveDateTime,
        jumps_to: NaiveDateTime,
    },
    /// The local time happens twice; pass a [`Fold`] to pick one.
    Ambiguous {
        local: NaiveDateTime,
        zone: TimeZone,
        earlier: FoldChoice,
        later: FoldChoice,
    },
    InThePast {
        local: NaiveDateTime,
        zone: TimeZone,
    },
    TooFarAhead {
        latest: NaiveDateTime,
        zone: TimeZone,
    },
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScheduleError::BadDate => {
                f.write_str("Enter the date as year-month-day, for example 2026-03-29.")
            }
            ScheduleError::BadTime => f.write_str(
                "Enter the time as hours and minutes on a 24-hour clock, for example 14:30.",
            ),
            ScheduleError::DoesNotExist {
                local,
                zone,
                jumps_from,
                jumps_to,
            } => write!(
                f,
                "{} on {} doesn't exist in {zone}: clocks jump from {} to {}. Choose {} or later.",
                clock(local.time()),
                day(local.date()),
                clock(jumps_from.time()),
                clock(jumps_to.time()),
                clock(jumps_to.time()),
            ),
            ScheduleError::Ambiguous {
                local,
                zone,
                earlier,
                later,
            } => write!(
                f,
                "{time} on {date} happens twice in {zone}, because clocks go back. Choose the first \
                 {time} ({}) or the second {time} ({}).",
                utc_offset(earlier.offset_seconds),
                utc_offset(later.offset_seconds),
                time = clock(local.time()),
                date = day(local.date()),
            ),
            ScheduleError::InThePast { local, zone } => write!(
                f,
                "{} on {} in {zone} has already passed. Choose a later time.",
                clock(local.time()),
                day(local.date()),
            ),
            ScheduleError::TooFarAhead { latest, zone } => write!(
                f,
                "That's more than a year away. Choose a time up to {} on {} ({zone}).",
                clock(latest.time()),
                day(latest.date()),
            ),
        }
    }
}

impl std::error::Error for ScheduleError {}

/// An instant a post may be scheduled for: a real local time, not in the past, within a year.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ScheduleAt(DateTime<Utc>);

impl ScheduleAt {
    /// How far in the past a chosen time may be: picking the current minute means "now", and the
    /// minute has usually begun a few seconds before the form arrives.
    pub const GRACE: Duration = Duration::seconds(60);
    /// How far ahead a post may be scheduled.
    pub const MAX_AHEAD: Duration = Duration::days(365);

    /// Parses a date (`YYYY-MM-DD`) and time (`HH:MM`) in `zone`, checked against `now`.
    pub fn parse(
        date: &str,
        time: &str,
        zone: TimeZone,
        fold: Option<Fold>,
        now: DateTime<Utc>,
    ) -> Result<Self, ScheduleError> {
        let instant = local_to_utc(date, time, zone, fold)?;
        Self::at(instant, zone, now)
    }

    /// Checks an instant already in UTC (e.g. from the JSON API) against `now`. `zone` is only
    /// used to word an error in the seller's own time.
    pub fn at(
        instant: DateTime<Utc>,
        zone: TimeZone,
        now: DateTime<Utc>,
    ) -> Result<Self, ScheduleError> {
        if instant < now - Self::GRACE {
            return Err(ScheduleError::InThePast {
                local: instant.with_timezone(&zone.tz()).naive_local(),
                zone,
            });
        }
        let latest = now + Self::MAX_AHEAD;
        if instant > latest {
            return Err(ScheduleError::TooFarAhead {
                latest: latest.with_timezone(&zone.tz()).naive_local(),
                zone,
            });
        }
        Ok(ScheduleAt(instant))
    }

    pub fn instant(self) -> DateTime<Utc> {
        self.0
    }

    /// This instant on `zone`'s clock, for filling the form back in.
    pub fn local(self, zone: TimeZone) -> LocalTime {
        LocalTime::of(self.0, zone)
    }
}

/// An instant as a date and time on a zone's clock, in the form's formats.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LocalTime {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `HH:MM`; seconds are dropped, since schedules are chosen to the minute.
    pub time: String,
    /// Set when this local time happens twice, saying which of the two this is, so that parsing
    /// `date`, `time` and `fold` again gives the same instant.
    pub fold: Option<Fold>,
}

impl LocalTime {
    pub fn of(instant: DateTime<Utc>, zone: TimeZone) -> LocalTime {
        let local = instant.with_timezone(&zone.tz()).naive_local();
        let local = local
            .with_second(0)
            .and_then(|l| l.with_nanosecond(0))
            .unwrap_or(local);
        let fold = match zone.tz().from_local_datetime(&local) {
            LocalResult::Ambiguous(a, b) => {
                let first = a.with_timezone(&Utc).min(b.with_timezone(&Utc));
                let offset = instant.with_timezone(&zone.tz()).offset().fix();
                let first_offset = first.with_timezone(&zone.tz()).offset().fix();
                Some(if offset == first_offset {
                    Fold::Earlier
                } else {
                    Fold::Later
                })
            }
            _ => None,
        };
        LocalTime {
            date: local.format("%Y-%m-%d").to_string(),
            time: local.format("%H:%M").to_string(),
            fold,
        }
    }
}

/// Turns a local date and time in `zone` into UTC, refusing times that don't exist and, unless
/// `fold` says which, times that happen twice. No check against the current time.
pub fn local_to_utc(
    date: &str,
    time: &str,
    zone: TimeZone,
    fold: Option<Fold>,
) -> Result<DateTime<Utc>, ScheduleError> {
    let local = parse_date(date)?.and_time(parse_time(time)?);
    let tz = zone.tz();
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => {
            let (a, b) = (a.with_timezone(&Utc), b.with_timezone(&Utc));
            let (first, second) = (a.min(b), a.max(b));
            match fold {
                Some(Fold::Earlier) => Ok(first),
                Some(Fold::Later) => Ok(second),
                None => Err(ScheduleError::Ambiguous {
                    local,
                    zone,
                    earlier: FoldChoice {
                        fold: Fold::Earlier,
                        instant: first,
                        offset_seconds: offset_at(zone, first),
                    },
                    later: FoldChoice {
                        fold: Fold::Later,
                        instant: second,
                        offset_seconds: offset_at(zone, second),
                    },
                }),
            }
        }
        LocalResult::None => {
            let (jumps_from, jumps_to) = gap_around(zone, local);
            Err(ScheduleError::DoesNotExist {
                local,
                zone,
                jumps_from,
                jumps_to,
            })
        }
    }
}

fn offset_at(zone: TimeZone, instant: DateTime<Utc>) -> i32 {
    instant
        .with_timezone(&zone.tz())
        .offset()
        .fix()
        .local_minus_utc()
}

/// The wall-clock times on either side of the spring-forward gap that swallows `local`.
///
/// Offsets before and after a gap are taken a day either side (no zone changes offset twice in a
/// day), then the transition instant is found by bisection between the two UTC readings of
/// `local`.
fn gap_around(zone: TimeZone, local: NaiveDateTime) -> (NaiveDateTime, NaiveDateTime) {
    let as_utc = local.and_utc();
    let before = offset_at(zone, as_utc - Duration::days(1));
    let after = offset_at(zone, as_utc + Duration::days(1));
    // The transition lies between `local` read with the later offset and with the earlier one.
    let mut lo = as_utc - Duration::seconds(i64::from(after));
    let mut hi = as_utc - Duration::seconds(i64::from(before));
    if lo > hi {
        std::mem::swap(&mut lo, &mut hi);
    }
    // Invariant: `lo` is still on the old offset, `hi` on the new one.
    while hi - lo > Duration::seconds(1) {
        let mid = lo + (hi - lo) / 2;
        if offset_at(zone, mid) == before {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let transition = hi;
    (
        (transition + Duration::seconds(i64::from(before))).naive_utc(),
        (transition + Duration::seconds(i64::from(after))).naive_utc(),
    )
}

/// A strict `YYYY-MM-DD`, as `<input type="date">` sends it.
fn parse_date(raw: &str) -> Result<NaiveDate, ScheduleError> {
    let raw = raw.trim();
    let shape_ok = raw.len() == 10
        && raw.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shape_ok {
        return Err(ScheduleError::BadDate);
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| ScheduleError::BadDate)
}

/// A strict `HH:MM` on a 24-hour clock, as `<input type="time">` sends it.
fn parse_time(raw: &str) -> Result<NaiveTime, ScheduleError> {
    let raw = raw.trim();
    let b = raw.as_bytes();
    let shape_ok =
        b.len() == 5 && b[2] == b':' && [0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit());
    if !shape_ok {
        return Err(ScheduleError::BadTime);
    }
    let hours = u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0');
    let minutes = u32::from(b[3] - b'0') * 10 + u32::from(b[4] - b'0');
    NaiveTime::from_hms_opt(hours, minutes, 0).ok_or(ScheduleError::BadTime)
}

/// `2:30`, `14:05`: hours without a leading zero read more naturally in a sentence.
fn clock(t: NaiveTime) -> String {
    format!("{}:{:02}", t.hour(), t.minute())
}

/// `29 March 2026`.
fn day(d: NaiveDate) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    format!("{} {} {}", d.day(), MONTHS[d.month0() as usize], d.year())
}

/// `UTC+2`, `UTC−4`, `UTC+5:30`, `UTC+13:45`.
pub fn utc_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '−' } else { '+' };
    let minutes = seconds.unsigned_abs() / 60;
    let (h, m) = (minutes / 60, minutes % 60);
    if m == 0 {
        format!("UTC{sign}{h}")
    } else {
        format!("UTC{sign}{h}:{m:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn zone(name: &str) -> TimeZone {
        TimeZone::parse(name).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// A "now" well before every date used below.
    fn early() -> DateTime<Utc> {
        utc("2026-01-01T00:00:00Z")
    }

    #[test]
    fn ordinary_local_times_become_the_right_instant() {
        for (z, date, time, want) in [
            (
                "Europe/Berlin",
                "2026-01-15",
                "09:00",
                "2026-01-15T08:00:00Z",
            ),
            (
                "Europe/Berlin",
                "2026-07-15",
                "09:00",
                "2026-07-15T07:00:00Z",
            ),
            (
                "America/New_York",
                "2026-01-15",
                "09:00",
                "2026-01-15T14:00:00Z",
            ),
            (
                "America/New_York",
                "2026-07-15",
                "09:00",
                "2026-07-15T13:00:00Z",
            ),
            (
                "Asia/Kolkata",
                "2026-03-29",
                "02:30",
                "2026-03-28T21:00:00Z",
            ),
            (
                "Asia/Kolkata",
                "2026-11-01",
                "01:30",
                "2026-10-31T20:00:00Z",
            ),
            (
                "Pacific/Chatham",
                "2026-07-15",
                "12:00",
                "2026-07-14T23:15:00Z",
            ),
            (
                "Pacific/Chatham",
                "2026-12-15",
                "12:00",
                "2026-12-14T22:15:00Z",
            ),
            ("UTC", "2026-06-01", "00:00", "2026-06-01T00:00:00Z"),
        ] {
            let got = ScheduleAt::parse(date, time, zone(z), None, early()).unwrap();
            assert_eq!(got.instant(), utc(want), "{z} {date} {time}");
        }
    }

    #[test]
    fn a_time_skipped_by_spring_forward_is_refused_with_the_first_valid_time() {
        for (z, date, time, want) in [
            (
                "Europe/Berlin",
                "2026-03-29",
                "02:30",
                "2:30 on 29 March 2026 doesn't exist in Europe/Berlin: clocks jump from 2:00 to 3:00. Choose 3:00 or later.",
            ),
            (
                "America/New_York",
                "2026-03-08",
                "02:00",
                "2:00 on 8 March 2026 doesn't exist in America/New_York: clocks jump from 2:00 to 3:00. Choose 3:00 or later.",
            ),
            (
                "Pacific/Chatham",
                "2026-09-27",
                "03:00",
                "3:00 on 27 September 2026 doesn't exist in Pacific/Chatham: clocks jump from 2:45 to 3:45. Choose 3:45 or later.",
            ),
        ] {
            let err = ScheduleAt::parse(date, time, zone(z), None, early()).unwrap_err();
            assert!(matches!(err, ScheduleError::DoesNotExist { .. }), "{z}");
            assert_eq!(err.to_string(), want);
        }
    }

    #[test]
    fn a_time_repeated_by_fall_back_offers_both_instants() {
        for (z, date, time, first, second, words) in [
            (
                "Europe/Berlin",
                "2026-10-25",
                "02:30",
                "2026-10-25T00:30:00Z",
                "2026-10-25T01:30:00Z",
                "2:30 on 25 October 2026 happens twice in Europe/Berlin, because clocks go back. Choose the first 2:30 (UTC+2) or the second 2:30 (UTC+1).",
            ),
            (
                "America/New_York",
                "2026-11-01",
                "01:30",
                "2026-11-01T05:30:00Z",
                "2026-11-01T06:30:00Z",
                "1:30 on 1 November 2026 happens twice in America/New_York, because clocks go back. Choose the first 1:30 (UTC−4) or the second 1:30 (UTC−5).",
            ),
            (
                "Pacific/Chatham",
                "2026-04-05",
                "03:00",
                "2026-04-04T13:15:00Z",
                "2026-04-04T14:15:00Z",
                "3:00 on 5 April 2026 happens twice in Pacific/Chatham, because clocks go back. Choose the first 3:00 (UTC+13:45) or the second 3:00 (UTC+12:45).",
            ),
        ] {
            let err = ScheduleAt::parse(date, time, zone(z), None, early()).unwrap_err();
            let ScheduleError::Ambiguous { earlier, later, .. } = &err else {
                panic!("{z}: expected ambiguous, got {err:?}");
            };
            assert_eq!(earlier.instant, utc(first), "{z}");
            assert_eq!(later.instant, utc(second), "{z}");
            assert_eq!(err.to_string(), words);

            let picked = |fold| {
                ScheduleAt::parse(date, time, zone(z), Some(fold), early())
                    .unwrap()
                    .instant()
            };
            assert_eq!(picked(Fold::Earlier), utc(first));
            assert_eq!(picked(Fold::Later), utc(second));
        }
    }

    #[test]
    fn a_fold_is_ignored_when_the_time_happens_once() {
        let at = ScheduleAt::parse(
            "2026-07-01",
            "10:00",
            zone("Europe/Berlin"),
            Some(Fold::Later),
            early(),
        );
        assert_eq!(at.unwrap().instant(), utc("2026-07-01T08:00:00Z"));
    }

    #[test]
    fn malformed_dates_and_times_are_refused() {
        let z = zone("Europe/Berlin");
        for (date, time, want) in [
            ("2026-3-5", "10:00", ScheduleError::BadDate),
            ("2026-02-30", "10:00", ScheduleError::BadDate),
            ("29.03.2026", "10:00", ScheduleError::BadDate),
            ("", "10:00", ScheduleError::BadDate),
            ("2026-03-05", "24:00", ScheduleError::BadTime),
            ("2026-03-05", "9:00", ScheduleError::BadTime),
            ("2026-03-05", "10:60", ScheduleError::BadTime),
            ("2026-03-05", "10h00", ScheduleError::BadTime),
        ] {
            assert_eq!(
                local_to_utc(date, time, z, None).unwrap_err(),
                want,
                "{date} {time}"
            );
        }
        assert!(local_to_utc(" 2026-03-05 ", " 10:00 ", z, None).is_ok());
    }

    #[test]
    fn the_past_is_refused_but_the_current_minute_is_fine() {
        let z = zone("Europe/Berlin");
        let now = utc("2026-05-03T12:05:40Z"); // 14:05:40 in Berlin
        for (time, ok) in [
            ("14:05", true),
            ("14:04", false),
            ("14:06", true),
            ("13:00", false),
        ] {
            let got = ScheduleAt::parse("2026-05-03", time, z, None, now);
            assert_eq!(got.is_ok(), ok, "{time}");
        }
        let err = ScheduleAt::parse("2026-05-03", "14:04", z, None, now).unwrap_err();
        assert_eq!(
            err.to_string(),
            "14:04 on 3 May 2026 in Europe/Berlin has already passed. Choose a later time."
        );
    }

    #[test]
    fn more_than_a_year_ahead_is_refused() {
        let z = zone("Asia/Kolkata");
        let now = utc("2026-05-03T06:30:00Z"); // 12:00 in Kolkata
        assert!(ScheduleAt::parse("2027-05-03", "12:00", z, None, now).is_ok());
        let err = ScheduleAt::parse("2027-05-03", "12:01", z, None, now).unwrap_err();
        assert_eq!(
            err.to_string(),
            "That's more than a year away. Choose a time up to 12:00 on 3 May 2027 (Asia/Kolkata)."
        );
    }

    #[test]
    fn an_instant_formats_back_to_the_local_clock() {
        for (instant, z, date, time, fold) in [
            (
                "2026-03-28T21:00:00Z",
                "Asia/Kolkata",
                "2026-03-29",
                "02:30",
                None,
            ),
            (
                "2026-10-25T00:30:00Z",
                "Europe/Berlin",
                "2026-10-25",
                "02:30",
                Some(Fold::Earlier),
            ),
            (
                "2026-10-25T01:30:00Z",
                "Europe/Berlin",
                "2026-10-25",
                "02:30",
                Some(Fold::Later),
            ),
            (
                "2026-07-14T23:15:59Z",
                "Pacific/Chatham",
                "2026-07-15",
                "12:00",
                None,
            ),
            (
                "2026-11-01T06:30:00Z",
                "America/New_York",
                "2026-11-01",
                "01:30",
                Some(Fold::Later),
            ),
        ] {
            let local = LocalTime::of(utc(instant), zone(z));
            assert_eq!(
                local,
                LocalTime {
                    date: date.into(),
                    time: time.into(),
                    fold
                },
                "{instant} in {z}"
            );
        }
    }

    #[test]
    fn offsets_are_written_the_way_people_read_them() {
        for (s, want) in [
            (0, "UTC+0"),
            (7_200, "UTC+2"),
            (-14_400, "UTC−4"),
            (19_800, "UTC+5:30"),
            (49_500, "UTC+13:45"),
            (-34_200, "UTC−9:30"),
        ] {
            assert_eq!(utc_offset(s), want);
        }
    }

    const ZONES: [&str; 6] = [
        "Europe/Berlin",
        "America/New_York",
        "Asia/Kolkata",
        "Pacific/Chatham",
        "Australia/Lord_Howe",
        "America/Sao_Paulo",
    ];

    proptest! {
        #[test]
        fn a_parsed_time_formats_and_parses_back_to_the_same_instant(
            z in 0..ZONES.len(),
            days in 0i64..(366 * 30),
            minute_of_day in 0u32..(24 * 60),
            later in any::<bool>(),
        ) {
            let tz = zone(ZONES[z]);
            let date = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap() + Duration::days(days);
            let date = date.format("%Y-%m-%d").to_string();
            let time = format!("{:02}:{:02}", minute_of_day / 60, minute_of_day % 60);
            let fold = Some(if later { Fold::Later } else { Fold::Earlier });
            if let Ok(first) = local_to_utc(&date, &time, tz, fold) {
                let local = LocalTime::of(first, tz);
                prop_assert_eq!(&local.date, &date);
                prop_assert_eq!(&local.time, &time);
                let again = local_to_utc(&local.date, &local.time, tz, local.fold).unwrap();
                prop_assert_eq!(again, first);
            }
        }

        #[test]
        fn every_whole_minute_instant_round_trips_through_the_local_clock(
            z in 0..ZONES.len(),
            minutes in 0i64..(60 * 24 * 366 * 30),
        ) {
            let tz = zone(ZONES[z]);
            let instant = utc("2000-01-01T00:00:00Z") + Duration::minutes(minutes);
            let local = LocalTime::of(instant, tz);
            let again = local_to_utc(&local.date, &local.time, tz, local.fold).unwrap();
            prop_assert_eq!(again, instant);
        }

    }

    proptest! {
        // Each case checks two whole days minute by minute; a few dozen zone-years suffice.
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Over the whole day the clocks spring forward, every local minute either exists and
        /// maps to an instant shown as that same minute, or is reported as missing together with
        /// the jump it falls into; none is moved silently. The missing minutes are exactly the
        /// length of the jump.
        #[test]
        fn on_a_spring_forward_day_gap_times_are_reported_and_no_time_is_shifted(
            z in 0..ZONES.len(),
            year in 2000i32..2031,
        ) {
            let tz = zone(ZONES[z]);
            let noon = |d: NaiveDate| d.and_hms_opt(12, 0, 0).unwrap().and_utc();
            let first = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
            // Days whose offset is larger than the previous day's: the clocks went forward.
            let forward = (1..366)
                .map(|i| first + Duration::days(i))
                .filter(|d| d.year() == year)
                .find(|d| offset_at(tz, noon(*d)) > offset_at(tz, noon(*d - Duration::days(1))));
            let Some(day) = forward else { return Ok(()); };
            let jump = offset_at(tz, noon(day)) - offset_at(tz, noon(day - Duration::days(1)));
            // The jump may happen at midnight (the day before's noon to this one's).
            let mut missing = 0;
            for date in [day - Duration::days(1), day] {
                let date_s = date.format("%Y-%m-%d").to_string();
                for minute in 0..(24 * 60) {
                    let time = format!("{:02}:{:02}", minute / 60, minute % 60);
                    let local = date.and_hms_opt(minute / 60, minute % 60, 0).unwrap();
                    match local_to_utc(&date_s, &time, tz, None) {
                        Ok(t) => {
                            let shown = LocalTime::of(t, tz);
                            prop_assert_eq!((&shown.date, &shown.time), (&date_s, &time));
                        }
                        Err(ScheduleError::DoesNotExist { local: l, jumps_from, jumps_to, .. }) => {
                            prop_assert_eq!(l, local);
                            prop_assert!(jumps_from <= local && local < jumps_to);
                            prop_assert_eq!((jumps_to - jumps_from).num_seconds(), i64::from(jump));
                            missing += 1;
                        }
                        Err(ScheduleError::Ambiguous { .. }) => {}
                        Err(other) => prop_assert!(false, "{date_s} {time}: {other:?}"),
                    }
                }
            }
            prop_assert_eq!(missing * 60, jump);
        }
    }
}

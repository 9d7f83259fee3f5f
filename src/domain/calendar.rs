//! Calendar geometry in a user's time zone: which days a month or week view shows, where each
//! local day begins and ends in UTC (days are 23 or 25 hours long across DST changes), and
//! where a post lands.

use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone as _,
    Utc, Weekday,
};

use super::TimeZone;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Month,
    Week,
}

impl View {
    pub fn as_str(self) -> &'static str {
        match self {
            View::Month => "month",
            View::Week => "week",
        }
    }
}

impl FromStr for View {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "month" => Ok(View::Month),
            "week" => Ok(View::Week),
            _ => Err(()),
        }
    }
}

impl fmt::Display for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The first instant of a local day: local midnight, or — in the few zones whose clocks jump
/// at midnight — the first moment that exists that day.
pub fn start_of_day(date: NaiveDate, zone: TimeZone) -> DateTime<Utc> {
    let tz = zone.tz();
    let mut local = NaiveDateTime::new(date, NaiveTime::MIN);
    for _ in 0..180 {
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(earlier, _) => return earlier.with_timezone(&Utc),
            LocalResult::None => local += Duration::minutes(1),
        }
    }
    // No zone skips more than a few hours; fall back to treating the time as UTC.
    Utc.from_utc_datetime(&NaiveDateTime::new(date, NaiveTime::MIN))
}

/// A local day and its UTC bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Day {
    pub date: NaiveDate,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Whether the day belongs to the month being shown (month view pads with neighbours).
    pub in_period: bool,
}

impl Day {
    fn new(date: NaiveDate, zone: TimeZone, in_period: bool) -> Self {
        let next = date.succ_opt().unwrap_or(date);
        Self {
            date,
            start: start_of_day(date, zone),
            end: start_of_day(next, zone),
            in_period,
        }
    }

    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }
}

/// The days a view shows, in weeks starting on Monday.
#[derive(Clone, Debug)]
pub struct Period {
    pub view: View,
    /// The date the view was asked for (kept for navigation).
    pub anchor: NaiveDate,
    pub weeks: Vec<Vec<Day>>,
}

impl Period {
    pub fn new(view: View, anchor: NaiveDate, zone: TimeZone) -> Self {
        let weeks = match view {
            View::Week => {
                let monday = monday_of(anchor);
                vec![
                    (0..7)
                        .map(|i| Day::new(monday + Duration::days(i), zone, true))
                        .collect(),
                ]
            }
            View::Month => {
                let first = anchor.with_day(1).expect("day 1 exists");
                let last = last_of_month(first);
                let mut weeks = Vec::new();
                let mut monday = monday_of(first);
                while monday <= last {
                    weeks.push(
                        (0..7)
                            .map(|i| {
                                let d = monday + Duration::days(i);
                                Day::new(d, zone, d.month() == first.month())
                            })
                            .collect(),
                    );
                    monday += Duration::days(7);
                }
                weeks
            }
        };
        Self {
            view,
            anchor,
            weeks,
        }
    }

    /// The UTC range covering every day shown.
    pub fn range(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let first = &self.weeks[0][0];
        let last = self
            .weeks
            .last()
            .and_then(|w| w.last())
            .expect("a period has days");
        (first.start, last.end)
    }

    /// The anchor of the previous and next period.
    pub fn previous(&self) -> NaiveDate {
        match self.view {
            View::Week => self.anchor - Duration::days(7),
            View::Month => add_months(self.anchor.with_day(1).expect("day 1 exists"), -1),
        }
    }

    pub fn next(&self) -> NaiveDate {
        match self.view {
            View::Week => self.anchor + Duration::days(7),
            View::Month => add_months(self.anchor.with_day(1).expect("day 1 exists"), 1),
        }
    }

    /// "December 2026" or "7 – 13 December 2026" (or across months and years).
    pub fn title(&self) -> String {
        match self.view {
            View::Month => self.anchor.format("%B %Y").to_string(),
            View::Week => {
                let (a, b) = (self.weeks[0][0].date, self.weeks[0][6].date);
                if a.year() != b.year() {
                    format!("{} – {}", a.format("%-d %B %Y"), b.format("%-d %B %Y"))
                } else if a.month() != b.month() {
                    format!("{} – {}", a.format("%-d %B"), b.format("%-d %B %Y"))
                } else {
                    format!("{} – {}", a.format("%-d"), b.format("%-d %B %Y"))
                }
            }
        }
    }
}

pub fn monday_of(d: NaiveDate) -> NaiveDate {
    d - Duration::days(d.weekday().num_days_from_monday() as i64)
}

fn last_of_month(first: NaiveDate) -> NaiveDate {
    add_months(first, 1)
        .pred_opt()
        .expect("a month has a last day")
}

fn add_months(first: NaiveDate, months: i32) -> NaiveDate {
    let total = first.year() * 12 + first.month0() as i32 + months;
    NaiveDate::from_ymd_opt(total.div_euclid(12), total.rem_euclid(12) as u32 + 1, 1)
        .expect("the first of a month exists")
}

/// The local date a UTC instant falls on.
pub fn local_date(t: DateTime<Utc>, zone: TimeZone) -> NaiveDate {
    t.with_timezone(&zone.tz()).date_naive()
}

/// The week day names, Monday first.
pub const WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

#[cfg(test)]
mod tests {
    use super::*;

    fn tz(name: &str) -> TimeZone {
        TimeZone::parse(name).unwrap()
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn a_month_view_covers_whole_weeks_from_monday() {
        let p = Period::new(View::Month, d(2026, 12, 15), TimeZone::UTC);
        assert_eq!(p.weeks.len(), 5);
        assert_eq!(p.weeks[0][0].date, d(2026, 11, 30));
        assert!(!p.weeks[0][0].in_period && p.weeks[0][1].in_period);
        assert_eq!(p.weeks[4][6].date, d(2027, 1, 3));
        assert_eq!(p.title(), "December 2026");
        assert_eq!((p.previous(), p.next()), (d(2026, 11, 1), d(2027, 1, 1)));
    }

    #[test]
    fn a_week_across_the_new_year_is_titled_with_both_years() {
        let p = Period::new(View::Week, d(2026, 12, 31), TimeZone::UTC);
        assert_eq!(p.weeks[0][0].date, d(2026, 12, 28));
        assert_eq!(p.title(), "28 December 2026 – 3 January 2027");
        assert_eq!(p.next(), d(2027, 1, 7));
    }

    #[test]
    fn days_across_dst_changes_are_23_or_25_hours() {
        let berlin = tz("Europe/Berlin");
        let spring = Day::new(d(2026, 3, 29), berlin, true);
        assert_eq!(spring.end - spring.start, Duration::hours(23));
        let autumn = Day::new(d(2026, 10, 25), berlin, true);
        assert_eq!(autumn.end - autumn.start, Duration::hours(25));
        let chatham = Day::new(d(2026, 4, 5), tz("Pacific/Chatham"), true);
        assert_eq!(chatham.end - chatham.start, Duration::hours(25));
        let kolkata = Day::new(d(2026, 3, 29), tz("Asia/Kolkata"), true);
        assert_eq!(kolkata.start.to_rfc3339(), "2026-03-28T18:30:00+00:00");
    }

    #[test]
    fn a_day_whose_midnight_does_not_exist_starts_at_the_first_real_minute() {
        // Santiago skipped from 00:00 to 01:00 on 6 September 2026.
        let santiago = tz("America/Santiago");
        let start = start_of_day(d(2026, 9, 6), santiago);
        assert_eq!(
            start
                .with_timezone(&santiago.tz())
                .format("%H:%M")
                .to_string(),
            "01:00"
        );
    }

    #[test]
    fn the_period_range_spans_every_day_shown() {
        let ny = tz("America/New_York");
        let p = Period::new(View::Month, d(2026, 3, 1), ny);
        let (from, to) = p.range();
        assert_eq!(local_date(from, ny), d(2026, 2, 23));
        assert_eq!(local_date(to - Duration::seconds(1), ny), d(2026, 4, 5));
    }
}

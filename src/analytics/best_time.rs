//! Best time to post: a weekday × hour heat map of the seller's own engagement, in their time
//! zone, and the suggested time the composer offers once there is enough data.
//!
//! Each published post (one per network target) counts once, by its latest snapshot. Networks
//! differ wildly in size, so a post's engagement is divided by the seller's mean on that network:
//! a score of 1.0 is "your usual". Cells are the weekday and hour the post went out on the
//! seller's clock, so a change of zone or a DST change moves posts to the hour they saw.

use chrono::{
    DateTime, Datelike as _, Duration, LocalResult, NaiveDateTime, TimeZone as _, Timelike as _,
    Utc, Weekday,
};
use sea_orm::{ConnectionTrait, FromQueryResult, Statement};
use uuid::Uuid;

use crate::domain::TimeZone;
use crate::domain::schedule::LocalTime;

/// How far back posts count.
pub const WINDOW_DAYS: i64 = 90;
/// Posts with numbers needed before a time is suggested.
pub const MIN_POSTS: usize = 12;
/// Different weekday × hour cells those posts must cover.
pub const MIN_CELLS: usize = 4;
/// Posts a cell needs to be suggested: one lucky post is not a pattern.
pub const MIN_CELL_POSTS: usize = 2;
/// A suggestion is never sooner than this, leaving time to finish the post.
pub const LEAD_MINUTES: i64 = 15;

/// Weekdays in the order the heat map shows them.
pub const WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// A weekday's name in full ("Tuesday").
pub fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// A score as people read it: "2.1× your usual engagement".
pub fn score_label(score: f64) -> String {
    format!("{score:.1}× your usual engagement")
}

/// One published post's latest numbers: what the heat map is built from.
#[derive(Clone, Debug, FromQueryResult)]
pub struct Sample {
    pub platform: String,
    pub published_at: DateTime<Utc>,
    /// The latest snapshot's likes, reposts, replies, quotes, saves and clicks together
    /// (`post_targets.metrics_engagement`); `None` when the network gave none of them (such a
    /// post tells nothing about engagement, which is not the same as 0).
    pub engagement: Option<i64>,
}

/// One weekday × hour of the heat map.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Cell {
    /// Posts published in this hour.
    pub posts: usize,
    /// Their mean normalised engagement: 1.0 is the seller's usual.
    pub score: f64,
}

/// The seller's engagement by weekday (Monday first) and hour, on their clock.
#[derive(Clone, Debug, PartialEq)]
pub struct HeatMap {
    zone: TimeZone,
    /// `cells[weekday][hour]`, weekday 0 = Monday.
    cells: [[Cell; 24]; 7],
}

impl HeatMap {
    /// Buckets `samples` on `zone`'s clock, each divided by its network's mean.
    pub fn build(samples: &[Sample], zone: TimeZone) -> HeatMap {
        let with_numbers: Vec<(&Sample, i64)> = samples
            .iter()
            .filter_map(|s| s.engagement.map(|e| (s, e)))
            .collect();
        let mut means: std::collections::HashMap<&str, (i64, i64)> =
            std::collections::HashMap::new();
        for (s, e) in &with_numbers {
            let m = means.entry(s.platform.as_str()).or_default();
            m.0 += e;
            m.1 += 1;
        }
        let mut sums = [[0.0_f64; 24]; 7];
        let mut cells = [[Cell::default(); 24]; 7];
        for (s, e) in with_numbers {
            let (total, count) = means[s.platform.as_str()];
            if total == 0 {
                // Nothing to compare with on this network: no post there is better than another.
                continue;
            }
            let mean = total as f64 / count as f64;
            let local = s.published_at.with_timezone(&zone.tz());
            let day = local.weekday().num_days_from_monday() as usize;
            let hour = local.hour() as usize;
            sums[day][hour] += e as f64 / mean;
            cells[day][hour].posts += 1;
        }
        for (day, row) in cells.iter_mut().enumerate() {
            for (hour, cell) in row.iter_mut().enumerate() {
                if cell.posts > 0 {
                    cell.score = sums[day][hour] / cell.posts as f64;
                }
            }
        }
        HeatMap { zone, cells }
    }

    pub fn zone(&self) -> TimeZone {
        self.zone
    }

    /// The cell of `day` at `hour` (0–23).
    pub fn cell(&self, day: Weekday, hour: u32) -> Cell {
        self.cells[day.num_days_from_monday() as usize][(hour % 24) as usize]
    }

    /// Every cell with its weekday and hour, Monday 00:00 first.
    pub fn cells(&self) -> impl Iterator<Item = (Weekday, u32, Cell)> + '_ {
        WEEKDAYS
            .iter()
            .flat_map(move |d| (0..24u32).map(move |h| (*d, h, self.cell(*d, h))))
    }

    /// Posts that count (with numbers, on a network where there is something to compare).
    pub fn posts(&self) -> usize {
        self.cells().map(|(_, _, c)| c.posts).sum()
    }

    /// Cells holding at least one post.
    pub fn filled_cells(&self) -> usize {
        self.cells().filter(|(_, _, c)| c.posts > 0).count()
    }
}

/// The heat map of `user_id`'s own posts published in the last `WINDOW_DAYS` before `now`, by
/// each one's latest snapshot. One query.
pub async fn heat_map(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    zone: TimeZone,
    now: DateTime<Utc>,
) -> Result<HeatMap, sea_orm::DbErr> {
    let samples = Sample::find_by_statement(Statement::from_sql_and_values(
        db.get_database_backend(),
        r#"SELECT c.platform, t.published_at, t.metrics_engagement AS engagement
           FROM post_targets t
           JOIN posts p ON p.id = t.post_id
           JOIN connections c ON c.id = t.connection_id
           WHERE p.user_id = $1 AND t.status = 'published' AND t.metrics_at IS NOT NULL
             AND t.published_at >= $2 AND t.published_at <= $3"#,
        [
            user_id.into(),
            (now - Duration::days(WINDOW_DAYS)).into(),
            now.into(),
        ],
    ))
    .all(db)
    .await?;
    Ok(HeatMap::build(&samples, zone))
}

/// The best hour to post next, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Suggestion {
    /// The cell it comes from.
    pub weekday: Weekday,
    pub hour: u32,
    /// Its next occurrence, at least `LEAD_MINUTES` after now.
    pub at: DateTime<Utc>,
    /// The same on the seller's clock, as the composer's fields take it.
    pub local: LocalTime,
    pub score: f64,
    pub posts: usize,
}

impl Suggestion {
    /// "Tuesday 18:00", as the clock will read then (an hour skipped by a DST change reads as
    /// the first minute after it).
    pub fn when(&self) -> String {
        let day = chrono::NaiveDate::parse_from_str(&self.local.date, "%Y-%m-%d")
            .map_or(self.weekday, |d| d.weekday());
        format!("{} {}", weekday_name(day), self.local.time)
    }

    /// "2.1× your usual engagement".
    pub fn score_label(&self) -> String {
        score_label(self.score)
    }

    /// "based on 3 posts".
    pub fn basis(&self) -> String {
        format!("based on {} posts", self.posts)
    }
}

/// Too few numbers to suggest anything yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotEnough {
    /// About how many more published posts with numbers are needed.
    pub more: usize,
}

impl NotEnough {
    /// "about 3 more published posts with numbers".
    pub fn more_posts(&self) -> String {
        if self.more == 1 {
            "about 1 more published post with numbers".to_owned()
        } else {
            format!("about {} more published posts with numbers", self.more)
        }
    }
}

/// The best cell with at least `MIN_CELL_POSTS` posts (ties: more posts, then earlier in the
/// week) and its next occurrence at least `LEAD_MINUTES` after `now` on `zone`'s clock; or how
/// many more posts are needed before a suggestion means something.
pub fn suggestion(
    map: &HeatMap,
    now: DateTime<Utc>,
    zone: TimeZone,
) -> Result<Suggestion, NotEnough> {
    let posts = map.posts();
    let filled = map.filled_cells();
    let best = map
        .cells()
        .filter(|(_, _, c)| c.posts >= MIN_CELL_POSTS)
        .fold(None::<(Weekday, u32, Cell)>, |best, (d, h, c)| match best {
            // `cells()` runs Monday 00:00 first, so keeping the earlier on a full tie is "earlier
            // in the week".
            Some((_, _, b)) if b.score > c.score || (b.score == c.score && b.posts >= c.posts) => {
                best
            }
            _ => Some((d, h, c)),
        });
    let more = MIN_POSTS
        .saturating_sub(posts)
        .max(MIN_CELLS.saturating_sub(filled))
        .max(usize::from(best.is_none()));
    let Some((weekday, hour, cell)) = best.filter(|_| more == 0) else {
        return Err(NotEnough { more });
    };
    let at = next_occurrence(weekday, hour, now + Duration::minutes(LEAD_MINUTES), zone);
    Ok(Suggestion {
        weekday,
        hour,
        at,
        local: LocalTime::of(at, zone),
        score: cell.score,
        posts: cell.posts,
    })
}

/// The first instant at or after `after` when `zone`'s clock reads `weekday` at `hour`:00. When
/// a DST change skips that hour on the day, the first instant after the skip; when it repeats
/// it, the first of the two not before `after`.
pub fn next_occurrence(
    weekday: Weekday,
    hour: u32,
    after: DateTime<Utc>,
    zone: TimeZone,
) -> DateTime<Utc> {
    let tz = zone.tz();
    let mut day = after.with_timezone(&tz).date_naive();
    // Two weeks covers any week plus the day a zone skipped outright (Samoa, 2011).
    for _ in 0..16 {
        if day.weekday() == weekday {
            let Some(local) = day.and_hms_opt(hour, 0, 0) else {
                break;
            };
            let candidate = match tz.from_local_datetime(&local) {
                LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
                LocalResult::Ambiguous(a, b) => {
                    let (a, b) = (a.with_timezone(&Utc), b.with_timezone(&Utc));
                    let (first, second) = (a.min(b), a.max(b));
                    Some(if first >= after { first } else { second })
                }
                LocalResult::None => skipped_to(local, zone),
            };
            if let Some(t) = candidate.filter(|t| *t >= after) {
                return t;
            }
        }
        day += Duration::days(1);
    }
    // Unreachable for real zones; an hour from `after` rounded up is a sane answer anyway.
    after + Duration::hours(1)
}

/// For a local time a zone skips, the instant the skip ends: the local time read with the offset
/// in force just before it.
fn skipped_to(local: NaiveDateTime, zone: TimeZone) -> Option<DateTime<Utc>> {
    use chrono::Offset as _;
    let tz = zone.tz();
    (1..=(26 * 4)).find_map(|quarter| {
        let before = local - Duration::minutes(15 * quarter);
        let t = tz.from_local_datetime(&before).earliest()?;
        let offset = t.offset().fix().local_minus_utc();
        Some(local.and_utc() - Duration::seconds(i64::from(offset)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn sample(platform: &str, at: DateTime<Utc>, engagement: Option<i64>) -> Sample {
        Sample {
            platform: platform.into(),
            published_at: at,
            engagement,
        }
    }

    fn zone(name: &str) -> TimeZone {
        TimeZone::parse(name).unwrap()
    }

    #[test]
    fn a_monday_23_30_utc_post_lands_in_each_zone_s_own_hour() {
        let s = [sample("x", utc(2026, 11, 30, 23, 30), Some(5))];
        let berlin = HeatMap::build(&s, zone("Europe/Berlin"));
        assert_eq!(berlin.cell(Weekday::Tue, 0).posts, 1);
        let utc_map = HeatMap::build(&s, TimeZone::UTC);
        assert_eq!(utc_map.cell(Weekday::Mon, 23).posts, 1);
        let ny = HeatMap::build(&s, zone("America/New_York"));
        assert_eq!(ny.cell(Weekday::Mon, 18).posts, 1);
        assert_eq!(ny.posts(), 1);
        assert_eq!(ny.filled_cells(), 1);
    }

    #[test]
    fn the_same_utc_hour_moves_with_summer_time() {
        // 17:00 UTC is 18:00 in Berlin in winter and 19:00 in summer.
        let winter = HeatMap::build(
            &[sample("x", utc(2026, 3, 28, 17, 0), Some(1))],
            zone("Europe/Berlin"),
        );
        assert_eq!(winter.cell(Weekday::Sat, 18).posts, 1);
        let summer = HeatMap::build(
            &[sample("x", utc(2026, 3, 29, 17, 0), Some(1))],
            zone("Europe/Berlin"),
        );
        assert_eq!(summer.cell(Weekday::Sun, 19).posts, 1);
        // The repeated hour of the autumn change: both 02:xx posts land in 02:00.
        let twice = HeatMap::build(
            &[
                sample("x", utc(2026, 10, 25, 0, 30), Some(1)),
                sample("x", utc(2026, 10, 25, 1, 30), Some(1)),
            ],
            zone("Europe/Berlin"),
        );
        assert_eq!(twice.cell(Weekday::Sun, 2).posts, 2);
    }

    #[test]
    fn scores_are_relative_to_each_network_s_own_mean() {
        let mon = utc(2026, 11, 30, 9, 0);
        let tue = utc(2026, 12, 1, 9, 0);
        let s = [
            // X: mean 10 — 15 is 1.5×, 5 is 0.5×.
            sample("x", mon, Some(15)),
            sample("x", tue, Some(5)),
            // Pinterest: mean 1000 — 1500 is 1.5×, 500 is 0.5×.
            sample("pinterest", mon, Some(1500)),
            sample("pinterest", tue, Some(500)),
            // No engagement numbers at all: skipped, not counted as 0.
            sample("x", tue, None),
            // A network where everything is 0 has nothing to compare.
            sample("instagram", tue, Some(0)),
        ];
        let map = HeatMap::build(&s, TimeZone::UTC);
        let m = map.cell(Weekday::Mon, 9);
        assert_eq!(m.posts, 2);
        assert!((m.score - 1.5).abs() < 1e-9, "{m:?}");
        let t = map.cell(Weekday::Tue, 9);
        assert_eq!(t.posts, 2);
        assert!((t.score - 0.5).abs() < 1e-9, "{t:?}");
        assert_eq!(map.posts(), 4);
    }

    /// `n` posts with `likes` each, published on weeks before Dec 2026 at `weekday` `hour` UTC.
    fn posts_at(weekday: Weekday, hour: u32, n: usize, likes: i64) -> Vec<Sample> {
        let monday = utc(2026, 11, 30, 0, 0);
        (0..n)
            .map(|i| {
                let at = monday
                    + Duration::days(i64::from(weekday.num_days_from_monday()))
                    + Duration::hours(i64::from(hour))
                    - Duration::weeks(i as i64 + 1);
                sample("x", at, Some(likes))
            })
            .collect()
    }

    #[test]
    fn too_little_data_says_how_many_more_posts_are_needed() {
        let map = HeatMap::build(&posts_at(Weekday::Tue, 18, 3, 9), TimeZone::UTC);
        let now = utc(2026, 12, 7, 12, 0);
        assert_eq!(
            suggestion(&map, now, TimeZone::UTC),
            Err(NotEnough { more: 9 })
        );
        // Enough posts but all in two cells: two more, in other hours.
        let mut s = posts_at(Weekday::Tue, 18, 6, 9);
        s.extend(posts_at(Weekday::Wed, 9, 6, 3));
        let map = HeatMap::build(&s, TimeZone::UTC);
        assert_eq!(
            suggestion(&map, now, TimeZone::UTC),
            Err(NotEnough { more: 2 })
        );
        // Twelve posts in twelve cells: no hour has shown a pattern yet.
        let s: Vec<Sample> = (0..12)
            .flat_map(|h| posts_at(Weekday::Mon, h, 1, 2))
            .collect();
        let map = HeatMap::build(&s, TimeZone::UTC);
        assert_eq!(
            suggestion(&map, now, TimeZone::UTC),
            Err(NotEnough { more: 1 })
        );
        assert_eq!(
            NotEnough { more: 1 }.more_posts(),
            "about 1 more published post with numbers"
        );
    }

    fn enough() -> Vec<Sample> {
        let mut s = posts_at(Weekday::Tue, 18, 3, 30);
        s.extend(posts_at(Weekday::Mon, 9, 3, 10));
        s.extend(posts_at(Weekday::Wed, 12, 3, 10));
        s.extend(posts_at(Weekday::Fri, 20, 3, 10));
        // A lone post scoring higher still isn't suggested.
        s.extend(posts_at(Weekday::Sat, 8, 1, 90));
        s
    }

    #[test]
    fn the_best_hour_with_two_posts_is_suggested_at_its_next_occurrence() {
        let map = HeatMap::build(&enough(), TimeZone::UTC);
        // Monday 7 December 2026, noon: next Tuesday 18:00 is the 8th.
        let s = suggestion(&map, utc(2026, 12, 7, 12, 0), TimeZone::UTC).unwrap();
        assert_eq!((s.weekday, s.hour, s.posts), (Weekday::Tue, 18, 3));
        assert_eq!(s.at, utc(2026, 12, 8, 18, 0));
        assert_eq!(s.when(), "Tuesday 18:00");
        assert_eq!(
            (s.local.date.as_str(), s.local.time.as_str()),
            ("2026-12-08", "18:00")
        );
        // The mean of all 13 posts is 270/13 ≈ 20.8; 30 is 1.4× that.
        assert_eq!(s.score_label(), "1.4× your usual engagement");
        assert_eq!(s.basis(), "based on 3 posts");
        // Ten minutes before it: too soon, so the week after.
        let s = suggestion(&map, utc(2026, 12, 8, 17, 50), TimeZone::UTC).unwrap();
        assert_eq!(s.at, utc(2026, 12, 15, 18, 0));
        // Exactly fifteen minutes before: still that day.
        let s = suggestion(&map, utc(2026, 12, 8, 17, 45), TimeZone::UTC).unwrap();
        assert_eq!(s.at, utc(2026, 12, 8, 18, 0));
    }

    #[test]
    fn ties_go_to_more_posts_then_earlier_in_the_week() {
        let mut s = posts_at(Weekday::Fri, 10, 3, 10);
        s.extend(posts_at(Weekday::Wed, 10, 2, 10));
        s.extend(posts_at(Weekday::Thu, 10, 3, 10));
        s.extend(posts_at(Weekday::Mon, 10, 4, 10));
        let map = HeatMap::build(&s, TimeZone::UTC);
        let now = utc(2026, 12, 7, 12, 0);
        assert_eq!(
            suggestion(&map, now, TimeZone::UTC).unwrap().weekday,
            Weekday::Mon
        );
        let mut s = posts_at(Weekday::Fri, 10, 3, 10);
        s.extend(posts_at(Weekday::Wed, 10, 2, 10));
        s.extend(posts_at(Weekday::Thu, 10, 3, 10));
        s.extend(posts_at(Weekday::Sun, 10, 3, 10));
        s.extend(posts_at(Weekday::Thu, 9, 1, 10));
        let map = HeatMap::build(&s, TimeZone::UTC);
        assert_eq!(
            suggestion(&map, now, TimeZone::UTC).unwrap().weekday,
            Weekday::Thu
        );
    }

    #[test]
    fn the_next_occurrence_is_on_the_seller_s_clock_across_dst() {
        let berlin = zone("Europe/Berlin");
        // Tuesday 18:00 in Berlin in winter is 17:00 UTC.
        assert_eq!(
            next_occurrence(Weekday::Tue, 18, utc(2026, 12, 7, 12, 0), berlin),
            utc(2026, 12, 8, 17, 0)
        );
        // Late Monday evening UTC is already Tuesday in Berlin: Tuesday 00:00 there is next week.
        assert_eq!(
            next_occurrence(Weekday::Tue, 0, utc(2026, 12, 7, 23, 30), berlin),
            utc(2026, 12, 14, 23, 0)
        );
        // Across the spring change the offset changes: Sunday 29 March 2026 12:00 is 10:00 UTC.
        assert_eq!(
            next_occurrence(Weekday::Sun, 12, utc(2026, 3, 27, 12, 0), berlin),
            utc(2026, 3, 29, 10, 0)
        );
        // 02:00 doesn't exist that Sunday: the first instant after the skip, 03:00 CEST.
        let t = next_occurrence(Weekday::Sun, 2, utc(2026, 3, 27, 12, 0), berlin);
        assert_eq!(t, utc(2026, 3, 29, 1, 0));
        assert_eq!(LocalTime::of(t, berlin).time, "03:00");
        // 02:00 happens twice on 25 October 2026: the first one, or the second when the first
        // is too soon.
        assert_eq!(
            next_occurrence(Weekday::Sun, 2, utc(2026, 10, 23, 12, 0), berlin),
            utc(2026, 10, 25, 0, 0)
        );
        assert_eq!(
            next_occurrence(Weekday::Sun, 2, utc(2026, 10, 25, 0, 30), berlin),
            utc(2026, 10, 25, 1, 0)
        );
        // New York's spring change (8 March 2026) skips 02:00 too.
        let ny = zone("America/New_York");
        let t = next_occurrence(Weekday::Sun, 2, utc(2026, 3, 6, 12, 0), ny);
        assert_eq!(LocalTime::of(t, ny).time, "03:00");
        assert_eq!(t, utc(2026, 3, 8, 7, 0));
    }

    #[test]
    fn a_suggestion_in_a_skipped_hour_reads_as_the_hour_after() {
        let berlin = zone("Europe/Berlin");
        let s: Vec<Sample> = [
            (Weekday::Sun, 2, 30),
            (Weekday::Mon, 9, 10),
            (Weekday::Tue, 9, 10),
            (Weekday::Wed, 9, 10),
        ]
        .into_iter()
        .flat_map(|(d, h, likes)| {
            // Winter weeks, so Sunday 02:00 in Berlin is 01:00 UTC.
            posts_at(d, h, 3, likes)
                .into_iter()
                .map(|mut s| {
                    s.published_at -= Duration::hours(1);
                    s
                })
                .collect::<Vec<_>>()
        })
        .collect();
        let map = HeatMap::build(&s, berlin);
        assert_eq!(map.cell(Weekday::Sun, 2).posts, 3);
        let s = suggestion(&map, utc(2027, 3, 26, 12, 0), berlin).unwrap();
        assert_eq!((s.weekday, s.hour), (Weekday::Sun, 2));
        assert_eq!(s.at, utc(2027, 3, 28, 1, 0));
        assert_eq!(s.when(), "Sunday 03:00");
    }

    proptest::proptest! {
        #[test]
        fn the_next_occurrence_is_never_too_soon_and_within_a_week_and_an_hour(
            secs in 1_700_000_000i64..1_900_000_000,
            day in 0u8..7,
            hour in 0u32..24,
            z in 0usize..5,
        ) {
            let zones = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"];
            let tz = zone(zones[z]);
            let after = DateTime::<Utc>::from_timestamp(secs, 0).unwrap();
            let weekday = WEEKDAYS[day as usize];
            let t = next_occurrence(weekday, hour, after, tz);
            proptest::prop_assert!(t >= after);
            proptest::prop_assert!(t - after <= Duration::days(7) + Duration::hours(1));
            let local = t.with_timezone(&tz.tz());
            // On the asked weekday, at the asked hour, or just after an hour the clock skipped.
            proptest::prop_assert_eq!(local.weekday(), weekday);
            if local.hour() != hour || local.minute() != 0 {
                proptest::prop_assert!(tz.tz().from_local_datetime(&local.date_naive().and_hms_opt(hour, 0, 0).unwrap()).single().is_none());
            }
        }
    }
}

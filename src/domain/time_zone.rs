//! IANA time zones, as chosen by a user.

use std::fmt;

use chrono_tz::Tz;

/// A real IANA time zone name such as `Europe/Berlin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeZone(Tz);

impl TimeZone {
    pub const UTC: TimeZone = TimeZone(Tz::UTC);

    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        raw.parse::<Tz>()
            .map(TimeZone)
            .map_err(|_| "Choose a time zone from the list.".to_string())
    }

    /// Parses, falling back to UTC for anything unknown (e.g. a browser's odd offer).
    pub fn parse_or_utc(raw: &str) -> Self {
        Self::parse(raw).unwrap_or(Self::UTC)
    }

    pub fn tz(self) -> Tz {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// Every zone a user may choose, in a stable alphabetical order, canonical names first.
    /// Legacy aliases (`US/Eastern`, `Etc/GMT+5`…) are left out of the list but still accepted.
    pub fn choices() -> &'static [&'static str] {
        static CHOICES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
        CHOICES.get_or_init(|| {
            let mut names: Vec<&'static str> = chrono_tz::TZ_VARIANTS
                .iter()
                .map(|tz| tz.name())
                .filter(|n| {
                    *n == "UTC"
                        || (n.contains('/')
                            && !n.starts_with("Etc/")
                            && !n.starts_with("US/")
                            && !n.starts_with("SystemV/")
                            && n.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                            && [
                                "Africa/",
                                "America/",
                                "Antarctica/",
                                "Arctic/",
                                "Asia/",
                                "Atlantic/",
                                "Australia/",
                                "Europe/",
                                "Indian/",
                                "Pacific/",
                            ]
                            .iter()
                            .any(|p| n.starts_with(p)))
                })
                .collect();
            names.sort_unstable();
            names
        })
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_zones_parse_and_made_up_ones_do_not() {
        assert_eq!(
            TimeZone::parse("Europe/Berlin").unwrap().name(),
            "Europe/Berlin"
        );
        assert_eq!(
            TimeZone::parse("Pacific/Chatham").unwrap().name(),
            "Pacific/Chatham"
        );
        assert!(TimeZone::parse("Mars/Olympus_Mons").is_err());
        assert_eq!(TimeZone::parse_or_utc("nonsense"), TimeZone::UTC);
    }

    #[test]
    fn the_choice_list_is_sorted_and_has_the_usual_zones() {
        let choices = TimeZone::choices();
        assert!(choices.windows(2).all(|w| w[0] < w[1]));
        for z in [
            "UTC",
            "America/New_York",
            "Asia/Kolkata",
            "Europe/Berlin",
            "Pacific/Chatham",
        ] {
            assert!(choices.contains(&z), "{z} missing");
        }
        assert!(!choices.contains(&"US/Eastern"));
    }
}

//! Small helpers for writing numbers and counts into messages people read.

/// `63206` → `"63,206"`: limits read more easily with a thousands separator.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// `count(1, "photo", "photos")` → `"1 photo"`, `count(3, …)` → `"3 photos"`.
pub(crate) fn count(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{} {many}", thousands(n))
    }
}

/// A byte size the way people say it: `5 MB`, `1.5 GB`, `800 KB`. Decimal units, as the
/// platforms state their limits in them.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1_000_000_000, "GB"), (1_000_000, "MB"), (1_000, "KB")];
    for (size, unit) in UNITS {
        if n >= size {
            let tenths = (n * 10 + size / 2) / size;
            return if tenths.is_multiple_of(10) {
                format!("{} {unit}", thousands(tenths / 10))
            } else {
                format!("{}.{} {unit}", thousands(tenths / 10), tenths % 10)
            };
        }
    }
    count(n, "byte", "bytes")
}

/// A duration in milliseconds as `0.5 seconds`, `140 seconds`, `15 minutes`, `2 min 20 s`.
pub(crate) fn duration(ms: u64) -> String {
    if ms < 1_000 {
        return format!("{} seconds", trim_decimal(ms as f64 / 1_000.0));
    }
    if ms >= 60_000 && ms.is_multiple_of(60_000) {
        return count(ms / 60_000, "minute", "minutes");
    }
    if ms > 180_000 {
        let s = ms / 1_000;
        return format!("{} min {} s", s / 60, s % 60);
    }
    if ms.is_multiple_of(1_000) {
        count(ms / 1_000, "second", "seconds")
    } else {
        format!("{} seconds", trim_decimal(ms as f64 / 1_000.0))
    }
}

fn trim_decimal(x: f64) -> String {
    let s = format!("{x:.1}");
    s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_get_thousands_separators() {
        for (n, want) in [
            (0, "0"),
            (999, "999"),
            (1_000, "1,000"),
            (63_206, "63,206"),
            (1_234_567, "1,234,567"),
        ] {
            assert_eq!(thousands(n), want);
        }
    }

    #[test]
    fn sizes_and_durations_read_naturally() {
        for (n, want) in [
            (512, "512 bytes"),
            (5_000_000, "5 MB"),
            (15_500_000, "15.5 MB"),
            (512_000_000, "512 MB"),
            (4_000_000_000, "4 GB"),
        ] {
            assert_eq!(bytes(n), want);
        }
        for (ms, want) in [
            (500, "0.5 seconds"),
            (1_000, "1 second"),
            (140_000, "140 seconds"),
            (140_500, "140.5 seconds"),
            (900_000, "15 minutes"),
            (912_000, "15 min 12 s"),
        ] {
            assert_eq!(duration(ms), want);
        }
    }
}

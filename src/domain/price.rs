//! Prices as people read them, from the exact decimal the shop gave (never through a float).

/// Digits after the decimal point a currency is normally written with (ISO 4217 minor units).
fn minor_units(currency: &str) -> usize {
    match currency {
        "JPY" | "KRW" | "VND" | "CLP" | "ISK" | "HUF" | "TWD" | "UGX" | "XAF" | "XOF" | "PYG" => 0,
        "BHD" | "KWD" | "OMR" | "JOD" | "TND" | "LYD" | "IQD" => 3,
        _ => 2,
    }
}

/// A decimal string (`24.500000`) with trailing zeros dropped, then padded to the currency's
/// usual digits (`24.50`). Digits beyond those are kept, never rounded away.
pub fn amount(decimal: &str, currency: Option<&str>) -> String {
    let decimal = decimal.trim();
    let (int, frac) = decimal.split_once('.').unwrap_or((decimal, ""));
    let mut frac = frac.trim_end_matches('0').to_owned();
    let want = currency.map_or(2, minor_units);
    while frac.len() < want {
        frac.push('0');
    }
    if frac.is_empty() {
        int.to_owned()
    } else {
        format!("{int}.{frac}")
    }
}

/// The price with its currency: `$24.00`, `€24.50`, `£3.00`, `¥1200`, or `24.00 CAD`.
pub fn display(decimal: &str, currency: Option<&str>) -> String {
    let n = amount(decimal, currency);
    match currency {
        Some("USD") => format!("${n}"),
        Some("EUR") => format!("€{n}"),
        Some("GBP") => format!("£{n}"),
        Some("JPY") => format!("¥{n}"),
        Some(c) => format!("{n} {c}"),
        None => n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_written_with_the_currency_s_digits_and_nothing_is_rounded() {
        for (decimal, currency, shown) in [
            ("24.000000", Some("EUR"), "€24.00"),
            ("24.5", Some("USD"), "$24.50"),
            ("0.100000", Some("GBP"), "£0.10"),
            ("1200.000000", Some("JPY"), "¥1200"),
            ("19.990000", Some("CAD"), "19.99 CAD"),
            ("12.345000", Some("KWD"), "12.345 KWD"),
            ("9.999000", Some("USD"), "$9.999"),
            ("5", None, "5.00"),
        ] {
            assert_eq!(display(decimal, currency), shown, "{decimal} {currency:?}");
        }
        assert_eq!(amount("24.000000", Some("EUR")), "24.00");
    }
}

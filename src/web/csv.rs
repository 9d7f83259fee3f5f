//! Writing CSV for people who open it in a spreadsheet: the analytics exports and the posts
//! export share these, so every file we hand out is quoted and defused the same way.

/// One CSV field: quoted when it holds a comma, a quote or a line break; a leading `=`, `+`, `-`
/// or `@` is defused so a spreadsheet never runs it as a formula. (The posts import undoes the
/// defusing, so an exported file imports as the posts it came from.)
pub(crate) fn csv_field(raw: &str) -> String {
    let mut v = raw.to_owned();
    // An apostrophe already before a formula sign is doubled too, so that removing one on
    // import always gives back what was written.
    let formula = v.trim_start_matches('\'').starts_with(['=', '+', '-', '@']);
    if formula {
        v.insert(0, '\'');
    }
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

/// One line of fields, each through [`csv_field`].
pub(crate) fn csv_line(fields: impl IntoIterator<Item = String>) -> String {
    let mut line = fields
        .into_iter()
        .map(|f| csv_field(&f))
        .collect::<Vec<_>>()
        .join(",");
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_when_needed_and_formulas_are_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("'=quoted"), "''=quoted");
        assert_eq!(csv_field("'plain"), "'plain");
    }
}

//! CSV as spreadsheets read it (RFC 4180): a field with a comma, a quote, a line break or an
//! edge space is quoted; a field a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, a tab
//! or a carriage return first) gets a leading `'`, since names and subjects come from
//! configurations and logs. `diff`, `usage --format csv` and `report --review-csv` write with it.

/// One field.
pub fn field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// One record, CRLF-terminated.
pub fn row(fields: &[&str]) -> String {
    let f: Vec<String> = fields.iter().map(|s| field(s)).collect();
    f.join(",") + "\r\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field(""), "");
        assert_eq!(field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(field("-1,2"), "\"'-1,2\"");
        assert_eq!(row(&["a", "", "b c"]), "a,,b c\r\n");
    }
}

//! The input policy shared by the seeder, the CLI and the TUIs: which product names, branch
//! ids, amounts and sale times are accepted, how names are matched, and how a user's text is
//! quoted in an error or printed on a terminal.
//!
//! - Product names are matched case-insensitively with surrounding spaces ignored
//!   ([`name_key`]), in a CSV `items_list` and on the command line alike; so two products may
//!   not differ only by case, and a name may not hold a comma (the `items_list` separator),
//!   control characters or invisible ones, nor be a number (`--items 7` is product id 7).
//! - Branch ids are matched exactly (the schema allows `^[A-Za-z0-9_-]{1,32}$`); the seeder
//!   refuses two that differ only by case, so an exact match is never a surprise.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};
use rust_decimal::Decimal;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use crate::domain::time_zone::{self, Tz};

/// How many characters of a user's field an error message quotes.
pub const QUOTE_CHARS: usize = 80;

/// `text` in double quotes with special characters escaped, cut after [`QUOTE_CHARS`]
/// characters (on a character boundary) with an ellipsis and the full length.
pub fn quote(text: &str) -> String {
    let length = text.chars().count();
    if length <= QUOTE_CHARS {
        return format!("{text:?}");
    }
    let cut: String = text.chars().take(QUOTE_CHARS).collect();
    format!("{cut:?}… ({length} characters)")
}

/// `text` for a terminal: control, format (invisible, bidirectional) and line-separator
/// characters are shown as escapes (`\n`, `\u{202e}`), so a stored name cannot move the cursor
/// or reorder what is printed after it.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else if is_invisible(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control() || is_invisible(c)
}

/// Format characters (zero-width, joiners, bidirectional controls, soft hyphen, BOM), line and
/// paragraph separators, and Unicode non-characters.
fn is_invisible(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    ) || is_noncharacter(c)
}

/// The 66 code points Unicode reserves as non-characters: U+FDD0..U+FDEF and the last two of
/// every plane.
fn is_noncharacter(c: char) -> bool {
    let code = c as u32;
    (0xFDD0..=0xFDEF).contains(&code) || code & 0xFFFE == 0xFFFE
}

/// The longest product name, in characters (the schema's limit).
pub const MAX_NAME_CHARS: usize = 64;

/// A product name as it is stored: surrounding spaces removed, then checked (as every
/// [`display_name`], and neither a number nor with a comma). The error says what is wrong.
pub fn product_name(text: &str) -> Result<&str, String> {
    let name = text.trim();
    if name.is_empty() {
        return Err("a product needs a name".into());
    }
    let name = display_name(name)?;
    if product_id(name).is_some() {
        return Err(format!(
            "{} is a number, which `store-core purchase --items` reads as a product id",
            quote(name)
        ));
    }
    if name.contains(',') {
        return Err(format!(
            "{} holds a comma, which separates the products of an items_list",
            quote(name)
        ));
    }
    Ok(name)
}

/// A name people read (a branch's, a cashier's; a product's is checked further): surrounding
/// spaces removed, not empty, at most [`MAX_NAME_CHARS`] characters, no control, invisible or
/// unusual space character. The error says what is wrong.
pub fn display_name(text: &str) -> Result<&str, String> {
    let name = text.trim();
    if name.is_empty() {
        return Err("the name is empty".into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "{} is longer than {MAX_NAME_CHARS} characters",
            quote(name)
        ));
    }
    if let Some(c) = name.chars().find(|&c| c == '\0') {
        return Err(format!(
            "{} holds a NUL byte ({}); is this a text file?",
            quote(name),
            c.escape_unicode()
        ));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(format!(
            "{} holds a control character ({})",
            quote(name),
            c.escape_unicode()
        ));
    }
    if let Some(c) = name.chars().find(|&c| is_invisible(c)) {
        return Err(format!(
            "{} holds an invisible character ({}): two names that look the same must be the same",
            quote(name),
            c.escape_unicode()
        ));
    }
    if let Some(c) = name.chars().find(|&c| c.is_whitespace() && c != ' ') {
        return Err(format!(
            "{} holds a space other than the plain one ({}): two names that look the same must be the same",
            quote(name),
            c.escape_unicode()
        ));
    }
    Ok(name)
}

/// The product id that `text` names when it is a number (`--items 7`); names are never numbers.
pub fn product_id(text: &str) -> Option<i32> {
    text.trim().parse().ok()
}

/// The key product names are matched by, everywhere: surrounding spaces ignored, and case
/// ignored (upper-cased then lower-cased, so that `ß` matches `SS` and `ς` matches `Σ`).
pub fn name_key(name: &str) -> String {
    name.trim().to_uppercase().to_lowercase()
}

/// A branch id as it is stored and matched (exactly): surrounding spaces removed, then checked.
pub fn branch_id(text: &str) -> Result<&str, String> {
    let id = text.trim();
    if (1..=32).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        Ok(id)
    } else {
        Err(format!(
            "{} is not a branch id (1-32 letters, digits, - or _)",
            quote(id)
        ))
    }
}

/// Digits allowed before the decimal point of an amount: more than any column holds
/// (`numeric(12, 2)`), few enough that no parse can overflow.
const MAX_WHOLE_DIGITS: usize = 15;

/// A decimal amount written plainly (`12`, `1.5`, `-3.25`), with at most two decimal places
/// (trailing zeros aside). No exponent (`1.5e0`), no bare point (`1.`, `.5`), no thousands
/// separators.
pub fn money(text: &str) -> Result<Decimal, String> {
    let t = text.trim();
    let not_amount = || format!("{} is not a decimal amount like 12.50", quote(t));
    let unsigned = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) {
        return Err(not_amount());
    }
    if let Some(fraction) = fraction
        && !all_digits(fraction)
    {
        return Err(if fraction.is_empty() {
            format!(
                "{} ends with a bare decimal point (write {whole} or {whole}.00)",
                quote(t)
            )
        } else {
            not_amount()
        });
    }
    let whole_digits = whole.trim_start_matches('0').len();
    if whole_digits > MAX_WHOLE_DIGITS {
        return Err(format!(
            "{} is too large ({whole_digits} digits before the point; at most {MAX_WHOLE_DIGITS})",
            quote(t)
        ));
    }
    if fraction.is_none_or(|f| f.len() <= 2) {
        return t.parse().map_err(|_| not_amount());
    }
    let cents = fraction.unwrap_or("").trim_end_matches('0');
    if cents.len() > 2 {
        return Err(format!("{} has more than two decimal places", quote(t)));
    }
    // Only zeros past the cents: parse without them (however many there are).
    let exact = if cents.is_empty() {
        format!("{}{whole}", if t.starts_with('-') { "-" } else { "" })
    } else {
        format!(
            "{}{whole}.{cents}",
            if t.starts_with('-') { "-" } else { "" }
        )
    };
    exact.parse().map_err(|_| not_amount())
}

/// A sale time: naive ISO 8601 (`2025-05-26T19:51:00.539354`, read as UTC, `T` or a space) or
/// RFC 3339 with an offset, with a four-digit year and no leap second, inside the window of
/// [`crate::domain::sale_time::check`] at `now`.
/// A timestamp without an offset is a wall-clock time in `zone` (see
/// [`time_zone::local_to_utc`] for the times a clock change skips or repeats); one with an offset
/// or `Z` names its instant whatever the zone.
pub fn sale_time(text: &str, now: DateTime<Utc>, zone: Tz) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    let bytes = t.as_bytes();
    let four_digit_year =
        bytes.len() > 4 && bytes[..4].iter().all(u8::is_ascii_digit) && bytes[4] == b'-';
    if !four_digit_year {
        return Err(format!(
            "{} is not a timestamp like 2025-05-26T19:51:00.539354 (the year has four digits)",
            quote(t)
        ));
    }
    let leap_second = || {
        format!(
            "{} is a leap second (:60), which PostgreSQL cannot store as such (it would become \
             the next second); write the time as it should be kept",
            quote(t)
        )
    };
    let wall_clock = NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f"));
    let parsed = match wall_clock {
        Ok(naive) if naive.nanosecond() >= 1_000_000_000 => return Err(leap_second()),
        Ok(naive) => time_zone::local_to_utc(naive, zone),
        Err(_) => {
            let instant = DateTime::parse_from_rfc3339(t)
                .map(|d| d.with_timezone(&Utc))
                .map_err(|_| {
                    format!(
                        "{} is not a timestamp like 2025-05-26T19:51:00.539354",
                        quote(t)
                    )
                })?;
            if instant.nanosecond() >= 1_000_000_000 {
                return Err(leap_second());
            }
            instant
        }
    };
    crate::domain::sale_time::check(parsed, now)?;
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_long_field_is_quoted_up_to_80_characters_on_a_char_boundary() {
        assert_eq!(quote("milk"), "\"milk\"");
        let long = "é".repeat(200);
        let quoted = quote(&long);
        assert_eq!(quoted, format!("\"{}\"… (200 characters)", "é".repeat(80)));
        assert_eq!(quote(&"x".repeat(80)), format!("\"{}\"", "x".repeat(80)));
    }

    #[test]
    fn printable_escapes_control_and_invisible_characters() {
        assert_eq!(printable("orange juice"), "orange juice");
        assert!(matches!(printable("milk"), Cow::Borrowed(_)));
        assert_eq!(printable("mi\x1b[2Jlk\n"), "mi\\u{1b}[2Jlk\\n");
        assert_eq!(printable("a\u{202e}b\u{200b}c"), "a\\u{202e}b\\u{200b}c");
    }

    #[test]
    fn product_names_refuse_controls_invisibles_and_commas() {
        assert_eq!(product_name("  orange juice "), Ok("orange juice"));
        assert_eq!(product_name("crème brûlée"), Ok("crème brûlée"));
        assert_eq!(product_name("7up"), Ok("7up"));
        for look_alike in ["mi\u{a0}lk", "orange\u{2009}juice", "toilet\u{3000}paper"] {
            let refused = product_name(look_alike).unwrap_err();
            assert!(
                refused.contains("space other than the plain one"),
                "{refused}"
            );
        }
        for (bad, says) in [
            ("", "needs a name"),
            ("   ", "needs a name"),
            ("milk\tfresh", "control character (\\u{9})"),
            ("mi\0lk", "NUL byte"),
            ("mi\u{200b}lk", "invisible character (\\u{200b})"),
            ("mi\u{feff}lk", "invisible character (\\u{feff})"),
            ("mi\u{202e}lk", "invisible character (\\u{202e})"),
            ("mi\u{2028}lk", "invisible character (\\u{2028})"),
            ("mi\u{fdd0}lk", "invisible character (\\u{fdd0})"),
            ("mi\u{10ffff}lk", "invisible character (\\u{10ffff})"),
            ("salt,pepper", "holds a comma"),
            ("42", "is a number"),
            ("+7", "is a number"),
        ] {
            let err = product_name(bad).unwrap_err();
            assert!(err.contains(says), "{bad:?}: {err}");
        }
        let err = product_name(&"x".repeat(65)).unwrap_err();
        assert!(err.contains("longer than 64"), "{err}");
        assert!(err.len() < 120, "quoted at most 80 characters: {err}");
    }

    #[test]
    fn names_match_ignoring_case_and_surrounding_spaces() {
        assert_eq!(name_key(" Orange JUICE "), name_key("orange juice"));
        assert_eq!(name_key("STRASSE"), name_key("straße"));
        assert_ne!(name_key("orange juice"), name_key("orangejuice"));
    }

    #[test]
    fn branch_ids_are_checked_and_trimmed() {
        assert_eq!(branch_id(" SMKT001 "), Ok("SMKT001"));
        assert!(branch_id("SMKT 1").is_err());
        assert!(branch_id(&"a".repeat(33)).is_err());
        assert!(branch_id("").is_err());
    }

    #[test]
    fn amounts_are_plain_decimals() {
        assert_eq!(money("1.5"), Ok(Decimal::new(15, 1)));
        assert_eq!(money(" 2 "), Ok(Decimal::new(2, 0)));
        assert_eq!(money("2.000"), Ok(Decimal::new(2, 0)));
        assert_eq!(money("-1.25"), Ok(Decimal::new(-125, 2)));
        assert_eq!(money("0007.10"), Ok(Decimal::new(71, 1)));
        for (bad, says) in [
            ("1.5e0", "is not a decimal amount"),
            ("1E2", "is not a decimal amount"),
            ("1.", "bare decimal point"),
            (".5", "is not a decimal amount"),
            ("1,5", "is not a decimal amount"),
            ("1.505", "more than two decimal places"),
            ("", "is not a decimal amount"),
            ("--1", "is not a decimal amount"),
            ("NaN", "is not a decimal amount"),
            (
                "99999999999999999999999999999999999",
                "is too large (35 digits before the point",
            ),
        ] {
            let err = money(bad).unwrap_err();
            assert!(err.contains(says), "{bad:?}: {err}");
        }
    }

    #[test]
    fn sale_times_are_four_digit_years_inside_the_window_and_no_leap_seconds() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        assert_eq!(
            sale_time("2025-05-26T19:51:00.539354", now, Tz::UTC)
                .unwrap()
                .to_rfc3339(),
            "2025-05-26T19:51:00.539354+00:00"
        );
        // Without an offset, the time is the chain's wall clock; with one, the zone is not used.
        assert_eq!(
            sale_time("2025-05-26T19:51:00", now, Tz::Europe__Paris).unwrap(),
            Utc.with_ymd_and_hms(2025, 5, 26, 17, 51, 0).unwrap()
        );
        assert_eq!(
            sale_time("2025-03-30 02:30:00", now, Tz::Europe__Paris).unwrap(),
            Utc.with_ymd_and_hms(2025, 3, 30, 1, 30, 0).unwrap(),
            "a time the spring change skips is read with the winter offset"
        );
        assert_eq!(
            sale_time("2025-05-26 21:51:00+02:00", now, Tz::Asia__Tokyo).unwrap(),
            Utc.with_ymd_and_hms(2025, 5, 26, 19, 51, 0).unwrap()
        );
        for (bad, says) in [
            ("+99999-01-01T00:00:00", "the year has four digits"),
            ("0000-01-01T00:00:00", "is before 2000-01-01"),
            ("1999-12-31T23:59:59", "is before 2000-01-01"),
            ("2026-12-01T12:05:01", "more than 5 minutes in the future"),
            ("2025-06-30T23:59:60", "leap second"),
            ("2025-06-30T23:59:60.5+00:00", "leap second"),
            ("2025-02-30T10:00:00", "is not a timestamp"),
            ("yesterday", "is not a timestamp"),
        ] {
            let err = sale_time(bad, now, Tz::UTC).unwrap_err();
            assert!(err.contains(says), "{bad:?}: {err}");
        }
    }
}

//! Text measured in terminal columns (display width, so wide and combining characters count as
//! they are drawn), and the choices that keep numbers whole: a cut is made with an ellipsis and
//! never inside a number.

use std::borrow::Cow;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Columns `text` takes on screen.
pub fn width(text: &str) -> usize {
    text.width()
}

/// The first of `candidates` (longest first) that fits in `max` columns.
pub fn first_fitting<I, S>(candidates: I, max: usize) -> Option<S>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    candidates.into_iter().find(|c| width(c.as_ref()) <= max)
}

/// `text` in at most `max` columns: whole, or cut with "…" at the end. The cut never falls
/// inside a number: the digits a cut would split are dropped with it.
pub fn ellipsis(text: &str, max: usize) -> Cow<'_, str> {
    if width(text) <= max {
        return Cow::Borrowed(text);
    }
    if max == 0 {
        return Cow::Borrowed("");
    }
    let mut kept = String::new();
    let mut used = 0;
    let mut rest = text.chars().peekable();
    while let Some(&c) = rest.peek() {
        let w = c.width().unwrap_or(0);
        if used + w > max - 1 {
            break;
        }
        kept.push(c);
        used += w;
        rest.next();
    }
    if rest.peek().is_some_and(|c| c.is_ascii_digit() || *c == '.') {
        while kept.ends_with(|c: char| c.is_ascii_digit() || c == '.' || c == ',') {
            kept.pop();
        }
    }
    kept.push('…');
    Cow::Owned(kept)
}

/// A number in a column `max` wide: whole, or "…" when it does not fit.
pub fn number(text: String, max: usize) -> String {
    if width(&text) <= max {
        text
    } else if max == 0 {
        String::new()
    } else {
        "…".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_counts_columns_not_bytes_or_chars() {
        assert_eq!(width("abc"), 3);
        assert_eq!(width("€"), 1);
        assert_eq!(width("日本"), 4);
        assert_eq!(width("e\u{301}"), 1);
    }

    #[test]
    fn ellipsis_cuts_text_but_never_inside_a_number() {
        assert_eq!(ellipsis("short", 10), "short");
        assert_eq!(ellipsis("a longer text", 8), "a longe…");
        assert_eq!(ellipsis("exported 19495 rows", 13), "exported …");
        assert_eq!(ellipsis("total 19495.60", 11), "total …");
        assert_eq!(ellipsis("日本語", 4), "日…");
        assert_eq!(ellipsis("anything", 0), "");
    }

    #[test]
    fn a_number_is_whole_or_an_ellipsis() {
        assert_eq!(number("19495.60".into(), 8), "19495.60");
        assert_eq!(number("19495.60".into(), 4), "…");
    }

    #[test]
    fn the_first_candidate_that_fits_is_chosen() {
        assert_eq!(first_fitting(["long one", "short"], 6), Some("short"));
        assert_eq!(first_fitting(["long one", "short"], 3), None);
    }
}

//! Text measured in terminal columns (display width, so wide and combining characters count as
//! they are drawn), and the choices that keep numbers whole: a cut is made with an ellipsis and
//! never inside a number.

use std::borrow::Cow;

use unicode_truncate::UnicodeTruncateStr;
use unicode_width::UnicodeWidthStr;

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

/// `text` in at most `max` columns: whole, or cut with "…" at the end, so that a cut never
/// goes unseen.
pub fn ellipsis(text: &str, max: usize) -> Cow<'_, str> {
    cut(text, max, false)
}

/// Like [`ellipsis`], but the cut never falls inside a number: the digits a cut would split
/// are dropped with it (for text that counts or sums something; not for ids).
pub fn ellipsis_whole_numbers(text: &str, max: usize) -> Cow<'_, str> {
    cut(text, max, true)
}

fn cut(text: &str, max: usize, whole_numbers: bool) -> Cow<'_, str> {
    if width(text) <= max {
        return Cow::Borrowed(text);
    }
    if max == 0 {
        return Cow::Borrowed("");
    }
    let (mut kept, _) = text.unicode_truncate(max - 1);
    let splits_a_number = text[kept.len()..].starts_with(|c: char| c.is_ascii_digit() || c == '.');
    if whole_numbers && splits_a_number {
        kept = kept.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.' || c == ',');
    }
    Cow::Owned(format!("{kept}…"))
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
    fn ellipsis_cuts_text_by_display_width() {
        assert_eq!(ellipsis("short", 10), "short");
        assert_eq!(ellipsis("a longer text", 8), "a longe…");
        assert_eq!(ellipsis("cheese", 6), "cheese");
        assert_eq!(ellipsis("cheese", 5), "chee…");
        assert_eq!(ellipsis("日本語", 6), "日本語");
        assert_eq!(ellipsis("日本語", 5), "日本…");
        assert_eq!(ellipsis("0c000000-0000-4000", 12), "0c000000-00…");
        assert_eq!(ellipsis("anything", 0), "");
    }

    #[test]
    fn ellipsis_whole_numbers_never_cuts_inside_a_number() {
        assert_eq!(ellipsis_whole_numbers("short", 10), "short");
        assert_eq!(ellipsis_whole_numbers("a longer text", 8), "a longe…");
        assert_eq!(
            ellipsis_whole_numbers("exported 19495 rows", 13),
            "exported …"
        );
        assert_eq!(ellipsis_whole_numbers("total 19495.60", 11), "total …");
        assert_eq!(ellipsis_whole_numbers("日本語", 4), "日…");
        assert_eq!(ellipsis_whole_numbers("anything", 0), "");
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

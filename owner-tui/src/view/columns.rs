//! Which columns of a table fit: a column is shown whole or not at all (ratatui would squeeze
//! columns wider than the box, cutting a number).

/// For columns `widths` listed by priority (most wanted first), which fit in `room` with one
/// column of space between them: each in turn, if it still fits. Also the room they take.
pub fn fitting(room: usize, widths: &[usize]) -> (Vec<bool>, usize) {
    let mut used = 0;
    let shown = widths
        .iter()
        .map(|&w| {
            let need = w + usize::from(used > 0);
            let fits = w > 0 && used + need <= room;
            if fits {
                used += need;
            }
            fits
        })
        .collect();
    (shown, used)
}

#[cfg(test)]
mod tests {
    use super::fitting;

    #[test]
    fn columns_are_taken_by_priority_while_they_fit() {
        assert_eq!(fitting(21, &[9, 5, 5]), (vec![true, true, true], 21));
        assert_eq!(fitting(15, &[9, 5, 5]), (vec![true, true, false], 15));
        // A wide column that does not fit leaves room for a narrower one after it.
        assert_eq!(fitting(12, &[9, 5, 2]), (vec![true, false, true], 12));
        assert_eq!(fitting(3, &[9]), (vec![false], 0));
    }
}

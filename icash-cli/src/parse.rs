//! Value parsers for clap that the programs share.

/// A clap value parser for a finite number from `min` to `max` inclusive: refuses what is not a
/// number, NaN, infinities and anything out of range, with a message that gives the range.
pub fn finite_in_range(
    min: f64,
    max: f64,
) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync + 'static {
    move |text: &str| {
        let value: f64 = text
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not a number"))?;
        if !value.is_finite() || value < min || value > max {
            return Err(format!(
                "{text} is out of range: give a number from {min} to {max}"
            ));
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::finite_in_range;

    #[test]
    fn finite_in_range_takes_the_range_and_refuses_the_rest() {
        let parse = finite_in_range(0.5, 3600.0);
        assert_eq!(parse("0.5"), Ok(0.5));
        assert_eq!(parse("3600"), Ok(3600.0));
        assert_eq!(parse(" 4 "), Ok(4.0));
        for bad in [
            "1e300", "1e-300", "inf", "-inf", "NaN", "-1", "0", "0.49", "3600.1", "",
        ] {
            let refused = parse(bad).expect_err(bad);
            assert!(
                refused.contains("from 0.5 to 3600") || refused.contains("is not a number"),
                "{bad}: {refused}"
            );
        }
        assert_eq!(parse("five"), Err("\"five\" is not a number".into()));
    }
}

//! Where each setting comes from: the command line, then the environment (clap reads
//! `DATABASE_URL` and `MIN_PURCHASES` into the same fields as the flags), then the optional
//! configuration file (`store_core::settings::FileConfig`), then the defaults.

use store_core::settings::{DEFAULT_MIN_PURCHASES, FileConfig};

/// Seconds between fallback refreshes when nothing says otherwise.
pub const DEFAULT_REFRESH_SECS: u64 = 60;

/// What the command line and the environment gave (None: not given).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Given {
    /// `--database-url` or `DATABASE_URL`; an empty value counts as not given.
    pub database_url: Option<String>,
    /// `--min-purchases` or `MIN_PURCHASES` (clap has already checked it is at least 1).
    pub min_purchases: Option<i32>,
    /// `--refresh`.
    pub refresh_secs: Option<u64>,
}

/// The settings the program runs with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// None: the libpq variables or the embedded default.
    pub database_url: Option<String>,
    pub min_purchases: i32,
    pub refresh_secs: u64,
    /// True when the connection string is the configuration file's (for error messages).
    pub database_url_from_file: bool,
}

/// Flags and environment first, then the file, then the defaults. A value in the file that is
/// out of range is an error (naming the setting), not silently replaced by the default.
pub fn resolve(given: Given, file: &FileConfig) -> Result<Resolved, String> {
    let non_empty = |url: &Option<String>| url.clone().filter(|u| !u.trim().is_empty());
    let (database_url, database_url_from_file) = match non_empty(&given.database_url) {
        Some(url) => (Some(url), false),
        None => {
            let url = non_empty(&file.database_url);
            let from_file = url.is_some();
            (url, from_file)
        }
    };
    let min_purchases = match (given.min_purchases, file.min_purchases) {
        (Some(n), _) => n,
        (None, Some(n)) if n >= 1 => n,
        (None, Some(n)) => return Err(format!("min_purchases = {n}: it must be at least 1")),
        (None, None) => DEFAULT_MIN_PURCHASES,
    };
    let refresh_secs = match (given.refresh_secs, file.refresh_secs) {
        (Some(s), _) => s,
        (None, Some(s)) if s >= 1 => s,
        (None, Some(s)) => return Err(format!("refresh_secs = {s}: it must be at least 1")),
        (None, None) => DEFAULT_REFRESH_SECS,
    };
    Ok(Resolved {
        database_url,
        min_purchases,
        refresh_secs,
        database_url_from_file,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(url: Option<&str>, min: Option<i32>, refresh: Option<u64>) -> FileConfig {
        FileConfig {
            database_url: url.map(String::from),
            supermarket: Some("SMKT002".into()),
            min_purchases: min,
            refresh_secs: refresh,
        }
    }

    #[test]
    fn flags_and_environment_win_over_the_file() {
        let given = Given {
            database_url: Some("postgresql://flag@host/db".into()),
            min_purchases: Some(7),
            refresh_secs: Some(5),
        };
        let r = resolve(
            given,
            &file(Some("postgresql://file@host/db"), Some(4), Some(30)),
        )
        .unwrap();
        assert_eq!(
            r,
            Resolved {
                database_url: Some("postgresql://flag@host/db".into()),
                min_purchases: 7,
                refresh_secs: 5,
                database_url_from_file: false,
            }
        );
    }

    #[test]
    fn the_file_fills_what_was_not_given() {
        let r = resolve(
            Given::default(),
            &file(Some("postgresql://file@host/db"), Some(4), Some(30)),
        )
        .unwrap();
        assert_eq!(
            r,
            Resolved {
                database_url: Some("postgresql://file@host/db".into()),
                min_purchases: 4,
                refresh_secs: 30,
                database_url_from_file: true,
            }
        );
        // Partly given: each setting is looked up on its own.
        let given = Given {
            min_purchases: Some(2),
            ..Given::default()
        };
        let r = resolve(given, &file(None, Some(4), Some(30))).unwrap();
        assert_eq!((r.min_purchases, r.refresh_secs), (2, 30));
        assert_eq!(r.database_url, None);
    }

    #[test]
    fn an_empty_connection_string_counts_as_not_given() {
        let given = Given {
            database_url: Some("  ".into()),
            ..Given::default()
        };
        let r = resolve(given, &file(Some("postgresql://file@host/db"), None, None)).unwrap();
        assert_eq!(r.database_url.as_deref(), Some("postgresql://file@host/db"));
        assert!(r.database_url_from_file);
        let r = resolve(Given::default(), &file(Some(""), None, None)).unwrap();
        assert_eq!(r.database_url, None);
        assert!(!r.database_url_from_file);
    }

    #[test]
    fn defaults_when_nothing_is_set_anywhere() {
        let r = resolve(Given::default(), &FileConfig::default()).unwrap();
        assert_eq!(
            r,
            Resolved {
                database_url: None,
                min_purchases: DEFAULT_MIN_PURCHASES,
                refresh_secs: DEFAULT_REFRESH_SECS,
                database_url_from_file: false,
            }
        );
    }

    #[test]
    fn out_of_range_values_in_the_file_are_errors() {
        let err = resolve(Given::default(), &file(None, Some(0), None)).unwrap_err();
        assert!(err.contains("min_purchases"), "{err}");
        let err = resolve(Given::default(), &file(None, None, Some(0))).unwrap_err();
        assert!(err.contains("refresh_secs"), "{err}");
        // Not an error when a flag overrides the bad value.
        let given = Given {
            min_purchases: Some(3),
            refresh_secs: Some(10),
            ..Given::default()
        };
        assert!(resolve(given, &file(None, Some(0), Some(0))).is_ok());
    }
}

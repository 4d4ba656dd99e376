//! The programs' settings: the optional configuration file, and where files are kept.

pub mod paths;

use crate::error::{Error, Result};
use paths::config_file_path;

/// `MIN_PURCHASES` or 3.
pub const DEFAULT_MIN_PURCHASES: i32 = 3;

/// The optional configuration file, the last place a setting is looked for (after flags, then
/// environment variables).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Like `DATABASE_URL`.
    pub database_url: Option<String>,
    /// The till's branch (pos-tui `--supermarket`).
    pub supermarket: Option<String>,
    /// The loyalty threshold (`MIN_PURCHASES`).
    pub min_purchases: Option<i32>,
    /// owner-tui's periodic refresh, in seconds.
    pub refresh_secs: Option<u64>,
}

impl FileConfig {
    /// The configuration file if there is one; a missing file is an empty configuration, a
    /// malformed one an error naming the file and line.
    pub fn load() -> Result<FileConfig> {
        Self::load_from(&config_file_path())
    }

    pub fn load_from(path: &std::path::Path) -> Result<FileConfig> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileConfig::default()),
            Err(e) => {
                return Err(Error::File {
                    path: path.display().to_string(),
                    message: e.to_string(),
                });
            }
        };
        toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map(|span| text[..span.start].matches('\n').count() as u64 + 1)
                .unwrap_or(0);
            Error::AtLine {
                path: path.display().to_string(),
                line,
                field: "config".into(),
                message: e.message().to_string(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_file_is_optional_and_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        assert_eq!(FileConfig::load_from(&path).unwrap(), FileConfig::default());
        std::fs::write(&path, "supermarket = \"SMKT002\"\nmin_purchases = 4\n").unwrap();
        let c = FileConfig::load_from(&path).unwrap();
        assert_eq!(c.supermarket.as_deref(), Some("SMKT002"));
        assert_eq!(c.min_purchases, Some(4));
        std::fs::write(&path, "supermarket = \"SMKT002\"\nrefresh = 5\n").unwrap();
        let err = FileConfig::load_from(&path).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{}:2: config:", path.display())),
            "{err}"
        );
    }
}

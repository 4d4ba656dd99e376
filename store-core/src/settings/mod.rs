//! The programs' settings, resolved once for all three: flag, else environment variable, else
//! the optional configuration file, else the default, with one validation.

use std::path::PathBuf;

use crate::db::target::DbTarget;
use crate::domain::time_zone::{self, Tz};
use crate::error::{Error, Result};
use crate::paths::config_file_path;

/// `MIN_PURCHASES` or 3.
pub const DEFAULT_MIN_PURCHASES: i32 = 3;

/// owner-tui's seconds between fallback refreshes when nothing says otherwise.
pub const DEFAULT_REFRESH_SECS: u64 = 60;

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
    /// The chain's time zone (`ICASH_TIMEZONE`), an IANA name.
    pub timezone: Option<String>,
    /// The till's id (pos-tui `--till`).
    pub till: Option<String>,
    /// The till's receipt printer as a shell command fed each receipt on its standard input
    /// (pos-tui `--receipt-command`).
    pub receipt_command: Option<String>,
    /// The till's receipt printer as a file or device each receipt is appended to (pos-tui
    /// `--receipt-file`).
    pub receipt_file: Option<PathBuf>,
    /// Columns of the receipt printer's paper: 42 or 48 (pos-tui `--receipt-width`).
    pub receipt_width: Option<usize>,
    /// `store-core serve`'s `[api]` table.
    pub api: Option<ApiFileConfig>,
}

/// The `[api]` table of the configuration file (`store-core serve`). The tokens are secrets:
/// a file that holds one should be readable by its owner only (`chmod 600`).
#[derive(Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiFileConfig {
    /// Like `--listen`.
    pub listen: Option<String>,
    /// Like `ICASH_API_CLERK_TOKEN`.
    pub clerk_token: Option<String>,
    /// Like `ICASH_API_OWNER_TOKEN`.
    pub owner_token: Option<String>,
    /// Like `--tls-cert` and `--tls-key` (PEM files).
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

impl std::fmt::Debug for ApiFileConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = |token: &Option<String>| token.as_ref().map(|_| "<secret>");
        f.debug_struct("ApiFileConfig")
            .field("listen", &self.listen)
            .field("clerk_token", &secret(&self.clerk_token))
            .field("owner_token", &secret(&self.owner_token))
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .finish()
    }
}

impl FileConfig {
    /// The configuration file if there is one; a missing file is an empty configuration, a
    /// malformed one an error naming the file and line.
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

/// What the command line and the environment gave (clap reads a flag and its variable, such
/// as `--database-url` and `DATABASE_URL`, into one field). None: not given; an empty
/// connection string counts as not given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Given {
    pub database_url: Option<String>,
    /// pos-tui's `--supermarket` / `ICASH_SUPERMARKET`.
    pub supermarket: Option<String>,
    /// `--min-purchases` / `MIN_PURCHASES`.
    pub min_purchases: Option<i32>,
    /// owner-tui's `--refresh`.
    pub refresh_secs: Option<u64>,
    /// `--timezone` / `ICASH_TIMEZONE`.
    pub timezone: Option<String>,
    /// pos-tui's `--till` / `ICASH_TILL`.
    pub till: Option<String>,
    /// pos-tui's `--receipt-command`.
    pub receipt_command: Option<String>,
    /// pos-tui's `--receipt-file`.
    pub receipt_file: Option<PathBuf>,
    /// pos-tui's `--receipt-width`.
    pub receipt_width: Option<usize>,
}

/// Receipt widths a printer may have, in columns (the common 80 mm and 3-inch papers).
pub const RECEIPT_WIDTHS: [usize; 2] = [42, 48];

/// The receipt width when none is set.
pub const DEFAULT_RECEIPT_WIDTH: usize = 42;

/// Where a till's receipts are printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReceiptPrinter {
    /// A shell command (`sh -c`), each receipt on its standard input: `lp -d receipt`.
    Command(String),
    /// A file or device, each receipt appended: `/dev/usb/lp0`, or a file kept as a log.
    File(PathBuf),
}

/// The settings a program runs with: each one from the flag, else its environment variable
/// (both in [`Given`]), else the configuration file, else the default. Resolved and checked
/// here only, the same way for the three programs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// None: the libpq variables or the embedded default.
    pub database_url: Option<String>,
    /// True when the connection string is the configuration file's (for error messages).
    pub database_url_from_file: bool,
    pub supermarket: Option<String>,
    pub min_purchases: i32,
    pub refresh_secs: u64,
    /// The chain's time zone: "today", the days and hours of charts, receipts and reports, and
    /// how timestamps without an offset are read. Default: the machine's zone.
    pub timezone: Tz,
    /// The till's id, on every sale it makes and in its receipt numbers (`T03-000124`);
    /// default: the host name, made into an id (`default_till`).
    pub till: String,
    /// Where the till prints its receipts; None: on screen only.
    pub receipt_printer: Option<ReceiptPrinter>,
    /// The receipt's columns: one of `RECEIPT_WIDTHS`.
    pub receipt_width: usize,
    /// The configuration file looked at (it need not exist).
    pub file: PathBuf,
}

impl Settings {
    /// Reads the configuration file (`ICASH_CONFIG`, else the XDG place) and resolves.
    pub fn load(given: Given) -> Result<Settings> {
        let path = config_file_path()?;
        let file = FileConfig::load_from(&path)?;
        Settings::resolve(given, &file, path)
    }

    /// Flags and environment first, then the file, then the defaults. A value out of range is
    /// an error naming the setting (and the file, for the file's), never replaced by the
    /// default.
    pub fn resolve(given: Given, file: &FileConfig, path: PathBuf) -> Result<Settings> {
        let in_file = |message: String| Error::File {
            path: path.display().to_string(),
            message,
        };
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
            (Some(n), _) if n >= 1 => n,
            (Some(n), _) => {
                return Err(Error::Invalid(format!(
                    "min_purchases = {n}: it must be at least 1"
                )));
            }
            (None, Some(n)) if n >= 1 => n,
            (None, Some(n)) => {
                return Err(in_file(format!(
                    "min_purchases = {n}: it must be at least 1"
                )));
            }
            (None, None) => DEFAULT_MIN_PURCHASES,
        };
        let refresh_secs = match (given.refresh_secs, file.refresh_secs) {
            (Some(s), _) if s >= 1 => s,
            (Some(s), _) => {
                return Err(Error::Invalid(format!(
                    "refresh_secs = {s}: it must be at least 1"
                )));
            }
            (None, Some(s)) if s >= 1 => s,
            (None, Some(s)) => {
                return Err(in_file(format!(
                    "refresh_secs = {s}: it must be at least 1"
                )));
            }
            (None, None) => DEFAULT_REFRESH_SECS,
        };
        let timezone = match (&given.timezone, &file.timezone) {
            (Some(name), _) => {
                time_zone::parse(name).map_err(|e| Error::Invalid(format!("timezone: {e}")))?
            }
            (None, Some(name)) => {
                time_zone::parse(name).map_err(|e| in_file(format!("timezone: {e}")))?
            }
            (None, None) => time_zone::machine_zone(),
        };
        let till = match (&given.till, &file.till) {
            (Some(id), _) => till_id(id).map_err(Error::Invalid)?,
            (None, Some(id)) => till_id(id).map_err(in_file)?,
            (None, None) => default_till(),
        };
        let receipt_printer = match receipt_printer(&given.receipt_command, &given.receipt_file)
            .map_err(Error::Invalid)?
        {
            Some(printer) => Some(printer),
            None => receipt_printer(&file.receipt_command, &file.receipt_file).map_err(in_file)?,
        };
        let receipt_width = match (given.receipt_width, file.receipt_width) {
            (Some(width), _) => check_receipt_width(width).map_err(Error::Invalid)?,
            (None, Some(width)) => check_receipt_width(width).map_err(in_file)?,
            (None, None) => DEFAULT_RECEIPT_WIDTH,
        };
        Ok(Settings {
            database_url,
            database_url_from_file,
            supermarket: given.supermarket.or_else(|| file.supermarket.clone()),
            min_purchases,
            refresh_secs,
            timezone,
            till,
            receipt_printer,
            receipt_width,
            file: path,
        })
    }

    /// Where the database is. A malformed connection string is `Error::BadDatabaseUrl` when
    /// the command line or the environment gave it (a usage error), and an error naming the
    /// file when the file did.
    pub fn db_target(&self) -> Result<DbTarget> {
        DbTarget::resolve(self.database_url.as_deref()).map_err(|e| match e {
            Error::BadDatabaseUrl(_) if self.database_url_from_file => Error::File {
                path: self.file.display().to_string(),
                message: format!("database_url: {e}"),
            },
            e => e,
        })
    }
}

/// The printer one place (the command line, or the file) names: a command or a file, not both;
/// a blank one counts as not given.
fn receipt_printer(
    command: &Option<String>,
    file: &Option<PathBuf>,
) -> std::result::Result<Option<ReceiptPrinter>, String> {
    let command = command.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let file = file.as_deref().filter(|f| !f.as_os_str().is_empty());
    match (command, file) {
        (Some(_), Some(_)) => Err(
            "receipt_command and receipt_file are both set: a till prints to one of them".into(),
        ),
        (Some(command), None) => Ok(Some(ReceiptPrinter::Command(command.to_string()))),
        (None, Some(file)) => Ok(Some(ReceiptPrinter::File(file.to_path_buf()))),
        (None, None) => Ok(None),
    }
}

fn check_receipt_width(width: usize) -> std::result::Result<usize, String> {
    if RECEIPT_WIDTHS.contains(&width) {
        Ok(width)
    } else {
        Err(format!(
            "receipt_width = {width}: a receipt is 42 or 48 columns wide"
        ))
    }
}

/// A till id: the rule of branch ids (1-32 letters, digits, `-` or `_`).
fn till_id(text: &str) -> std::result::Result<String, String> {
    crate::domain::input::branch_id(text)
        .map(str::to_string)
        .map_err(|_| {
            format!(
                "till = {}: a till id is 1-32 letters, digits, - or _",
                crate::domain::input::quote(text.trim())
            )
        })
}

/// The till id when none is set: this machine's host name as an id (`till_from_host`).
pub fn default_till() -> String {
    let host = nix::unistd::gethostname().unwrap_or_default();
    till_from_host(&host.to_string_lossy())
}

/// A host name made into a till id: its first label (`till-3` of `till-3.shop.example`), every
/// other character than a letter, digit, `-` or `_` made a `-`, at most 32 characters; `till`
/// when nothing is left.
pub fn till_from_host(host: &str) -> String {
    let id: String = host
        .trim()
        .split('.')
        .next()
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(32)
        .collect();
    if id.is_empty() { "till".into() } else { id }
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
            timezone: Some("Europe/Paris".into()),
            till: Some("T02".into()),
            receipt_command: Some("lp -d receipt".into()),
            receipt_file: None,
            receipt_width: Some(48),
            api: None,
        }
    }

    fn resolve(given: Given, file: &FileConfig) -> Result<Settings> {
        Settings::resolve(given, file, PathBuf::from("/etc/icash/config.toml"))
    }

    #[test]
    fn flags_and_environment_win_over_the_file() {
        let given = Given {
            database_url: Some("postgresql://flag@host/db".into()),
            supermarket: Some("SMKT001".into()),
            min_purchases: Some(7),
            refresh_secs: Some(5),
            timezone: Some("America/New_York".into()),
            till: Some("T01".into()),
            receipt_command: None,
            receipt_file: Some("/dev/usb/lp0".into()),
            receipt_width: Some(42),
        };
        let r = resolve(
            given,
            &file(Some("postgresql://file@host/db"), Some(4), Some(30)),
        )
        .unwrap();
        assert_eq!(
            r,
            Settings {
                database_url: Some("postgresql://flag@host/db".into()),
                database_url_from_file: false,
                supermarket: Some("SMKT001".into()),
                min_purchases: 7,
                refresh_secs: 5,
                timezone: Tz::America__New_York,
                till: "T01".into(),
                receipt_printer: Some(ReceiptPrinter::File("/dev/usb/lp0".into())),
                receipt_width: 42,
                file: PathBuf::from("/etc/icash/config.toml"),
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
            Settings {
                database_url: Some("postgresql://file@host/db".into()),
                database_url_from_file: true,
                supermarket: Some("SMKT002".into()),
                min_purchases: 4,
                refresh_secs: 30,
                timezone: Tz::Europe__Paris,
                till: "T02".into(),
                receipt_printer: Some(ReceiptPrinter::Command("lp -d receipt".into())),
                receipt_width: 48,
                file: PathBuf::from("/etc/icash/config.toml"),
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
            Settings {
                database_url: None,
                database_url_from_file: false,
                supermarket: None,
                min_purchases: DEFAULT_MIN_PURCHASES,
                refresh_secs: DEFAULT_REFRESH_SECS,
                timezone: time_zone::machine_zone(),
                till: default_till(),
                receipt_printer: None,
                receipt_width: DEFAULT_RECEIPT_WIDTH,
                file: PathBuf::from("/etc/icash/config.toml"),
            }
        );
    }

    #[test]
    fn out_of_range_values_in_the_file_are_errors_naming_the_file() {
        let err = resolve(Given::default(), &file(None, Some(0), None))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "/etc/icash/config.toml: min_purchases = 0: it must be at least 1"
        );
        let err = resolve(Given::default(), &file(None, None, Some(0)))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("refresh_secs") && err.contains("/etc/icash/config.toml"),
            "{err}"
        );
        // Not an error when a flag overrides the bad value.
        let given = Given {
            min_purchases: Some(3),
            refresh_secs: Some(10),
            ..Given::default()
        };
        assert!(resolve(given, &file(None, Some(0), Some(0))).is_ok());
    }

    #[test]
    fn an_unknown_time_zone_is_an_error_naming_where_it_came_from() {
        let bad_file = FileConfig {
            timezone: Some("Europe/Atlantis".into()),
            ..FileConfig::default()
        };
        let err = resolve(Given::default(), &bad_file)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "/etc/icash/config.toml: timezone: \"Europe/Atlantis\" is not a time zone"
            ),
            "{err}"
        );
        let given = Given {
            timezone: Some("Utc+2".into()),
            ..Given::default()
        };
        let err = resolve(given, &FileConfig::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("timezone: \"Utc+2\" is not a time zone"),
            "{err}"
        );
    }

    #[test]
    fn a_malformed_url_names_the_file_only_when_it_comes_from_there() {
        let from_file = resolve(
            Given::default(),
            &file(Some("postgresql://a@b:notaport/c"), None, None),
        )
        .unwrap();
        let err = from_file.db_target().unwrap_err();
        assert!(!matches!(err, Error::BadDatabaseUrl(_)), "{err}");
        assert!(
            err.to_string().starts_with(
                "/etc/icash/config.toml: database_url: invalid database connection string"
            ),
            "{err}"
        );
        let given = Given {
            database_url: Some("postgresql://a@b:notaport/c".into()),
            ..Given::default()
        };
        let from_flag = resolve(given, &FileConfig::default()).unwrap();
        assert!(matches!(
            from_flag.db_target(),
            Err(Error::BadDatabaseUrl(_))
        ));
    }

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

    #[test]
    fn the_till_id_is_checked_and_defaults_to_the_host_name_made_an_id() {
        let given = |id: &str| Given {
            till: Some(id.into()),
            ..Given::default()
        };
        assert_eq!(
            resolve(given(" T03 "), &FileConfig::default())
                .unwrap()
                .till,
            "T03"
        );
        let err = resolve(given("till 3"), &FileConfig::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("till = \"till 3\"") && err.contains("1-32"),
            "{err}"
        );
        let bad_file = FileConfig {
            till: Some("T/3".into()),
            ..FileConfig::default()
        };
        let err = resolve(Given::default(), &bad_file)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("/etc/icash/config.toml: till = "), "{err}");
        // A flag overrides a bad value in the file.
        assert_eq!(resolve(given("T04"), &bad_file).unwrap().till, "T04");
        assert_eq!(till_from_host("till-3.shop.example"), "till-3");
        assert_eq!(till_from_host("caisse n°2"), "caisse-n-2");
        assert_eq!(till_from_host(""), "till");
        assert_eq!(till_from_host(&"x".repeat(40)), "x".repeat(32));
        // Whatever the machine is called, the default is a valid id.
        assert!(till_id(&default_till()).is_ok(), "{}", default_till());
    }

    #[test]
    fn the_api_table_is_read_and_its_tokens_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "min_purchases = 4\n[api]\nlisten = \"0.0.0.0:8001\"\nclerk_token = \"c-secret\"\n",
        )
        .unwrap();
        let api = FileConfig::load_from(&path).unwrap().api.unwrap();
        assert_eq!(api.listen.as_deref(), Some("0.0.0.0:8001"));
        assert_eq!(api.clerk_token.as_deref(), Some("c-secret"));
        let shown = format!("{api:?}");
        assert!(
            !shown.contains("c-secret") && shown.contains("<secret>"),
            "{shown}"
        );
        std::fs::write(&path, "[api]\ntoken = \"x\"\n").unwrap();
        let err = FileConfig::load_from(&path).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{}:2: config:", path.display())),
            "{err}"
        );
    }

    #[test]
    fn the_receipt_printer_is_a_command_or_a_file_and_the_width_42_or_48() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "receipt_file = \"/var/log/receipts.txt\"\nreceipt_width = 48\n",
        )
        .unwrap();
        let from_file = FileConfig::load_from(&path).unwrap();
        let r = resolve(Given::default(), &from_file).unwrap();
        assert_eq!(
            r.receipt_printer,
            Some(ReceiptPrinter::File("/var/log/receipts.txt".into()))
        );
        assert_eq!(r.receipt_width, 48);
        // The command line's printer replaces the file's, whichever kind each is.
        let given = Given {
            receipt_command: Some(" cat >> /tmp/r ".into()),
            ..Given::default()
        };
        let r = resolve(given, &from_file).unwrap();
        assert_eq!(
            r.receipt_printer,
            Some(ReceiptPrinter::Command("cat >> /tmp/r".into()))
        );
        // Both in one place: refused, naming the file when it is the file's.
        let both = FileConfig {
            receipt_command: Some("lp".into()),
            receipt_file: Some("/dev/usb/lp0".into()),
            ..FileConfig::default()
        };
        let err = resolve(Given::default(), &both).unwrap_err().to_string();
        assert!(
            err.starts_with("/etc/icash/config.toml: receipt_command and receipt_file"),
            "{err}"
        );
        let given = Given {
            receipt_command: Some("lp".into()),
            receipt_file: Some("/dev/usb/lp0".into()),
            ..Given::default()
        };
        let err = resolve(given, &FileConfig::default())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("receipt_command and receipt_file"), "{err}");
        // A blank command is no printer.
        let given = Given {
            receipt_command: Some("  ".into()),
            ..Given::default()
        };
        assert_eq!(
            resolve(given, &FileConfig::default())
                .unwrap()
                .receipt_printer,
            None
        );
        // Widths other than 42 and 48 are refused, saying where they came from.
        let wide = FileConfig {
            receipt_width: Some(80),
            ..FileConfig::default()
        };
        let err = resolve(Given::default(), &wide).unwrap_err().to_string();
        assert_eq!(
            err,
            "/etc/icash/config.toml: receipt_width = 80: a receipt is 42 or 48 columns wide"
        );
        let given = Given {
            receipt_width: Some(40),
            ..Given::default()
        };
        let err = resolve(given, &FileConfig::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("receipt_width = 40"), "{err}");
    }
}

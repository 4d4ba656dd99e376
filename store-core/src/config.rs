//! Where the database is: a connection string, the libpq environment, or the embedded default.

use std::path::PathBuf;
use std::str::FromStr;

use tokio_postgres::config::Host;

use crate::error::{Error, Result};

/// The libpq variables that, when set, mean "use that server" instead of the embedded one.
const LIBPQ_TARGET_VARS: &[&str] = &["PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER"];

#[derive(Clone, Debug)]
pub enum DbTarget {
    /// An existing server, from `--database-url`, `DATABASE_URL` or the libpq variables.
    Server(Box<tokio_postgres::Config>),
    /// The private server store-core runs itself, with its files under this directory.
    Embedded(PathBuf),
}

impl DbTarget {
    /// `--database-url` (which clap also fills from `DATABASE_URL`), then libpq variables,
    /// then the embedded default.
    pub fn resolve(database_url: Option<&str>) -> Result<Self> {
        if let Some(url) = database_url.filter(|u| !u.trim().is_empty()) {
            return parse_database_url(url).map(|c| DbTarget::Server(Box::new(c)));
        }
        if LIBPQ_TARGET_VARS
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
        {
            return Ok(DbTarget::Server(Box::new(config_from_libpq_env())));
        }
        Ok(DbTarget::Embedded(icash_home()))
    }

    /// A description fit for messages and logs: never the password.
    pub fn describe(&self) -> String {
        match self {
            DbTarget::Server(c) => describe_config(c),
            DbTarget::Embedded(home) => format!("embedded database in {}", home.display()),
        }
    }
}

pub fn parse_database_url(url: &str) -> Result<tokio_postgres::Config> {
    tokio_postgres::Config::from_str(url).map_err(|e| {
        Error::BadDatabaseUrl(format!(
            "{e} (expected postgresql://user@host/db or key=value pairs such as \"host=/run/postgresql dbname=icash\")"
        ))
    })
}

/// The subset of libpq's environment variables that tokio-postgres does not read itself.
fn config_from_libpq_env() -> tokio_postgres::Config {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut config = tokio_postgres::Config::new();
    match var("PGHOST").or_else(|| var("PGHOSTADDR")) {
        Some(hosts) => {
            for host in hosts.split(',') {
                config.host(host);
            }
        }
        None => {
            config.host("/var/run/postgresql");
        }
    }
    if let Some(port) = var("PGPORT").and_then(|p| p.parse().ok()) {
        config.port(port);
    }
    let user = var("PGUSER")
        .or_else(|| var("USER"))
        .unwrap_or_else(|| "postgres".into());
    config.user(&user);
    config.dbname(var("PGDATABASE").unwrap_or(user));
    if let Some(password) = var("PGPASSWORD") {
        config.password(password);
    }
    if let Some(app) = var("PGAPPNAME") {
        config.application_name(&app);
    }
    if let Some(mode) = var("PGSSLMODE") {
        config.ssl_mode(match mode.as_str() {
            "disable" => tokio_postgres::config::SslMode::Disable,
            "require" | "verify-ca" | "verify-full" => tokio_postgres::config::SslMode::Require,
            _ => tokio_postgres::config::SslMode::Prefer,
        });
    }
    config
}

pub fn describe_config(c: &tokio_postgres::Config) -> String {
    let hosts: Vec<String> = c
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(name) => name.clone(),
            Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let port = c.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgresql://{}@{}:{}/{}",
        c.get_user().unwrap_or(""),
        if hosts.is_empty() {
            "localhost".to_string()
        } else {
            hosts.join(",")
        },
        port,
        c.get_dbname().unwrap_or("")
    )
}

/// The embedded database's home: `ICASH_HOME`, else `$XDG_DATA_HOME/icash`
/// (`~/.local/share/icash`). As root the server runs as `postgres`, which cannot enter
/// `/root`, so root's default is `/var/lib/icash`.
pub fn icash_home() -> PathBuf {
    if let Some(home) = std::env::var_os("ICASH_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(home);
    }
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from("/var/lib/icash");
    }
    if let Some(data) = std::env::var_os("XDG_DATA_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(data).join("icash");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    PathBuf::from(home).join(".local/share/icash")
}

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

/// `ICASH_CONFIG`, else `$XDG_CONFIG_HOME/icash/config.toml` (`~/.config/icash/config.toml`).
pub fn config_file_path() -> PathBuf {
    if let Some(path) = std::env::var_os("ICASH_CONFIG").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| ".".into())).join(".config")
        });
    base.join("icash/config.toml")
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
            Error::Csv {
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

//! Where the database is: a connection string, the libpq environment, or the embedded default,
//! and the settings (TLS included) every connection is made with.

use std::path::PathBuf;
use std::str::FromStr;

use tokio_postgres::config::Host;

use crate::db::tls::{SslMode, TlsConnector, TlsSettings};
use crate::error::{Error, Result};

/// The libpq variables that, when set, mean "use that server" instead of the embedded one.
const LIBPQ_TARGET_VARS: &[&str] = &["PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER"];

/// A connection's settings: tokio-postgres's, plus the TLS settings it has no room for
/// (`sslmode=verify-ca`/`verify-full`, `sslrootcert`). Reads like a `tokio_postgres::Config`.
#[derive(Clone, Debug)]
pub struct ConnectSettings {
    pub config: tokio_postgres::Config,
    pub tls: TlsSettings,
}

impl ConnectSettings {
    pub fn new(config: tokio_postgres::Config, tls: TlsSettings) -> Self {
        ConnectSettings { config, tls }
    }

    /// The TLS connector for these settings, after checking that they make sense.
    pub fn connector(&self) -> Result<TlsConnector> {
        self.check()?;
        self.tls.connector()
    }

    /// TLS cannot be required of Unix-socket connections: PostgreSQL never encrypts those.
    pub fn check(&self) -> Result<()> {
        let hosts = self.config.get_hosts();
        if self.tls.mode.requires_tls()
            && !hosts.is_empty()
            && self.config.get_hostaddrs().is_empty()
            && hosts.iter().all(|h| matches!(h, Host::Unix(_)))
        {
            return Err(Error::BadDatabaseUrl(format!(
                "sslmode={} needs a TCP connection, but {} is a Unix socket, which PostgreSQL \
                 never encrypts; use sslmode=prefer or disable for it, or connect by host name",
                self.tls.mode,
                describe_config(&self.config)
            )));
        }
        Ok(())
    }
}

impl std::ops::Deref for ConnectSettings {
    type Target = tokio_postgres::Config;
    fn deref(&self) -> &tokio_postgres::Config {
        &self.config
    }
}

impl std::ops::DerefMut for ConnectSettings {
    fn deref_mut(&mut self) -> &mut tokio_postgres::Config {
        &mut self.config
    }
}

/// A bare tokio-postgres configuration: its own sslmode, no certificate verification.
impl From<tokio_postgres::Config> for ConnectSettings {
    fn from(config: tokio_postgres::Config) -> Self {
        let tls = TlsSettings::from_config(&config);
        ConnectSettings { config, tls }
    }
}

impl From<&tokio_postgres::Config> for ConnectSettings {
    fn from(config: &tokio_postgres::Config) -> Self {
        ConnectSettings::from(config.clone())
    }
}

impl From<&ConnectSettings> for ConnectSettings {
    fn from(settings: &ConnectSettings) -> Self {
        settings.clone()
    }
}

#[derive(Clone, Debug)]
pub enum DbTarget {
    /// An existing server, from `--database-url`, `DATABASE_URL` or the libpq variables.
    Server(Box<ConnectSettings>),
    /// The private server store-core runs itself, with its files under this directory.
    Embedded(PathBuf),
}

impl DbTarget {
    /// `--database-url` (which clap also fills from `DATABASE_URL`), then libpq variables,
    /// then the embedded default.
    pub fn resolve(database_url: Option<&str>) -> Result<Self> {
        if let Some(url) = database_url.filter(|u| !u.trim().is_empty()) {
            return parse_connect_settings(url).map(|c| DbTarget::Server(Box::new(c)));
        }
        if LIBPQ_TARGET_VARS
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
        {
            return Ok(DbTarget::Server(Box::new(config_from_libpq_env()?)));
        }
        Ok(DbTarget::Embedded(crate::paths::icash_home()?))
    }

    /// A description fit for messages and logs: never the password.
    pub fn describe(&self) -> String {
        match self {
            DbTarget::Server(c) => describe_config(&c.config),
            DbTarget::Embedded(home) => format!("embedded database in {}", home.display()),
        }
    }
}

/// A connection string (URL or key=value pairs) with libpq's TLS settings: `sslmode` may be
/// any of libpq's (`verify-ca`, `verify-full` included) and `sslrootcert` names the root
/// certificates. Without them in the string, `PGSSLMODE` and `PGSSLROOTCERT` apply, as in libpq.
/// Errors never repeat the string or its password.
pub fn parse_connect_settings(url: &str) -> Result<ConnectSettings> {
    let pre = preprocess(url)?;
    // The password is not in `pre.rest`, so tokio-postgres's message cannot show it.
    let mut config = tokio_postgres::Config::from_str(&pre.rest).map_err(|e| {
        Error::BadDatabaseUrl(format!(
            "{} (expected postgresql://user@host/db or key=value pairs such as \"host=/run/postgresql dbname=icash\")",
            crate::error::describe_db_error(&e)
        ))
    })?;
    if let Some(password) = pre.password {
        config.password(password);
    }
    let mode = match pre.sslmode {
        Some(mode) => mode.parse()?,
        None => sslmode_from_env()?,
    };
    config.ssl_mode(mode.for_tokio_postgres());
    let root_cert = pre.sslrootcert.or_else(|| {
        std::env::var_os("PGSSLROOTCERT")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    let settings = ConnectSettings {
        config,
        tls: TlsSettings { mode, root_cert },
    };
    settings.check()?;
    Ok(settings)
}

/// A connection string as a bare tokio-postgres configuration, for connections that do not
/// carry TLS settings of their own (they connect with `TlsSettings::from_config`). A verifying
/// sslmode is refused rather than quietly dropped: use `parse_connect_settings`.
pub fn parse_database_url(url: &str) -> Result<tokio_postgres::Config> {
    let settings = parse_connect_settings(url)?;
    if settings.tls.mode.verifies() {
        return Err(Error::BadDatabaseUrl(format!(
            "sslmode={} is not supported here; use sslmode=require",
            settings.tls.mode
        )));
    }
    Ok(settings.config)
}

fn sslmode_from_env() -> Result<SslMode> {
    match std::env::var("PGSSLMODE").ok().filter(|v| !v.is_empty()) {
        Some(mode) => mode
            .parse()
            .map_err(|e| Error::BadDatabaseUrl(format!("PGSSLMODE: {e}"))),
        None => Ok(SslMode::Prefer),
    }
}

/// A connection string with the parameters tokio-postgres cannot take (or should not see)
/// taken out.
#[derive(Debug, Default, PartialEq, Eq)]
struct Preprocessed {
    /// The rest, for tokio-postgres: no sslmode, sslrootcert or password.
    rest: String,
    sslmode: Option<String>,
    sslrootcert: Option<PathBuf>,
    /// Kept out of the string so that no parse error can show it.
    password: Option<Vec<u8>>,
}

fn preprocess(s: &str) -> Result<Preprocessed> {
    for prefix in ["postgres://", "postgresql://"] {
        if let Some(rest) = s.strip_prefix(prefix) {
            return preprocess_url(prefix, rest);
        }
    }
    preprocess_key_values(s)
}

/// The URL form: credentials up to the first `@` of the authority (before the first `/` or
/// `?`, so that `?password=p@ss` is not read as credentials), then the query after the first
/// `?`. What is kept has no `@` after the authority, since tokio-postgres splits at the first
/// `@` anywhere.
fn preprocess_url(prefix: &str, rest: &str) -> Result<Preprocessed> {
    let mut out = Preprocessed::default();
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (creds, after) = match rest[..authority_end].find('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let (location, query) = match after.find('?') {
        Some(q) => (&after[..q], Some(&after[q + 1..])),
        None => (after, None),
    };
    let mut rebuilt = prefix.to_string();
    if let Some(creds) = creds {
        let (user, password) = match creds.split_once(':') {
            Some((user, password)) => (user, Some(password)),
            None => (creds, None),
        };
        out.password = password.map(percent_decode);
        rebuilt.push_str(user);
        rebuilt.push('@');
    }
    rebuilt.push_str(&location.replace('@', "%40"));
    let mut kept = Vec::new();
    if let Some(mut query) = query {
        while !query.is_empty() {
            let Some(eq) = query.find('=') else {
                return Err(Error::BadDatabaseUrl(
                    "a parameter without `=` in the query string".into(),
                ));
            };
            let raw_key = &query[..eq];
            let after_eq = &query[eq + 1..];
            let (raw_value, next) = match after_eq.find('&') {
                Some(amp) => (&after_eq[..amp], &after_eq[amp + 1..]),
                None => (after_eq, ""),
            };
            query = next;
            let key = String::from_utf8_lossy(&percent_decode(raw_key)).into_owned();
            let value = percent_decode(raw_value);
            match key.as_str() {
                "sslmode" => out.sslmode = Some(String::from_utf8_lossy(&value).into_owned()),
                "sslrootcert" => out.sslrootcert = Some(path_from_bytes(value)),
                "password" => out.password = Some(value),
                // libpq reads `host=/a,/b` as two hosts; tokio-postgres takes one host per
                // `host` parameter in a URL's query, so each gets its own.
                "host" => kept.extend(value.split(|b| *b == b',').map(|host| {
                    let host =
                        percent_encoding::percent_encode(host, percent_encoding::NON_ALPHANUMERIC);
                    format!("{raw_key}={host}")
                })),
                _ => kept.push(format!("{raw_key}={raw_value}").replace('@', "%40")),
            }
        }
    }
    if !kept.is_empty() {
        rebuilt.push('?');
        rebuilt.push_str(&kept.join("&"));
    }
    out.rest = rebuilt;
    Ok(out)
}

/// The `key=value` form, tokenised as tokio-postgres does (values may be quoted with `'`, and
/// `\` escapes), and put back together without the parameters taken out.
fn preprocess_key_values(s: &str) -> Result<Preprocessed> {
    let mut out = Preprocessed::default();
    let mut kept = Vec::new();
    let mut it = s.char_indices().peekable();
    let skip_ws = |it: &mut std::iter::Peekable<std::str::CharIndices>| {
        while it.next_if(|(_, c)| c.is_whitespace()).is_some() {}
    };
    loop {
        skip_ws(&mut it);
        let Some(&(start, _)) = it.peek() else { break };
        let mut key = String::new();
        while let Some((_, c)) = it.next_if(|(_, c)| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        if key.is_empty() {
            return Err(Error::BadDatabaseUrl(format!(
                "a parameter without a name at byte {start}"
            )));
        }
        skip_ws(&mut it);
        match it.next() {
            Some((_, '=')) => {}
            Some((i, _)) => {
                return Err(Error::BadDatabaseUrl(format!(
                    "expected `=` at byte {i} (quote values that contain spaces: key='a value')"
                )));
            }
            None => {
                return Err(Error::BadDatabaseUrl(
                    "a parameter without a value at the end".into(),
                ));
            }
        }
        skip_ws(&mut it);
        let mut value = String::new();
        if it.next_if(|(_, c)| *c == '\'').is_some() {
            loop {
                match it.next() {
                    Some((_, '\'')) => break,
                    Some((_, '\\')) => {
                        if let Some((_, c)) = it.next() {
                            value.push(c);
                        }
                    }
                    Some((_, c)) => value.push(c),
                    None => {
                        return Err(Error::BadDatabaseUrl(
                            "unterminated quoted connection parameter value".into(),
                        ));
                    }
                }
            }
        } else {
            let at = it.peek().map(|&(i, _)| i).unwrap_or(s.len());
            while let Some((_, c)) = it.next_if(|(_, c)| !c.is_whitespace()) {
                if c == '\\' {
                    if let Some((_, c2)) = it.next() {
                        value.push(c2);
                    }
                } else {
                    value.push(c);
                }
            }
            if value.is_empty() {
                return Err(Error::BadDatabaseUrl(format!(
                    "a parameter without a value at byte {at} (write key='' for an empty one)"
                )));
            }
        }
        match key.as_str() {
            "sslmode" => out.sslmode = Some(value),
            "sslrootcert" => out.sslrootcert = Some(PathBuf::from(value)),
            "password" => out.password = Some(value.into_bytes()),
            _ => kept.push(format!(
                "{key}='{}'",
                value.replace('\\', "\\\\").replace('\'', "\\'")
            )),
        }
    }
    out.rest = kept.join(" ");
    Ok(out)
}

fn percent_decode(s: &str) -> Vec<u8> {
    percent_encoding::percent_decode_str(s).collect()
}

fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(bytes))
}

/// The subset of libpq's environment variables that tokio-postgres does not read itself.
fn config_from_libpq_env() -> Result<ConnectSettings> {
    config_from_libpq_vars(|name| std::env::var(name).ok())
}

/// `config_from_libpq_env` over any source of variables (an empty one counts as unset).
fn config_from_libpq_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<ConnectSettings> {
    let var = |name: &str| lookup(name).filter(|v| !v.is_empty());
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
    // One port for every host, or one per host, as libpq reads PGHOST and PGPORT.
    if let Some(ports) = var("PGPORT") {
        for port in ports.split(',') {
            let port = port.trim().parse().map_err(|_| {
                Error::BadDatabaseUrl(format!("PGPORT: {port:?} is not a port number"))
            })?;
            config.port(port);
        }
    }
    if let Some(attrs) = var("PGTARGETSESSIONATTRS") {
        use tokio_postgres::config::TargetSessionAttrs;
        config.target_session_attrs(match attrs.as_str() {
            "any" => TargetSessionAttrs::Any,
            "read-write" => TargetSessionAttrs::ReadWrite,
            "read-only" => TargetSessionAttrs::ReadOnly,
            other => {
                return Err(Error::BadDatabaseUrl(format!(
                    "PGTARGETSESSIONATTRS: {other:?} is not one of any, read-write, read-only"
                )));
            }
        });
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
    let mode = match var("PGSSLMODE") {
        Some(mode) => mode
            .parse()
            .map_err(|e| Error::BadDatabaseUrl(format!("PGSSLMODE: {e}")))?,
        None => SslMode::Prefer,
    };
    config.ssl_mode(mode.for_tokio_postgres());
    let settings = ConnectSettings {
        config,
        tls: TlsSettings {
            mode,
            root_cert: var("PGSSLROOTCERT").map(PathBuf::from),
        },
    };
    settings.check()?;
    Ok(settings)
}

/// `postgresql://user@host:port/db`; with several hosts, each with its port
/// (`h1:5432,h2:5433`) and the session it looks for (`?target_session_attrs=read-write`).
pub fn describe_config(c: &tokio_postgres::Config) -> String {
    use tokio_postgres::config::TargetSessionAttrs;
    let ports = c.get_ports();
    // tokio-postgres gives a single port to every host, else one port per host.
    let port_of = |i: usize| match ports {
        [] => 5432,
        [only] => *only,
        many => many.get(i).copied().unwrap_or(5432),
    };
    let hosts: Vec<String> = c
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let name = match h {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            };
            format!("{name}:{}", port_of(i))
        })
        .collect();
    let session = match c.get_target_session_attrs() {
        TargetSessionAttrs::ReadWrite => "?target_session_attrs=read-write",
        TargetSessionAttrs::ReadOnly => "?target_session_attrs=read-only",
        _ => "",
    };
    format!(
        "postgresql://{}@{}/{}{session}",
        c.get_user().unwrap_or(""),
        if hosts.is_empty() {
            format!("localhost:{}", port_of(0))
        } else {
            hosts.join(",")
        },
        c.get_dbname().unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_are_taken_out_of_urls() {
        let pre = preprocess(
            "postgresql://ann:p%40ss@db.example:5433/icash?sslmode=verify-full&application_name=x&sslrootcert=%2Fetc%2Froot%20ca.crt",
        )
        .unwrap();
        assert_eq!(
            pre,
            Preprocessed {
                rest: "postgresql://ann@db.example:5433/icash?application_name=x".into(),
                sslmode: Some("verify-full".into()),
                sslrootcert: Some("/etc/root ca.crt".into()),
                password: Some(b"p@ss".to_vec()),
            }
        );
        let pre = preprocess("postgres://db/icash?sslmode=require").unwrap();
        assert_eq!(pre.rest, "postgres://db/icash");
        assert_eq!(pre.sslmode.as_deref(), Some("require"));
        let pre = preprocess("postgresql://u@h/d?password=a%26b").unwrap();
        assert_eq!(pre.rest, "postgresql://u@h/d");
        assert_eq!(pre.password, Some(b"a&b".to_vec()));
        // Nothing to take out: unchanged.
        let url = "postgresql://postgres@/icash?host=%2Ftmp%2Fx&port=5432";
        assert_eq!(preprocess(url).unwrap().rest, url);
        // Several hosts in one `host` parameter: one parameter each.
        let pre =
            preprocess("postgresql://postgres@/icash?host=/tmp/a,%2Ftmp%2Fb&port=5432").unwrap();
        assert_eq!(
            pre.rest,
            "postgresql://postgres@/icash?host=%2Ftmp%2Fa&host=%2Ftmp%2Fb&port=5432"
        );
    }

    #[test]
    fn an_at_sign_after_the_authority_is_not_a_credentials_separator() {
        let url = "postgresql://db/icash?password=p@ss";
        let pre = preprocess(url).unwrap();
        assert_eq!(pre.rest, "postgresql://db/icash");
        assert_eq!(pre.password, Some(b"p@ss".to_vec()));
        let settings = parse_connect_settings(url).unwrap();
        assert_eq!(settings.get_user(), None);
        assert_eq!(
            settings.get_hosts(),
            &[tokio_postgres::config::Host::Tcp("db".into())]
        );
        assert_eq!(settings.get_password(), Some(&b"p@ss"[..]));
        assert_eq!(describe_config(&settings), "postgresql://@db:5432/icash");
        // Another parameter's `@` reaches tokio-postgres encoded, not as a separator.
        let settings =
            parse_connect_settings("postgresql://db/icash?application_name=a@b").unwrap();
        assert_eq!(settings.get_application_name(), Some("a@b"));
        assert_eq!(settings.get_user(), None);
        // Credentials before the host still are.
        let settings = parse_connect_settings("postgresql://ann:pw@db/icash").unwrap();
        assert_eq!(settings.get_user(), Some("ann"));
        assert_eq!(settings.get_password(), Some(&b"pw"[..]));
    }

    #[test]
    fn tls_parameters_are_taken_out_of_key_value_strings() {
        let pre = preprocess(
            "host=db.example  port = 5433 sslmode=verify-full sslrootcert='/etc/my root.crt' password='it''s' application_name='a \\'b\\''",
        );
        // libpq's '' is not an escape in tokio-postgres either: that is a parse error later,
        // but here `password='it'` is followed by `'s'`, a parameter without a name.
        assert!(pre.is_err());
        let pre = preprocess(
            "host=db.example  port = 5433 sslmode=verify-full sslrootcert='/etc/my root.crt' password='it\\'s' application_name='a \\'b\\''",
        )
        .unwrap();
        assert_eq!(pre.sslmode.as_deref(), Some("verify-full"));
        assert_eq!(pre.sslrootcert, Some(PathBuf::from("/etc/my root.crt")));
        assert_eq!(pre.password, Some(b"it's".to_vec()));
        assert_eq!(
            pre.rest,
            "host='db.example' port='5433' application_name='a \\'b\\''"
        );
        let config = tokio_postgres::Config::from_str(&pre.rest).unwrap();
        assert_eq!(config.get_application_name(), Some("a 'b'"));
        assert_eq!(config.get_ports(), &[5433]);
    }

    #[test]
    fn connect_settings_carry_the_libpq_modes() {
        let s = parse_connect_settings(
            "postgresql://u:pw@db.example/icash?sslmode=verify-full&sslrootcert=/r.crt",
        )
        .unwrap();
        assert_eq!(s.tls.mode, SslMode::VerifyFull);
        assert_eq!(s.tls.root_cert, Some(PathBuf::from("/r.crt")));
        assert_eq!(s.get_ssl_mode(), tokio_postgres::config::SslMode::Require);
        assert_eq!(s.get_password(), Some(&b"pw"[..]));
        assert_eq!(s.get_dbname(), Some("icash"));
        let s = parse_connect_settings("host=db.example dbname=icash sslmode=verify-ca").unwrap();
        assert_eq!(s.tls.mode, SslMode::VerifyCa);
        let s = parse_connect_settings("host=db.example sslmode=disable").unwrap();
        assert_eq!(s.get_ssl_mode(), tokio_postgres::config::SslMode::Disable);
        // The old entry point refuses what it cannot carry.
        assert!(parse_database_url("host=db.example sslmode=verify-full").is_err());
        assert!(parse_database_url("host=db.example sslmode=require").is_ok());
    }

    #[test]
    fn tls_cannot_be_required_on_a_unix_socket() {
        let err = parse_connect_settings("host=/run/postgresql dbname=icash sslmode=require")
            .unwrap_err()
            .to_string();
        assert!(err.contains("Unix socket"), "{err}");
        assert!(parse_connect_settings("host=/run/postgresql dbname=icash sslmode=prefer").is_ok());
        assert!(parse_connect_settings("host=/run/postgresql,db.example sslmode=require").is_ok());
    }

    #[test]
    fn several_hosts_and_the_session_they_look_for_survive_both_forms() {
        use tokio_postgres::config::TargetSessionAttrs;
        let url = parse_connect_settings(
            "postgresql://clerk:pw@db-a:5432,db-b:5433/icash?target_session_attrs=read-write&sslmode=require",
        )
        .unwrap();
        let pairs = parse_connect_settings(
            "host=db-a,db-b port=5432,5433 user=clerk password=pw dbname=icash \
             target_session_attrs=read-write sslmode=require",
        )
        .unwrap();
        for s in [&url, &pairs] {
            assert_eq!(
                s.get_hosts(),
                &[Host::Tcp("db-a".into()), Host::Tcp("db-b".into())]
            );
            assert_eq!(s.get_ports(), &[5432, 5433]);
            assert_eq!(s.get_target_session_attrs(), TargetSessionAttrs::ReadWrite);
            assert_eq!(s.tls.mode, SslMode::Require);
            assert_eq!(s.get_password(), Some(&b"pw"[..]));
            assert_eq!(
                describe_config(s),
                "postgresql://clerk@db-a:5432,db-b:5433/icash?target_session_attrs=read-write"
            );
        }
        // Two Unix sockets (a local primary and standby), in the query string of a URL.
        let sockets = parse_connect_settings(
            "postgresql://postgres@/icash?host=%2Ftmp%2Fa,%2Ftmp%2Fb&port=5432&target_session_attrs=read-write",
        )
        .unwrap();
        assert_eq!(
            sockets.get_hosts(),
            &[
                Host::Unix(PathBuf::from("/tmp/a")),
                Host::Unix(PathBuf::from("/tmp/b"))
            ]
        );
        assert_eq!(
            describe_config(&sockets),
            "postgresql://postgres@/tmp/a:5432,/tmp/b:5432/icash?target_session_attrs=read-write"
        );
        // One host reads as before.
        let one = parse_connect_settings("postgresql://u@h/d").unwrap();
        assert_eq!(describe_config(&one), "postgresql://u@h:5432/d");
        let err = parse_connect_settings("host=a,b target_session_attrs=primary")
            .unwrap_err()
            .to_string();
        assert!(err.contains("target_session_attrs"), "{err}");
    }

    #[test]
    fn the_libpq_variables_may_list_a_port_per_host_and_ask_for_the_primary() {
        use tokio_postgres::config::TargetSessionAttrs;
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let s = config_from_libpq_vars(vars(&[
            ("PGHOST", "db-a,db-b"),
            ("PGPORT", "5432,5433"),
            ("PGUSER", "icash_clerk"),
            ("PGDATABASE", "icash"),
            ("PGTARGETSESSIONATTRS", "read-write"),
        ]))
        .unwrap();
        assert_eq!(
            s.get_hosts(),
            &[Host::Tcp("db-a".into()), Host::Tcp("db-b".into())]
        );
        assert_eq!(s.get_ports(), &[5432, 5433]);
        assert_eq!(s.get_target_session_attrs(), TargetSessionAttrs::ReadWrite);
        let s = config_from_libpq_vars(vars(&[("PGHOST", "db"), ("PGPORT", "6432")])).unwrap();
        assert_eq!(s.get_ports(), &[6432]);
        assert_eq!(s.get_target_session_attrs(), TargetSessionAttrs::Any);
        let err = config_from_libpq_vars(vars(&[("PGHOST", "db"), ("PGPORT", "5432,x")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("PGPORT") && err.contains("\"x\""), "{err}");
        let err = config_from_libpq_vars(vars(&[("PGTARGETSESSIONATTRS", "primary")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("PGTARGETSESSIONATTRS"), "{err}");
    }

    #[test]
    fn parse_errors_do_not_repeat_the_password() {
        for url in [
            "postgresql://u:hunter2pw@h:port/d",
            "host=h password=hunter2pw port=x",
            "host=h password='hunter2pw",
            "host=h password=hunter2pw sslmode=nope",
            "host=h password=hunter2pw user",
        ] {
            let err = parse_connect_settings(url).unwrap_err().to_string();
            assert!(!err.contains("hunter2"), "{url}: {err}");
        }
    }
}

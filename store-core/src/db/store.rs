//! Connecting: the pool, its timeouts, and waiting for a server that is starting.

use std::time::{Duration, Instant};

use crate::db::target::{ConnectSettings, DbTarget, describe_config};
use crate::error::{Error, Result, describe_db_error, is_connection_error};
use crate::retry::RetryPolicy;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime, Timeouts};

/// The waits between attempts to reach a server that is starting.
const REACH_RETRY: RetryPolicy =
    RetryPolicy::new(Duration::from_millis(250), Duration::from_secs(2));

/// How long waiting for a free connection of the pool, or recycling one, may take before it is
/// a clear error.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long tokio-postgres may spend connecting to each address in turn (the connection
/// string's `connect_timeout` if it has one): short, so that a first host that drops packets
/// leaves time for the next.
pub const ADDRESS_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long one attempt to connect may take as a whole: every listed address in turn, each
/// with its own timeout, plus a second for the session's start. A bound as short as one
/// address's timeout would never reach the second host when the first drops packets.
pub fn connect_deadline(config: &tokio_postgres::Config) -> Duration {
    let addresses = config
        .get_hosts()
        .len()
        .max(config.get_hostaddrs().len())
        .max(1);
    let per_address = config
        .get_connect_timeout()
        .copied()
        .unwrap_or(ADDRESS_CONNECT_TIMEOUT);
    per_address * u32::try_from(addresses).unwrap_or(u32::MAX) + Duration::from_secs(1)
}

#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// `--database-url` / `DATABASE_URL`; None means libpq variables or the embedded default.
    pub database_url: Option<String>,
    /// Keep retrying an unreachable server for this long (0: one attempt).
    pub wait: Duration,
    /// Connections in the pool.
    pub max_size: usize,
    pub application_name: String,
    /// With several hosts and no `target_session_attrs`, look for the read-write one: for
    /// programs that write, like `fold`, which a standby listed first would refuse forever.
    pub primary_only: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            database_url: None,
            wait: Duration::ZERO,
            max_size: 8,
            application_name: "icash".into(),
            primary_only: false,
        }
    }
}

/// A connected store: the pool plus what it was connected to.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    settings: ConnectSettings,
    description: String,
}

impl Store {
    /// Connects to the target the options name (waiting for it up to `options.wait`), and
    /// does nothing else: the embedded default must be running (`db::bootstrap`),
    /// and the schema is neither checked nor changed (`schema::check_version`,
    /// `schema::migrate`).
    pub async fn connect(options: &ConnectOptions) -> Result<Store> {
        let target = DbTarget::resolve(options.database_url.as_deref())?;
        Store::connect_to(&target, options).await
    }

    /// `connect` to a target already resolved.
    pub async fn connect_to(target: &DbTarget, options: &ConnectOptions) -> Result<Store> {
        let store = Store::unconnected(target, options)?;
        store.wait_until_reachable(options.wait).await?;
        Ok(store)
    }

    /// The pool `connect_to` makes, before any connection: it connects when first used.
    pub fn unconnected(target: &DbTarget, options: &ConnectOptions) -> Result<Store> {
        let mut settings = match target {
            DbTarget::Server(settings) => (**settings).clone(),
            DbTarget::Embedded(home) => crate::db::embedded::embedded_settings(home)?,
        };
        settings.application_name(&options.application_name);
        if options.primary_only
            && settings.get_hosts().len() > 1
            && settings.get_target_session_attrs()
                == tokio_postgres::config::TargetSessionAttrs::Any
        {
            settings.target_session_attrs(tokio_postgres::config::TargetSessionAttrs::ReadWrite);
        }
        Store::from_settings(settings, target.describe(), options.max_size)
    }

    /// A pool over `config` with explicit timeouts, so that nothing waits forever. TLS as the
    /// configuration's own sslmode says (`prefer` by default), without certificate
    /// verification; `from_settings` takes libpq's verifying modes.
    pub fn from_config(
        config: tokio_postgres::Config,
        description: String,
        max_size: usize,
    ) -> Result<Store> {
        Store::from_settings(ConnectSettings::from(config), description, max_size)
    }

    /// A pool over `settings`, every connection made with their TLS settings.
    pub fn from_settings(
        mut settings: ConnectSettings,
        description: String,
        max_size: usize,
    ) -> Result<Store> {
        notice_dead_links(&mut settings.config);
        let create = connect_deadline(&settings.config);
        let manager = Manager::from_config(
            settings.config.clone(),
            settings.connector()?,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(max_size.max(1))
            .runtime(Runtime::Tokio1)
            .timeouts(Timeouts {
                wait: Some(CONNECT_TIMEOUT),
                create: Some(create),
                recycle: Some(CONNECT_TIMEOUT),
            })
            .build()
            .map_err(|e| Error::Pool(e.to_string()))?;
        Ok(Store {
            pool,
            settings,
            description,
        })
    }

    /// Tries to connect until it works or `wait` has passed (at least one attempt). Only
    /// transport failures and timeouts are retried: a server that refuses the role, the
    /// password or the database, or that is not a PostgreSQL server, is an error at once.
    pub async fn wait_until_reachable(&self, wait: Duration) -> Result<()> {
        let started = Instant::now();
        let mut failures = 0;
        loop {
            let failure = match self.pool.get().await {
                Ok(client) => match client.simple_query("SELECT 1").await {
                    Ok(_) => return Ok(()),
                    Err(e) => self.classify(e).await,
                },
                Err(deadpool_postgres::PoolError::Backend(e)) => self.classify(e).await,
                Err(deadpool_postgres::PoolError::Timeout(_)) => Failure::Transient(format!(
                    "no answer within {} s",
                    connect_deadline(&self.settings.config).as_secs()
                )),
                Err(e) => Failure::Transient(e.to_string()),
            };
            let reason = match failure {
                Failure::Final(e) => return Err(e),
                Failure::Transient(reason) => reason,
            };
            let remaining = wait.saturating_sub(started.elapsed());
            if remaining.is_zero() {
                return Err(Error::Unreachable {
                    target: self.description.clone(),
                    elapsed: started.elapsed(),
                    reason,
                });
            }
            failures += 1;
            tokio::time::sleep(REACH_RETRY.delay(failures).min(remaining)).await;
        }
    }

    /// What a failed attempt to connect means: worth another try, or final.
    async fn classify(&self, e: tokio_postgres::Error) -> Failure {
        // Waiting does not mend a certificate or a server without TLS.
        if let Some(problem) = crate::db::tls::configuration_problem(&e) {
            return Failure::Final(Error::Invalid(format!(
                "cannot connect to the database at {} (sslmode={}): {problem}",
                self.description, self.settings.tls.mode
            )));
        }
        if let Some(db) = e.as_db_error() {
            return match self.rejection(db) {
                Some(rejected) => Failure::Final(rejected),
                None if is_connection_error(&e) || db.code().code().starts_with("53") => {
                    Failure::Transient(describe_db_error(&e))
                }
                None => Failure::Final(e.into()),
            };
        }
        if is_transport_failure(&e) {
            return Failure::Transient(describe_db_error(&e));
        }
        // Something answered, but not as PostgreSQL does: find out what it is.
        match probe(&self.settings.config).await {
            Probe::Answered(answer) => Failure::Final(Error::NotPostgres {
                target: self.description.clone(),
                answer,
            }),
            Probe::ClosedWithoutAnswer => Failure::Transient(
                "the server accepted the connection and closed it without a word (a PostgreSQL \
                 server answers; is this one?)"
                    .into(),
            ),
            Probe::PostgreSql | Probe::Inconclusive => Failure::Transient(describe_db_error(&e)),
        }
    }

    /// The server's refusal of this role or database, as a final error naming both.
    fn rejection(&self, db: &tokio_postgres::error::DbError) -> Option<Error> {
        let role = self
            .settings
            .config
            .get_user()
            .unwrap_or("(no role given)")
            .to_string();
        let database = self
            .settings
            .config
            .get_dbname()
            .map(str::to_string)
            .unwrap_or_else(|| role.clone());
        let hint = match db.code().code() {
            "28P01" => "check the role name and its password (in the connection string, \
                        PGPASSWORD or ~/.pgpass); the server does not say which of the two is wrong"
                .to_string(),
            "28000" => format!(
                "role \"{role}\" must exist, have LOGIN, and be allowed from here by the \
                 server's pg_hba.conf"
            ),
            "3D000" => format!(
                "create database \"{database}\" (`createdb {database}`) or name an existing one \
                 in the connection string"
            ),
            "42501" => format!(
                "grant it: GRANT CONNECT ON DATABASE \"{database}\" TO \"{role}\" (and LOGIN \
                 to the role)"
            ),
            _ => return None,
        };
        let mut reason = db.message().to_string();
        if let Some(detail) = db.detail() {
            reason.push_str(&format!(" ({detail})"));
        }
        reason.push_str(&format!(" [SQLSTATE {}]", db.code().code()));
        Some(Error::Rejected {
            target: self.description.clone(),
            role,
            database,
            reason,
            hint,
        })
    }

    pub async fn client(&self) -> Result<Object> {
        Ok(self.pool.get().await?)
    }

    /// Gives up `client` and every idle connection of the pool, after the server refused a
    /// write as read-only or the connection was lost: the others most likely reach the same
    /// server (a standby, a demoted primary, one that is gone), and new ones look again.
    pub fn discard(&self, client: Object) {
        drop(Object::take(client));
        self.pool.retain(|_, _| false);
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The connection settings (TLS included), for connections outside the pool:
    /// `connect_one(store.config())`, `live::listen(store.config(), ..)`. Reads like a
    /// `tokio_postgres::Config`.
    pub fn config(&self) -> &ConnectSettings {
        &self.settings
    }

    /// Where the store is, without any password.
    pub fn describe(&self) -> &str {
        &self.description
    }
}

/// TCP keepalives after 5 s idle, every second, and a 5 s limit on unacknowledged data, so a
/// link that drops packets without a reset is noticed in seconds rather than the system's
/// default of about two hours; and [`ADDRESS_CONNECT_TIMEOUT`] per address. Values given in
/// the connection string are kept.
fn notice_dead_links(config: &mut tokio_postgres::Config) {
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(ADDRESS_CONNECT_TIMEOUT);
    }
    // tokio-postgres's own default idle time: nothing chose one.
    const DEFAULT_KEEPALIVES_IDLE: Duration = Duration::from_secs(2 * 60 * 60);
    if !config.get_keepalives() {
        return;
    }
    if config.get_keepalives_idle() == DEFAULT_KEEPALIVES_IDLE {
        config.keepalives_idle(Duration::from_secs(5));
    }
    if config.get_keepalives_interval().is_none() {
        config.keepalives_interval(Duration::from_secs(1));
    }
    if config.get_keepalives_retries().is_none() {
        config.keepalives_retries(3);
    }
    if config.get_tcp_user_timeout().is_none() {
        config.tcp_user_timeout(Duration::from_secs(5));
    }
}

enum Failure {
    /// Retrying cannot help.
    Final(Error),
    /// A transport failure or a timeout, in words.
    Transient(String),
}

/// True when the network or the socket failed (refused, no such socket, unreachable, timed
/// out, reset): nothing was learnt about what listens there.
fn is_transport_failure(e: &tokio_postgres::Error) -> bool {
    use std::io::ErrorKind::*;
    if e.to_string().starts_with("timeout") {
        return true;
    }
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        if let Some(io) = inner.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                ConnectionRefused
                    | NotFound
                    | TimedOut
                    | AddrNotAvailable
                    | HostUnreachable
                    | NetworkUnreachable
                    | NetworkDown
                    | PermissionDenied
                    | Interrupted
            );
        }
        source = inner.source();
    }
    false
}

/// What answers at the configuration's first address, asked the way every PostgreSQL client
/// opens (an SSLRequest, to which a PostgreSQL server answers one byte: `S`, `N` or an `E`rror).
enum Probe {
    PostgreSql,
    /// Not PostgreSQL: the start of its answer, quoted.
    Answered(String),
    ClosedWithoutAnswer,
    /// Unreachable now, or no single address to ask.
    Inconclusive,
}

async fn probe(config: &tokio_postgres::Config) -> Probe {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let ask = async {
        let mut answer = [0u8; 80];
        let n = match config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(host)) => {
                let mut stream = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
                stream.write_all(&SSL_REQUEST).await?;
                stream.read(&mut answer).await?
            }
            Some(tokio_postgres::config::Host::Unix(dir)) => {
                let path = dir.join(format!(".s.PGSQL.{port}"));
                let mut stream = tokio::net::UnixStream::connect(path).await?;
                stream.write_all(&SSL_REQUEST).await?;
                stream.read(&mut answer).await?
            }
            None => return Ok(None),
        };
        Ok::<_, std::io::Error>(Some(answer[..n].to_vec()))
    };
    match tokio::time::timeout(Duration::from_secs(2), ask).await {
        Ok(Ok(Some(answer))) => match answer.first() {
            None => Probe::ClosedWithoutAnswer,
            Some(b'S' | b'N' | b'E') => Probe::PostgreSql,
            Some(_) => {
                let text = String::from_utf8_lossy(&answer);
                let first_line = text.lines().next().unwrap_or_default();
                Probe::Answered(format!(
                    "{:?}",
                    first_line.chars().take(60).collect::<String>()
                ))
            }
        },
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => Probe::ClosedWithoutAnswer,
        _ => Probe::Inconclusive,
    }
}

/// Connects outside the pool (for LISTEN, or for COPY on a dedicated connection), with the
/// settings' TLS (`store.config()`), or for a bare `&tokio_postgres::Config` its own sslmode
/// without certificate verification.
pub async fn connect_one(settings: impl Into<ConnectSettings>) -> Result<tokio_postgres::Client> {
    let mut settings: ConnectSettings = settings.into();
    notice_dead_links(&mut settings.config);
    let tls = settings.connector()?;
    let deadline = connect_deadline(&settings.config);
    let (client, connection) = tokio::time::timeout(deadline, settings.config.connect(tls))
        .await
        .map_err(|_| Error::Unreachable {
            target: describe_config(&settings.config),
            elapsed: deadline,
            reason: "timed out".into(),
        })??;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("connection closed: {e}");
        }
    });
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_connection_notices_a_dead_link_in_seconds_unless_the_url_says_otherwise() {
        let mut config: tokio_postgres::Config = "postgresql://till@db/icash".parse().unwrap();
        notice_dead_links(&mut config);
        assert_eq!(config.get_keepalives_idle(), Duration::from_secs(5));
        assert_eq!(
            config.get_keepalives_interval(),
            Some(Duration::from_secs(1))
        );
        assert_eq!(config.get_keepalives_retries(), Some(3));
        assert_eq!(config.get_tcp_user_timeout(), Some(&Duration::from_secs(5)));

        let mut config: tokio_postgres::Config =
            // (tokio-postgres reads tcp_user_timeout in seconds, where libpq reads milliseconds.)
            "postgresql://till@db/icash?keepalives_idle=30&tcp_user_timeout=20"
                .parse()
                .unwrap();
        notice_dead_links(&mut config);
        assert_eq!(config.get_keepalives_idle(), Duration::from_secs(30));
        assert_eq!(
            config.get_tcp_user_timeout(),
            Some(&Duration::from_secs(20))
        );
    }

    #[test]
    fn a_program_that_writes_looks_for_the_primary_among_several_hosts() {
        use tokio_postgres::config::TargetSessionAttrs;
        let attrs = |url: &str, primary_only: bool| {
            let target = DbTarget::resolve(Some(url)).unwrap();
            let options = ConnectOptions {
                primary_only,
                ..ConnectOptions::default()
            };
            Store::unconnected(&target, &options)
                .unwrap()
                .config()
                .get_target_session_attrs()
        };
        let two_hosts = "host=db-a,db-b dbname=icash";
        assert_eq!(attrs(two_hosts, true), TargetSessionAttrs::ReadWrite);
        assert_eq!(attrs(two_hosts, false), TargetSessionAttrs::Any);
        // One host: whatever it is, it is the one asked for.
        assert_eq!(
            attrs("host=db-a dbname=icash", true),
            TargetSessionAttrs::Any
        );
        // Asked for explicitly: kept.
        assert_eq!(
            attrs(
                "host=db-a,db-b dbname=icash target_session_attrs=read-only",
                true
            ),
            TargetSessionAttrs::ReadOnly
        );
    }
}

//! Connecting: the pool, its timeouts, waiting for a server that is starting, and the embedded
//! default's first use (create, start, schema, demo data).

use std::time::{Duration, Instant};

use crate::config::{ConnectSettings, DbTarget, describe_config};
use crate::error::{Error, Result};
use crate::local_server::{DATABASE_NAME, LocalServer};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime, Timeouts};

/// How long one attempt to get a connection may take before it is a clear error.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// `--database-url` / `DATABASE_URL`; None means libpq variables or the embedded default.
    pub database_url: Option<String>,
    /// Keep retrying an unreachable server for this long (0: one attempt).
    pub wait: Duration,
    /// Connections in the pool.
    pub max_size: usize,
    /// Check the schema version (a named server) or migrate (the embedded default).
    pub migrate: bool,
    /// On the embedded default, load the demo data into an empty database.
    pub seed_demo: bool,
    pub application_name: String,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            database_url: None,
            wait: Duration::ZERO,
            max_size: 8,
            migrate: true,
            seed_demo: true,
            application_name: "icash".into(),
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
    pub async fn connect(options: &ConnectOptions) -> Result<Store> {
        let target = DbTarget::resolve(options.database_url.as_deref())?;
        let (mut settings, description) = match &target {
            DbTarget::Server(settings) => ((**settings).clone(), target.describe()),
            DbTarget::Embedded(home) => {
                let server = LocalServer::new(home.clone())?;
                let server_for_start = server.clone();
                tokio::task::spawn_blocking(move || server_for_start.ensure_started())
                    .await
                    .map_err(|e| {
                        Error::Invalid(format!("starting the embedded database: {e}"))
                    })??;
                create_database_if_missing(&server, DATABASE_NAME).await?;
                (
                    ConnectSettings::from(server.config(DATABASE_NAME)),
                    target.describe(),
                )
            }
        };
        settings.application_name(&options.application_name);
        if settings.get_connect_timeout().is_none() {
            settings.connect_timeout(CONNECT_TIMEOUT);
        }
        let store = Store::from_settings(settings, description, options.max_size)?;
        store.wait_until_reachable(options.wait).await?;
        if options.migrate {
            let mut client = store.client().await?;
            match &target {
                // The private embedded default is this program's own: it migrates itself.
                DbTarget::Embedded(_) => {
                    crate::schema::migrate(&mut client).await?;
                }
                // A named server's schema changes only through `store-core migrate`.
                DbTarget::Server(_) => crate::schema::check_version(&client).await?,
            }
        }
        if options.seed_demo && matches!(target, DbTarget::Embedded(_)) {
            crate::seed::seed_demo_if_empty(&store).await?;
        }
        Ok(store)
    }

    /// Like `connect`, but a named server that cannot be reached yet is not an error: the pool
    /// is returned unconnected (and unmigrated) and connects when the server is back. For
    /// programs that must open and keep retrying, like a till.
    pub async fn connect_or_defer(options: &ConnectOptions) -> Result<Store> {
        match Store::connect(options).await {
            Err(e) if e.is_connection_problem() => {
                let DbTarget::Server(config) = DbTarget::resolve(options.database_url.as_deref())?
                else {
                    return Err(e);
                };
                tracing::warn!("database unreachable, retrying in the background: {e}");
                let mut settings = *config;
                settings.application_name(&options.application_name);
                if settings.get_connect_timeout().is_none() {
                    settings.connect_timeout(CONNECT_TIMEOUT);
                }
                let description = describe_config(&settings.config);
                Store::from_settings(settings, description, options.max_size)
            }
            other => other,
        }
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
        settings: ConnectSettings,
        description: String,
        max_size: usize,
    ) -> Result<Store> {
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
                create: Some(CONNECT_TIMEOUT),
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

    /// Tries to connect until it works or `wait` has passed (at least one attempt).
    pub async fn wait_until_reachable(&self, wait: Duration) -> Result<()> {
        let started = Instant::now();
        loop {
            match self.pool.get().await {
                Ok(client) => match client.simple_query("SELECT 1").await {
                    Ok(_) => return Ok(()),
                    Err(e) if started.elapsed() >= wait => {
                        return Err(self.unreachable(&e.into(), started));
                    }
                    Err(_) => {}
                },
                // Waiting does not mend a certificate or a server without TLS.
                Err(deadpool_postgres::PoolError::Backend(e))
                    if crate::tls::configuration_problem(&e).is_some() =>
                {
                    return Err(self.tls_failure(&e));
                }
                Err(e) if started.elapsed() >= wait => {
                    return Err(self.unreachable(&e.into(), started));
                }
                Err(_) => {}
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    fn tls_failure(&self, e: &tokio_postgres::Error) -> Error {
        Error::Invalid(format!(
            "cannot connect to the database at {} (sslmode={}): {}",
            self.description,
            self.settings.tls.mode,
            crate::tls::configuration_problem(e).unwrap_or_else(|| e.to_string())
        ))
    }

    fn unreachable(&self, e: &Error, started: Instant) -> Error {
        Error::Unreachable {
            target: self.description.clone(),
            seconds: started.elapsed().as_secs().max(CONNECT_TIMEOUT.as_secs()),
            reason: e.to_string(),
        }
    }

    pub async fn client(&self) -> Result<Object> {
        Ok(self.pool.get().await?)
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

/// Connects outside the pool (for LISTEN, or for COPY on a dedicated connection), with the
/// settings' TLS (`store.config()`), or for a bare `&tokio_postgres::Config` its own sslmode
/// without certificate verification.
pub async fn connect_one(settings: impl Into<ConnectSettings>) -> Result<tokio_postgres::Client> {
    let settings: ConnectSettings = settings.into();
    let tls = settings.connector()?;
    let (client, connection) = tokio::time::timeout(CONNECT_TIMEOUT, settings.config.connect(tls))
        .await
        .map_err(|_| Error::Unreachable {
            target: describe_config(&settings.config),
            seconds: CONNECT_TIMEOUT.as_secs(),
            reason: "timed out".into(),
        })??;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("connection closed: {e}");
        }
    });
    Ok(client)
}

pub async fn create_database_if_missing(server: &LocalServer, name: &str) -> Result<bool> {
    let admin = connect_one(&server.config("postgres")).await?;
    let exists = admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await?
        .is_some();
    if exists {
        return Ok(false);
    }
    // CREATE DATABASE takes no parameters; the name is checked to be a plain identifier.
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(Error::Invalid(format!("bad database name {name:?}")));
    }
    match admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
    {
        Ok(()) => Ok(true),
        // Another program created it at the same moment.
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) => {
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

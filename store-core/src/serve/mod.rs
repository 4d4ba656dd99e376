//! `store-core serve`: the iCash HTTP API, a front end like the TUIs over the library. The
//! seed system's endpoints (`seed_compat`), our own (`v1`), live events (`events`), health,
//! and the OpenAPI document; bearer tokens per role (`auth`); every error a problem body
//! (`problem`).

pub mod auth;
mod body;
pub mod events;
pub mod health;
mod openapi;
pub mod problem;
pub mod seed_compat;
mod v1;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use store_core::Store;
use store_core::domain::time_zone::Tz;
use tokio::sync::watch;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use auth::Access;
use events::Relay;
use problem::Problem;

/// Where `serve` listens unless told otherwise (the seed system's port, on this machine only).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8001";
/// The largest request body accepted (a purchase is a few hundred bytes).
pub const BODY_LIMIT: usize = 64 * 1024;
/// How long a request may take before it is answered 503 (event streams are not cut).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a shutdown waits for requests in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Database connections the server keeps.
pub const POOL_SIZE: usize = 16;
/// How long a client may take to send a request's headers (and how long a kept-alive
/// connection may sit idle before its next request) before the server closes it.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; one more is closed at once (the descriptors stay bounded
/// whatever the clients do).
pub const MAX_CONNECTIONS: usize = 512;
/// The longest a statement of the server's may run: the server cancels it, shorter than
/// [`REQUEST_TIMEOUT`] so that the query ends before its request is answered 503 (a query
/// whose request is dropped is otherwise not cancelled).
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(25);

/// The same store over connections whose statements end after [`STATEMENT_TIMEOUT`]
/// (`options=-c statement_timeout=…`, added to those the connection string gives).
pub fn with_statement_timeout(store: &Store) -> store_core::Result<Store> {
    let mut settings = store.config().clone();
    let timeout = format!("-c statement_timeout={}s", STATEMENT_TIMEOUT.as_secs());
    let options = match settings.config.get_options() {
        Some(given) if !given.trim().is_empty() => format!("{given} {timeout}"),
        _ => timeout,
    };
    settings.config.options(&options);
    Store::from_settings(
        settings,
        store.describe().to_string(),
        store.pool().status().max_size,
    )
}

#[derive(Clone)]
pub struct AppState {
    /// Sales, the catalog, customers and events (a clerk's rights are enough).
    pub store: Store,
    /// Analytics (an owner's rights are enough); the same store unless the owner's database
    /// connection was given apart.
    pub owner_store: Store,
    pub access: Arc<Access>,
    pub relay: Relay,
    /// The loyalty threshold when a request names none.
    pub min_purchases: i32,
    /// The chain's time zone: where "today" begins for the period filters.
    pub zone: Tz,
    /// `/readyz`'s last look at the database.
    pub readiness: Arc<health::Readiness>,
}

impl AppState {
    async fn client(&self) -> Result<deadpool_postgres::Object, Problem> {
        self.store
            .client()
            .await
            .map_err(|e| Problem::from_error(&e, "database"))
    }

    async fn owner_client(&self) -> Result<deadpool_postgres::Object, Problem> {
        self.owner_store
            .client()
            .await
            .map_err(|e| Problem::from_error(&e, "database"))
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/cashier/catalog", get(seed_compat::catalog))
        .route(
            "/cashier/create_purchase",
            post(seed_compat::create_purchase),
        )
        .route("/dashboard/analytics", get(seed_compat::analytics))
        .route("/v1/catalog", get(v1::catalog))
        .route("/v1/customers", get(v1::customers))
        .route("/v1/purchases", post(v1::purchase))
        .route("/v1/analytics", get(v1::analytics))
        .route("/v1/events", get(events::events))
        .route("/v1/openapi.json", get(openapi::openapi_json))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .fallback(|| async { Problem::not_found() })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "this method is not allowed here",
            )
        })
        .with_state(state)
        .layer(CompressionLayer::new())
        // tower-http's limit instead of axum's own, which would otherwise also apply.
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .layer(axum::middleware::map_response(
            problem::every_error_a_problem,
        ))
        // A panic in a handler is a 500 like any failure of ours, its message only logged.
        .layer(CatchPanicLayer::custom(problem::panicked))
        .layer(TraceLayer::new_for_http())
}

/// The certificate chain and private key (PEM) to serve HTTPS with.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub struct ServeOptions {
    /// The owner's own database connection for analytics; None: `store`'s.
    pub owner_store: Option<Store>,
    pub listen: SocketAddr,
    pub access: Access,
    pub tls: Option<TlsFiles>,
    pub min_purchases: i32,
    pub zone: Tz,
}

/// A running server: where it listens, and how to stop it.
pub struct Running {
    pub address: SocketAddr,
    pub https: bool,
    handle: axum_server::Handle,
    stop_events: watch::Sender<bool>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops taking requests, ends the event streams, and waits (up to [`SHUTDOWN_GRACE`])
    /// for the requests in flight.
    pub async fn shut_down(self) -> anyhow::Result<()> {
        self.stop_events.send_replace(true);
        self.handle.graceful_shutdown(Some(SHUTDOWN_GRACE));
        self.server.await?.context("serving")?;
        Ok(())
    }

    /// Resolves if the server stops by itself (an error).
    async fn failed(&mut self) -> anyhow::Result<()> {
        (&mut self.server).await?.context("serving")?;
        Ok(())
    }
}

/// Binds and starts serving in the background.
pub async fn start(store: Store, options: ServeOptions) -> anyhow::Result<Running> {
    let (stop_events, stop_rx) = watch::channel(false);
    let relay = Relay::start(store.config().clone(), stop_rx);
    let app = router(AppState {
        owner_store: options.owner_store.unwrap_or_else(|| store.clone()),
        store,
        access: Arc::new(options.access),
        relay,
        min_purchases: options.min_purchases,
        zone: options.zone,
        readiness: Arc::default(),
    })
    .into_make_service();
    let handle = axum_server::Handle::new();
    let listen = options.listen;
    let https = options.tls.is_some();
    let server = match &options.tls {
        Some(files) => {
            let config = tls_config(files)?;
            let acceptor = CappedAcceptor::new(
                axum_server::tls_rustls::RustlsAcceptor::new(config),
                &handle,
            );
            let mut server = axum_server::bind(listen)
                .acceptor(acceptor)
                .handle(handle.clone());
            bound_slow_clients(server.http_builder());
            tokio::spawn(async move { server.serve(app).await })
        }
        None => {
            let acceptor = CappedAcceptor::new(axum_server::accept::DefaultAcceptor, &handle);
            let mut server = axum_server::bind(listen)
                .acceptor(acceptor)
                .handle(handle.clone());
            bound_slow_clients(server.http_builder());
            tokio::spawn(async move { server.serve(app).await })
        }
    };
    let Some(address) = handle.listening().await else {
        let error = match server.await {
            Ok(Err(e)) => e.to_string(),
            _ => "the server stopped".into(),
        };
        anyhow::bail!("cannot listen on {listen}: {error}");
    };
    Ok(Running {
        address,
        https,
        handle,
        stop_events,
        server,
    })
}

/// axum-server builds hyper's connection builder without a timer, and without one hyper
/// ignores its header read timeout: a client sending its headers a byte at a time would hold
/// its connection for ever (the request timeout only starts once the headers are read).
fn bound_slow_clients(builder: &mut hyper_util::server::conn::auto::Builder<TokioExecutor>) {
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder.http2().timer(TokioTimer::new());
}

/// Closes a connection at once when [`MAX_CONNECTIONS`] are being served already (the
/// handle counts them, this one included), else hands it to `inner` (TLS or none).
#[derive(Clone)]
struct CappedAcceptor<A> {
    inner: A,
    handle: axum_server::Handle,
}

impl<A> CappedAcceptor<A> {
    fn new(inner: A, handle: &axum_server::Handle) -> CappedAcceptor<A> {
        CappedAcceptor {
            inner,
            handle: handle.clone(),
        }
    }
}

impl<A, I, S> axum_server::accept::Accept<I, S> for CappedAcceptor<A>
where
    A: axum_server::accept::Accept<I, S>,
{
    type Stream = A::Stream;
    type Service = A::Service;
    type Future = futures_util::future::Either<
        std::future::Ready<std::io::Result<(A::Stream, A::Service)>>,
        A::Future,
    >;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        use futures_util::future::Either;
        if self.handle.connection_count() > MAX_CONNECTIONS {
            tracing::warn!("{MAX_CONNECTIONS} connections open already: one more closed");
            return Either::Left(std::future::ready(Err(std::io::Error::other(
                "too many connections",
            ))));
        }
        Either::Right(self.inner.accept(stream, service))
    }
}

/// `store-core serve`: serves until `shutdown` resolves (to the signal's name), then shuts
/// down gracefully.
pub async fn run(
    store: Store,
    options: ServeOptions,
    shutdown: impl std::future::Future<Output = &'static str>,
) -> anyhow::Result<()> {
    for role in options.access.open_roles() {
        eprintln!(
            "warning: --open {0}: requests without a token act as {0}; anyone who can reach \
             this address can {1}. Use it only on a private network.",
            role.name(),
            match role {
                auth::Role::Clerk => "record sales and read the catalog",
                auth::Role::Owner => "read the analytics",
            }
        );
    }
    for role in [auth::Role::Clerk, auth::Role::Owner] {
        if !options.access.has_token(role) && !options.access.open_roles().contains(&role) {
            eprintln!(
                "note: no {} token (ICASH_API_{}_TOKEN or the config file's [api] {}_token): \
                 what needs that role is refused",
                role.name(),
                role.name().to_uppercase(),
                role.name()
            );
        }
    }
    let mut running = start(store, options).await?;
    println!(
        "listening on {}://{}",
        if running.https { "https" } else { "http" },
        running.address
    );
    use std::io::Write;
    let _ = std::io::stdout().flush();
    tokio::select! {
        result = running.failed() => return result,
        signal = shutdown => eprintln!("{signal}: shutting down"),
    }
    running.shut_down().await
}

fn tls_config(files: &TlsFiles) -> anyhow::Result<axum_server::tls_rustls::RustlsConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading the certificate {}", files.cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| format!("reading the private key {}", files.key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the certificate and key do not make a TLS configuration")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(axum_server::tls_rustls::RustlsConfig::from_config(
        Arc::new(config),
    ))
}

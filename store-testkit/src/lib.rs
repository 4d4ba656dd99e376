//! Throwaway PostgreSQL for tests: one server per test process, started with the installed
//! binaries exactly as the embedded default is, and a fresh database for every test so that
//! tests run in parallel. The server and its files go away when the process ends.

#[cfg(feature = "pty")]
pub mod pty;
pub mod standby;

pub use standby::StandbyPair;

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use store_core::db::bootstrap::create_database_if_missing;
use store_core::db::embedded::LocalServer;
use store_core::db::store::{ConnectOptions, Store, connect_one};

const TEMPLATE: &str = "icash_template";

pub struct TestServer {
    pub server: LocalServer,
}

/// A fresh database with the schema applied and no data.
pub struct TestDb {
    pub store: Store,
    pub name: String,
    /// A connection string for other processes (`--database-url`).
    pub url: String,
}

static SERVER: OnceLock<TestServer> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// The process's throwaway server, started on first use.
pub fn server() -> &'static TestServer {
    SERVER.get_or_init(|| start_server().expect("starting the throwaway PostgreSQL server"))
}

fn start_server() -> store_core::Result<TestServer> {
    let server = LocalServer::in_temp_dir("icash-test-")?.throwaway();
    server.ensure_started()?;
    watch_for_exit(&server);
    // The template holds the schema; every test database is a copy of it.
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(async {
                    create_database_if_missing(&server, TEMPLATE).await?;
                    let store = Store::from_config(server.config(TEMPLATE), TEMPLATE.into(), 1)?;
                    let mut client = store.client().await?;
                    store_core::db::schema::migrate(&mut client).await?;
                    Ok::<_, store_core::Error>(())
                })
        })
        .join()
        .expect("template thread")
    })?;
    Ok(TestServer { server })
}

/// When this process ends, however it ends, a detached shell stops the server abruptly and
/// removes its files.
fn watch_for_exit(server: &LocalServer) {
    let script = r#"while kill -0 "$0" 2>/dev/null; do sleep 0.5; done
pid=$(head -n 1 "$1/postmaster.pid" 2>/dev/null)
[ -n "$pid" ] && kill -QUIT "$pid" 2>/dev/null
sleep 1
rm -rf "$2""#;
    let _ = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(std::process::id().to_string())
        .arg(server.data_dir())
        .arg(server.home())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
}

/// A server of a test's own, for tests that stop and start it. Like the shared one it is
/// removed when the process ends. Commits are synchronous, as in production: an abrupt stop must
/// not lose a confirmed sale.
pub struct PrivateServer {
    pub server: LocalServer,
}

impl PrivateServer {
    pub fn start() -> PrivateServer {
        let server = LocalServer::in_temp_dir("icash-fault-")
            .expect("PostgreSQL binaries")
            .throwaway()
            .with_setting("synchronous_commit", "on");
        server.ensure_started().expect("starting a private server");
        watch_for_exit(&server);
        PrivateServer { server }
    }

    /// A connection string for the `icash` database on this server.
    pub fn url(&self) -> String {
        format!(
            "host={} port={} user=postgres dbname={}",
            self.server.socket_dir().display(),
            self.server.port(),
            store_core::db::embedded::DATABASE_NAME
        )
    }

    /// Creates the `icash` database with the schema, and a pool on it.
    pub async fn store(&self) -> Store {
        create_database_if_missing(&self.server, store_core::db::embedded::DATABASE_NAME)
            .await
            .expect("creating the database");
        let admin = Store::from_config(
            self.server.config(store_core::db::embedded::DATABASE_NAME),
            "migrate".into(),
            1,
        )
        .expect("a pool");
        store_core::db::schema::migrate(&mut admin.client().await.expect("connecting to migrate"))
            .await
            .expect("migrating the private server's database");
        store_core::startup::open(&ConnectOptions {
            database_url: Some(self.url()),
            max_size: 16,
            ..ConnectOptions::default()
        })
        .await
        .expect("connecting to the private server")
    }
}

/// A server of a test's own that also listens on TCP, on 127.0.0.1 at a free port, with
/// `ssl = on` and the certificate and key it was given (PEM). Host connections are trusted, as
/// on the socket. Removed when the process ends.
pub struct TlsServer {
    pub server: LocalServer,
    pub port: u16,
}

impl TlsServer {
    pub fn start(cert_pem: &str, key_pem: &str) -> TlsServer {
        // A port that was free a moment ago can be taken meanwhile: a few tries.
        let mut last_error = None;
        for _ in 0..3 {
            match TlsServer::try_start(cert_pem, key_pem) {
                Ok(server) => return server,
                Err(e) => last_error = Some(e),
            }
        }
        panic!(
            "starting a TLS server: {}",
            last_error.expect("at least one try")
        );
    }

    fn try_start(cert_pem: &str, key_pem: &str) -> store_core::Result<TlsServer> {
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map_err(|e| store_core::Error::io("finding a free port", e))?
            .port();
        let server = LocalServer::in_temp_dir("icash-tls-")?
            .throwaway()
            .with_port(port);
        let cert = server.home().join("server.crt");
        let key = server.home().join("server.key");
        for (path, contents) in [(&cert, cert_pem), (&key, key_pem)] {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .create(true)
                .truncate(true)
                .write(true)
                .mode(0o600)
                .open(path)
                .and_then(|mut f| f.write_all(contents.as_bytes()))
                .map_err(|e| store_core::Error::io(format!("writing {}", path.display()), e))?;
            server.give_to_server_user(path)?;
        }
        let quoted =
            |p: &std::path::Path| format!("'{}'", p.display().to_string().replace('\'', "''"));
        let server = server
            .with_setting("listen_addresses", "'127.0.0.1'")
            .with_setting("ssl", "on")
            .with_setting("ssl_cert_file", &quoted(&cert))
            .with_setting("ssl_key_file", &quoted(&key));
        let started = server.ensure_started();
        watch_for_exit(&server);
        started?;
        Ok(TlsServer { server, port })
    }

    /// A URL for `dbname` on this server over TCP to `host` (`localhost` or `127.0.0.1`), with
    /// `params` as its query string (`sslmode=require`, ...).
    pub fn url(&self, host: &str, dbname: &str, params: &str) -> String {
        format!(
            "postgresql://postgres@{host}:{}/{dbname}?{params}",
            self.port
        )
    }
}

/// A server of a test's own that listens on TCP at 127.0.0.1 (a free port) and asks every TCP
/// connection for a password (`scram-sha-256`), as a production server does; its socket trusts
/// the `postgres` superuser, for the test's own setup. Removed when the process ends.
pub struct PasswordServer {
    pub server: LocalServer,
    pub port: u16,
}

impl PasswordServer {
    pub fn start() -> PasswordServer {
        // A port that was free a moment ago can be taken meanwhile: a few tries.
        let mut last_error = None;
        for _ in 0..3 {
            match PasswordServer::try_start() {
                Ok(server) => return server,
                Err(e) => last_error = Some(e),
            }
        }
        panic!(
            "starting a password server: {}",
            last_error.expect("at least one try")
        );
    }

    fn try_start() -> store_core::Result<PasswordServer> {
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map_err(|e| store_core::Error::io("finding a free port", e))?
            .port();
        let server = LocalServer::in_temp_dir("icash-pw-")?
            .throwaway()
            .with_port(port)
            .with_setting("listen_addresses", "'127.0.0.1'")
            .with_setting("password_encryption", "'scram-sha-256'")
            .with_hba(
                "local all postgres trust\n\
                 host all all 127.0.0.1/32 scram-sha-256\n",
            );
        let started = server.ensure_started();
        watch_for_exit(&server);
        started?;
        Ok(PasswordServer { server, port })
    }

    /// A URL for `dbname` on this server over TCP as `user` with `password`.
    pub fn url(&self, user: &str, password: &str, dbname: &str) -> String {
        format!(
            "postgresql://{user}:{password}@127.0.0.1:{}/{dbname}",
            self.port
        )
    }

    /// A superuser connection over the socket, for setting up roles and databases.
    pub async fn admin(&self) -> tokio_postgres::Client {
        connect_one(&self.server.config("postgres"))
            .await
            .expect("connecting to the password server's socket")
    }
}

/// A new empty database (schema applied) on the throwaway server.
pub async fn fresh_db() -> TestDb {
    let server = &server().server;
    let name = format!(
        "t{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::SeqCst)
    );
    let admin = connect_one(&server.config("postgres"))
        .await
        .expect("connecting to the throwaway server");
    admin
        .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
        .await
        .expect("creating a test database");
    let config = server.config(&name);
    let url = format!(
        "host={} port={} user=postgres dbname={name}",
        server.socket_dir().display(),
        server.port()
    );
    let store = Store::from_config(config, name.clone(), 16).expect("a pool");
    TestDb { store, name, url }
}

/// Options that connect to `db` the way the programs do.
pub fn connect_options(db: &TestDb) -> ConnectOptions {
    ConnectOptions {
        database_url: Some(db.url.clone()),
        ..ConnectOptions::default()
    }
}

/// The assignment's CSVs, vendored as test fixtures (see test-fixtures/icash/PROVENANCE.md).
pub fn assignment_data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../test-fixtures/icash")
}

/// The repository's compose.yaml, parsed.
pub fn compose_file() -> yaml_rust2::Yaml {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../compose.yaml");
    let text = std::fs::read_to_string(&path).expect("compose.yaml at the repository's top");
    yaml_rust2::YamlLoader::load_from_str(&text)
        .expect("compose.yaml is valid YAML")
        .remove(0)
}

/// The command a compose service runs, as its argument list.
pub fn compose_command(service: &str) -> Vec<String> {
    let compose = compose_file();
    compose["services"][service]["command"]
        .as_vec()
        .unwrap_or_else(|| panic!("service {service} has a command list"))
        .iter()
        .map(|a| a.as_str().expect("string arguments").to_string())
        .collect()
}

/// Asserts that `binary` accepts the arguments compose gives service `service` (parsed by the
/// program's own clap definition, which prints its help and exits 0 when they are valid).
pub fn assert_compose_command_accepted(service: &str, program: &str, binary: &str) {
    let command = compose_command(service);
    assert_eq!(
        command.first().map(String::as_str),
        Some(program),
        "service {service}"
    );
    let out = Command::new(binary)
        .args(&command[1..])
        .arg("--help")
        .env_remove("DATABASE_URL")
        .output()
        .expect("running the program");
    assert!(
        out.status.success(),
        "`{}` is refused: {}",
        command.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

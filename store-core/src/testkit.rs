//! Throwaway PostgreSQL for tests: one server per test process, started with the installed
//! binaries exactly as the embedded default is, and a fresh database for every test so that
//! tests run in parallel. The server and its files go away when the process ends.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::local_server::LocalServer;
use crate::pool::{ConnectOptions, Store, connect_one, create_database_if_missing};

const TEMPLATE: &str = "icash_template";

pub struct TestServer {
    pub server: LocalServer,
    pub home: PathBuf,
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

fn start_server() -> crate::Result<TestServer> {
    let server = LocalServer::in_temp_dir("icash-test-")?.throwaway();
    let home = server.home().to_path_buf();
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
                    crate::schema::migrate(&mut client).await?;
                    Ok::<_, crate::Error>(())
                })
        })
        .join()
        .expect("template thread")
    })?;
    Ok(TestServer { server, home })
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
            "host={} port=5432 user=postgres dbname={}",
            self.server.socket_dir().display(),
            crate::local_server::DATABASE_NAME
        )
    }

    /// Creates the `icash` database with the schema, and a pool on it.
    pub async fn store(&self) -> Store {
        create_database_if_missing(&self.server, crate::local_server::DATABASE_NAME)
            .await
            .expect("creating the database");
        Store::connect(&ConnectOptions {
            database_url: Some(self.url()),
            max_size: 16,
            ..ConnectOptions::default()
        })
        .await
        .expect("connecting to the private server")
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
        "host={} port=5432 user=postgres dbname={name}",
        server.socket_dir().display()
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

/// The assignment's CSVs in the shared folder beside the repository, if present.
pub fn assignment_data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/peer-data/icash")
}

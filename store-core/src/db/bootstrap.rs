//! Making the embedded default ready: created if it never was, started if it is down, its
//! database created, under the start lock that programs started together share.

use std::path::Path;

use crate::db::embedded::{DATABASE_NAME, LocalServer, StartLock};
use crate::db::store::connect_one;
use crate::error::{Error, Result};

/// The embedded default made ready to connect to: created if it never was, started if it is
/// down, its database created. The start lock stays held until this is dropped, so that the
/// caller can migrate and load the demo data before any other program started at the same
/// moment connects (a migration racing another program's seeding can deadlock).
pub struct Bootstrapped {
    pub server: LocalServer,
    _start_lock: StartLock,
}

/// Creates and starts the embedded default in `home` as needed (see `Bootstrapped`).
pub async fn bootstrap(home: &Path) -> Result<Bootstrapped> {
    let server = LocalServer::new(home)?;
    let start_lock = start_embedded(&server).await?;
    Ok(Bootstrapped {
        server,
        _start_lock: start_lock,
    })
}

/// Starts the embedded server if it is down and creates its database, both under the
/// server's lock, which it returns held. A server that died a moment ago (its socket
/// refuses) is started again, once.
async fn start_embedded(server: &LocalServer) -> Result<StartLock> {
    let mut restarted = false;
    loop {
        let for_start = server.clone();
        let lock = tokio::task::spawn_blocking(move || {
            let lock = for_start.lock()?;
            for_start.ensure_started_locked(&lock)?;
            Ok::<_, Error>(lock)
        })
        .await
        .map_err(|e| Error::Invalid(format!("starting the embedded database: {e}")))??;
        match create_database_if_missing(server, DATABASE_NAME).await {
            Ok(_) => return Ok(lock),
            Err(e) if !restarted && e.is_connection_problem() => {
                tracing::warn!("the embedded database does not answer, starting it again: {e}");
                restarted = true;
            }
            Err(e) => return Err(e),
        }
        drop(lock);
    }
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
        // Another program created it at the same moment (42P04, or the catalog's unique index
        // when both got past the check before either committed).
        Err(e) if is_duplicate_database(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn is_duplicate_database(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    match e.code() {
        Some(code) if *code == SqlState::DUPLICATE_DATABASE => true,
        Some(code) if *code == SqlState::UNIQUE_VIOLATION => e
            .as_db_error()
            .and_then(|db| db.constraint())
            .is_some_and(|c| c == "pg_database_datname_index"),
        _ => false,
    }
}

//! What a program does to its database at start, as explicit steps: the embedded default is
//! created, started, migrated and given the demo data; a named server is only connected to and
//! its schema version checked (its schema changes only through `store-core migrate`).

use crate::db::store::{ConnectOptions, Store};
use crate::db::target::DbTarget;
use crate::db::{bootstrap, schema};
use crate::error::Result;
use crate::seed;

/// Whether a program opening the embedded default loads the demo data into it when empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DemoData {
    IfEmpty,
    Never,
}

/// Connects the way every program starts: the embedded default bootstrapped, migrated and
/// seeded with the demo data when empty (all under its start lock, so that programs started
/// together wait for the first and then find everything in place); a named server connected to
/// and its schema version checked.
pub async fn open(options: &ConnectOptions) -> Result<Store> {
    open_with(options, DemoData::IfEmpty).await
}

pub async fn open_with(options: &ConnectOptions, demo: DemoData) -> Result<Store> {
    let target = DbTarget::resolve(options.database_url.as_deref())?;
    match &target {
        DbTarget::Server(_) => {
            let store = Store::connect_to(&target, options).await?;
            schema::check_version(&store.client().await?).await?;
            Ok(store)
        }
        DbTarget::Embedded(home) => {
            let bootstrapped = bootstrap::bootstrap(home).await?;
            let store = Store::connect_to(&target, options).await?;
            // The private embedded default is this program's own: it migrates itself.
            schema::migrate(&mut store.client().await?).await?;
            if demo == DemoData::IfEmpty {
                seed::demo::seed_if_empty(&store).await?;
            }
            drop(bootstrapped);
            Ok(store)
        }
    }
}

/// Like `open`, but a named server that cannot be reached yet is not an error: the pool is
/// returned unconnected (and its schema unchecked) and connects when the server is back. For
/// programs that must open and keep retrying, like a till.
pub async fn open_or_defer(options: &ConnectOptions) -> Result<Store> {
    match open(options).await {
        Err(e) if e.is_connection_problem() => {
            let target = DbTarget::resolve(options.database_url.as_deref())?;
            if !matches!(target, DbTarget::Server(_)) {
                return Err(e);
            }
            tracing::warn!("database unreachable, retrying in the background: {e}");
            Store::unconnected(&target, options)
        }
        other => other,
    }
}

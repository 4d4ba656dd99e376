//! A pooled connection that goes back to the pool only when the work on it finished. If the work
//! is dropped half-way (a timeout, an aborted task) or panics, the connection is taken out of
//! the pool and closed: its socket may be hung, or its session mid-statement, and the pool's
//! fast recycling would otherwise hand it to the next query.
//!
//! Closing our side is not enough for the server: a statement waiting for a lock (or still
//! running) keeps its session, and its connection slot, until it ends by itself. So a lease
//! dropped unfinished first asks the server to cancel whatever runs on that session (a cancel
//! request on a connection of its own, as libpq's `PQcancel`), in the background and bounded by
//! `CANCEL_TIMEOUT`, so that dropping never blocks.

use std::ops::Deref;
use std::time::Duration;

use deadpool_postgres::Object;
use deadpool_postgres::tokio_postgres::CancelToken;
use store_core::db::store::Store;
use store_core::db::target::ConnectSettings;

/// Longest the background cancel request of an unfinished lease may take.
pub const CANCEL_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Lease {
    client: Option<Object>,
    /// How to reach the server again for the cancel request (its TLS settings included).
    settings: ConnectSettings,
}

impl Lease {
    /// `client` taken from `store`'s pool.
    pub fn new(client: Object, store: &Store) -> Lease {
        Lease {
            client: Some(client),
            settings: store.config().clone(),
        }
    }

    /// The work on the connection is done: it goes back to the pool.
    pub fn release(mut self) {
        drop(self.client.take());
    }
}

impl Deref for Lease {
    type Target = Object;

    fn deref(&self) -> &Object {
        self.client
            .as_ref()
            .expect("a lease holds its connection until released or dropped")
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            tracing::debug!("discarding a connection whose work did not finish");
            cancel_in_background(client.cancel_token(), self.settings.clone());
            drop(Object::take(client));
        }
    }
}

/// Sends the server a cancel request for the session `token` belongs to, as a task of its own
/// (nothing is sent when no runtime is there to run it: the program is ending, and its
/// connections with it).
fn cancel_in_background(token: CancelToken, settings: ConnectSettings) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        let connector = match settings.connector() {
            Ok(connector) => connector,
            Err(e) => {
                tracing::warn!("cannot cancel an unfinished query: {e}");
                return;
            }
        };
        match tokio::time::timeout(CANCEL_TIMEOUT, token.cancel_query(connector)).await {
            Ok(Ok(())) => tracing::debug!("asked the server to cancel an unfinished query"),
            Ok(Err(e)) => tracing::warn!("cannot cancel an unfinished query: {e}"),
            Err(_) => tracing::warn!(
                "cannot cancel an unfinished query: no answer within {} s",
                CANCEL_TIMEOUT.as_secs()
            ),
        }
    });
}

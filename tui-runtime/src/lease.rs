//! A pooled connection that goes back to the pool only when the work on it finished. If the work
//! is dropped half-way (a timeout, an aborted task) or panics, the connection is taken out of
//! the pool and closed: its socket may be hung, or its session mid-statement, and the pool's
//! fast recycling would otherwise hand it to the next query.

use std::ops::Deref;

use deadpool_postgres::Object;

pub struct Lease {
    client: Option<Object>,
}

impl Lease {
    pub fn new(client: Object) -> Lease {
        Lease {
            client: Some(client),
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
            drop(Object::take(client));
        }
    }
}

//! The database layer: where the database is and how to reach it (connection target, TLS, the
//! pool), the embedded default server, the schema and its migrations, the least-privilege
//! roles and the live notices. Depends on nothing above it (no domain type).

pub mod bootstrap;
pub mod embedded;
pub mod live;
pub mod roles;
pub mod schema;
pub mod store;
pub mod target;
pub mod tls;

pub use store::{ConnectOptions, Store};

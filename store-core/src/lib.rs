//! store-core: the iCash library. PostgreSQL schema and queries, the embedded default server,
//! seeding, checkout, analytics and live updates, shared by `pos-tui`, `owner-tui` and the
//! `store-core` command line.

pub mod analytics;
pub mod bench;
pub mod catalog;
pub mod checkout;
pub mod cli_support;
pub mod config;
pub mod error;
pub mod export;
pub mod generate;
pub mod import;
pub mod input;
pub mod journal;
pub mod live;
pub mod local_server;
pub mod logging;
pub mod pool;
pub mod roles;
pub mod sale_time;
pub mod schema;
pub mod seed;
pub mod simulate;
pub mod startup;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod tls;

pub use error::{Error, Result};
pub use pool::{ConnectOptions, Store};

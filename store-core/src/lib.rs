//! store-core: the iCash library, shared by `pos-tui`, `owner-tui` and the `store-core`
//! command line. Layers, each using only those before it:
//!
//! - [`error`], [`paths`], [`retry`]: the error type; where files are kept; the retry policy.
//! - [`db`]: connection target and TLS, the pool, the embedded default server, the schema and
//!   its migrations, roles, live notices.
//! - [`domain`]: input policy, catalog, checkout, analytics, sale times, export.
//! - [`import`]: reading and checking the iCash CSV files; [`seed`]: loading them (and the demo
//!   data); [`till`]: the till's journal.
//! - [`settings`]: flag > environment > configuration file > default, resolved and checked
//!   once; [`startup`]: what a program does to its database at start.

pub mod db;
pub mod domain;
pub mod error;
pub mod import;
pub mod paths;
pub mod retry;
pub mod seed;
pub mod settings;
pub mod startup;
pub mod till;

pub use db::{ConnectOptions, Store};
pub use error::{Error, Result};

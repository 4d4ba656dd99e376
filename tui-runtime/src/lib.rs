//! The runtime both TUIs share: effects run as tokio tasks bounded in time, their result, their
//! timeout or their panic coming back as one message (`effect`); a pooled connection that is
//! only given back to the pool when the work on it finished (`lease`); the terminal's set-up,
//! restore, and a panic hook that restores it only when the UI thread panics (`terminal`); text
//! measured and cut in terminal columns, never inside a number (`text`).

pub mod effect;
pub mod lease;
pub mod terminal;
pub mod text;

pub use effect::{Failure, spawn_effect};
pub use lease::Lease;

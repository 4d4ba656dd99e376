//! pos-tui: the cashier's keyboard-driven checkout. The logic is a library so that tests can
//! drive it: `app` (state machine), `keymap`, `view` (pure rendering) and `effects` (the only
//! place that talks to the database).

pub mod app;
pub mod cli;
pub mod effects;
pub mod keymap;
pub mod view;

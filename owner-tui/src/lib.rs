//! owner-tui: the owner's live analytics dashboard. The logic is a library so that tests can
//! drive the state machine and render the view without a terminal.

pub mod app;
pub mod cli;
pub mod effects;
pub mod export;
pub mod figures;
pub mod keymap;
pub mod refresh;
pub mod view;

//! What the three iCash programs share on the command line: logging set-up, the
//! `--completions` / `--man` flags, value parsers and the table of exit statuses. Independent
//! of store-core, whose program uses it too.

pub mod docs;
pub mod exit;
pub mod logging;
pub mod parse;

pub use exit::ExitStatus;

//! What the three iCash programs share on the command line: logging set-up, shared options,
//! the `--completions` / `--man` flags and man pages, value parsers and the table of exit
//! statuses. Independent of store-core, whose program uses it too.

pub mod args;
pub mod docs;
pub mod exit;
pub mod logging;
pub mod parse;

pub use exit::ExitStatus;

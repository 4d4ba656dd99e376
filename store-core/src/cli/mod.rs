//! The `store-core` program's command line (`args`) and its own commands beyond the library:
//! the benchmark, the sales simulator, the data generator, the till journal's commands, and
//! the catalog's and cashiers' commands.

pub mod args;
pub mod bench;
pub mod cashier;
pub mod catalog;
pub mod generate;
pub mod journal;
pub mod simulate;

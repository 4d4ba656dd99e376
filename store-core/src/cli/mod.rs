//! The `store-core` program's command line (`args`) and its own commands beyond the library:
//! the benchmark, the sales simulator, the data generator and the till journal's commands.

pub mod args;
pub mod bench;
pub mod generate;
pub mod journal;
pub mod simulate;

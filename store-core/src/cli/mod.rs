//! The `store-core` program's own commands beyond the library: the benchmark, the sales
//! simulator, the data generator and the till journal's commands.

pub mod bench;
pub mod generate;
pub mod journal;
pub mod simulate;

//! The `store-core` program's command line (`args`) and its own commands beyond the library:
//! the benchmark, the sales simulator, the data generator, the till journal's commands, and
//! the catalog's and cashiers' commands, and the shift reports.

pub mod args;
pub mod bench;
pub mod cashier;
pub mod catalog;
pub mod generate;
pub mod journal;
pub mod report;
pub mod simulate;

/// The UUIDv5 namespace of the new customers `purchase --user new --sale-key K` (and the API's
/// `"user": "new"` with an `Idempotency-Key`) make.
pub const NEW_CUSTOMER_FROM_SALE_KEY: uuid::Uuid =
    uuid::Uuid::from_u128(0x8e1f_3c2a_6b4d_4f0e_9a57_1c2d_3e4f_5a6b);

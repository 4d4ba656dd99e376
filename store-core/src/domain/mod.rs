//! The shop's own rules and queries: the input policy for names, ids, amounts and times, the
//! catalog, the checkout, the analytics, sale times and the spreadsheet export. Built on
//! [`crate::db`].

pub mod analytics;
pub mod cashier;
pub mod catalog;
pub mod checkout;
pub mod export;
pub mod input;
pub mod refund;
pub mod sale_time;
pub mod shift;
pub mod time_zone;

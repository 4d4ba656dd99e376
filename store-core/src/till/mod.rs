//! The till's side of a sale: its journal, where every sale is written before it is sent, and
//! the sending of what it holds. Built on [`crate::domain`] and [`crate::db`].

pub mod journal;

//! A seller's products: synced from their shops (`sync`, written by `store`), and the read
//! models of the products page, its detail page and the API (`queries`).

pub mod queries;
pub mod store;
pub mod sync;

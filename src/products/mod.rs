//! A seller's products: synced from their shops (`sync`, written by `store`).

pub mod store;
pub mod sync;

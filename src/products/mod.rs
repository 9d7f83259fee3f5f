//! A seller's products, as the catalog sync keeps them: the read models of the products page,
//! its detail page and the API (`queries`).

pub mod queries;

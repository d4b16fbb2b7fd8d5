//! The gazetteer: Cambodia's provinces, districts, communes and villages (MEF 2025).
//! [`source`] reads and checks the CSV files; [`import`] writes the valid units to the
//! database in one transaction.

pub mod import;
pub mod source;

//! The GraphQL object types, kept apart from the domain's and the database's types.

pub mod comment;
pub mod connection;
pub mod deadline;
pub mod enums;
pub mod session;
pub mod stats;
pub mod unit;

//! The rules of Mati, free of IO: validated values, the comment lifecycle, routing,
//! deadlines, statistics, who may do what, and the ports that adapters implement.
//!
//! Every entry point (GraphQL, the CLI, later Open311 and a bot) calls [`service`], so a
//! rule is written once.

pub mod auth;
pub mod category;
pub mod clock;
pub mod comment;
pub mod deadline;
pub mod error;
pub mod flag;
pub mod geography;
pub mod lifecycle;
pub mod ports;
pub mod privacy;
pub mod rate_limit;
pub mod routing;
pub mod service;
pub mod stats;
pub mod text;
pub mod tracking;

pub use error::{DomainError, DomainResult};

#[cfg(test)]
mod properties;

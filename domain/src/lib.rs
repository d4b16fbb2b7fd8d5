//! The rules of Mati, free of IO: validated values, the comment lifecycle, routing,
//! deadlines, statistics, who may do what, and the ports that adapters implement.
//!
//! Every entry point (GraphQL, the CSV exports, the CLI, later Open311 and a bot) calls
//! [`service`], so a rule is written once: the services hold the ports, and nothing else
//! hands them out. CI keeps it so: no api file but the wiring names `mati_infra`.

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

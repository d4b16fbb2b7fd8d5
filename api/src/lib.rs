//! Mati's API: GraphQL over HTTP (axum + async-graphql) and the `mati` command line.

pub mod app;
pub mod cli;
pub mod graphql;
pub mod http;
pub mod metrics;
pub mod net;
pub mod settings;
pub mod shutdown;
pub mod telemetry;

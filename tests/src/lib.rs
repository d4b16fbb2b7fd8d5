//! `TestApp`: starts the real `mati` binary on port 0 against an isolated database (a
//! fresh SQLite file, or a fresh PostgreSQL database) and speaks HTTP to it, in the
//! product's verbs (`submit`, `approve`, `respond`, …) or in plain GraphQL.
//!
//! A test may also have a Redis server ([`PrivateRedis`]) or a PostgreSQL standby
//! ([`Standby`]) of its own, to stop and start again.
//!
//! PostgreSQL comes from `MATI_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). When it cannot be reached the test is
//! skipped with a message, unless `MATI_REQUIRE_BACKENDS=1`, when it fails.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "test support: a failure is a test failure"
)]

mod accounts;
mod app;
mod backend;
pub mod documents;
mod http;
mod live;
pub mod open311;
mod process;
mod redis;
mod sentinel;
pub mod socket;
mod standby;
mod submission;
mod verbs;

pub use self::redis::{PrivateRedis, redis_prefix, redis_url};
pub use app::{TestApp, binary};
pub use backend::{Backend, TestDb, backends_required, postgres_url};
pub use documents::{ACKNOWLEDGE, CLAIM, FLAG, MODERATE, RATE, REFER, RESOLVE, RESPOND, SUBMIT, SUPPORT};
pub use http::{Call, Caller, NOBODY, Reply, first_error};
pub use process::{run, run_with_stdin};
pub use sentinel::Sentinels;
pub use standby::Standby;
pub use submission::Submission;
pub use verbs::CommentId;

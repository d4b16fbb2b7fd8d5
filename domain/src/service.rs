//! The operations of Mati, one method per use case, each taking the caller. Every entry
//! point (GraphQL, the CLI, later Open311 and a bot) goes through here, so validation,
//! authorisation and the lifecycle are written once.

mod accounts;
mod moderation;
mod reads;
mod submission;
mod work;

use std::sync::Arc;

use chrono::Duration;

use crate::clock::Clock;
use crate::deadline::DeadlinePolicy;
use crate::ports::{Accounts, Categories, Comments, Geography, PasswordHasher};

pub use moderation::{Decision, RejectReason};
pub use reads::{CommentFilter, InboxFilter, Listing, MAX_PAGE};
pub use submission::Submission;

/// The adapters the services work with.
#[derive(Clone)]
pub struct Ports {
    /// The gazetteer.
    pub geography: Arc<dyn Geography>,
    /// The category table.
    pub categories: Arc<dyn Categories>,
    /// Comments and their history.
    pub comments: Arc<dyn Comments>,
    /// Sessions and staff accounts.
    pub accounts: Arc<dyn Accounts>,
    /// Password hashing.
    pub passwords: Arc<dyn PasswordHasher>,
    /// The time.
    pub clock: Arc<dyn Clock>,
}

/// Tunable rules.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Default deadlines after routing.
    pub deadlines: DeadlinePolicy,
    /// How long a staff login lasts.
    pub staff_session_ttl: Duration,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            deadlines: DeadlinePolicy::default(),
            staff_session_ttl: Duration::hours(12),
        }
    }
}

/// The application: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Mati {
    ports: Ports,
    rules: Rules,
}

impl Mati {
    /// Builds the services over `ports`.
    pub fn new(ports: Ports, rules: Rules) -> Self {
        Self { ports, rules }
    }

    /// The adapters, for loaders that batch reads.
    pub fn ports(&self) -> &Ports {
        &self.ports
    }

    /// The clock's current time.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.ports.clock.now()
    }
}

//! The operations of Mati, one method per use case, each taking the caller. Every entry
//! point (GraphQL, the CLI, later Open311 and a bot) goes through here, so validation,
//! authorisation and the lifecycle are written once.

mod accounts;
mod batch;
mod bounds;
mod deadlines;
mod export;
mod health;
mod live;
mod lookup;
mod moderation;
mod open311;
mod places;
mod reads;
mod staff;
mod stats;
mod submission;
mod work;

use std::sync::Arc;

use chrono::Duration;

use crate::DomainResult;
use crate::clock::Clock;
use crate::comment::{Comment, CommentChange, EventKind};
use crate::ports::Notification;
use crate::ports::{
    Accounts, Categories, Comments, Deadlines, Geography, Health, ModerationQueue, Notifier, PasswordHasher,
    RateLimiter, Statistics,
};
use crate::rate_limit::Action;

pub use accounts::StaffSession;
pub use bounds::MAX_PAGE;
pub use export::{EXPORT_COLUMNS, Export, ExportFilter, ExportPage, ExportRow, MAX_EXPORT_PAGE};
pub use health::Readiness;
pub use live::Watch;
pub use moderation::{Decision, RejectReason};
pub use open311::{MAX_REQUESTS_PAGE, MAX_UPDATES, PUBLIC_UPDATES, PublicUpdate, RequestQuery};
pub use places::{CommunesNear, MAX_COMMUNE_DISTANCE_KM, MAX_NEARBY_COMMUNES, NearbyCommune};
pub use reads::{CommentFilter, InboxFilter, Listing};
pub use staff::{StaffUpdate, UpdatedStaff};
pub use stats::{RankingOrder, StatsFilter};
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
    /// Statistics over comments.
    pub statistics: Arc<dyn Statistics>,
    /// Sessions and staff accounts.
    pub accounts: Arc<dyn Accounts>,
    /// Password hashing.
    pub passwords: Arc<dyn PasswordHasher>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Rate limits.
    pub limiter: Arc<dyn RateLimiter>,
    /// The moderation queue.
    pub queue: Arc<dyn ModerationQueue>,
    /// Live notifications.
    pub notifier: Arc<dyn Notifier>,
    /// Deadline rules.
    pub deadlines: Arc<dyn Deadlines>,
    /// What the server depends on.
    pub health: Arc<dyn Health>,
}

/// Tunable rules.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// How long a staff login lasts.
    pub staff_session_ttl: Duration,
    /// The smallest group a breakdown by a personal attribute shows
    /// (`MATI_MIN_GROUP_SIZE`).
    pub min_group_size: u64,
    /// How long a citizen token lasts without being used.
    pub citizen_session_idle: Duration,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            staff_session_ttl: Duration::hours(12),
            min_group_size: crate::stats::MIN_GROUP_SIZE,
            citizen_session_idle: Duration::days(180),
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

    /// Applies a lifecycle change, then tells live inboxes and, once a pending comment is
    /// decided, the moderation queue. Both are best effort: the database is the record,
    /// and the queue drops items that are no longer pending when they are claimed.
    async fn commit(&self, change: CommentChange) -> DomainResult<Comment> {
        let decided = change
            .events
            .iter()
            .any(|e| matches!(e.kind, EventKind::Approved | EventKind::Rejected | EventKind::Restored));
        let events = change.events.clone();
        let comment = self.ports.comments.apply(change).await?;
        for event in events {
            let notification = Notification {
                comment_id: comment.id,
                kind: event.kind,
                unit: event.unit.or_else(|| comment.assigned_unit.clone()),
                from_unit: event.from_unit,
                at: event.at,
            };
            self.ports.notifier.notify(notification).await;
        }
        if decided && let Err(err) = self.ports.queue.done(comment.id).await {
            tracing::warn!(comment = %comment.id, error = %err, "moderation queue not updated");
        }
        Ok(comment)
    }

    /// Counts one request against a limit, when the key is known.
    async fn limit(&self, action: Action, key: Option<String>) -> DomainResult<()> {
        match key {
            Some(key) => self.ports.limiter.check(action, &key).await,
            None => Ok(()),
        }
    }

    /// The fewest comments a breakdown cell by a personal attribute shows
    /// (`MATI_MIN_GROUP_SIZE`); smaller ones are suppressed.
    pub fn min_group_size(&self) -> u64 {
        self.rules.min_group_size
    }

    /// The current time, by the services' clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.ports.clock.now()
    }
}

//! The ports the domain needs from the outside world, implemented in `mati-infra`.

use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::Stream;

use crate::DomainResult;
use crate::auth::{ApiKey, CitizenSession, Role, StaffAccount};
use crate::category::Category;
use crate::comment::CommentStatus;
use crate::comment::{
    CitizenId, Comment, CommentChange, CommentEvent, CommentId, EventKind, NewComment, Response, StaffId,
};
use crate::deadline::{DeadlineRule, DeadlineTable};
use crate::flag::NewFlag;
use crate::geography::{AdminUnit, CommuneCentre, UnitCode, UnitFilter};
use crate::rate_limit::Action;
use crate::stats::{Grouping, ResponseStats, StatsScope};
use crate::tracking::TrackingCode;

/// The gazetteer.
#[async_trait]
pub trait Geography: Send + Sync {
    /// The units with these codes (missing ones left out), in any order.
    async fn units(&self, codes: &[UnitCode]) -> DomainResult<Vec<AdminUnit>>;
    /// Units matching a filter, ordered by code.
    async fn list_units(&self, filter: &UnitFilter) -> DomainResult<Vec<AdminUnit>>;
    /// The children of these units, ordered by code.
    async fn children(&self, parents: &[UnitCode]) -> DomainResult<Vec<AdminUnit>>;
    /// Every commune centre (about 1,200 rows), in any order.
    async fn all_commune_centres(&self) -> DomainResult<Vec<CommuneCentre>>;
    /// The centres of these communes (those without one left out), in any order.
    async fn commune_centres(&self, codes: &[UnitCode]) -> DomainResult<Vec<CommuneCentre>>;
}

/// The category table.
#[async_trait]
pub trait Categories: Send + Sync {
    /// Every category, in the table's order.
    async fn categories(&self) -> DomainResult<Vec<Category>>;
}

/// What happened when a submission was stored.
#[derive(Debug, Clone, PartialEq)]
pub enum Inserted {
    /// A new comment (with its SUBMITTED event).
    Created(Comment),
    /// The same citizen already sent this `clientId`: the first comment.
    Existing(Comment),
    /// The tracking code is taken; try another.
    TrackingCodeTaken,
}

/// The last word on storing a new comment (the rate limits).
#[async_trait]
pub trait Admit: Send + Sync {
    /// Ok to store; an error refuses.
    async fn admit(&self) -> DomainResult<()>;
}

/// Which comments a listing may show to its caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Visibility {
    /// Only public ones.
    #[default]
    Public,
    /// Public ones and the private ones assigned to this unit.
    PublicOrAssignedTo(UnitCode),
    /// All (moderators).
    All,
}

/// A filtered listing of comments, newest first. Every condition holds at once; an
/// empty list or `None` does not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommentQuery {
    /// Only comments inside this unit: whose commune lies inside it (a province,
    /// district or commune), or tagged with it (a village).
    pub within: Option<UnitCode>,
    /// Only comments currently assigned to this unit.
    pub assigned_to: Option<UnitCode>,
    /// Only this status; when none, only published statuses.
    pub status: Option<CommentStatus>,
    /// Only this category.
    pub category: Option<String>,
    /// Who may see what.
    pub visibility: Visibility,
    /// Only comments without a response whose deadline passed before this instant.
    pub overdue_at: Option<DateTime<Utc>>,
    /// Only comments this citizen sent; then, with no `status`, in every status.
    pub author: Option<CitizenId>,
    /// Only comments sent at or after this instant.
    pub created_from: Option<DateTime<Utc>>,
    /// Only comments sent before this instant.
    pub created_before: Option<DateTime<Utc>>,
    /// Only these comments.
    pub ids: Vec<CommentId>,
    /// Only these categories.
    pub categories: Vec<String>,
    /// Only these statuses (still only published ones unless the caller sees all).
    pub statuses: Vec<CommentStatus>,
    /// Only comments with an event at or after this instant.
    pub updated_from: Option<DateTime<Utc>>,
    /// Only comments whose every event came before this instant.
    pub updated_before: Option<DateTime<Utc>>,
}

/// A page request: at most `first` comments older than the comment `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Page size (already clamped).
    pub first: u64,
    /// Cursor: the id of the last comment of the previous page.
    pub after: Option<CommentId>,
    /// Comments skipped first (numbered pages, where a protocol asks for them).
    pub skip: u64,
}

/// A page of comments.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The comments, newest first.
    pub items: Vec<Comment>,
    /// Whether more follow.
    pub has_next: bool,
}

/// Comments, their events and responses.
#[async_trait]
pub trait Comments: Send + Sync {
    /// Stores a submission with its SUBMITTED event in one transaction, unless the same
    /// citizen already sent the same `clientId`. `admit` is asked, inside the
    /// transaction, only when the comment is new; its refusal rolls the insert back.
    async fn insert(&self, comment: NewComment, admit: Arc<dyn Admit>) -> DomainResult<Inserted>;
    /// Applies a lifecycle change atomically; CONFLICT when the comment changed meanwhile.
    async fn apply(&self, change: CommentChange) -> DomainResult<Comment>;
    /// Comments by id (missing ones left out), in any order.
    async fn get_many(&self, ids: &[CommentId]) -> DomainResult<Vec<Comment>>;
    /// The comment a citizen sent with this `clientId`, if any.
    async fn by_client_id(&self, author: CitizenId, client_id: &str) -> DomainResult<Option<Comment>>;
    /// The comment with this tracking code.
    async fn by_tracking_code(&self, code: &TrackingCode) -> DomainResult<Option<Comment>>;
    /// One page of a listing, newest first.
    async fn page(&self, query: &CommentQuery, page: PageRequest) -> DomainResult<Page>;
    /// The number of comments a listing holds (an aggregate: bounded like statistics).
    async fn count(&self, query: &CommentQuery) -> DomainResult<u64>;
    /// Comments waiting for a moderator (pending, or hidden by flags), oldest first.
    async fn pending(&self, limit: u64) -> DomainResult<Vec<Comment>>;
    /// Open comments without a response, past their deadline at `now`, assigned below
    /// province level: the ones to escalate, oldest deadline first.
    async fn escalation_candidates(&self, now: DateTime<Utc>, limit: u64) -> DomainResult<Vec<Comment>>;
    /// Responses of these comments, oldest first.
    async fn responses(&self, ids: &[CommentId]) -> DomainResult<Vec<Response>>;
    /// Events of these comments, oldest first.
    async fn events(&self, ids: &[CommentId]) -> DomainResult<Vec<CommentEvent>>;
    /// Up to `limit` events of these `kinds` in [`from`, `to`) of the comments a public
    /// listing shows, oldest first.
    async fn public_events(
        &self,
        kinds: &[EventKind],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u64,
    ) -> DomainResult<Vec<CommentEvent>>;
    /// Records a citizen's support once; the comment afterwards.
    async fn support(&self, id: CommentId, citizen: CitizenId, at: DateTime<Utc>) -> DomainResult<Comment>;
    /// Records a citizen's flag once per session and comment (judged or not), with a
    /// FLAGGED event; whether it was new. The flag whose comment's unjudged flags then
    /// [hide it](crate::flag::FlagTally::hides) hides it (a HIDDEN event) and hands it back
    /// to the moderators, in the same transaction.
    async fn flag(&self, flag: NewFlag) -> DomainResult<bool>;
}

/// Statistics: aggregates over many comments, the heaviest reads there are, so the
/// adapter bounds how many run at once (a busy refusal beyond that) and shares one
/// computation among identical questions asked moments apart.
#[async_trait]
pub trait Statistics: Send + Sync {
    /// The statistics of the comments in `scope`, grouped, ordered by key, exactly as
    /// [`crate::stats::group`] computes them from rows. The answer may come from a
    /// computation of the same question (unit, period, category, grouping) made a short
    /// while ago, deadlines then counted at its `now`. `admit` is asked only when this
    /// question is computed anew; its refusal refuses.
    async fn response_stats(
        &self,
        scope: &StatsScope,
        grouping: Grouping,
        admit: &dyn Admit,
    ) -> DomainResult<Arc<[(String, ResponseStats)]>>;
}

/// A new staff account to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStaff {
    /// Login name, normalised.
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Role.
    pub role: Role,
    /// Unit (officials).
    pub unit: Option<UnitCode>,
}

/// A change to a staff account, applied at once with the end of its sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffChange {
    /// A new argon2id PHC string, if the password changes.
    pub password_hash: Option<String>,
    /// The role after the change.
    pub role: Role,
    /// The unit after the change.
    pub unit: Option<UnitCode>,
    /// Disabled (`Some(true)`), enabled (`Some(false)`) or as it was.
    pub disabled: Option<bool>,
    /// Whether every session ends and every trusted device is forgotten with it.
    pub end_sessions: bool,
}

/// Citizen sessions, staff accounts and their sessions.
#[async_trait]
pub trait Accounts: Send + Sync {
    /// Stores a citizen session by the digest of its token, used first at `at`.
    async fn create_citizen(&self, token_digest: &str, at: DateTime<Utc>) -> DomainResult<CitizenId>;
    /// The unrevoked citizen session with this token digest.
    async fn citizen_by_token(&self, token_digest: &str) -> DomainResult<Option<CitizenSession>>;
    /// Records that the citizen's token was used at `at`.
    async fn record_citizen_use(&self, citizen: CitizenId, at: DateTime<Utc>) -> DomainResult<()>;
    /// Revokes a citizen session; whether there was one.
    async fn revoke_citizen_session(&self, token_digest: &str, at: DateTime<Utc>) -> DomainResult<bool>;
    /// Stores a staff account; CONFLICT if the username is taken.
    async fn create_staff(&self, staff: NewStaff) -> DomainResult<StaffAccount>;
    /// The account, disabled or not, and its password hash.
    async fn staff_by_username(&self, username: &str) -> DomainResult<Option<(StaffAccount, String)>>;
    /// Changes an account (and ends its sessions if asked) in one transaction; how many
    /// live sessions ended.
    async fn update_staff(&self, staff: StaffId, change: StaffChange, at: DateTime<Utc>) -> DomainResult<u64>;
    /// Ends every session of an account and forgets its trusted devices; how many live
    /// sessions ended.
    async fn end_staff_sessions(&self, staff: StaffId, at: DateTime<Utc>) -> DomainResult<u64>;
    /// Stores a staff session by the digest of its token, if the account is still
    /// enabled and still has `password_hash` (the one the login verified): a password
    /// changed or an account disabled while the login was being checked wins. Whether it
    /// was stored.
    async fn create_staff_session(
        &self,
        token_digest: &str,
        staff: StaffId,
        password_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> DomainResult<bool>;
    /// Revokes a staff session; whether there was one.
    async fn revoke_staff_session(&self, token_digest: &str, at: DateTime<Utc>) -> DomainResult<bool>;
    /// The account of an unexpired, unrevoked staff session of an enabled account.
    async fn staff_by_token(&self, token_digest: &str, now: DateTime<Utc>) -> DomainResult<Option<StaffAccount>>;
    /// The username of the account a device token was handed to, if it is still trusted.
    async fn device_owner(&self, token_digest: &str) -> DomainResult<Option<String>>;
    /// Trusts a device for an account (or records its use at `at` again), and forgets
    /// the account's devices beyond the `keep` used most recently.
    async fn trust_device(&self, token_digest: &str, staff: StaffId, at: DateTime<Utc>, keep: u64) -> DomainResult<()>;
    /// Stores an API key by its digest, with a citizen identity of its own, in one
    /// transaction.
    async fn create_api_key(
        &self,
        name: &str,
        key_digest: &str,
        created_by: StaffId,
        at: DateTime<Utc>,
    ) -> DomainResult<ApiKey>;
    /// The API key with this digest, revoked or not.
    async fn api_key_by_digest(&self, key_digest: &str) -> DomainResult<Option<ApiKey>>;
    /// Every API key, newest first.
    async fn api_keys(&self) -> DomainResult<Vec<ApiKey>>;
    /// Revokes an API key (once: a revoked key keeps its first revocation time); the key
    /// afterwards, none when there is no such key.
    async fn revoke_api_key(&self, id: i64, at: DateTime<Utc>) -> DomainResult<Option<ApiKey>>;
}

/// Password hashing (argon2id in infra); slow on purpose, so async.
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// A PHC string for `password`.
    async fn hash(&self, password: String) -> DomainResult<String>;
    /// Whether `password` matches `hash`; with no hash, spends the same time and says no,
    /// so that a login cannot tell unknown users from wrong passwords by timing.
    async fn verify(&self, password: String, hash: Option<String>) -> DomainResult<bool>;
    /// BUSY when a check would be refused right now for want of capacity, so that a
    /// login can be turned away before it spends its account's limit.
    fn ready(&self) -> DomainResult<()>;
}

/// Rate limits (Redis across replicas, with a local first layer).
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one request of `action` for `key`; RATE_LIMITED when over the quota.
    async fn check(&self, action: Action, key: &str) -> DomainResult<()>;
}

/// The moderation queue: pending comments leased to moderators.
#[async_trait]
pub trait ModerationQueue: Send + Sync {
    /// Leases up to `count` pending items to `moderator`: items never leased to anyone
    /// else at the same time; an expired lease returns its item to the queue.
    async fn claim(&self, moderator: StaffId, count: u64) -> DomainResult<Vec<CommentId>>;
    /// Removes a decided item from the queue.
    async fn done(&self, id: CommentId) -> DomainResult<()>;
}

/// Something that happened to a comment, for live inboxes.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// The comment.
    pub comment_id: CommentId,
    /// What happened.
    pub kind: EventKind,
    /// The unit whose inbox it concerns (the assigned unit after the change).
    pub unit: Option<UnitCode>,
    /// The unit it left (referral, escalation).
    pub from_unit: Option<UnitCode>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Notifications from the moment of subscribing on.
pub type Notifications = Pin<Box<dyn Stream<Item = Notification> + Send>>;

/// Live notifications to every replica; best effort (the database is the record).
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Sends `notification` to every subscriber on every replica.
    async fn notify(&self, notification: Notification);
    /// Every notification from now on, whichever replica sent it; a subscriber too slow
    /// to keep up misses some rather than holding the others back.
    fn subscribe(&self) -> Notifications;
}

/// Whether the read replica serves the reads it may serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// Reachable, a standby, and no further behind than allowed: it serves them.
    Ok,
    /// Further behind than allowed: the primary serves them until it catches up.
    Lagging,
    /// Not answering, or not a standby: the primary serves them.
    Unreachable,
}

impl ReplicaState {
    /// `ok`, `lagging` or `unreachable`, as readiness and metrics show it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Lagging => "lagging",
            Self::Unreachable => "unreachable",
        }
    }
}

/// The read replica as last checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaHealth {
    /// Whether it serves.
    pub state: ReplicaState,
    /// How far behind the primary it was; none when unknown (unreachable).
    pub lag: Option<std::time::Duration>,
}

/// What the server depends on, for readiness and metrics.
#[async_trait]
pub trait Health: Send + Sync {
    /// Whether the database answers within a short time.
    async fn database(&self) -> bool;
    /// Whether Redis answered the last contact; none when there is no Redis.
    fn redis(&self) -> Option<bool>;
    /// SQL statements this process has run.
    fn statements(&self) -> u64;
    /// The work waiting on people and on the relay, as it stands at `now`.
    async fn backlog(&self, now: DateTime<Utc>) -> DomainResult<Backlog>;
    /// How the connection pools are used: the primary's, and the read replica's when
    /// there is one.
    fn pools(&self) -> Vec<PoolUse>;
    /// The read replica as last checked; none when there is none.
    fn read_replica(&self) -> Option<ReplicaHealth>;
}

/// The work waiting, for metrics and alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backlog {
    /// Comments the moderation queue holds: awaiting a decision, or hidden by flags.
    pub awaiting_moderation: u64,
    /// When the earliest of them was submitted.
    pub oldest_awaiting: Option<DateTime<Utc>>,
    /// Published comments past their deadline without a first response.
    pub overdue: u64,
    /// Rows of the outbox not yet relayed.
    pub outbox: u64,
    /// When the oldest of them was written.
    pub oldest_outbox: Option<DateTime<Utc>>,
}

/// One connection pool's use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    /// Which pool (`primary`, `read`).
    pub pool: &'static str,
    /// Connections open and idle.
    pub idle: u32,
    /// Connections lent out.
    pub in_use: u32,
    /// The most it opens.
    pub max: u32,
}

/// Deadlines set by admins.
#[async_trait]
pub trait Deadlines: Send + Sync {
    /// Every rule.
    async fn deadline_rules(&self) -> DomainResult<DeadlineTable>;
    /// Adds or replaces the rule for its level and category.
    async fn set_deadline_rule(&self, rule: DeadlineRule) -> DomainResult<()>;
}

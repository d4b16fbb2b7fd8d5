//! A comment, its events and its responses, as the domain sees them.

use chrono::{DateTime, Utc};

use crate::geography::UnitCode;
use crate::text::CommentBody;
use crate::tracking::TrackingCode;

mod status;

pub use status::CommentStatus;

/// Identities the store gives, one type each, so that one cannot be passed for another
/// (`support(comment, citizen)` does not compile with its arguments swapped).
macro_rules! identity {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(i64);

        impl $name {
            /// The identity the store gave.
            pub const fn new(raw: i64) -> Self {
                Self(raw)
            }

            /// The number, for the store and the wire.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                raw.parse().map(Self)
            }
        }
    };
}

identity!(
    /// Database identity of a comment. One identity cannot stand for another:
    ///
    /// ```compile_fail
    /// use mati_domain::comment::{CitizenId, CommentId};
    /// fn support(comment: CommentId, citizen: CitizenId) {}
    /// support(CitizenId::new(7), CommentId::new(42));
    /// ```
    ///
    /// ```
    /// use mati_domain::comment::{CitizenId, CommentId};
    /// fn support(comment: CommentId, citizen: CitizenId) {}
    /// support(CommentId::new(42), CitizenId::new(7));
    /// ```
    CommentId
);
identity!(
    /// Database identity of a citizen session (the anonymous author).
    CitizenId
);
identity!(
    /// Database identity of a staff account.
    StaffId
);

/// Self-declared gender, used only in aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gender {
    /// Female.
    Female,
    /// Male.
    Male,
    /// Other.
    Other,
}

/// Self-declared age group, used only in aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgeGroup {
    /// Under 18.
    Under18,
    /// 18 to 24.
    From18To24,
    /// 25 to 34.
    From25To34,
    /// 35 to 49.
    From35To49,
    /// 50 to 64.
    From50To64,
    /// 65 and over.
    From65,
}

macro_rules! stored_names {
    ($ty:ty { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// The stored name.
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),+ }
            }
            /// Parses a stored name.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($name => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

stored_names!(Gender { Female => "FEMALE", Male => "MALE", Other => "OTHER" });
stored_names!(AgeGroup {
    Under18 => "UNDER_18",
    From18To24 => "FROM_18_TO_24",
    From25To34 => "FROM_25_TO_34",
    From35To49 => "FROM_35_TO_49",
    From50To64 => "FROM_50_TO_64",
    From65 => "FROM_65",
});

/// What happened to a comment. Statistics are computed from these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A citizen sent it.
    Submitted,
    /// A moderator approved it.
    Approved,
    /// A moderator rejected it.
    Rejected,
    /// It was assigned to a unit.
    Routed,
    /// The assigned unit acknowledged it.
    Acknowledged,
    /// The assigned unit answered publicly.
    Responded,
    /// An official moved it to another unit.
    Referred,
    /// Its deadline passed and it moved to the parent unit.
    Escalated,
    /// The assigned unit resolved it.
    Resolved,
    /// The citizen rated the resolution.
    Rated,
    /// The unsatisfied citizen reopened it.
    Reopened,
    /// Someone flagged it as abusive or wrong.
    Flagged,
    /// Enough flags hid it from the public until a moderator decides.
    Hidden,
    /// A moderator put a hidden comment back.
    Restored,
}

stored_names!(EventKind {
    Submitted => "SUBMITTED",
    Approved => "APPROVED",
    Rejected => "REJECTED",
    Routed => "ROUTED",
    Acknowledged => "ACKNOWLEDGED",
    Responded => "RESPONDED",
    Referred => "REFERRED",
    Escalated => "ESCALATED",
    Resolved => "RESOLVED",
    Rated => "RATED",
    Reopened => "REOPENED",
    Flagged => "FLAGGED",
    Hidden => "HIDDEN",
    Restored => "RESTORED",
});

/// A stored comment.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    /// Identity.
    pub id: CommentId,
    /// Public tracking code.
    pub tracking_code: TrackingCode,
    /// Normalised text, unredacted.
    pub body: String,
    /// Category code.
    pub category_code: String,
    /// The commune the citizen tagged.
    pub commune_code: UnitCode,
    /// The village, if tagged.
    pub village_code: Option<UnitCode>,
    /// Where it is in its life.
    pub status: CommentStatus,
    /// The unit that must answer, once routed.
    pub assigned_unit: Option<UnitCode>,
    /// Whether anyone may read it once approved.
    pub is_public: bool,
    /// The citizen session that sent it.
    pub author: CitizenId,
    /// The phone's idempotency key.
    pub client_id: Option<String>,
    /// Self-declared gender.
    pub gender: Option<Gender>,
    /// Self-declared age group.
    pub age_group: Option<AgeGroup>,
    /// When it was sent.
    pub created_at: DateTime<Utc>,
    /// When it was (last) routed to a unit by approval.
    pub routed_at: Option<DateTime<Utc>>,
    /// Deadline to acknowledge.
    pub ack_due_at: Option<DateTime<Utc>>,
    /// Deadline for the first response.
    pub due_at: Option<DateTime<Utc>>,
    /// When it was first acknowledged.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// When it was first answered.
    pub first_response_at: Option<DateTime<Utc>>,
    /// When it was resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// The citizen's rating of the (last) resolution, once it stands: a "not satisfied"
    /// that reopens the comment leaves it empty until the next resolution is rated.
    pub satisfied: Option<bool>,
    /// Every rating the citizen gave, the one that reopened it included.
    pub ratings: i32,
    /// Of them, the satisfied ones.
    pub satisfied_ratings: i32,
    /// How often the citizen reopened it (at most once).
    pub reopen_count: i32,
    /// Distinct citizens who support it.
    pub support_count: i32,
    /// Optimistic-concurrency version, bumped by every change.
    pub version: i32,
    /// The levels it was escalated away from, one bit per level
    /// ([`crate::geography::AdminLevel::bit`]); kept for statistics.
    pub escalated_levels: i32,
    /// Hidden from the public by citizens' flags, back with the moderators.
    pub hidden: bool,
}

/// A new event to record with a change.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// What happened.
    pub kind: EventKind,
    /// When.
    pub at: DateTime<Utc>,
    /// The unit concerned (the new one for a referral or escalation).
    pub unit: Option<UnitCode>,
    /// The unit it came from (referral, escalation), so no failure to answer is lost.
    pub from_unit: Option<UnitCode>,
    /// The staff member who acted, if any.
    pub actor: Option<StaffId>,
    /// Public note or reason.
    pub note: Option<String>,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct CommentEvent {
    /// Identity.
    pub id: i64,
    /// The comment.
    pub comment_id: CommentId,
    /// The event itself.
    pub event: NewEvent,
}

/// A public answer from an administration.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// Identity.
    pub id: i64,
    /// The comment answered.
    pub comment_id: CommentId,
    /// The answer, normalised.
    pub body: String,
    /// The answering unit.
    pub unit: UnitCode,
    /// The official who answered.
    pub author: StaffId,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A new response, written with the change that records it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewResponse {
    /// The answer, normalised.
    pub body: String,
    /// The answering unit.
    pub unit: UnitCode,
    /// The official.
    pub author: StaffId,
    /// When.
    pub at: DateTime<Utc>,
}

/// A validated submission, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewComment {
    /// Fresh tracking code (the store retries with another on a clash).
    pub tracking_code: TrackingCode,
    /// The body, validated and normalised.
    pub body: CommentBody,
    /// Category code (known to exist).
    pub category_code: String,
    /// Commune (known to exist).
    pub commune_code: UnitCode,
    /// Village inside the commune, if any.
    pub village_code: Option<UnitCode>,
    /// Public once approved?
    pub is_public: bool,
    /// The citizen session.
    pub author: CitizenId,
    /// Idempotency key.
    pub client_id: Option<String>,
    /// Self-declared gender.
    pub gender: Option<Gender>,
    /// Self-declared age group.
    pub age_group: Option<AgeGroup>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A state change computed by the lifecycle, applied atomically by the store: the
/// comment's new fields (if its version is still `expected_version`), its events and
/// an optional response, in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct CommentChange {
    /// The comment as it must look afterwards (version not yet bumped).
    pub comment: Comment,
    /// The version the change was computed from.
    pub expected_version: i32,
    /// Events to append.
    pub events: Vec<NewEvent>,
    /// A response to add.
    pub response: Option<NewResponse>,
    /// A moderator's decision on a comment hidden by flags: the flags raised up to this
    /// instant are judged. They are kept (a session flags a comment once) but never count
    /// toward hiding it again.
    pub judges_flags: Option<DateTime<Utc>>,
}

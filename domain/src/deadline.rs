//! Deadlines: how long a unit has to acknowledge and to answer a routed comment, per
//! level and per category (admins edit them), and when a comment is overdue.

use chrono::{DateTime, Duration, Utc};

use crate::comment::Comment;
use crate::comment::CommentStatus;
use crate::geography::AdminLevel;
use crate::{DomainError, DomainResult};

/// The deadlines that apply to a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlinePolicy {
    /// Time from routing to acknowledgement.
    pub acknowledge_within: Duration,
    /// Time from routing to the first response.
    pub respond_within: Duration,
}

impl Default for DeadlinePolicy {
    /// PRODUCT.md §4: acknowledge within 3 days, first response within 15.
    fn default() -> Self {
        Self {
            acknowledge_within: Duration::days(3),
            respond_within: Duration::days(15),
        }
    }
}

impl DeadlinePolicy {
    /// The (acknowledge, first response) deadlines for a comment routed at `at`.
    pub fn due_from(&self, at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        (at + self.acknowledge_within, at + self.respond_within)
    }

    /// A policy in whole hours, as admins set it: both at least one hour, acknowledging
    /// no later than responding, and at most a year.
    pub fn from_hours(acknowledge: i64, respond: i64) -> DomainResult<Self> {
        const YEAR: i64 = 366 * 24;
        if !(1..=YEAR).contains(&acknowledge) {
            return Err(DomainError::invalid(
                "acknowledgeWithinHours",
                "must be between 1 and 8784 hours",
                "រយៈពេលមិនត្រឹមត្រូវ",
            ));
        }
        if !(acknowledge..=YEAR).contains(&respond) {
            return Err(DomainError::invalid(
                "respondWithinHours",
                "must be at least the acknowledgement time and at most 8784 hours",
                "រយៈពេលមិនត្រឹមត្រូវ",
            ));
        }
        Ok(Self {
            acknowledge_within: Duration::hours(acknowledge),
            respond_within: Duration::hours(respond),
        })
    }
}

/// A deadline set by an admin for a level, and optionally one category at that level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineRule {
    /// The level of the unit the comment is assigned to.
    pub level: AdminLevel,
    /// One category only, or all of them.
    pub category: Option<String>,
    /// The deadlines.
    pub policy: DeadlinePolicy,
}

/// Every rule; the most specific one applies: level and category, then level, then the
/// defaults of PRODUCT.md §4.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeadlineTable(pub Vec<DeadlineRule>);

impl DeadlineTable {
    /// The policy for a comment of `category` assigned to a unit of `level`.
    pub fn policy_for(&self, level: AdminLevel, category: &str) -> DeadlinePolicy {
        let specific = self
            .0
            .iter()
            .find(|r| r.level == level && r.category.as_deref() == Some(category));
        let general = || self.0.iter().find(|r| r.level == level && r.category.is_none());
        specific.or_else(general).map(|r| r.policy).unwrap_or_default()
    }
}

/// Whether `comment` is past its first-response deadline without a response at `now`.
pub fn is_overdue(comment: &Comment, now: DateTime<Utc>) -> bool {
    let open = matches!(comment.status, CommentStatus::Routed | CommentStatus::Acknowledged);
    open && comment.first_response_at.is_none() && comment.due_at.is_some_and(|due| due < now)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn default_deadlines_are_three_and_fifteen_days_after_routing() {
        let (ack, respond) = DeadlinePolicy::default().due_from(at(1, 8));
        assert_eq!(ack, at(4, 8));
        assert_eq!(respond, at(16, 8));
    }

    #[test]
    fn the_most_specific_rule_wins() {
        let hours = |a, r| DeadlinePolicy::from_hours(a, r).unwrap_or_default();
        let table = DeadlineTable(vec![
            DeadlineRule {
                level: AdminLevel::District,
                category: None,
                policy: hours(24, 240),
            },
            DeadlineRule {
                level: AdminLevel::District,
                category: Some("SOLID_WASTE".into()),
                policy: hours(12, 48),
            },
        ]);
        assert_eq!(table.policy_for(AdminLevel::District, "SOLID_WASTE"), hours(12, 48));
        assert_eq!(
            table.policy_for(AdminLevel::District, "OFFICIAL_CONDUCT"),
            hours(24, 240)
        );
        assert_eq!(
            table.policy_for(AdminLevel::Commune, "SOLID_WASTE"),
            DeadlinePolicy::default()
        );
    }

    #[test]
    fn admins_cannot_set_impossible_deadlines() {
        assert!(DeadlinePolicy::from_hours(0, 10).is_err());
        assert!(DeadlinePolicy::from_hours(48, 24).is_err());
        assert!(DeadlinePolicy::from_hours(1, 9000).is_err());
        assert!(DeadlinePolicy::from_hours(72, 360).is_ok());
    }

    #[test]
    fn a_comment_is_overdue_only_after_its_deadline_and_without_a_response() {
        let clock = crate::clock::ManualClock::at(at(1, 8));
        let mut comment = crate::lifecycle::tests_support::routed_at(at(1, 8), DeadlinePolicy::default());
        use crate::clock::Clock as _;
        assert!(!is_overdue(&comment, clock.now()));
        clock.advance(Duration::days(15));
        assert!(
            !is_overdue(&comment, clock.now()),
            "due at exactly this instant is not yet overdue"
        );
        clock.advance(Duration::seconds(1));
        assert!(is_overdue(&comment, clock.now()));
        comment.first_response_at = Some(clock.now());
        assert!(!is_overdue(&comment, clock.now()));
    }
}

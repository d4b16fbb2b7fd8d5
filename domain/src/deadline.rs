//! Deadlines: how long a unit has to acknowledge and to answer a routed comment.

use chrono::{DateTime, Duration, Utc};

use crate::comment::Comment;
use crate::lifecycle::CommentStatus;

/// The deadlines that apply to a comment (per level and category once admins edit them).
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

    #[test]
    fn default_deadlines_are_three_and_fifteen_days_after_routing() {
        let routed = Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).single();
        let routed = routed.unwrap_or_default();
        let (ack, respond) = DeadlinePolicy::default().due_from(routed);
        assert_eq!(ack, routed + Duration::days(3));
        assert_eq!(respond, routed + Duration::days(15));
    }
}

//! Comments in known states, for tests across the domain.

use crate::comment::{CitizenId, CommentId, StaffId};
use chrono::{DateTime, Utc};

use super::{Actor, CommentStatus, approve};
use crate::comment::Comment;
use crate::deadline::DeadlinePolicy;
use crate::geography::UnitCode;
use crate::tracking::TrackingCode;

fn code(raw: &str) -> UnitCode {
    UnitCode::parse("code", raw).unwrap_or_else(|e| panic!("{e}"))
}

/// A public LOCAL_ROADS comment of commune 120105, pending since `at`.
pub fn pending(at: DateTime<Utc>) -> Comment {
    Comment {
        id: CommentId::new(1),
        tracking_code: TrackingCode::parse("t", "KH7F3K2Q").unwrap_or_else(|e| panic!("{e}")),
        body: "The road to the school floods every rainy season.".into(),
        category_code: "LOCAL_ROADS".into(),
        commune_code: code("120105"),
        village_code: None,
        status: CommentStatus::Pending,
        assigned_unit: None,
        is_public: true,
        author: CitizenId::new(3),
        client_id: None,
        gender: None,
        age_group: None,
        created_at: at,
        routed_at: None,
        ack_due_at: None,
        due_at: None,
        acknowledged_at: None,
        first_response_at: None,
        resolved_at: None,
        satisfied: None,
        ratings: 0,
        satisfied_ratings: 0,
        reopen_count: 0,
        support_count: 0,
        version: 1,
        escalated_levels: 0,
        hidden: false,
    }
}

/// The same comment, approved and routed to its commune at `at` under `policy`.
pub fn routed_at(at: DateTime<Utc>, policy: DeadlinePolicy) -> Comment {
    let by = Actor {
        staff: StaffId::new(7),
        at,
    };
    approve(&pending(at), code("120105"), None, &policy, by)
        .unwrap_or_else(|e| panic!("{e}"))
        .comment
}

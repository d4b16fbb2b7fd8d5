use chrono::{Duration, TimeZone};

use super::*;
use crate::comment::Comment;

fn code(raw: &str) -> UnitCode {
    UnitCode::parse("code", raw).unwrap_or_else(|e| panic!("{e}"))
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).single().unwrap_or_default()
}

fn by(hours: i64) -> Actor {
    Actor {
        staff: StaffId::new(7),
        at: t0() + Duration::hours(hours),
    }
}

fn pending() -> Comment {
    super::tests_support::pending(t0())
}

fn ok(change: Result<CommentChange, DomainError>) -> CommentChange {
    change.unwrap_or_else(|e| panic!("{e}"))
}

fn routed() -> Comment {
    ok(approve(
        &pending(),
        code("120105"),
        None,
        &DeadlinePolicy::default(),
        by(1),
    ))
    .comment
}

fn kinds(change: &CommentChange) -> Vec<EventKind> {
    change.events.iter().map(|e| e.kind).collect()
}

#[test]
fn approval_routes_the_comment_and_starts_both_deadlines() {
    let change = ok(approve(
        &pending(),
        code("120105"),
        None,
        &DeadlinePolicy::default(),
        by(1),
    ));
    let after = &change.comment;
    assert_eq!(after.status, CommentStatus::Routed);
    assert_eq!(after.assigned_unit, Some(code("120105")));
    assert_eq!(after.routed_at, Some(by(1).at));
    assert_eq!(after.ack_due_at, Some(by(1).at + Duration::days(3)));
    assert_eq!(after.due_at, Some(by(1).at + Duration::days(15)));
    assert_eq!(kinds(&change), [EventKind::Approved, EventKind::Routed]);
    assert_eq!(change.expected_version, 1);
}

#[test]
fn a_moderator_can_correct_the_category_on_approval() {
    let change = ok(approve(
        &pending(),
        code("1201"),
        Some("SOLID_WASTE".into()),
        &DeadlinePolicy::default(),
        by(1),
    ));
    assert_eq!(change.comment.category_code, "SOLID_WASTE");
    assert!(
        change.events[0]
            .note
            .as_deref()
            .is_some_and(|n| n.contains("SOLID_WASTE"))
    );
    assert!(corrects_category(&change.events[0]));
    let plain = ok(approve(
        &pending(),
        code("120105"),
        None,
        &DeadlinePolicy::default(),
        by(1),
    ));
    assert!(!plain.events.iter().any(corrects_category));
}

#[test]
fn rejection_records_the_reason() {
    let change = ok(reject(&pending(), "SPAM", Some("advert".into()), by(1)));
    assert_eq!(change.comment.status, CommentStatus::Rejected);
    assert_eq!(change.events[0].note.as_deref(), Some("SPAM: advert"));
}

#[test]
fn a_decision_on_a_hidden_comment_judges_the_flags_raised_until_then() {
    let hidden = Comment {
        hidden: true,
        ..routed()
    };
    let restored = ok(restore(&hidden, by(5)));
    assert!(!restored.comment.hidden);
    assert_eq!(restored.comment.status, CommentStatus::Routed);
    assert_eq!(restored.judges_flags, Some(by(5).at));
    let rejected = ok(reject(&hidden, "ABUSIVE", None, by(6)));
    assert_eq!(rejected.judges_flags, Some(by(6).at));
    assert_eq!(
        ok(reject(&pending(), "SPAM", None, by(1))).judges_flags,
        None,
        "a pending comment has no flags to judge"
    );
    assert!(matches!(restore(&routed(), by(5)), Err(DomainError::Conflict(_))));
}

#[test]
fn the_full_happy_path_writes_one_event_per_step() {
    let acked = ok(acknowledge(&routed(), by(2)));
    assert_eq!(acked.comment.status, CommentStatus::Acknowledged);
    let answered = ok(respond(&acked.comment, "We will repair it in December.".into(), by(30)));
    assert_eq!(answered.comment.status, CommentStatus::Responded);
    assert_eq!(answered.comment.first_response_at, Some(by(30).at));
    assert!(answered.response.is_some());
    let again = ok(respond(&answered.comment, "Work started.".into(), by(40)));
    assert_eq!(
        again.comment.first_response_at,
        Some(by(30).at),
        "the first response time stays"
    );
    let resolved = ok(resolve(&again.comment, "Repaired.".into(), by(50)));
    assert_eq!(resolved.comment.status, CommentStatus::Resolved);
    assert_eq!(kinds(&resolved), [EventKind::Resolved]);
}

#[test]
fn transitions_the_state_does_not_allow_are_conflicts() {
    let conflict = |r: Result<CommentChange, DomainError>| matches!(r, Err(DomainError::Conflict(_)));
    assert!(conflict(acknowledge(&pending(), by(1))));
    assert!(conflict(respond(&pending(), "x".into(), by(1))));
    assert!(conflict(resolve(&routed(), "x".into(), by(1))));
    assert!(conflict(approve(
        &routed(),
        code("120105"),
        None,
        &DeadlinePolicy::default(),
        by(1)
    )));
    let acked = ok(acknowledge(&routed(), by(2))).comment;
    assert!(conflict(acknowledge(&acked, by(3))));
    assert!(conflict(rate(&acked, true, t0())));
}

#[test]
fn a_referral_keeps_the_state_moves_the_unit_and_remembers_where_it_came_from() {
    let change = ok(refer(
        &routed(),
        code("1201"),
        "district matter".into(),
        &DeadlinePolicy::default(),
        by(5),
    ));
    assert_eq!(change.comment.status, CommentStatus::Routed);
    assert_eq!(change.comment.assigned_unit, Some(code("1201")));
    assert_eq!(change.comment.due_at, Some(by(5).at + Duration::days(15)));
    assert_eq!(change.events[0].from_unit, Some(code("120105")));
    assert_eq!(change.events[0].unit, Some(code("1201")));
    let same = refer(&routed(), code("120105"), "x".into(), &DeadlinePolicy::default(), by(5));
    assert!(matches!(same, Err(DomainError::InvalidInput { .. })));
}

fn resolved() -> Comment {
    let answered = ok(respond(&routed(), "Fixed soon.".into(), by(3))).comment;
    ok(resolve(&answered, "Fixed.".into(), by(4))).comment
}

#[test]
fn a_satisfied_rating_is_kept_and_cannot_be_given_twice() {
    let rated = ok(rate(&resolved(), true, t0())).comment;
    assert_eq!(rated.satisfied, Some(true));
    assert_eq!(rated.status, CommentStatus::Resolved);
    assert!(matches!(rate(&rated, false, t0()), Err(DomainError::Conflict(_))));
}

#[test]
fn an_unsatisfied_citizen_reopens_once_only() {
    let change = ok(rate(&resolved(), false, t0()));
    assert_eq!(kinds(&change), [EventKind::Rated, EventKind::Reopened]);
    let reopened = change.comment;
    assert_eq!(
        (reopened.status, reopened.reopen_count, reopened.satisfied),
        (CommentStatus::Responded, 1, None)
    );
    let resolved_again = ok(resolve(&reopened, "Really fixed.".into(), by(9))).comment;
    let second = ok(rate(&resolved_again, false, t0()));
    assert_eq!(kinds(&second), [EventKind::Rated]);
    assert_eq!(second.comment.status, CommentStatus::Resolved);
    assert_eq!(second.comment.satisfied, Some(false));
}

#[test]
fn every_rating_counts_the_one_that_reopens_too() {
    let reopened = ok(rate(&resolved(), false, t0())).comment;
    assert_eq!((reopened.ratings, reopened.satisfied_ratings), (1, 0));
    let resolved_again = ok(resolve(&reopened, "Really fixed.".into(), by(9))).comment;
    let pleased = ok(rate(&resolved_again, true, t0())).comment;
    assert_eq!((pleased.ratings, pleased.satisfied_ratings), (2, 1));
    assert_eq!(pleased.satisfied, Some(true));
}

#[test]
fn an_overdue_comment_escalates_to_the_parent_with_both_units_and_fresh_deadlines() {
    let comment = routed();
    let early = escalate(&comment, code("1201"), &DeadlinePolicy::default(), by(24).at);
    assert!(matches!(early, Err(DomainError::Conflict(_))), "not yet overdue");
    let late = by(1).at + Duration::days(15) + Duration::seconds(1);
    let change = ok(escalate(&comment, code("1201"), &DeadlinePolicy::default(), late));
    assert_eq!(change.comment.assigned_unit, Some(code("1201")));
    assert_eq!(change.comment.status, CommentStatus::Routed);
    assert_eq!(change.comment.due_at, Some(late + Duration::days(15)));
    assert_eq!(change.events[0].kind, EventKind::Escalated);
    assert_eq!(change.events[0].from_unit, Some(code("120105")));
    assert_eq!(change.events[0].unit, Some(code("1201")));
    // Answered comments are never escalated.
    let answered = ok(respond(&comment, "On it.".into(), by(2))).comment;
    assert!(escalate(&answered, code("1201"), &DeadlinePolicy::default(), late).is_err());
}

#[test]
fn a_comment_referred_back_down_is_not_escalated_from_the_same_level_twice() {
    let late = by(1).at + Duration::days(15) + Duration::seconds(1);
    let up = ok(escalate(&routed(), code("1201"), &DeadlinePolicy::default(), late)).comment;
    let back = ok(refer(
        &up,
        code("120105"),
        "commune matter after all".into(),
        &DeadlinePolicy::default(),
        Actor {
            staff: StaffId::new(8),
            at: late,
        },
    ))
    .comment;
    let later = late + Duration::days(16);
    assert!(matches!(
        escalate(&back, code("1201"), &DeadlinePolicy::default(), later),
        Err(DomainError::Conflict(_))
    ));
}

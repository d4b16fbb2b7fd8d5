//! The life of a comment (PRODUCT.md §4) as pure functions from a comment to the change
//! that a transition makes. Who may make it is checked in [`crate::service`].
//!
//! ```text
//! PENDING --approve--> ROUTED --acknowledge--> ACKNOWLEDGED --respond--> RESPONDED --resolve--> RESOLVED
//!    \--reject--> REJECTED   (respond from ROUTED too; refer keeps the state and moves the unit)
//! ```

use chrono::{DateTime, Utc};

use crate::DomainError;
use crate::comment::{Comment, CommentChange, CommentStatus, EventKind, NewEvent, NewResponse, StaffId};
use crate::deadline::DeadlinePolicy;
use crate::geography::UnitCode;

/// A staff member acting on a comment, as recorded in events.
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    /// Who.
    pub staff: StaffId,
    /// When.
    pub at: DateTime<Utc>,
}

fn event(kind: EventKind, at: DateTime<Utc>) -> NewEvent {
    NewEvent {
        kind,
        at,
        unit: None,
        from_unit: None,
        actor: None,
        note: None,
    }
}

fn require(comment: &Comment, allowed: &[CommentStatus], action: &str) -> Result<(), DomainError> {
    if allowed.contains(&comment.status) {
        Ok(())
    } else {
        Err(DomainError::Conflict(format!(
            "cannot {action} a comment that is {}",
            comment.status.as_str()
        )))
    }
}

fn change(before: &Comment, after: Comment, events: Vec<NewEvent>) -> CommentChange {
    CommentChange {
        comment: after,
        expected_version: before.version,
        events,
        response: None,
        judges_flags: None,
    }
}

/// How the note of an APPROVED event starts when the moderator corrected the category.
const CATEGORY_CORRECTED: &str = "category corrected to ";

/// Whether `event` records a moderator's correction of the comment's category.
pub fn corrects_category(event: &NewEvent) -> bool {
    event.kind == EventKind::Approved
        && event
            .note
            .as_deref()
            .is_some_and(|note| note.starts_with(CATEGORY_CORRECTED))
}

/// Approves a pending comment and routes it to `unit`, starting its deadlines.
/// `category` replaces the citizen's category when the moderator corrected it.
pub fn approve(
    comment: &Comment,
    unit: UnitCode,
    category: Option<String>,
    policy: &DeadlinePolicy,
    by: Actor,
) -> Result<CommentChange, DomainError> {
    require(comment, &[CommentStatus::Pending], "approve")?;
    let (ack_due, due) = policy.due_from(by.at);
    let mut after = comment.clone();
    let corrected = category.filter(|code| *code != comment.category_code);
    if let Some(code) = &corrected {
        after.category_code.clone_from(code);
    }
    after.status = CommentStatus::Routed;
    after.assigned_unit = Some(unit.clone());
    after.routed_at = Some(by.at);
    after.ack_due_at = Some(ack_due);
    after.due_at = Some(due);
    let approved = NewEvent {
        actor: Some(by.staff),
        note: corrected.map(|code| format!("{CATEGORY_CORRECTED}{code}")),
        ..event(EventKind::Approved, by.at)
    };
    let routed = NewEvent {
        unit: Some(unit),
        ..event(EventKind::Routed, by.at)
    };
    Ok(change(comment, after, vec![approved, routed]))
}

/// Rejects a pending comment (or one hidden by flags, judging its flags) with a reason.
pub fn reject(comment: &Comment, reason: &str, note: Option<String>, by: Actor) -> Result<CommentChange, DomainError> {
    if !comment.hidden {
        require(comment, &[CommentStatus::Pending], "reject")?;
    }
    let mut after = comment.clone();
    after.status = CommentStatus::Rejected;
    // Decided: it no longer waits for a moderator, whatever hid it.
    after.hidden = false;
    let note = match note {
        Some(note) => format!("{reason}: {note}"),
        None => reason.to_owned(),
    };
    let rejected = NewEvent {
        actor: Some(by.staff),
        note: Some(note),
        ..event(EventKind::Rejected, by.at)
    };
    let mut change = change(comment, after, vec![rejected]);
    if comment.hidden {
        change.judges_flags = Some(by.at);
    }
    Ok(change)
}

/// A moderator puts a comment hidden by flags back before the public, judging the flags
/// that hid it: the sessions that raised them cannot hide it again.
pub fn restore(comment: &Comment, by: Actor) -> Result<CommentChange, DomainError> {
    if !comment.hidden {
        return Err(DomainError::conflict("the comment is not hidden"));
    }
    let mut after = comment.clone();
    after.hidden = false;
    let restored = NewEvent {
        actor: Some(by.staff),
        ..event(EventKind::Restored, by.at)
    };
    let mut change = change(comment, after, vec![restored]);
    change.judges_flags = Some(by.at);
    Ok(change)
}

/// The assigned unit acknowledges a routed comment.
pub fn acknowledge(comment: &Comment, by: Actor) -> Result<CommentChange, DomainError> {
    require(comment, &[CommentStatus::Routed], "acknowledge")?;
    let mut after = comment.clone();
    after.status = CommentStatus::Acknowledged;
    after.acknowledged_at.get_or_insert(by.at);
    let acknowledged = NewEvent {
        unit: comment.assigned_unit.clone(),
        actor: Some(by.staff),
        ..event(EventKind::Acknowledged, by.at)
    };
    Ok(change(comment, after, vec![acknowledged]))
}

/// The assigned unit answers publicly (again, if it already did).
pub fn respond(comment: &Comment, body: String, by: Actor) -> Result<CommentChange, DomainError> {
    use CommentStatus::{Acknowledged, Responded, Routed};
    require(comment, &[Routed, Acknowledged, Responded], "respond to")?;
    let unit = comment
        .assigned_unit
        .clone()
        .ok_or_else(|| DomainError::Internal("routed comment without a unit".into()))?;
    let mut after = comment.clone();
    after.status = Responded;
    after.first_response_at.get_or_insert(by.at);
    let responded = NewEvent {
        unit: Some(unit.clone()),
        actor: Some(by.staff),
        ..event(EventKind::Responded, by.at)
    };
    let mut change = change(comment, after, vec![responded]);
    change.response = Some(NewResponse {
        body,
        unit,
        author: by.staff,
        at: by.at,
    });
    Ok(change)
}

/// Moves the comment to another unit, keeping its state; deadlines restart there.
/// The event keeps the unit it came from.
pub fn refer(
    comment: &Comment,
    to: UnitCode,
    reason: String,
    policy: &DeadlinePolicy,
    by: Actor,
) -> Result<CommentChange, DomainError> {
    use CommentStatus::{Acknowledged, Responded, Routed};
    require(comment, &[Routed, Acknowledged, Responded], "refer")?;
    if comment.assigned_unit.as_ref() == Some(&to) {
        return Err(DomainError::invalid(
            "toUnitCode",
            "the comment is already assigned to this unit",
            "មតិនេះស្ថិតនៅអង្គភាពនេះរួចហើយ",
        ));
    }
    let (ack_due, due) = policy.due_from(by.at);
    let mut after = comment.clone();
    after.assigned_unit = Some(to.clone());
    after.ack_due_at = Some(ack_due);
    after.due_at = Some(due);
    let referred = NewEvent {
        unit: Some(to),
        from_unit: comment.assigned_unit.clone(),
        actor: Some(by.staff),
        note: Some(reason),
        ..event(EventKind::Referred, by.at)
    };
    Ok(change(comment, after, vec![referred]))
}

/// Closes an answered comment with a public note.
pub fn resolve(comment: &Comment, note: String, by: Actor) -> Result<CommentChange, DomainError> {
    require(comment, &[CommentStatus::Responded], "resolve")?;
    let mut after = comment.clone();
    after.status = CommentStatus::Resolved;
    after.resolved_at = Some(by.at);
    let resolved = NewEvent {
        unit: comment.assigned_unit.clone(),
        actor: Some(by.staff),
        note: Some(note),
        ..event(EventKind::Resolved, by.at)
    };
    Ok(change(comment, after, vec![resolved]))
}

/// The citizen rates the resolution. An unsatisfied citizen reopens the comment, once:
/// it goes back to RESPONDED for the unit to look again.
pub fn rate(comment: &Comment, satisfied: bool, at: DateTime<Utc>) -> Result<CommentChange, DomainError> {
    require(comment, &[CommentStatus::Resolved], "rate")?;
    if comment.satisfied.is_some() {
        return Err(DomainError::conflict("this resolution has already been rated"));
    }
    let mut after = comment.clone();
    // Every rating counts in the statistics, the one that reopens the comment too.
    after.ratings += 1;
    after.satisfied_ratings += i32::from(satisfied);
    let rated = NewEvent {
        note: Some(if satisfied { "satisfied" } else { "not satisfied" }.to_owned()),
        ..event(EventKind::Rated, at)
    };
    let mut events = vec![rated];
    if !satisfied && comment.reopen_count == 0 {
        after.status = CommentStatus::Responded;
        after.resolved_at = None;
        after.reopen_count += 1;
        events.push(NewEvent {
            unit: comment.assigned_unit.clone(),
            ..event(EventKind::Reopened, at)
        });
    } else {
        after.satisfied = Some(satisfied);
    }
    Ok(change(comment, after, events))
}

/// Escalates a comment that is past its first-response deadline without a response to
/// the unit above (`parent`); its deadlines restart there, its state is kept, and the
/// event names both units so that monitors see who did not answer.
pub fn escalate(
    comment: &Comment,
    parent: UnitCode,
    policy: &DeadlinePolicy,
    at: DateTime<Utc>,
) -> Result<CommentChange, DomainError> {
    require(
        comment,
        &[CommentStatus::Routed, CommentStatus::Acknowledged],
        "escalate",
    )?;
    if !crate::deadline::is_overdue(comment, at) {
        return Err(DomainError::conflict("the comment is not past its deadline"));
    }
    // Once per level: a comment referred back down is not escalated from there again.
    if comment
        .assigned_unit
        .as_ref()
        .is_some_and(|from| comment.escalated_levels & from.level().bit() != 0)
    {
        return Err(DomainError::conflict(
            "the comment was already escalated from this level",
        ));
    }
    let (ack_due, due) = policy.due_from(at);
    let mut after = comment.clone();
    if let Some(from) = &comment.assigned_unit {
        after.escalated_levels |= from.level().bit();
    }
    after.assigned_unit = Some(parent.clone());
    after.ack_due_at = Some(ack_due);
    after.due_at = Some(due);
    let escalated = NewEvent {
        unit: Some(parent),
        from_unit: comment.assigned_unit.clone(),
        note: Some("no response within the deadline".into()),
        ..event(EventKind::Escalated, at)
    };
    Ok(change(comment, after, vec![escalated]))
}

#[cfg(test)]
pub(crate) mod tests_support;

#[cfg(test)]
mod tests;

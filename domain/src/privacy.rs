//! What the public may read. Phone numbers and ID-card numbers in any text the public
//! sees of a comment (its body, the officials' responses, the notes of its events:
//! moderators' notes, rejection notes, referral reasons, resolution notes) are redacted
//! ([`redact`]); the author, moderators and the responsible officials read the original.
//! [`Reading::of`] decides, once for all of a comment's texts.

mod redaction;

use std::borrow::Cow;

pub use redaction::{MIN_DIGITS, REDACTED, digit_value, redact};

use crate::auth::Principal;
use crate::comment::Comment;

/// How one viewer reads the texts of one comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// As written: the author, moderators, the officials of the assigned unit.
    Original,
    /// With phone and ID-card numbers redacted: the public and every other citizen
    /// (and every export, which is public).
    Redacted,
}

impl Reading {
    /// How `viewer` reads the body, responses and event notes of `comment`.
    pub fn of(viewer: &Principal, comment: &Comment) -> Self {
        if is_author(viewer, comment) || viewer.is_moderator() || is_responsible_official(viewer, comment) {
            Self::Original
        } else {
            Self::Redacted
        }
    }

    /// `text` as this reader sees it.
    pub fn text(self, text: &str) -> Cow<'_, str> {
        match self {
            Self::Original => Cow::Borrowed(text),
            Self::Redacted => Cow::Owned(redact(text)),
        }
    }
}

/// Whether `viewer` may read `comment` at all.
pub fn may_view(viewer: &Principal, comment: &Comment) -> bool {
    if is_author(viewer, comment) || viewer.is_moderator() {
        return true;
    }
    if !comment.status.is_published() {
        return false;
    }
    (comment.is_public && !comment.hidden) || is_responsible_official(viewer, comment)
}

fn is_author(viewer: &Principal, comment: &Comment) -> bool {
    matches!(viewer, Principal::Citizen(id) if *id == comment.author)
}

fn is_responsible_official(viewer: &Principal, comment: &Comment) -> bool {
    viewer
        .official_unit()
        .is_some_and(|unit| comment.assigned_unit.as_ref() == Some(unit))
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::auth::{Role, StaffAccount};
    use crate::comment::{CitizenId, StaffId};
    use crate::deadline::DeadlinePolicy;
    use crate::geography::UnitCode;
    use crate::lifecycle::tests_support::routed_at;

    fn staff(role: Role, unit: Option<&str>) -> Principal {
        Principal::Staff(StaffAccount {
            id: StaffId::new(9),
            username: "someone".into(),
            role,
            unit: unit.map(|u| UnitCode::parse("unit", u).unwrap_or_else(|e| panic!("{e}"))),
            disabled: false,
        })
    }

    #[test]
    fn those_who_handle_a_comment_read_its_texts_as_written_and_everyone_else_redacted() {
        // Routed to commune 120105, written by citizen 3.
        let comment = routed_at(Utc::now(), DeadlinePolicy::default());
        for (viewer, reading) in [
            (Principal::Citizen(CitizenId::new(3)), Reading::Original),
            (staff(Role::Moderator, None), Reading::Original),
            (staff(Role::Admin, None), Reading::Original),
            (staff(Role::Official, Some("120105")), Reading::Original),
            (Principal::Anonymous, Reading::Redacted),
            (Principal::Citizen(CitizenId::new(4)), Reading::Redacted),
            (staff(Role::Official, Some("120109")), Reading::Redacted),
            (staff(Role::Monitor, None), Reading::Redacted),
        ] {
            assert_eq!(Reading::of(&viewer, &comment), reading, "{viewer:?}");
        }
        let note = "verified by phone with author 012 345 678";
        assert_eq!(Reading::Original.text(note), note);
        assert_eq!(Reading::Redacted.text(note), "verified by phone with author […]");
    }
}

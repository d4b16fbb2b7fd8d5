//! A phone's retries. The phone generates a `clientId` once per comment and sends it
//! with every attempt, so a retry with the same content gets the first comment. The
//! same key with different content is no retry: returning the first comment would
//! silently drop what the citizen changed (a switch to private), so it is CONFLICT on
//! `clientId`. Content is compared as it is stored: the body normalised, codes trimmed.

use super::Submission;
use crate::DomainError;
use crate::comment::{AgeGroup, Comment, Gender, NewComment};
use crate::geography::UnitCode;
use crate::text;

/// What a submission says, normalised as it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Content {
    body: String,
    category: String,
    commune: String,
    village: Option<String>,
    is_public: bool,
    gender: Option<Gender>,
    age_group: Option<AgeGroup>,
}

/// A code as it is stored, or as sent when it is no code at all (then it differs from
/// every stored one).
fn code(raw: &str) -> String {
    UnitCode::parse("code", raw).map_or_else(|_| raw.to_owned(), |c| c.as_str().to_owned())
}

impl Content {
    /// What a stored comment says.
    pub(super) fn stored(comment: &Comment) -> Self {
        Self {
            body: comment.body.clone(),
            category: comment.category_code.clone(),
            commune: comment.commune_code.as_str().to_owned(),
            village: comment.village_code.as_ref().map(|v| v.as_str().to_owned()),
            is_public: comment.is_public,
            gender: comment.gender,
            age_group: comment.age_group,
        }
    }

    /// What a validated submission says.
    pub(super) fn new(comment: &NewComment) -> Self {
        Self {
            body: comment.body.as_str().to_owned(),
            category: comment.category_code.clone(),
            commune: comment.commune_code.as_str().to_owned(),
            village: comment.village_code.as_ref().map(|v| v.as_str().to_owned()),
            is_public: comment.is_public,
            gender: comment.gender,
            age_group: comment.age_group,
        }
    }

    /// What a retry says, normalised without being validated again: a retry is checked
    /// against the first comment only.
    pub(super) fn sent(input: &Submission) -> Self {
        Self {
            body: text::normalise("body", &input.body).unwrap_or_else(|_| input.body.clone()),
            category: input.category_code.trim().to_owned(),
            commune: code(&input.commune_code),
            village: input.village_code.as_deref().map(code),
            is_public: input.is_public,
            gender: input.gender,
            age_group: input.age_group,
        }
    }

    /// The inputs, as the client names them, in which `retry` says something else.
    pub(super) fn differences(&self, retry: &Self) -> Vec<&'static str> {
        let mut fields = Vec::new();
        let mut differ = |field, same: bool| {
            if !same {
                fields.push(field);
            }
        };
        differ("body", self.body == retry.body);
        differ("categoryCode", self.category == retry.category);
        differ("communeCode", self.commune == retry.commune);
        differ("villageCode", self.village == retry.village);
        differ("isPublic", self.is_public == retry.is_public);
        differ("gender", self.gender == retry.gender);
        differ("ageGroup", self.age_group == retry.age_group);
        fields
    }
}

/// The refusal of a `clientId` already used for a comment that says something else.
pub(super) fn reused(differences: &[&str]) -> DomainError {
    DomainError::conflicting(
        "clientId",
        &format!(
            "was already used for a comment with another {}; a new comment needs a new clientId",
            differences.join(", ")
        ),
        "លេខសម្គាល់ clientId នេះត្រូវបានប្រើរួចហើយសម្រាប់មតិផ្សេង សូមប្រើលេខសម្គាល់ថ្មីសម្រាប់មតិថ្មី",
    )
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::lifecycle::tests_support::pending;

    fn sent() -> Submission {
        Submission {
            body: "The road to the school floods every rainy season.".into(),
            category_code: "LOCAL_ROADS".into(),
            commune_code: "120105".into(),
            village_code: None,
            is_public: true,
            gender: None,
            age_group: None,
            client_id: Some("phone-1".into()),
        }
    }

    #[test]
    fn a_retry_of_the_same_comment_differs_in_nothing_however_it_is_spaced() {
        let first = Content::stored(&pending(Utc::now()));
        assert_eq!(first.differences(&Content::sent(&sent())), Vec::<&str>::new());
        let respaced = Submission {
            body: " The road to the school floods every rainy season.\r\n".into(),
            category_code: " LOCAL_ROADS ".into(),
            commune_code: " 120105".into(),
            ..sent()
        };
        assert_eq!(first.differences(&Content::sent(&respaced)), Vec::<&str>::new());
    }

    #[test]
    fn every_field_of_the_comment_is_compared() {
        let first = Content::stored(&pending(Utc::now()));
        for (changed, field) in [
            (
                Submission {
                    body: "The road to the school floods every dry season.".into(),
                    ..sent()
                },
                "body",
            ),
            (
                Submission {
                    category_code: "WATER_SANITATION".into(),
                    ..sent()
                },
                "categoryCode",
            ),
            (
                Submission {
                    commune_code: "120101".into(),
                    ..sent()
                },
                "communeCode",
            ),
            (
                Submission {
                    village_code: Some("12010501".into()),
                    ..sent()
                },
                "villageCode",
            ),
            (
                Submission {
                    is_public: false,
                    ..sent()
                },
                "isPublic",
            ),
            (
                Submission {
                    gender: Some(Gender::Female),
                    ..sent()
                },
                "gender",
            ),
            (
                Submission {
                    age_group: Some(AgeGroup::From65),
                    ..sent()
                },
                "ageGroup",
            ),
            (
                Submission {
                    body: "bad\u{0}".into(),
                    ..sent()
                },
                "body",
            ),
            (
                Submission {
                    commune_code: "nope".into(),
                    ..sent()
                },
                "communeCode",
            ),
        ] {
            assert_eq!(first.differences(&Content::sent(&changed)), [field]);
        }
    }

    #[test]
    fn a_reused_client_id_is_a_conflict_on_client_id_in_both_languages() {
        match reused(&["isPublic"]) {
            DomainError::ConflictingInput {
                field,
                message,
                message_km,
            } => {
                assert_eq!(field, "clientId");
                assert!(message.contains("isPublic"), "{message}");
                assert!(!message_km.is_empty());
            }
            other => panic!("expected a conflict on clientId, got {other:?}"),
        }
    }
}

//! A comment as a phone sends it: the `SubmitCommentInput` of a submission.

use serde_json::{Value, json};

/// A comment to submit: commune, category and text, and whatever else a phone may send
/// (visibility, village, gender, age group, clientId).
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    input: Value,
}

impl Submission {
    /// A public comment about `category` in `commune`.
    pub fn new(commune: &str, category: &str, body: impl Into<String>) -> Self {
        Self {
            input: json!({ "body": body.into(), "categoryCode": category, "communeCode": commune }),
        }
    }

    /// `isPublic`.
    pub fn public(self, public: bool) -> Self {
        self.with("isPublic", json!(public))
    }

    /// `villageCode`.
    pub fn village(self, code: &str) -> Self {
        self.with("villageCode", json!(code))
    }

    /// `gender`, e.g. `FEMALE`.
    pub fn gender(self, gender: &str) -> Self {
        self.with("gender", json!(gender))
    }

    /// `ageGroup`, e.g. `FROM_25_TO_34`.
    pub fn age_group(self, group: &str) -> Self {
        self.with("ageGroup", json!(group))
    }

    /// `clientId`: a retry with the same one returns the first comment.
    pub fn client_id(self, id: impl Into<String>) -> Self {
        self.with("clientId", json!(id.into()))
    }

    /// Any field of the input set as given (`null` included), for tests of bad input.
    pub fn with(mut self, field: &str, value: Value) -> Self {
        self.input[field] = value;
        self
    }

    /// The input without `field`.
    pub fn without(mut self, field: &str) -> Self {
        if let Some(input) = self.input.as_object_mut() {
            input.remove(field);
        }
        self
    }

    /// The `SubmitCommentInput`.
    pub fn input(&self) -> &Value {
        &self.input
    }

    /// The variables of [`crate::SUBMIT`]: `{ "input": … }`.
    pub fn variables(&self) -> Value {
        json!({ "input": self.input })
    }
}

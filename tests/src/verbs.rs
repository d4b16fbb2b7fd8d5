//! The product's verbs: what citizens, moderators and officials do to a comment. Each
//! verb is a [`Call`]: awaited, it answers with the comment (or the verb's result) and
//! fails the test on any error; a test of a refusal asks for `error_code()`,
//! `response()` or `reply()` instead.

use serde_json::{Value, json};

use crate::app::TestApp;
use crate::documents::{ACKNOWLEDGE, CLAIM, FLAG, MODERATE, RATE, REFER, RESOLVE, RESPOND, SUBMIT, SUPPORT};
use crate::http::{Call, Caller};
use crate::submission::Submission;

/// What names a comment in a verb: its id, as text or as the JSON value of an answer.
pub trait CommentId {
    /// The id as a GraphQL variable.
    fn to_json(&self) -> Value;
}

impl CommentId for str {
    fn to_json(&self) -> Value {
        json!(self)
    }
}

impl CommentId for String {
    fn to_json(&self) -> Value {
        json!(self)
    }
}

impl CommentId for Value {
    fn to_json(&self) -> Value {
        self.clone()
    }
}

impl<T: CommentId + ?Sized> CommentId for &T {
    fn to_json(&self) -> Value {
        (**self).to_json()
    }
}

impl TestApp {
    /// CITIZEN: sends `submission`; awaited, the comment.
    pub fn submit(&self, citizen: impl Caller, submission: &Submission) -> Call<'_> {
        self.call(citizen, SUBMIT, submission.variables())
            .at(&["submitComment", "comment"])
    }

    /// CITIZEN: sends a comment about `category` in `commune`; its id.
    pub async fn submit_comment(&self, citizen: impl Caller, commune: &str, category: &str, body: &str) -> String {
        let comment = self.submit(citizen, &Submission::new(commune, category, body)).await;
        comment["id"].as_str().expect("a comment id").to_owned()
    }

    /// MODERATOR: `moderateComment` with the variables of [`crate::MODERATE`] as given.
    pub fn moderate(&self, moderator: impl Caller, variables: Value) -> Call<'_> {
        self.call(moderator, MODERATE, variables).at(&["moderateComment"])
    }

    /// MODERATOR: approves, which routes the comment to a unit.
    pub fn approve(&self, moderator: impl Caller, id: impl CommentId) -> Call<'_> {
        let variables = json!({ "id": id.to_json(), "decision": "APPROVE" });
        self.moderate(moderator, variables)
    }

    /// MODERATOR: rejects for `reason` (e.g. `SPAM`).
    pub fn reject(&self, moderator: impl Caller, id: impl CommentId, reason: &str) -> Call<'_> {
        let variables = json!({ "id": id.to_json(), "decision": "REJECT", "reason": reason });
        self.moderate(moderator, variables)
    }

    /// MODERATOR: leases up to `count` pending comments; awaited, `[{ id status }]`.
    pub fn claim(&self, moderator: impl Caller, count: i32) -> Call<'_> {
        self.call(moderator, CLAIM, json!({ "count": count }))
            .at(&["claimModerationItems"])
    }

    /// OFFICIAL of the assigned unit: acknowledges.
    pub fn acknowledge(&self, official: impl Caller, id: impl CommentId) -> Call<'_> {
        self.call(official, ACKNOWLEDGE, json!({ "id": id.to_json() }))
            .at(&["acknowledgeComment"])
    }

    /// OFFICIAL of the assigned unit: answers publicly.
    pub fn respond(&self, official: impl Caller, id: impl CommentId, body: &str) -> Call<'_> {
        self.call(official, RESPOND, json!({ "id": id.to_json(), "body": body }))
            .at(&["respondToComment"])
    }

    /// OFFICIAL of the assigned unit: refers to the unit `to`, with a reason.
    pub fn refer(&self, official: impl Caller, id: impl CommentId, to: &str, reason: &str) -> Call<'_> {
        let variables = json!({ "id": id.to_json(), "to": to, "reason": reason });
        self.call(official, REFER, variables).at(&["referComment"])
    }

    /// OFFICIAL of the assigned unit: resolves an answered comment with a public note.
    pub fn resolve(&self, official: impl Caller, id: impl CommentId, note: &str) -> Call<'_> {
        self.call(official, RESOLVE, json!({ "id": id.to_json(), "note": note }))
            .at(&["resolveComment"])
    }

    /// CITIZEN, the author: rates the resolution; not satisfied reopens it once.
    pub fn rate(&self, citizen: impl Caller, tracking_code: &str, satisfied: bool) -> Call<'_> {
        let variables = json!({ "trackingCode": tracking_code, "satisfied": satisfied });
        self.call(citizen, RATE, variables).at(&["rateResolution"])
    }

    /// CITIZEN: supports ("me too") a public comment.
    pub fn support(&self, citizen: impl Caller, id: impl CommentId) -> Call<'_> {
        self.call(citizen, SUPPORT, json!({ "id": id.to_json() }))
            .at(&["supportComment"])
    }

    /// CITIZEN: flags a public comment for `reason` (e.g. `ABUSIVE`); awaited, whether
    /// the flag was new.
    pub fn flag(&self, citizen: impl Caller, id: impl CommentId, reason: &str) -> Call<'_> {
        self.call(citizen, FLAG, json!({ "id": id.to_json(), "reason": reason }))
            .at(&["flagComment"])
    }

    /// A comment a fresh citizen sent and `moderator` approved: routed to a unit, ready
    /// for an official. The comment as the approval answered it.
    pub async fn ready(&self, moderator: impl Caller, submission: &Submission) -> Value {
        let citizen = self.citizen().await;
        let comment = self.submit(&citizen, submission).await;
        self.approve(moderator, &comment["id"]).await
    }
}

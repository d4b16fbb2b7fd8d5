//! The GraphQL documents of the product's verbs, each written once. A verb that answers
//! with a comment selects [`COMMENT_FIELDS`], enough for any suite to assert on.

/// The fields of a comment every verb's answer selects.
macro_rules! comment_fields {
    () => {
        "id trackingCode status body isPublic createdAt routedAt dueAt acknowledgeDueAt \
         firstResponseAt resolvedAt satisfied reopenCount supportCount category { code } \
         assignedUnit { code } events { kind note unit { code } fromUnit { code } } \
         responses { body unit { code } }"
    };
}

/// The fields of a comment every verb's answer selects.
pub const COMMENT_FIELDS: &str = comment_fields!();

/// CITIZEN: `$input` (a `SubmitCommentInput`).
pub const SUBMIT: &str = concat!(
    "mutation($input: SubmitCommentInput!) { submitComment(input: $input) { comment { ",
    comment_fields!(),
    " } } }"
);

/// MODERATOR: `$id`, `$decision` (APPROVE or REJECT), and optionally `$reason`, `$note`
/// and `$category` (a corrected category).
pub const MODERATE: &str = concat!(
    "mutation($id: ID!, $decision: ModerationDecision!, $reason: RejectReason, $note: String, $category: ID) {
  moderateComment(id: $id, decision: $decision, reason: $reason, note: $note, categoryCode: $category) { ",
    comment_fields!(),
    " } }"
);

/// MODERATOR: leases up to `$count` pending comments.
pub const CLAIM: &str = "mutation($count: Int!) { claimModerationItems(count: $count) { id status } }";

/// OFFICIAL: `$id`.
pub const ACKNOWLEDGE: &str = concat!(
    "mutation($id: ID!) { acknowledgeComment(id: $id) { ",
    comment_fields!(),
    " } }"
);

/// OFFICIAL: `$id`, `$body`.
pub const RESPOND: &str = concat!(
    "mutation($id: ID!, $body: String!) { respondToComment(id: $id, body: $body) { ",
    comment_fields!(),
    " } }"
);

/// OFFICIAL: `$id`, `$to` (a unit code), `$reason`.
pub const REFER: &str = concat!(
    "mutation($id: ID!, $to: ID!, $reason: String!) { referComment(id: $id, toUnitCode: $to, reason: $reason) { ",
    comment_fields!(),
    " } }"
);

/// OFFICIAL: `$id`, `$note`.
pub const RESOLVE: &str = concat!(
    "mutation($id: ID!, $note: String!) { resolveComment(id: $id, note: $note) { ",
    comment_fields!(),
    " } }"
);

/// CITIZEN (the author): `$trackingCode`, `$satisfied`.
pub const RATE: &str = concat!(
    "mutation($trackingCode: String!, $satisfied: Boolean!) {
  rateResolution(trackingCode: $trackingCode, satisfied: $satisfied) { ",
    comment_fields!(),
    " } }"
);

/// CITIZEN: `$id`.
pub const SUPPORT: &str = concat!(
    "mutation($id: ID!) { supportComment(id: $id) { ",
    comment_fields!(),
    " } }"
);

/// CITIZEN: `$id`, `$reason`; whether the flag was new.
pub const FLAG: &str = "mutation($id: ID!, $reason: RejectReason!) { flagComment(id: $id, reason: $reason) }";

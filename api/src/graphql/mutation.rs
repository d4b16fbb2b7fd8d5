//! The root mutation.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use mati_domain::service::{Decision, StaffUpdate, Submission};

use super::error::ToGraphql;
use super::limits::page_cost;
use super::query::{comment_id, comments_for};
use super::types::comment::Comment;
use super::types::deadline::DeadlineRule;
use super::types::enums::{AdminLevel, AgeGroup, Gender, ModerationDecision, RejectReason, Role};
use super::types::session::{ApiKey, CitizenSession, IssuedApiKey, StaffAccount, StaffSession};
use super::{context, origin};

/// Changes.
pub struct Mutation;

/// A comment from a citizen's phone.
#[derive(InputObject)]
pub struct SubmitCommentInput {
    /// The text, 10 to 2000 characters (grapheme clusters).
    body: String,
    /// Category code.
    category_code: ID,
    /// Commune or sangkat code (6 digits).
    commune_code: ID,
    /// Village code (8 digits), inside the commune.
    village_code: Option<ID>,
    /// Whether anyone may read it once approved.
    #[graphql(default = true)]
    is_public: bool,
    /// Self-declared, used only in aggregates.
    gender: Option<Gender>,
    /// Self-declared, used only in aggregates.
    age_group: Option<AgeGroup>,
    /// Generated once per comment by the phone: a retry with the same value returns the
    /// first comment.
    client_id: Option<String>,
}

/// The stored comment.
#[derive(SimpleObject)]
pub struct SubmitCommentPayload {
    /// As stored (PENDING), with its tracking code.
    comment: Comment,
}

/// A new staff account.
#[derive(InputObject)]
pub struct CreateStaffAccountInput {
    /// Login name.
    username: String,
    /// At least 12 characters.
    password: String,
    /// Role.
    role: Role,
    /// Required for OFFICIAL: the administration's code.
    unit_code: Option<ID>,
}

/// A change to a staff account; fields left out stay as they are. Disabling the account,
/// or a new password, role or unit, ends all its sessions at once.
#[derive(InputObject)]
pub struct UpdateStaffAccountInput {
    /// Login name of the account to change.
    username: String,
    /// true disables the account (it cannot log in, its sessions end); false enables it.
    disabled: Option<bool>,
    /// A new password, at least 12 characters.
    password: Option<String>,
    /// A new role; an OFFICIAL made anything else leaves their unit.
    role: Option<Role>,
    /// A new administration (officials only); an official keeps theirs when left out.
    unit_code: Option<ID>,
}

#[Object]
impl Mutation {
    /// Issues an anonymous citizen session token.
    async fn start_citizen_session(&self, ctx: &Context<'_>) -> async_graphql::Result<CitizenSession> {
        let (mati, _) = context(ctx)?;
        let token = mati.start_citizen_session(&origin(ctx)).await.gql()?;
        Ok(CitizenSession { token })
    }

    /// Logs a staff member in. Send the `deviceToken` of this device's last login: a
    /// device trusted so has login attempts of its own, which a stranger guessing the
    /// password elsewhere cannot use up.
    async fn login(
        &self,
        ctx: &Context<'_>,
        username: String,
        password: String,
        device_token: Option<String>,
    ) -> async_graphql::Result<StaffSession> {
        let (mati, _) = context(ctx)?;
        let session = mati
            .login(&username, &password, device_token.as_deref(), &origin(ctx))
            .await
            .gql()?;
        Ok(StaffSession(session))
    }

    /// Staff or citizen: ends the caller's session; the token stops working at once (a
    /// citizen's phone then no longer sees its comments in `myComments`).
    async fn logout(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let (mati, caller) = context(ctx)?;
        let token = ctx.data_opt::<crate::http::Bearer>().and_then(|b| b.0.clone());
        mati.logout(caller, token.as_deref()).await.gql()
    }

    /// CITIZEN: sends a comment; it waits for moderation (PENDING).
    async fn submit_comment(
        &self,
        ctx: &Context<'_>,
        input: SubmitCommentInput,
    ) -> async_graphql::Result<SubmitCommentPayload> {
        let (mati, caller) = context(ctx)?;
        let submission = Submission {
            body: input.body,
            category_code: input.category_code.0,
            commune_code: input.commune_code.0,
            village_code: input.village_code.map(|v| v.0),
            is_public: input.is_public,
            gender: input.gender.map(Into::into),
            age_group: input.age_group.map(Into::into),
            client_id: input.client_id,
        };
        let comment = mati.submit_comment(caller, &origin(ctx), submission).await.gql()?;
        Ok(SubmitCommentPayload {
            comment: Comment::for_viewer(comment, caller),
        })
    }

    /// MODERATOR: approves (routing it) or rejects (with a reason) a pending comment;
    /// `categoryCode` corrects the category on approval.
    async fn moderate_comment(
        &self,
        ctx: &Context<'_>,
        id: ID,
        decision: ModerationDecision,
        reason: Option<RejectReason>,
        note: Option<String>,
        category_code: Option<ID>,
    ) -> async_graphql::Result<Comment> {
        let (mati, caller) = context(ctx)?;
        let id = comment_id("id", &id).gql()?;
        let decision = match decision {
            ModerationDecision::Approve => Decision::Approve {
                category: category_code.map(|c| c.0),
            },
            ModerationDecision::Reject => Decision::Reject {
                reason: reason.map(Into::into),
            },
        };
        let comment = mati.moderate(caller, id, decision, note.as_deref()).await.gql()?;
        Ok(Comment::for_viewer(comment, caller))
    }

    /// MODERATOR: leases up to `count` pending comments to the caller, oldest first. No
    /// other moderator gets them until the lease expires (MATI_MODERATION_LEASE_SECS) or
    /// they are decided, also while Redis is down; call again for more.
    #[graphql(complexity = "page_cost(Some(count), child_complexity)")]
    async fn claim_moderation_items(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] count: i32,
    ) -> async_graphql::Result<Vec<Comment>> {
        let (mati, caller) = context(ctx)?;
        let claimed = mati.claim_moderation_items(caller, count.into()).await.gql()?;
        comments_for(ctx, claimed, caller).await
    }

    /// OFFICIAL of the assigned unit: acknowledges a routed comment.
    async fn acknowledge_comment(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Comment> {
        let (mati, caller) = context(ctx)?;
        let id = comment_id("id", &id).gql()?;
        let comment = mati.acknowledge(caller, id).await.gql()?;
        Ok(Comment::for_viewer(comment, caller))
    }

    /// OFFICIAL of the assigned unit: answers publicly.
    async fn respond_to_comment(&self, ctx: &Context<'_>, id: ID, body: String) -> async_graphql::Result<Comment> {
        let (mati, caller) = context(ctx)?;
        let id = comment_id("id", &id).gql()?;
        let comment = mati.respond(caller, id, &body).await.gql()?;
        Ok(Comment::for_viewer(comment, caller))
    }

    /// OFFICIAL of the assigned unit: refers it to the commune, district or province
    /// containing its commune, with a reason.
    async fn refer_comment(
        &self,
        ctx: &Context<'_>,
        id: ID,
        to_unit_code: ID,
        reason: String,
    ) -> async_graphql::Result<Comment> {
        let (mati, caller) = context(ctx)?;
        let id = comment_id("id", &id).gql()?;
        let comment = mati.refer(caller, id, &to_unit_code, &reason).await.gql()?;
        Ok(Comment::for_viewer(comment, caller))
    }

    /// OFFICIAL of the assigned unit: resolves an answered comment with a public note.
    async fn resolve_comment(&self, ctx: &Context<'_>, id: ID, note: String) -> async_graphql::Result<Comment> {
        let (mati, caller) = context(ctx)?;
        let id = comment_id("id", &id).gql()?;
        let comment = mati.resolve(caller, id, &note).await.gql()?;
        Ok(Comment::for_viewer(comment, caller))
    }

    /// CITIZEN (the author): rates the resolution; not satisfied reopens it once.
    async fn rate_resolution(
        &self,
        ctx: &Context<'_>,
        tracking_code: String,
        satisfied: bool,
    ) -> async_graphql::Result<Comment> {
        let (mati, caller) = context(ctx)?;
        let comment = mati.rate_resolution(caller, &tracking_code, satisfied).await.gql()?;
        Ok(Comment::for_viewer(comment, caller))
    }

    /// CITIZEN: supports ("me too") a public comment, once per session.
    async fn support_comment(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Comment> {
        let (mati, caller) = context(ctx)?;
        let id = comment_id("id", &id).gql()?;
        let comment = mati.support_comment(caller, id).await.gql()?;
        Ok(Comment::for_viewer(comment, caller))
    }

    /// CITIZEN: flags a public comment, once per session; whether the flag was new.
    /// Flags from three sessions and three client addresses hide it until a moderator
    /// decides; the decision judges them, so they never count again.
    async fn flag_comment(&self, ctx: &Context<'_>, id: ID, reason: RejectReason) -> async_graphql::Result<bool> {
        let (mati, caller) = context(ctx)?;
        let id = comment_id("id", &id).gql()?;
        mati.flag_comment(caller, &origin(ctx), id, reason.into()).await.gql()
    }

    /// ADMIN: sets the deadlines for comments assigned to units of `level` (of one
    /// category, or all when `categoryCode` is null). They apply from the next routing,
    /// referral or escalation.
    async fn set_deadline_rule(
        &self,
        ctx: &Context<'_>,
        level: AdminLevel,
        category_code: Option<ID>,
        acknowledge_within_hours: i32,
        respond_within_hours: i32,
    ) -> async_graphql::Result<DeadlineRule> {
        let (mati, caller) = context(ctx)?;
        let rule = mati
            .set_deadline_rule(
                caller,
                level.into(),
                category_code.as_ref().map(|c| c.as_str()),
                acknowledge_within_hours.into(),
                respond_within_hours.into(),
            )
            .await
            .gql()?;
        Ok(DeadlineRule(rule))
    }

    /// ADMIN: creates a staff account.
    async fn create_staff_account(
        &self,
        ctx: &Context<'_>,
        input: CreateStaffAccountInput,
    ) -> async_graphql::Result<StaffAccount> {
        let (mati, caller) = context(ctx)?;
        let account = mati
            .create_staff_account(
                caller,
                &input.username,
                &input.password,
                input.role.into(),
                input.unit_code.as_ref().map(|c| c.as_str()),
            )
            .await
            .gql()?;
        Ok(StaffAccount(account))
    }

    /// ADMIN: disables or enables a staff account, or gives it a new password, role or
    /// unit. Any of these but enabling ends all the account's sessions at once.
    async fn update_staff_account(
        &self,
        ctx: &Context<'_>,
        input: UpdateStaffAccountInput,
    ) -> async_graphql::Result<StaffAccount> {
        let (mati, caller) = context(ctx)?;
        let update = StaffUpdate {
            disabled: input.disabled,
            password: input.password,
            role: input.role.map(Into::into),
            unit_code: input.unit_code.map(|c| c.0),
        };
        let updated = mati.update_staff_account(caller, &input.username, update).await.gql()?;
        Ok(StaffAccount(updated.account))
    }

    /// ADMIN: ends every session of a staff account (and forgets its trusted devices);
    /// how many live sessions ended.
    async fn revoke_staff_sessions(&self, ctx: &Context<'_>, username: String) -> async_graphql::Result<u64> {
        let (mati, caller) = context(ctx)?;
        mati.revoke_staff_sessions(caller, &username).await.gql()
    }

    /// ADMIN: issues an Open311 key for a client application (a CSO's app, another
    /// city's 311 tool), which posts comments with it; the key is shown only here.
    async fn issue_api_key(&self, ctx: &Context<'_>, name: String) -> async_graphql::Result<IssuedApiKey> {
        let (mati, caller) = context(ctx)?;
        let (api_key, key) = mati.issue_api_key(caller, &name).await.gql()?;
        Ok(IssuedApiKey {
            key,
            api_key: ApiKey(api_key),
        })
    }

    /// ADMIN: revokes an Open311 key at once.
    async fn revoke_api_key(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ApiKey> {
        let (mati, caller) = context(ctx)?;
        let id = id.parse::<i64>().map_err(|_| {
            super::error::to_graphql(mati_domain::DomainError::NotFound(format!("API key {}", id.as_str())))
        })?;
        Ok(ApiKey(mati.revoke_api_key(caller, id).await.gql()?))
    }
}

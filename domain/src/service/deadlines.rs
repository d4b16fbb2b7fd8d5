//! Deadlines (set by admins) and the escalation of comments nobody answered.

use super::Mati;
use crate::auth::{Principal, Role};
use crate::comment::Comment;
use crate::deadline::{DeadlinePolicy, DeadlineRule, DeadlineTable};
use crate::geography::{AdminLevel, UnitCode};
use crate::{DomainError, DomainResult, lifecycle};

/// Comments escalated per round of the worker.
const ESCALATION_BATCH: u64 = 200;

impl Mati {
    /// Every deadline rule (staff only).
    pub async fn deadline_rules(&self, caller: &Principal) -> DomainResult<DeadlineTable> {
        caller.staff_with(&Role::ALL)?;
        self.ports.deadlines.deadline_rules().await
    }

    /// ADMIN: sets the deadlines of comments assigned to units of `level` (of one
    /// category, or all). They apply from the next routing, referral or escalation.
    pub async fn set_deadline_rule(
        &self,
        caller: &Principal,
        level: AdminLevel,
        category_code: Option<&str>,
        acknowledge_hours: i64,
        respond_hours: i64,
    ) -> DomainResult<DeadlineRule> {
        caller.staff_with(&[Role::Admin])?;
        if level == AdminLevel::Village {
            return Err(DomainError::invalid(
                "level",
                "villages have no administration",
                "ភូមិមិនមែនជាអង្គភាពរដ្ឋបាលទេ",
            ));
        }
        let category = match category_code {
            Some(code) => Some(self.category("categoryCode", code).await?.code),
            None => None,
        };
        let rule = DeadlineRule {
            level,
            category,
            policy: DeadlinePolicy::from_hours(acknowledge_hours, respond_hours)?,
        };
        self.ports.deadlines.set_deadline_rule(rule.clone()).await?;
        Ok(rule)
    }

    /// The deadlines for a comment of `category` assigned to `unit`.
    pub(super) async fn policy_for(&self, unit: &UnitCode, category: &str) -> DomainResult<DeadlinePolicy> {
        let table = self.ports.deadlines.deadline_rules().await?;
        Ok(table.policy_for(unit.level(), category))
    }

    /// Escalates every overdue comment one level up (commune → district → province; at
    /// province level it stays overdue). Replicas may run this at once: each change is
    /// applied only to the version it was computed from, so a comment is escalated once.
    /// Returns the comments this call escalated.
    pub async fn escalate_overdue(&self) -> DomainResult<Vec<Comment>> {
        let now = self.now();
        let candidates = self.ports.comments.escalation_candidates(now, ESCALATION_BATCH).await?;
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        // One read of the rules for the whole batch, not one per comment.
        let table = self.ports.deadlines.deadline_rules().await?;
        let mut escalated = Vec::new();
        for comment in candidates {
            let Some(parent) = comment.assigned_unit.as_ref().and_then(UnitCode::parent) else {
                continue;
            };
            let policy = table.policy_for(parent.level(), &comment.category_code);
            let change = match lifecycle::escalate(&comment, parent, &policy, now) {
                Ok(change) => change,
                Err(DomainError::Conflict(_)) => continue,
                Err(err) => return Err(err),
            };
            match self.commit(change).await {
                Ok(done) => escalated.push(done),
                // Another replica escalated (or someone answered) meanwhile.
                Err(DomainError::Conflict(_)) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(escalated)
    }
}

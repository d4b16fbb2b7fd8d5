//! Deadline rules.

use async_trait::async_trait;
use mati_domain::deadline::{DeadlinePolicy, DeadlineRule, DeadlineTable};
use mati_domain::ports::Deadlines;
use mati_domain::{DomainError, DomainResult};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, EntityTrait};

use super::{SqlStore, convert};
use crate::db::db_error;
use crate::db::entity::deadline_rule::{ActiveModel, Column, Entity};

#[async_trait]
impl Deadlines for SqlStore {
    async fn deadline_rules(&self) -> DomainResult<DeadlineTable> {
        let rows = Entity::find().all(self.db.conn()).await.map_err(db_error)?;
        let rules = rows
            .into_iter()
            .map(|row| {
                let policy = DeadlinePolicy::from_hours(row.acknowledge_hours.into(), row.respond_hours.into())
                    .map_err(|_| DomainError::Internal(format!("stored deadline rule {} is not valid", row.id)))?;
                Ok(DeadlineRule {
                    level: convert::level(&row.level)?,
                    category: Some(row.category_code).filter(|c| !c.is_empty()),
                    policy,
                })
            })
            .collect::<DomainResult<Vec<_>>>()?;
        Ok(DeadlineTable(rules))
    }

    async fn set_deadline_rule(&self, rule: DeadlineRule) -> DomainResult<()> {
        let _write = self.db.write_guard().await;
        let hours = |d: chrono::Duration| i32::try_from(d.num_hours()).unwrap_or(i32::MAX);
        let row = ActiveModel {
            level: Set(rule.level.as_str().to_owned()),
            category_code: Set(rule.category.unwrap_or_default()),
            acknowledge_hours: Set(hours(rule.policy.acknowledge_within)),
            respond_hours: Set(hours(rule.policy.respond_within)),
            ..Default::default()
        };
        Entity::insert(row)
            .on_conflict(
                OnConflict::columns([Column::Level, Column::CategoryCode])
                    .update_columns([Column::AcknowledgeHours, Column::RespondHours])
                    .to_owned(),
            )
            .exec_without_returning(self.db.conn())
            .await
            .map_err(db_error)?;
        Ok(())
    }
}

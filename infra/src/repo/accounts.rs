//! Citizen sessions, staff accounts and staff sessions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mati_domain::auth::StaffAccount;
use mati_domain::comment::{CitizenId, StaffId};
use mati_domain::ports::{Accounts, NewStaff};
use mati_domain::{DomainError, DomainResult};
use sea_orm::sea_query::Query;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use super::{SqlStore, convert};
use crate::db::entity::{citizen, staff, staff_session};
use crate::db::{db_error, is_unique_violation};

#[async_trait]
impl Accounts for SqlStore {
    async fn create_citizen(&self, token_digest: &str, at: DateTime<Utc>) -> DomainResult<CitizenId> {
        let _write = self.db.write_guard().await;
        let row = citizen::ActiveModel {
            token_digest: Set(token_digest.to_owned()),
            created_at: Set(at),
            ..Default::default()
        };
        let inserted = citizen::Entity::insert(row)
            .exec(self.db.conn())
            .await
            .map_err(db_error)?;
        Ok(inserted.last_insert_id)
    }

    async fn citizen_by_token(&self, token_digest: &str) -> DomainResult<Option<CitizenId>> {
        let row = citizen::Entity::find()
            .filter(citizen::Column::TokenDigest.eq(token_digest))
            .one(self.db.conn())
            .await
            .map_err(db_error)?;
        Ok(row.map(|c| c.id))
    }

    async fn create_staff(&self, new: NewStaff) -> DomainResult<StaffAccount> {
        let _write = self.db.write_guard().await;
        let row = staff::ActiveModel {
            username: Set(new.username.clone()),
            password_hash: Set(new.password_hash),
            role: Set(new.role.as_str().to_owned()),
            unit_code: Set(new.unit.as_ref().map(|u| u.as_str().to_owned())),
            created_at: Set(Utc::now()),
            ..Default::default()
        };
        match staff::Entity::insert(row).exec(self.db.conn()).await {
            Ok(inserted) => Ok(StaffAccount {
                id: inserted.last_insert_id,
                username: new.username,
                role: new.role,
                unit: new.unit,
            }),
            Err(err) if is_unique_violation(&err) => Err(DomainError::invalid(
                "username",
                "this username is taken",
                "ឈ្មោះអ្នកប្រើនេះមានរួចហើយ",
            )),
            Err(err) => Err(db_error(err)),
        }
    }

    async fn staff_by_username(&self, username: &str) -> DomainResult<Option<(StaffAccount, String)>> {
        let row = staff::Entity::find()
            .filter(staff::Column::Username.eq(username))
            .one(self.db.conn())
            .await
            .map_err(db_error)?;
        row.map(|row| {
            let hash = row.password_hash.clone();
            convert::staff(row).map(|account| (account, hash))
        })
        .transpose()
    }

    async fn create_staff_session(
        &self,
        token_digest: &str,
        staff: StaffId,
        expires_at: DateTime<Utc>,
    ) -> DomainResult<()> {
        let _write = self.db.write_guard().await;
        let row = staff_session::ActiveModel {
            token_digest: Set(token_digest.to_owned()),
            staff_id: Set(staff),
            created_at: Set(Utc::now()),
            expires_at: Set(expires_at),
            revoked_at: Set(None),
        };
        staff_session::Entity::insert(row)
            .exec_without_returning(self.db.conn())
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn revoke_staff_session(&self, token_digest: &str, at: DateTime<Utc>) -> DomainResult<bool> {
        let _write = self.db.write_guard().await;
        let revoked = staff_session::Entity::update_many()
            .col_expr(staff_session::Column::RevokedAt, sea_orm::sea_query::Expr::value(at))
            .filter(staff_session::Column::TokenDigest.eq(token_digest))
            .filter(staff_session::Column::RevokedAt.is_null())
            .exec(self.db.conn())
            .await
            .map_err(db_error)?;
        Ok(revoked.rows_affected == 1)
    }

    async fn staff_by_token(&self, token_digest: &str, now: DateTime<Utc>) -> DomainResult<Option<StaffAccount>> {
        // One statement on every staff request: the account of a live session.
        let live_session = Query::select()
            .column(staff_session::Column::StaffId)
            .from(staff_session::Entity)
            .and_where(staff_session::Column::TokenDigest.eq(token_digest))
            .and_where(staff_session::Column::RevokedAt.is_null())
            .and_where(staff_session::Column::ExpiresAt.gt(now))
            .to_owned();
        let row = staff::Entity::find()
            .filter(staff::Column::Id.in_subquery(live_session))
            .one(self.db.conn())
            .await
            .map_err(db_error)?;
        row.map(convert::staff).transpose()
    }
}

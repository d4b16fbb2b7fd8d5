//! Citizen sessions, staff accounts, staff sessions and the devices trusted for them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mati_domain::auth::{ApiKey, CitizenSession, StaffAccount};
use mati_domain::comment::{CitizenId, StaffId};
use mati_domain::ports::{Accounts, NewStaff, StaffChange};
use mati_domain::{DomainError, DomainResult};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement, TransactionTrait,
};

use super::{SqlStore, convert};
use crate::db::entity::{api_key, citizen, staff, staff_device, staff_session};
use crate::db::{db_error, detached, is_unique_violation};

/// Ends the live sessions of `staff` and forgets its devices; how many sessions ended.
async fn end_sessions(conn: &impl ConnectionTrait, staff: StaffId, at: DateTime<Utc>) -> Result<u64, sea_orm::DbErr> {
    let ended = staff_session::Entity::update_many()
        .col_expr(staff_session::Column::RevokedAt, Expr::value(at))
        .filter(staff_session::Column::StaffId.eq(staff.get()))
        .filter(staff_session::Column::RevokedAt.is_null())
        .filter(staff_session::Column::ExpiresAt.gt(at))
        .exec(conn)
        .await?;
    staff_device::Entity::delete_many()
        .filter(staff_device::Column::StaffId.eq(staff.get()))
        .exec(conn)
        .await?;
    Ok(ended.rows_affected)
}

fn api_key_of(row: api_key::Model) -> ApiKey {
    ApiKey {
        id: row.id,
        name: row.name,
        citizen: CitizenId::new(row.citizen_id),
        created_by: StaffId::new(row.created_by),
        created_at: row.created_at,
        revoked_at: row.revoked_at,
    }
}

#[async_trait]
impl Accounts for SqlStore {
    async fn create_citizen(&self, token_digest: &str, at: DateTime<Utc>) -> DomainResult<CitizenId> {
        let _write = self.db.write_guard().await;
        let row = citizen::ActiveModel {
            token_digest: Set(token_digest.to_owned()),
            created_at: Set(at),
            last_used_at: Set(Some(at)),
            revoked_at: Set(None),
            ..Default::default()
        };
        let inserted = citizen::Entity::insert(row)
            .exec(self.db.conn())
            .await
            .map_err(db_error)?;
        Ok(CitizenId::new(inserted.last_insert_id))
    }

    async fn citizen_by_token(&self, token_digest: &str) -> DomainResult<Option<CitizenSession>> {
        let row = citizen::Entity::find()
            .filter(citizen::Column::TokenDigest.eq(token_digest))
            .filter(citizen::Column::RevokedAt.is_null())
            .one(self.db.conn())
            .await
            .map_err(db_error)?;
        Ok(row.map(|c| CitizenSession {
            id: CitizenId::new(c.id),
            last_used_at: c.last_used_at.unwrap_or(c.created_at),
        }))
    }

    async fn record_citizen_use(&self, citizen: CitizenId, at: DateTime<Utc>) -> DomainResult<()> {
        let _write = self.db.write_guard().await;
        citizen::Entity::update_many()
            .col_expr(citizen::Column::LastUsedAt, Expr::value(at))
            .filter(citizen::Column::Id.eq(citizen.get()))
            .exec(self.db.conn())
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn revoke_citizen_session(&self, token_digest: &str, at: DateTime<Utc>) -> DomainResult<bool> {
        let _write = self.db.write_guard().await;
        let revoked = citizen::Entity::update_many()
            .col_expr(citizen::Column::RevokedAt, Expr::value(at))
            .filter(citizen::Column::TokenDigest.eq(token_digest))
            .filter(citizen::Column::RevokedAt.is_null())
            .exec(self.db.conn())
            .await
            .map_err(db_error)?;
        Ok(revoked.rows_affected == 1)
    }

    async fn create_staff(&self, new: NewStaff) -> DomainResult<StaffAccount> {
        let _write = self.db.write_guard().await;
        let row = staff::ActiveModel {
            username: Set(new.username.clone()),
            password_hash: Set(new.password_hash),
            role: Set(new.role.as_str().to_owned()),
            unit_code: Set(new.unit.as_ref().map(|u| u.as_str().to_owned())),
            created_at: Set(Utc::now()),
            disabled_at: Set(None),
            ..Default::default()
        };
        match staff::Entity::insert(row).exec(self.db.conn()).await {
            Ok(inserted) => Ok(StaffAccount {
                id: StaffId::new(inserted.last_insert_id),
                username: new.username,
                role: new.role,
                unit: new.unit,
                disabled: false,
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

    async fn update_staff(&self, id: StaffId, change: StaffChange, at: DateTime<Utc>) -> DomainResult<u64> {
        let store = self.clone();
        let updated = detached(async move {
            let _write = store.db.write_guard().await;
            let txn = store.db.conn().begin().await?;
            let mut update = staff::Entity::update_many()
                .col_expr(staff::Column::Role, Expr::value(change.role.as_str()))
                .col_expr(
                    staff::Column::UnitCode,
                    Expr::value(change.unit.as_ref().map(|u| u.as_str().to_owned())),
                )
                .filter(staff::Column::Id.eq(id.get()));
            if let Some(hash) = change.password_hash {
                update = update.col_expr(staff::Column::PasswordHash, Expr::value(hash));
            }
            match change.disabled {
                Some(true) => {
                    // Disabling twice keeps the first time.
                    update = update.col_expr(
                        staff::Column::DisabledAt,
                        Expr::col(staff::Column::DisabledAt).if_null(at),
                    );
                }
                Some(false) => update = update.col_expr(staff::Column::DisabledAt, Expr::value(None::<DateTime<Utc>>)),
                None => {}
            }
            update.exec(&txn).await?;
            let ended = if change.end_sessions {
                end_sessions(&txn, id, at).await?
            } else {
                0
            };
            txn.commit().await?;
            Ok::<_, sea_orm::DbErr>(ended)
        })
        .await;
        updated.map_err(db_error)
    }

    async fn end_staff_sessions(&self, id: StaffId, at: DateTime<Utc>) -> DomainResult<u64> {
        let store = self.clone();
        let ended = detached(async move {
            let _write = store.db.write_guard().await;
            let txn = store.db.conn().begin().await?;
            let ended = end_sessions(&txn, id, at).await?;
            txn.commit().await?;
            Ok::<_, sea_orm::DbErr>(ended)
        })
        .await;
        ended.map_err(db_error)
    }

    async fn create_staff_session(
        &self,
        token_digest: &str,
        staff: StaffId,
        password_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> DomainResult<bool> {
        let backend = self.db.backend();
        // One statement, and on PostgreSQL it waits for a change of the account under way
        // (the lock) and then reads the account as that change left it.
        let lock = if backend == DbBackend::Postgres {
            " FOR SHARE"
        } else {
            ""
        };
        let sql = format!(
            "INSERT INTO staff_sessions (token_digest, staff_id, created_at, expires_at) \
             SELECT $1, id, $2, $3 FROM staff WHERE id = $4 AND password_hash = $5 AND disabled_at IS NULL{lock}"
        );
        // SQLite reads `$1`…`$5` as parameters numbered in order of appearance: the same.
        let values: [sea_orm::Value; 5] = [
            token_digest.into(),
            Utc::now().into(),
            expires_at.into(),
            staff.get().into(),
            password_hash.into(),
        ];
        let store = self.clone();
        let inserted = detached(async move {
            let _write = store.db.write_guard().await;
            store
                .db
                .conn()
                .execute_raw(Statement::from_sql_and_values(backend, sql, values))
                .await
        })
        .await
        .map_err(db_error)?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn revoke_staff_session(&self, token_digest: &str, at: DateTime<Utc>) -> DomainResult<bool> {
        let _write = self.db.write_guard().await;
        let revoked = staff_session::Entity::update_many()
            .col_expr(staff_session::Column::RevokedAt, Expr::value(at))
            .filter(staff_session::Column::TokenDigest.eq(token_digest))
            .filter(staff_session::Column::RevokedAt.is_null())
            .exec(self.db.conn())
            .await
            .map_err(db_error)?;
        Ok(revoked.rows_affected == 1)
    }

    async fn staff_by_token(&self, token_digest: &str, now: DateTime<Utc>) -> DomainResult<Option<StaffAccount>> {
        // One statement on every staff request: the enabled account of a live session.
        let live_session = Query::select()
            .column(staff_session::Column::StaffId)
            .from(staff_session::Entity)
            .and_where(staff_session::Column::TokenDigest.eq(token_digest))
            .and_where(staff_session::Column::RevokedAt.is_null())
            .and_where(staff_session::Column::ExpiresAt.gt(now))
            .to_owned();
        let row = staff::Entity::find()
            .filter(staff::Column::Id.in_subquery(live_session))
            .filter(staff::Column::DisabledAt.is_null())
            .one(self.db.conn())
            .await
            .map_err(db_error)?;
        row.map(convert::staff).transpose()
    }

    async fn device_owner(&self, token_digest: &str) -> DomainResult<Option<String>> {
        let owner = Query::select()
            .column(staff_device::Column::StaffId)
            .from(staff_device::Entity)
            .and_where(staff_device::Column::TokenDigest.eq(token_digest))
            .to_owned();
        let row = staff::Entity::find()
            .select_only()
            .column(staff::Column::Username)
            .filter(staff::Column::Id.in_subquery(owner))
            .into_tuple::<String>()
            .one(self.db.conn())
            .await
            .map_err(db_error)?;
        Ok(row)
    }

    async fn trust_device(&self, token_digest: &str, staff: StaffId, at: DateTime<Utc>, keep: u64) -> DomainResult<()> {
        let store = self.clone();
        let token_digest = token_digest.to_owned();
        let trusted = detached(async move {
            let _write = store.db.write_guard().await;
            let txn = store.db.conn().begin().await?;
            let row = staff_device::ActiveModel {
                token_digest: Set(token_digest),
                staff_id: Set(staff.get()),
                created_at: Set(at),
                last_used_at: Set(at),
            };
            staff_device::Entity::insert(row)
                .on_conflict(
                    OnConflict::column(staff_device::Column::TokenDigest)
                        .update_column(staff_device::Column::LastUsedAt)
                        .to_owned(),
                )
                .exec_without_returning(&txn)
                .await?;
            let kept = Query::select()
                .column(staff_device::Column::TokenDigest)
                .from(staff_device::Entity)
                .and_where(staff_device::Column::StaffId.eq(staff.get()))
                .order_by(staff_device::Column::LastUsedAt, sea_orm::Order::Desc)
                .limit(keep)
                .to_owned();
            // Both backends accept a limited subquery inside NOT IN.
            staff_device::Entity::delete_many()
                .filter(staff_device::Column::StaffId.eq(staff.get()))
                .filter(staff_device::Column::TokenDigest.not_in_subquery(kept))
                .exec(&txn)
                .await?;
            txn.commit().await
        })
        .await;
        trusted.map_err(db_error)
    }

    async fn create_api_key(
        &self,
        name: &str,
        key_digest: &str,
        created_by: StaffId,
        at: DateTime<Utc>,
    ) -> DomainResult<ApiKey> {
        let store = self.clone();
        let (name, key_digest) = (name.to_owned(), key_digest.to_owned());
        let created = detached(async move {
            let _write = store.db.write_guard().await;
            let txn = store.db.conn().begin().await?;
            // The key's own citizen, whose token nobody holds: only the key posts as it.
            let citizen = citizen::Entity::insert(citizen::ActiveModel {
                token_digest: Set(format!("api-key:{key_digest}")),
                created_at: Set(at),
                last_used_at: Set(Some(at)),
                revoked_at: Set(None),
                ..Default::default()
            })
            .exec(&txn)
            .await?;
            let row = api_key::ActiveModel {
                name: Set(name),
                key_digest: Set(key_digest),
                citizen_id: Set(citizen.last_insert_id),
                created_by: Set(created_by.get()),
                created_at: Set(at),
                revoked_at: Set(None),
                ..Default::default()
            };
            let id = api_key::Entity::insert(row).exec(&txn).await?.last_insert_id;
            let key = api_key::Entity::find_by_id(id).one(&txn).await?;
            txn.commit().await?;
            Ok::<_, sea_orm::DbErr>(key)
        })
        .await
        .map_err(db_error)?;
        created
            .map(api_key_of)
            .ok_or_else(|| DomainError::Internal("the new API key is missing".into()))
    }

    async fn api_key_by_digest(&self, key_digest: &str) -> DomainResult<Option<ApiKey>> {
        let row = api_key::Entity::find()
            .filter(api_key::Column::KeyDigest.eq(key_digest))
            .one(self.db.conn())
            .await
            .map_err(db_error)?;
        Ok(row.map(api_key_of))
    }

    async fn api_keys(&self) -> DomainResult<Vec<ApiKey>> {
        let rows = api_key::Entity::find()
            .order_by_desc(api_key::Column::Id)
            .all(self.db.conn())
            .await
            .map_err(db_error)?;
        Ok(rows.into_iter().map(api_key_of).collect())
    }

    async fn revoke_api_key(&self, id: i64, at: DateTime<Utc>) -> DomainResult<Option<ApiKey>> {
        let _write = self.db.write_guard().await;
        api_key::Entity::update_many()
            .col_expr(
                api_key::Column::RevokedAt,
                Expr::col(api_key::Column::RevokedAt).if_null(at),
            )
            .filter(api_key::Column::Id.eq(id))
            .exec(self.db.conn())
            .await
            .map_err(db_error)?;
        let row = api_key::Entity::find_by_id(id)
            .one(self.db.conn())
            .await
            .map_err(db_error)?;
        Ok(row.map(api_key_of))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use std::sync::Arc;

    use mati_domain::auth::Role;

    use super::*;
    use crate::heavy::{HeavyReadSettings, HeavyReads};
    use crate::{Db, PoolSettings};

    async fn store() -> (SqlStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("mati.db").display());
        let db = Db::connect(&url, &PoolSettings::default()).await.unwrap();
        db.migrate_up().await.unwrap();
        let heavy = Arc::new(HeavyReads::new(HeavyReadSettings::running(1)));
        (SqlStore::new(db, heavy), dir)
    }

    #[tokio::test]
    async fn a_login_checked_against_a_password_changed_or_an_account_disabled_meanwhile_gets_no_session() {
        let (store, _dir) = store().await;
        let account = store
            .create_staff(NewStaff {
                username: "clerk".into(),
                password_hash: "old hash".into(),
                role: Role::Moderator,
                unit: None,
            })
            .await
            .unwrap();
        let later = Utc::now() + chrono::Duration::hours(1);
        assert!(
            store
                .create_staff_session("s1", account.id, "old hash", later)
                .await
                .unwrap()
        );
        let change = |hash: Option<&str>, disabled| StaffChange {
            password_hash: hash.map(str::to_owned),
            role: Role::Moderator,
            unit: None,
            disabled,
            end_sessions: true,
        };
        store
            .update_staff(account.id, change(Some("new hash"), None), Utc::now())
            .await
            .unwrap();
        // The login verified the old password before the change committed.
        assert!(
            !store
                .create_staff_session("s2", account.id, "old hash", later)
                .await
                .unwrap()
        );
        assert!(
            store
                .create_staff_session("s3", account.id, "new hash", later)
                .await
                .unwrap()
        );
        store
            .update_staff(account.id, change(None, Some(true)), Utc::now())
            .await
            .unwrap();
        assert!(
            !store
                .create_staff_session("s4", account.id, "new hash", later)
                .await
                .unwrap()
        );
    }
}

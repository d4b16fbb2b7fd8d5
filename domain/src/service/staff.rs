//! Staff accounts, managed by admins (and by the command line, which acts as one):
//! created, disabled and enabled, given a new password, role or unit, their sessions
//! ended. A change that could leave an open session with powers or a password it should
//! no longer have ends every session of the account at once.

use super::Mati;
use crate::auth::{self, Principal, Role, StaffAccount};
use crate::geography::UnitCode;
use crate::ports::{NewStaff, StaffChange};
use crate::{DomainError, DomainResult};

/// What an admin changes on a staff account; `None` leaves a value as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaffUpdate {
    /// Disable (`true`) or enable (`false`) the account.
    pub disabled: Option<bool>,
    /// A new password, at least 12 characters.
    pub password: Option<String>,
    /// A new role.
    pub role: Option<Role>,
    /// A new unit (officials only); an official keeps theirs when none is given.
    pub unit_code: Option<String>,
}

/// A changed staff account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdatedStaff {
    /// The account as it is now.
    pub account: StaffAccount,
    /// How many live sessions the change ended.
    pub sessions_ended: u64,
}

impl Mati {
    /// Creates a staff account; ADMIN only (the CLI passes an admin principal).
    pub async fn create_staff_account(
        &self,
        caller: &Principal,
        username: &str,
        password: &str,
        role: Role,
        unit_code: Option<&str>,
    ) -> DomainResult<StaffAccount> {
        caller.staff_with(&[Role::Admin])?;
        let username = auth::username("username", username)?;
        let password = auth::new_password("password", password)?;
        let unit = self.placement(role, unit_code, None).await?;
        let password_hash = self.ports.passwords.hash(password).await?;
        self.ports
            .accounts
            .create_staff(NewStaff {
                username,
                password_hash,
                role,
                unit,
            })
            .await
    }

    /// Changes a staff account; ADMIN only. Disabling it, or a new password, role or unit,
    /// ends all its sessions and forgets its trusted devices in the same transaction. An
    /// admin cannot disable or demote their own account (the last admin would be locked
    /// out of GraphQL).
    pub async fn update_staff_account(
        &self,
        caller: &Principal,
        username: &str,
        update: StaffUpdate,
    ) -> DomainResult<UpdatedStaff> {
        let admin = caller.staff_with(&[Role::Admin])?;
        if update == StaffUpdate::default() {
            return Err(DomainError::invalid(
                "input",
                "give at least one of disabled, password, role and unitCode",
                "សូមផ្តល់ការផ្លាស់ប្តូរយ៉ាងហោចណាស់មួយ",
            ));
        }
        let current = self.staff_named(username).await?;
        if current.id == admin.id {
            if update.disabled == Some(true) {
                return Err(DomainError::invalid(
                    "disabled",
                    "you cannot disable your own account",
                    "អ្នកមិនអាចបិទគណនីរបស់ខ្លួនឯងបានទេ",
                ));
            }
            if update.role.is_some_and(|role| role != Role::Admin) {
                return Err(DomainError::invalid(
                    "role",
                    "you cannot take the ADMIN role from your own account",
                    "អ្នកមិនអាចដកតួនាទីអ្នកគ្រប់គ្រងពីគណនីរបស់ខ្លួនឯងបានទេ",
                ));
            }
        }
        let password = update
            .password
            .as_deref()
            .map(|raw| auth::new_password("password", raw))
            .transpose()?;
        let role = update.role.unwrap_or(current.role);
        let unit = self
            .placement(role, update.unit_code.as_deref(), current.unit.as_ref())
            .await?;
        let password_hash = match password {
            Some(password) => Some(self.ports.passwords.hash(password).await?),
            None => None,
        };
        let disabled = update.disabled.unwrap_or(current.disabled);
        let change = StaffChange {
            end_sessions: (disabled && !current.disabled)
                || password_hash.is_some()
                || role != current.role
                || unit != current.unit,
            password_hash,
            role,
            unit: unit.clone(),
            disabled: update.disabled,
        };
        let sessions_ended = self.ports.accounts.update_staff(current.id, change, self.now()).await?;
        Ok(UpdatedStaff {
            account: StaffAccount {
                role,
                unit,
                disabled,
                ..current
            },
            sessions_ended,
        })
    }

    /// Ends every session of a staff account and forgets its trusted devices; ADMIN
    /// only. How many live sessions ended.
    pub async fn revoke_staff_sessions(&self, caller: &Principal, username: &str) -> DomainResult<u64> {
        caller.staff_with(&[Role::Admin])?;
        let account = self.staff_named(username).await?;
        self.ports.accounts.end_staff_sessions(account.id, self.now()).await
    }

    /// The account called `raw`, or NOT_FOUND.
    async fn staff_named(&self, raw: &str) -> DomainResult<StaffAccount> {
        let username = auth::username("username", raw)?;
        match self.ports.accounts.staff_by_username(&username).await? {
            Some((account, _)) => Ok(account),
            None => Err(DomainError::NotFound(format!("staff account {username}"))),
        }
    }

    /// The unit of an account of `role` (see [`auth::placement`]), checked to exist.
    async fn placement(
        &self,
        role: Role,
        given: Option<&str>,
        current: Option<&UnitCode>,
    ) -> DomainResult<Option<UnitCode>> {
        match auth::placement(role, given, current.map(UnitCode::as_str))? {
            // The unit it has is kept even if a new gazetteer dropped it, so that such an
            // account can still be disabled.
            Some(raw) if current.is_some_and(|unit| unit.as_str() == raw) => Ok(current.cloned()),
            Some(raw) => Ok(Some(self.administration("unitCode", raw).await?)),
            None => Ok(None),
        }
    }
}

//! Citizen sessions, staff logins and staff accounts.

use super::Mati;
use crate::auth::{self, IssuedToken, Principal, Role, StaffAccount, TokenKind};
use crate::geography::{AdminLevel, UnitCode};
use crate::ports::NewStaff;
use crate::rate_limit::{Action, Origin};
use crate::{DomainError, DomainResult};

/// A staff login: the bearer token and who it belongs to.
#[derive(Debug, Clone)]
pub struct StaffSession {
    /// Bearer token, shown once.
    pub token: String,
    /// The account.
    pub account: StaffAccount,
}

impl Mati {
    /// Issues an anonymous citizen session.
    pub async fn start_citizen_session(&self, origin: &Origin) -> DomainResult<String> {
        self.limit(Action::StartSessionPerAddress, origin.address_key()).await?;
        let IssuedToken { token, digest } = auth::issue_token(TokenKind::Citizen, &mut rand::rng());
        self.ports.accounts.create_citizen(&digest, self.now()).await?;
        Ok(token)
    }

    /// Logs a staff member in. Unknown users and wrong passwords get the same answer
    /// after the same work.
    pub async fn login(&self, username: &str, password: &str, origin: &Origin) -> DomainResult<StaffSession> {
        self.limit(Action::LoginPerAddress, origin.address_key()).await?;
        let name = auth::username("username", username).ok();
        // Limited per username whether or not it exists, so the answer does not tell.
        let key = name.clone().unwrap_or_else(|| username.trim().to_lowercase());
        self.limit(Action::LoginPerUsername, Some(key)).await?;
        let found = match name {
            Some(name) => self.ports.accounts.staff_by_username(&name).await?,
            None => None,
        };
        let (account, hash) = match found {
            Some((account, hash)) => (Some(account), Some(hash)),
            None => (None, None),
        };
        let matches = self.ports.passwords.verify(password.to_owned(), hash).await?;
        let account = account.filter(|_| matches).ok_or(DomainError::Unauthenticated)?;
        let IssuedToken { token, digest } = auth::issue_token(TokenKind::Staff, &mut rand::rng());
        let expires = self.now() + self.rules.staff_session_ttl;
        self.ports
            .accounts
            .create_staff_session(&digest, account.id, expires)
            .await?;
        Ok(StaffSession { token, account })
    }

    /// Who presents `bearer`. A missing token is anonymous; an unknown or expired one is
    /// UNAUTHENTICATED rather than silently anonymous, so clients notice.
    pub async fn authenticate(&self, bearer: Option<&str>) -> DomainResult<Principal> {
        let Some(token) = bearer else {
            return Ok(Principal::Anonymous);
        };
        let digest = auth::token_digest(token);
        let principal = match TokenKind::of(token) {
            Some(TokenKind::Citizen) => self
                .ports
                .accounts
                .citizen_by_token(&digest)
                .await?
                .map(Principal::Citizen),
            Some(TokenKind::Staff) => self
                .ports
                .accounts
                .staff_by_token(&digest, self.now())
                .await?
                .map(Principal::Staff),
            None => None,
        };
        principal.ok_or(DomainError::Unauthenticated)
    }

    /// Ends the calling staff member's session: its token no longer works anywhere.
    pub async fn logout(&self, caller: &Principal, token: Option<&str>) -> DomainResult<bool> {
        caller.staff_with(&Role::ALL)?;
        let Some(token) = token else {
            return Err(DomainError::Unauthenticated);
        };
        self.ports
            .accounts
            .revoke_staff_session(&auth::token_digest(token), self.now())
            .await
    }

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
        let unit = match (role, unit_code) {
            (Role::Official, None) => {
                return Err(DomainError::invalid(
                    "unitCode",
                    "an OFFICIAL needs the code of their administration",
                    "មន្ត្រីត្រូវមានលេខកូដអង្គភាព",
                ));
            }
            (Role::Official, Some(raw)) => Some(self.administration("unitCode", raw).await?),
            (_, Some(_)) => {
                return Err(DomainError::invalid(
                    "unitCode",
                    "only an OFFICIAL belongs to a unit",
                    "មានតែមន្ត្រីទេដែលមានអង្គភាព",
                ));
            }
            (_, None) => None,
        };
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

    /// An existing commune, district or province sent as `field`.
    pub(super) async fn administration(&self, field: &str, raw: &str) -> DomainResult<UnitCode> {
        let code = UnitCode::parse(field, raw)?;
        if code.level() == AdminLevel::Village {
            return Err(DomainError::invalid(
                field,
                "a village has no administration; give a commune, district or province",
                "ភូមិមិនមែនជាអង្គភាពរដ្ឋបាលទេ",
            ));
        }
        self.existing_unit(field, code).await
    }

    /// `code` if the gazetteer has it, else BAD_USER_INPUT on `field`.
    pub(super) async fn existing_unit(&self, field: &str, code: UnitCode) -> DomainResult<UnitCode> {
        let found = self.ports.geography.units(std::slice::from_ref(&code)).await?;
        if found.is_empty() {
            return Err(DomainError::invalid(
                field,
                &format!("unknown unit code {code}"),
                "រកមិនឃើញលេខកូដតំបន់នេះទេ",
            ));
        }
        Ok(code)
    }
}

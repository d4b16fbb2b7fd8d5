//! Citizen sessions and staff logins: issuing, checking and ending tokens.

use super::Mati;
use crate::auth::{self, CitizenTokenUse, IssuedToken, Principal, StaffAccount, TokenKind};
use crate::rate_limit::{Action, Origin};
use crate::{DomainError, DomainResult};

/// A staff login: the bearer token, the device token and who it belongs to.
#[derive(Debug, Clone)]
pub struct StaffSession {
    /// Bearer token, shown once.
    pub token: String,
    /// The device token to send with the next login from this device, which is then
    /// trusted: a stranger's failed guesses do not lock it out.
    pub device_token: String,
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

    /// Logs a staff member in. Unknown users, wrong passwords and disabled accounts get
    /// the same answer after the same work.
    ///
    /// Attempts that present a device token trusted for this account (`device`, from an
    /// earlier login) are limited per device; all others share the username's limit,
    /// whether the username exists or not. A stranger's guesses therefore exhaust only
    /// the limit of untrusted devices, and the owner's trusted device still gets in.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        device: Option<&str>,
        origin: &Origin,
    ) -> DomainResult<StaffSession> {
        self.limit(Action::LoginPerAddress, origin.address_key()).await?;
        let name = auth::username("username", username).ok();
        let device = device.filter(|token| TokenKind::of(token) == Some(TokenKind::Device));
        let device_digest = device.map(auth::token_digest);
        let owner = match &device_digest {
            Some(digest) => self.ports.accounts.device_owner(digest).await?,
            None => None,
        };
        let trusted = owner.is_some() && owner == name;
        // A flood that fills the password threads must not spend the owner's own limit.
        self.ports.passwords.ready()?;
        match (trusted, device_digest) {
            (true, Some(digest)) => self.limit(Action::LoginPerDevice, Some(digest)).await?,
            // Limited before the account is looked up, so the answer cannot tell.
            _ => {
                let key = name.clone().unwrap_or_else(|| username.trim().to_lowercase());
                self.limit(Action::LoginPerUsername, Some(key)).await?;
            }
        }
        let found = match &name {
            Some(name) => self.ports.accounts.staff_by_username(name).await?,
            None => None,
        };
        let (account, hash) = found.map_or((None, None), |(account, hash)| (Some(account), Some(hash)));
        let matches = self.ports.passwords.verify(password.to_owned(), hash.clone()).await?;
        let (account, hash) = account
            .zip(hash)
            .filter(|(account, _)| matches && !account.disabled)
            .ok_or(DomainError::Unauthenticated)?;

        let now = self.now();
        let IssuedToken { token, digest } = auth::issue_token(TokenKind::Staff, &mut rand::rng());
        let stored = self
            .ports
            .accounts
            .create_staff_session(&digest, account.id, &hash, now + self.rules.staff_session_ttl)
            .await?;
        if !stored {
            // Disabled, or given another password, while this login was checked.
            return Err(DomainError::Unauthenticated);
        }
        let device = match device.filter(|_| trusted) {
            Some(token) => IssuedToken {
                token: token.to_owned(),
                digest: auth::token_digest(token),
            },
            None => auth::issue_token(TokenKind::Device, &mut rand::rng()),
        };
        self.ports
            .accounts
            .trust_device(&device.digest, account.id, now, auth::TRUSTED_DEVICES_PER_ACCOUNT)
            .await?;
        Ok(StaffSession {
            token,
            device_token: device.token,
            account,
        })
    }

    /// Who presents `bearer`. A missing token is anonymous; an unknown, expired or
    /// revoked one is UNAUTHENTICATED rather than silently anonymous, so clients notice.
    pub async fn authenticate(&self, bearer: Option<&str>) -> DomainResult<Principal> {
        let Some(token) = bearer else {
            return Ok(Principal::Anonymous);
        };
        let digest = auth::token_digest(token);
        let principal = match TokenKind::of(token) {
            Some(TokenKind::Citizen) => self.citizen_by_token(&digest).await?.map(Principal::Citizen),
            Some(TokenKind::Staff) => self
                .ports
                .accounts
                .staff_by_token(&digest, self.now())
                .await?
                .map(Principal::Staff),
            Some(TokenKind::Device | TokenKind::ApiKey) | None => None,
        };
        principal.ok_or(DomainError::Unauthenticated)
    }

    /// The citizen of a token unused for less than the idle time; records its use now
    /// and then, not on every request.
    async fn citizen_by_token(&self, digest: &str) -> DomainResult<Option<crate::comment::CitizenId>> {
        let Some(session) = self.ports.accounts.citizen_by_token(digest).await? else {
            return Ok(None);
        };
        let now = self.now();
        match session.use_at(now, self.rules.citizen_session_idle) {
            CitizenTokenUse::Expired => Ok(None),
            CitizenTokenUse::Valid => Ok(Some(session.id)),
            CitizenTokenUse::ValidRecordUse => {
                // The request can go on without the record; the next one tries again.
                if let Err(err) = self.ports.accounts.record_citizen_use(session.id, now).await {
                    tracing::warn!(error = %err, "citizen session use not recorded");
                }
                Ok(Some(session.id))
            }
        }
    }

    /// Ends the caller's session, staff or citizen: its token no longer works anywhere.
    pub async fn logout(&self, caller: &Principal, token: Option<&str>) -> DomainResult<bool> {
        let Some(digest) = token.map(auth::token_digest) else {
            return Err(DomainError::Unauthenticated);
        };
        let accounts = &self.ports.accounts;
        match caller {
            Principal::Staff(_) => accounts.revoke_staff_session(&digest, self.now()).await,
            Principal::Citizen(_) => accounts.revoke_citizen_session(&digest, self.now()).await,
            Principal::Anonymous => Err(DomainError::Unauthenticated),
        }
    }
}

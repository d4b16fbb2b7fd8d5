//! Sessions and staff accounts.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use mati_domain::auth::{ApiKey as DomainApiKey, StaffAccount as DomainAccount};
use mati_domain::service::StaffSession as DomainSession;

use super::enums::Role;
use super::unit::{AdminUnit, load_unit};

/// An anonymous citizen session.
#[derive(SimpleObject)]
pub struct CitizenSession {
    /// Bearer token; keep it on the phone, it ties the phone to its comments.
    pub token: String,
}

async fn unit_of(ctx: &Context<'_>, account: &DomainAccount) -> async_graphql::Result<Option<AdminUnit>> {
    load_unit(ctx, account.unit.clone()).await
}

/// A staff login.
pub struct StaffSession(pub DomainSession);

#[Object]
impl StaffSession {
    /// Bearer token, valid for 12 hours.
    async fn token(&self) -> &str {
        &self.0.token
    }

    /// Keep it on this device and send it with the next `login` from here: a trusted
    /// device is not locked out by a stranger's wrong guesses. Never a bearer token.
    async fn device_token(&self) -> &str {
        &self.0.device_token
    }

    /// The role.
    async fn role(&self) -> Role {
        self.0.account.role.into()
    }

    /// The official's administration.
    async fn unit(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<AdminUnit>> {
        unit_of(ctx, &self.0.account).await
    }
}

/// A staff account.
pub struct StaffAccount(pub DomainAccount);

#[Object]
impl StaffAccount {
    /// Identity.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Login name.
    async fn username(&self) -> &str {
        &self.0.username
    }

    /// The role.
    async fn role(&self) -> Role {
        self.0.role.into()
    }

    /// A disabled account cannot log in and has no session.
    async fn disabled(&self) -> bool {
        self.0.disabled
    }

    /// The official's administration.
    async fn unit(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<AdminUnit>> {
        unit_of(ctx, &self.0).await
    }
}

/// A client application's key for Open311 (`api_key`), as admins see it: never the key
/// itself, which is shown once when issued.
pub struct ApiKey(pub DomainApiKey);

#[Object]
impl ApiKey {
    /// Identity.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Who holds it.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// When it was issued.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it stopped working, if it did.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
}

/// A key just issued.
#[derive(SimpleObject)]
pub struct IssuedApiKey {
    /// The key to give the application, shown this once: only its digest is kept.
    pub key: String,
    /// The key's record.
    pub api_key: ApiKey,
}

//! argon2id password hashing, off the async threads because it is slow on purpose.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use async_trait::async_trait;
use mati_domain::ports::PasswordHasher;
use mati_domain::{DomainError, DomainResult};

/// argon2id with the crate's defaults (19 MiB, 2 passes, 1 lane: OWASP's minimum).
#[derive(Debug, Default, Clone, Copy)]
pub struct Argon2id;

fn hash_blocking(password: &str) -> DomainResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| DomainError::Internal(format!("password hashing failed: {e}")))
}

/// A hash of nothing anyone knows, verified against when the user does not exist, so
/// that both paths cost the same.
fn decoy() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_blocking("mati decoy password, never valid").unwrap_or_default())
}

fn verify_blocking(password: &str, hash: Option<&str>) -> bool {
    let stored = hash.unwrap_or_else(|| decoy());
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let matches = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
    matches && hash.is_some()
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> DomainResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| DomainError::Internal(format!("password task failed: {e}")))
}

#[async_trait]
impl PasswordHasher for Argon2id {
    async fn hash(&self, password: String) -> DomainResult<String> {
        blocking(move || hash_blocking(&password)).await?
    }

    async fn verify(&self, password: String, hash: Option<String>) -> DomainResult<bool> {
        blocking(move || verify_blocking(&password, hash.as_deref())).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_verifies_against_its_argon2id_hash_only() -> DomainResult<()> {
        let hash = Argon2id.hash("correct horse battery".into()).await?;
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            Argon2id
                .verify("correct horse battery".into(), Some(hash.clone()))
                .await?
        );
        assert!(!Argon2id.verify("wrong horse battery".into(), Some(hash)).await?);
        assert!(!Argon2id.verify("mati decoy password, never valid".into(), None).await?);
        Ok(())
    }
}

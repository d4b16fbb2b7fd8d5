//! The rate limiter: a local first layer (governor, in this process) that refuses
//! floods without asking anyone, then Redis for the exact limit across replicas. Without
//! Redis, or while it is down, the local layer alone applies.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota as GovernorQuota, RateLimiter as Governor};
use mati_domain::ports::RateLimiter;
use mati_domain::rate_limit::{Action, Quota};
use mati_domain::{DomainError, DomainResult};

use crate::redis::Redis;

mod redis_gcra;

/// How often idle keys are pruned from the local layer, so memory follows the number
/// of recently active clients rather than of all clients ever seen.
const PRUNE_EVERY: Duration = Duration::from_secs(30);

/// The quota of every action.
#[derive(Debug, Clone)]
pub struct Quotas(HashMap<Action, Quota>);

impl Quotas {
    /// The defaults, with `overrides` applied.
    pub fn new(overrides: &HashMap<Action, Quota>) -> Self {
        Self(
            Action::ALL
                .iter()
                .map(|a| (*a, overrides.get(a).copied().unwrap_or(a.default_quota())))
                .collect(),
        )
    }

    /// The quota of `action`.
    pub fn of(&self, action: Action) -> Quota {
        self.0.get(&action).copied().unwrap_or(action.default_quota())
    }
}

fn governor_quota(quota: Quota) -> GovernorQuota {
    let burst = NonZeroU32::new(quota.burst).unwrap_or(NonZeroU32::MIN);
    GovernorQuota::with_period(quota.emission_interval().max(Duration::from_nanos(1)))
        .unwrap_or_else(|| GovernorQuota::per_second(burst))
        .allow_burst(burst)
}

fn prune(limiters: &HashMap<Action, DefaultKeyedRateLimiter<String>>) {
    for limiter in limiters.values() {
        limiter.retain_recent();
        limiter.shrink_to_fit();
    }
}

/// The two layers.
pub struct Limiter {
    quotas: Quotas,
    local: Arc<HashMap<Action, DefaultKeyedRateLimiter<String>>>,
    redis: Option<Redis>,
}

impl Limiter {
    /// A limiter with `quotas`, shared through `redis` when given.
    pub fn new(quotas: Quotas, redis: Option<Redis>) -> Self {
        let local: HashMap<_, _> = Action::ALL
            .iter()
            .map(|a| (*a, Governor::keyed(governor_quota(quotas.of(*a)))))
            .collect();
        let local = Arc::new(local);
        let pruned = Arc::downgrade(&local);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(PRUNE_EVERY).await;
                let Some(limiters) = pruned.upgrade() else { break };
                prune(&limiters);
            }
        });
        Self { quotas, local, redis }
    }

    /// Keys held by the local layer (to watch its memory).
    pub fn local_keys(&self) -> usize {
        self.local.values().map(|l| l.len()).sum()
    }

    /// Drops the keys whose limit is back to full, as the background task does.
    pub fn prune(&self) {
        prune(&self.local);
    }

    fn check_local(&self, action: Action, key: &str) -> DomainResult<()> {
        let Some(limiter) = self.local.get(&action) else {
            return Ok(());
        };
        limiter
            .check_key(&key.to_owned())
            .map_err(|not_until| DomainError::RateLimited {
                retry_after: not_until.wait_time_from(DefaultClock::default().now()),
            })
    }
}

#[async_trait]
impl RateLimiter for Limiter {
    async fn check(&self, action: Action, key: &str) -> DomainResult<()> {
        self.check_local(action, key)?;
        let Some(redis) = &self.redis else {
            return Ok(());
        };
        match redis_gcra::check(redis, action, self.quotas.of(action), key).await {
            // Redis down: the local layer already decided; serving beats refusing.
            Err(DomainError::Unavailable(_)) => Ok(()),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick(burst: u32, millis: u64) -> Quotas {
        let quota = Quota {
            burst,
            period: Duration::from_millis(millis),
        };
        Quotas::new(&Action::ALL.iter().map(|a| (*a, quota)).collect())
    }

    #[tokio::test]
    async fn the_local_layer_allows_the_burst_then_refuses_with_a_wait() {
        let limiter = Limiter::new(quick(3, 60_000), None);
        for _ in 0..3 {
            assert!(limiter.check(Action::SubmitPerToken, "citizen-1").await.is_ok());
        }
        match limiter.check(Action::SubmitPerToken, "citizen-1").await {
            Err(DomainError::RateLimited { retry_after }) => assert!(retry_after > Duration::from_secs(10)),
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(
            limiter.check(Action::SubmitPerToken, "citizen-2").await.is_ok(),
            "keys are separate"
        );
        assert!(
            limiter.check(Action::Flag, "citizen-1").await.is_ok(),
            "actions are separate"
        );
    }

    #[tokio::test]
    async fn pruning_forgets_clients_whose_limit_is_full_again() {
        let limiter = Limiter::new(quick(1, 20), None);
        for n in 0..10_000 {
            let _ = limiter
                .check(Action::StartSessionPerAddress, &format!("10.0.{}.{}", n / 256, n % 256))
                .await;
        }
        assert_eq!(limiter.local_keys(), 10_000);
        // Each key refills within 20 ms; after that it holds nothing worth keeping.
        tokio::time::sleep(Duration::from_millis(60)).await;
        limiter.prune();
        assert_eq!(
            limiter.local_keys(),
            0,
            "memory follows active clients, not all clients ever seen"
        );
    }
}

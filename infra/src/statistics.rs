//! The statistics port: aggregates computed by the store (`SqlStore::stats`) behind
//! the heavy-read gate ([`HeavyReads`]), and shared. Dashboards ask the same questions
//! over and over: a question (unit, period, category, grouping) asked while it is being
//! computed waits for that computation, and one asked again within the cache's lifetime
//! gets its answer. A computation runs on a task of its own, so a client that hangs up
//! neither wastes it (the next asker gets it) nor leaves a turn of the gate taken.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use mati_domain::ports::{Admit, Statistics};
use mati_domain::stats::{Grouping, ResponseStats, StatsScope};
use mati_domain::{DomainError, DomainResult};
use tokio::sync::oneshot;

use crate::heavy::{HeavyReads, Turn};
use crate::repo::SqlStore;

/// Groups of one answer.
type Groups = Arc<[(String, ResponseStats)]>;
/// A computation under way, which any number of askers may await: its answer, or none
/// when the asker who started it was refused by its limits (the others then ask anew).
type Computing = Shared<BoxFuture<'static, Option<DomainResult<Groups>>>>;

/// Most groups kept in the cache (a country-wide ranking of communes is 1,661), so that
/// its memory stays a few megabytes whatever is asked.
const MAX_CACHED_GROUPS: usize = 50_000;

enum Entry {
    Ready { at: Instant, groups: Groups },
    Computing(Computing),
}

#[derive(Default)]
struct Cache {
    entries: HashMap<String, Entry>,
}

impl Cache {
    /// Keeps `groups` for `key`, dropping expired and then the oldest answers to stay
    /// within [`MAX_CACHED_GROUPS`].
    fn keep(&mut self, key: String, groups: Groups, ttl: Duration) {
        if ttl.is_zero() || groups.len() > MAX_CACHED_GROUPS {
            self.entries.remove(&key);
            return;
        }
        self.entries
            .retain(|_, entry| !matches!(entry, Entry::Ready { at, .. } if at.elapsed() >= ttl));
        while self.count() + groups.len() > MAX_CACHED_GROUPS {
            let oldest = self
                .entries
                .iter()
                .filter_map(|(key, entry)| match entry {
                    Entry::Ready { at, .. } => Some((*at, key.clone())),
                    Entry::Computing(_) => None,
                })
                .min();
            match oldest {
                Some((_, key)) => {
                    self.entries.remove(&key);
                }
                None => break,
            }
        }
        self.entries.insert(
            key,
            Entry::Ready {
                at: Instant::now(),
                groups,
            },
        );
    }

    fn count(&self) -> usize {
        self.entries
            .values()
            .map(|entry| match entry {
                Entry::Ready { groups, .. } => groups.len(),
                Entry::Computing(_) => 0,
            })
            .sum()
    }
}

/// Statistics computed by the store, bounded by the gate and shared.
pub struct SharedStatistics {
    store: SqlStore,
    gate: Arc<HeavyReads>,
    cache: Arc<Mutex<Cache>>,
    ttl: Duration,
}

impl SharedStatistics {
    /// Statistics of `store`, at most as many at once as `gate` lets through, answers
    /// kept for `ttl` (none when zero: then only simultaneous askers share).
    pub fn new(store: SqlStore, gate: Arc<HeavyReads>, ttl: Duration) -> Self {
        Self {
            store,
            gate,
            cache: Arc::new(Mutex::new(Cache::default())),
            ttl,
        }
    }

    /// Starts computing `key` once `admitted` hands over a turn of the gate (the asker
    /// who starts it must get a turn and pass its limits first; until then others asking
    /// the same wait for it).
    fn start(
        &self,
        cache: &mut Cache,
        key: &str,
        scope: &StatsScope,
        grouping: Grouping,
        admitted: oneshot::Receiver<Turn>,
    ) -> Computing {
        let (store, shared, ttl) = (self.store.clone(), Arc::clone(&self.cache), self.ttl);
        let (scope, owned_key) = (scope.clone(), key.to_owned());
        let forget = {
            let (shared, key) = (Arc::clone(&self.cache), key.to_owned());
            move || {
                shared
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .entries
                    .remove(&key);
            }
        };
        let refused = forget.clone();
        let task = tokio::spawn(async move {
            // A busy, refused (or vanished) asker: forget the question, let others ask.
            let Ok(_turn) = admitted.await else {
                refused();
                return None;
            };
            let answer = store.stats(&scope, grouping).await.map(Groups::from);
            let mut cache = shared.lock().unwrap_or_else(PoisonError::into_inner);
            match &answer {
                Ok(groups) => cache.keep(owned_key, Arc::clone(groups), ttl),
                Err(_) => {
                    cache.entries.remove(&owned_key);
                }
            }
            Some(answer)
        });
        let computing = async move {
            task.await.unwrap_or_else(|join| {
                // A task that panicked leaves no question behind that nobody answers.
                forget();
                Some(Err(DomainError::Internal(format!("statistics task failed: {join}"))))
            })
        }
        .boxed()
        .shared();
        cache
            .entries
            .insert(key.to_owned(), Entry::Computing(computing.clone()));
        computing
    }
}

/// What identifies a question: everything but the moment it is asked.
fn key(scope: &StatsScope, grouping: Grouping) -> String {
    format!(
        "{:?}|{:?}|{:?}|{:?}|{grouping:?}",
        scope.within.as_ref().map(|u| u.as_str()),
        scope.from,
        scope.to,
        scope.category
    )
}

#[async_trait]
impl Statistics for SharedStatistics {
    async fn response_stats(&self, scope: &StatsScope, grouping: Grouping, admit: &dyn Admit) -> DomainResult<Groups> {
        let key = key(scope, grouping);
        loop {
            let (computing, starter) = {
                let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
                match cache.entries.get(&key) {
                    Some(Entry::Ready { at, groups }) if at.elapsed() < self.ttl => return Ok(Arc::clone(groups)),
                    Some(Entry::Computing(computing)) => (computing.clone(), None),
                    _ => {
                        let (admitted, admission) = oneshot::channel();
                        (self.start(&mut cache, &key, scope, grouping, admission), Some(admitted))
                    }
                }
            };
            // Only a question computed anew counts against the asker's limits, and only
            // once it has its turn: a busy answer costs nothing.
            if let Some(admitted) = starter {
                let turn = self.gate.enter().await?;
                admit.admit().await?;
                let _ = admitted.send(turn);
            }
            if let Some(answer) = computing.await {
                return answer;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(groups: usize) -> Groups {
        (0..groups).map(|n| (n.to_string(), ResponseStats::default())).collect()
    }

    #[test]
    fn the_cache_keeps_at_most_its_share_of_groups_dropping_the_oldest_first() {
        let mut cache = Cache::default();
        let ttl = Duration::from_secs(60);
        // Country-wide rankings of communes, one after the other.
        for n in 0..40 {
            cache.keep(format!("ranking {n}"), answer(1_661), ttl);
            assert!(cache.count() <= MAX_CACHED_GROUPS);
        }
        assert!(cache.entries.contains_key("ranking 39"), "the newest answer is kept");
        assert!(!cache.entries.contains_key("ranking 0"), "the oldest went first");
        // An answer larger than the cache itself is not kept, and evicts nothing.
        let before = cache.entries.len();
        cache.keep("huge".into(), answer(MAX_CACHED_GROUPS + 1), ttl);
        assert!(!cache.entries.contains_key("huge"));
        assert_eq!(cache.entries.len(), before);
        // Without a lifetime nothing is kept.
        let mut none = Cache::default();
        none.keep("total".into(), answer(1), Duration::ZERO);
        assert!(none.entries.is_empty());
    }
}

//! The read replica: a PostgreSQL streaming standby serving the reads that may be a
//! moment behind (statistics, exports, public listings) while it is reachable, still a
//! standby, and no further behind the primary than allowed. A background check watches
//! it every few seconds; in between, a read that cannot reach it is read again on the
//! primary, and the replica is set aside until a check finds it well. Writes, and every
//! read whose caller must see their own writes, never come here: the store chooses
//! ([`Reads`]), the domain does not know.
//!
//! How far behind: the replay timestamp of the standby
//! (`now() - pg_last_xact_replay_timestamp()`) says how old the last replayed commit
//! is, not how much is missing: after a quiet hour on the primary it reads an hour while
//! nothing is missing, and it mixes two machines' clocks. Instead each check notes the
//! primary's WAL position (`pg_current_wal_lsn()`) on this process' monotonic clock, and
//! the lag is the time since the primary first stood at a position the standby has not
//! yet replayed (`pg_last_wal_replay_lsn()`): zero while it keeps up, growing from the
//! first check that saw a write it still lacks. The check interval is its resolution.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use mati_domain::ports::{ReplicaHealth, ReplicaState};
use sea_orm::{ConnectionTrait, DbErr, Statement};

use super::{Db, PoolSettings, is_unavailable, sqlstate};

/// How the read replica is set up.
#[derive(Debug, Clone)]
pub struct ReplicaSettings {
    /// `postgres://…` of the standby.
    pub url: String,
    /// Its pool.
    pub pool: PoolSettings,
    /// The furthest behind it may be and still serve.
    pub max_lag: Duration,
}

/// Longest wait for either database to answer a check.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// Positions of the primary remembered while the standby lacks them; more than enough:
/// checks come at least every quarter of the allowed lag.
const MAX_PENDING: usize = 1024;
/// PostgreSQL's SQLSTATE for a statement a standby cancelled because replay needed the
/// rows it read ("conflict with recovery"); the primary has no such conflict.
const RECOVERY_CONFLICT: &str = "40001";

/// The read replica and what its checks found.
pub struct ReadReplica {
    db: Db,
    max_lag: Duration,
    state: AtomicU8,
    /// Milliseconds behind at the last check; `u64::MAX` when unknown.
    lag_ms: AtomicU64,
    pending: Mutex<Pending>,
}

/// The state before the first check: unreachable for every purpose but the log, which
/// announces whatever the first check finds.
const UNCHECKED: u8 = u8::MAX;

fn encode(state: ReplicaState) -> u8 {
    match state {
        ReplicaState::Ok => 0,
        ReplicaState::Lagging => 1,
        ReplicaState::Unreachable => 2,
    }
}

fn decode(state: u8) -> ReplicaState {
    match state {
        0 => ReplicaState::Ok,
        1 => ReplicaState::Lagging,
        _ => ReplicaState::Unreachable,
    }
}

/// What one check saw.
enum Seen {
    /// A standby that has replayed the WAL up to this position.
    Standby { replayed: u64 },
    /// A database out of recovery: promoted, or not a standby at all. Its data may part
    /// from the primary's, so it serves nothing.
    NotStandby,
    /// No answer.
    Unreachable(String),
}

impl ReadReplica {
    /// A pool over the standby that connects on first use, so that the server starts
    /// whether it answers or not. Until the first check it serves nothing.
    pub async fn connect(settings: &ReplicaSettings) -> anyhow::Result<Self> {
        Ok(Self {
            db: Db::connect_lazy(&settings.url, &settings.pool).await?,
            max_lag: settings.max_lag,
            state: AtomicU8::new(UNCHECKED),
            lag_ms: AtomicU64::new(u64::MAX),
            pending: Mutex::new(Pending::default()),
        })
    }

    /// The state and lag of the last check.
    pub fn health(&self) -> ReplicaHealth {
        let lag = self.lag_ms.load(Ordering::Relaxed);
        ReplicaHealth {
            state: decode(self.state.load(Ordering::Relaxed)),
            lag: (lag != u64::MAX).then(|| Duration::from_millis(lag)),
        }
    }

    /// Its pool.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// SQL statements run on it.
    pub fn statements(&self) -> u64 {
        self.db.statements()
    }

    fn serves(&self) -> bool {
        decode(self.state.load(Ordering::Relaxed)) == ReplicaState::Ok
    }

    /// Records a state, logging it only when it changes (once, however many requests
    /// see it).
    fn enter(&self, state: ReplicaState, lag: Option<Duration>, problem: Option<&str>) {
        let lag_ms = lag.map_or(u64::MAX, |lag| u64::try_from(lag.as_millis()).unwrap_or(u64::MAX - 1));
        self.lag_ms.store(lag_ms, Ordering::Relaxed);
        if self.state.swap(encode(state), Ordering::Relaxed) == encode(state) {
            return;
        }
        let lag_secs = lag.map(|lag| lag.as_secs_f64());
        match state {
            ReplicaState::Ok => tracing::info!(lag_secs, "read replica in use"),
            ReplicaState::Lagging => tracing::warn!(
                lag_secs,
                max_lag_secs = self.max_lag.as_secs_f64(),
                "read replica lagging: its reads go to the primary until it catches up"
            ),
            ReplicaState::Unreachable => tracing::warn!(
                problem = problem.unwrap_or("no answer"),
                "read replica unreachable: its reads go to the primary"
            ),
        }
    }

    /// Checks the standby against the primary once and records what it found.
    async fn check(&self, primary: &Db) {
        // The primary's position first: a standby that has replayed it by the time it is
        // asked is not behind it.
        let position = tokio::time::timeout(CHECK_TIMEOUT, wal_position(primary)).await;
        let seen = match tokio::time::timeout(CHECK_TIMEOUT, self.replayed()).await {
            Ok(seen) => seen,
            Err(_) => Seen::Unreachable(format!("no answer within {CHECK_TIMEOUT:?}")),
        };
        let now = Instant::now();
        let (state, lag, problem) = match seen {
            Seen::Standby { replayed } => {
                let lag = {
                    let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
                    // Without the primary's position this time, the earlier ones still tell.
                    if let Ok(Some(position)) = position {
                        pending.saw(now, position);
                    }
                    pending.lag(now, replayed)
                };
                let state = if lag > self.max_lag {
                    ReplicaState::Lagging
                } else {
                    ReplicaState::Ok
                };
                (state, Some(lag), None)
            }
            Seen::NotStandby => (
                ReplicaState::Unreachable,
                None,
                Some("not a standby (promoted, or not a replica at all)".to_owned()),
            ),
            Seen::Unreachable(problem) => (ReplicaState::Unreachable, None, Some(problem)),
        };
        self.enter(state, lag, problem.as_deref());
    }

    async fn replayed(&self) -> Seen {
        let statement = Statement::from_string(
            self.db.backend(),
            "SELECT pg_is_in_recovery(), COALESCE((pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint, 0)",
        );
        let row = match self.db.conn().query_one_raw(statement).await {
            Ok(Some(row)) => row,
            Ok(None) => return Seen::Unreachable("no answer to the check".to_owned()),
            Err(err) => return Seen::Unreachable(err.to_string()),
        };
        let recovering: Result<bool, DbErr> = row.try_get_by_index(0);
        let replayed: Result<i64, DbErr> = row.try_get_by_index(1);
        match (recovering, replayed) {
            (Ok(true), Ok(replayed)) => Seen::Standby {
                replayed: u64::try_from(replayed).unwrap_or_default(),
            },
            (Ok(false), _) => Seen::NotStandby,
            (Err(err), _) | (_, Err(err)) => Seen::Unreachable(err.to_string()),
        }
    }

    /// A read failed on the replica: set it aside until a check finds it well.
    fn lost(&self, err: &DbErr) {
        self.enter(ReplicaState::Unreachable, None, Some(&err.to_string()));
    }
}

/// The primary's current WAL position; none when it does not answer.
async fn wal_position(primary: &Db) -> Option<u64> {
    let statement = Statement::from_string(
        primary.backend(),
        "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint",
    );
    let row = primary.conn().query_one_raw(statement).await.ok()??;
    let position: i64 = row.try_get_by_index(0).ok()?;
    u64::try_from(position).ok()
}

/// Positions the primary stood at, with when a check first saw each, that the standby
/// had not replayed at the last check; oldest first.
#[derive(Default)]
struct Pending {
    seen: VecDeque<(Instant, u64)>,
}

impl Pending {
    /// The primary stands at `position` at `now`.
    fn saw(&mut self, now: Instant, position: u64) {
        if self.seen.back().is_none_or(|(_, last)| *last < position) {
            if self.seen.len() == MAX_PENDING {
                // Long behind already: the lag then reads a little short, and far too long.
                self.seen.pop_front();
            }
            self.seen.push_back((now, position));
        }
    }

    /// How long the standby, having replayed up to `replayed`, has lacked something the
    /// primary had: since the first check that saw a position beyond it.
    fn lag(&mut self, now: Instant, replayed: u64) -> Duration {
        while self.seen.front().is_some_and(|(_, position)| *position <= replayed) {
            self.seen.pop_front();
        }
        self.seen
            .front()
            .map_or(Duration::ZERO, |(since, _)| now.saturating_duration_since(*since))
    }
}

/// How often the replica is checked: a quarter of the allowed lag, between half a
/// second and five seconds.
fn check_interval(max_lag: Duration) -> Duration {
    (max_lag / 4).clamp(Duration::from_millis(500), Duration::from_secs(5))
}

/// Checks `replica` against `primary` now and then every few seconds, for as long as the
/// process runs (servers only).
pub fn spawn_checks(replica: Arc<ReadReplica>, primary: Db) {
    let interval = check_interval(replica.max_lag);
    tokio::spawn(async move {
        loop {
            replica.check(&primary).await;
            tokio::time::sleep(interval).await;
        }
    });
}

/// Where a read goes: to the read replica while it serves, otherwise (or when it fails
/// to answer) to the primary. Cheap to clone.
#[derive(Clone)]
pub struct Reads {
    primary: Db,
    replica: Option<Arc<ReadReplica>>,
}

impl Reads {
    /// Every read on `primary`, or on `replica` while it serves.
    pub fn new(primary: Db, replica: Option<Arc<ReadReplica>>) -> Self {
        Self { primary, replica }
    }

    /// Runs `read` on the replica while it serves, else on the primary; read again on
    /// the primary when the replica cannot be reached (it is then set aside until a check
    /// finds it well) or cancelled the read for replay. Never for writes, transactions or
    /// reads that must see the caller's own writes.
    pub async fn run<T, F, Fut>(&self, read: F) -> Result<T, DbErr>
    where
        F: Fn(Db) -> Fut,
        Fut: Future<Output = Result<T, DbErr>>,
    {
        if let Some(replica) = self.replica.as_ref().filter(|replica| replica.serves()) {
            match read(replica.db.clone()).await {
                Err(err) if is_unavailable(&err) => replica.lost(&err),
                Err(err) if sqlstate(&err).as_deref() == Some(RECOVERY_CONFLICT) => {
                    tracing::info!(error = %err, "read cancelled on the replica by replay; read on the primary");
                }
                answer => return answer,
            }
        }
        read(self.primary.clone()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_standby_that_keeps_up_has_no_lag_one_that_stops_lags_from_the_first_write_it_lacks() {
        let start = Instant::now();
        let at = |secs: u64| start + Duration::from_secs(secs);
        let mut pending = Pending::default();
        // Keeping up: each check finds the primary's last position replayed.
        pending.saw(at(0), 100);
        assert_eq!(pending.lag(at(0), 100), Duration::ZERO);
        pending.saw(at(5), 180);
        assert_eq!(
            pending.lag(at(5), 150),
            Duration::ZERO,
            "just behind: nothing old is missing"
        );
        assert_eq!(pending.lag(at(10), 180), Duration::ZERO);
        // Replay stops at 180 while the primary writes on.
        pending.saw(at(15), 200);
        pending.saw(at(20), 260);
        assert_eq!(pending.lag(at(20), 180), Duration::from_secs(5));
        assert_eq!(pending.lag(at(40), 180), Duration::from_secs(25));
        // It replays part of what it lacked, then all of it.
        assert_eq!(pending.lag(at(41), 200), Duration::from_secs(21));
        assert_eq!(pending.lag(at(42), 260), Duration::ZERO);
    }

    #[test]
    fn a_quiet_primary_makes_no_lag_however_old_the_last_commit() {
        let start = Instant::now();
        let mut pending = Pending::default();
        // An hour without writes: the same position at every check.
        for minute in 0..60 {
            pending.saw(start + Duration::from_secs(minute * 60), 500);
            assert_eq!(
                pending.lag(start + Duration::from_secs(minute * 60), 500),
                Duration::ZERO
            );
        }
    }

    #[test]
    fn the_remembered_positions_stay_bounded() {
        let start = Instant::now();
        let mut pending = Pending::default();
        for n in 0..(MAX_PENDING as u64 * 2) {
            pending.saw(start + Duration::from_secs(n), n + 1);
        }
        assert_eq!(pending.seen.len(), MAX_PENDING);
        let lag = pending.lag(start + Duration::from_secs(MAX_PENDING as u64 * 2), 0);
        assert!(
            lag >= Duration::from_secs(MAX_PENDING as u64),
            "still long behind: {lag:?}"
        );
    }

    #[test]
    fn checks_come_at_least_four_times_per_allowed_lag_within_bounds() {
        assert_eq!(check_interval(Duration::from_secs(30)), Duration::from_secs(5));
        assert_eq!(check_interval(Duration::from_secs(8)), Duration::from_secs(2));
        assert_eq!(check_interval(Duration::from_secs(1)), Duration::from_millis(500));
    }
}

//! One typed settings tree: defaults, then `MATI_…` environment variables. An unknown
//! `MATI_` variable or a bad value stops the start with a message naming the key.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::Duration;

use mati_domain::rate_limit::{Action, Quota};

use crate::graphql::limits::ShapeLimits;
use crate::net::IpNet;

/// How the server presents itself (PRODUCT.md §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// GraphiQL, introspection and field suggestions on.
    Development,
    /// All three off.
    Production,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// A secret that never appears in `Debug` output or logs.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// Every setting of the server.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `MATI_DATABASE_URL`: `sqlite://FILE?mode=rwc` (default `sqlite://mati.db?mode=rwc`)
    /// or `postgres://USER@HOST:PORT/DB`. May hold a password, hence secret.
    pub database_url: Secret,
    /// `MATI_DATABASE_MAX_CONNECTIONS` (default 16).
    pub database_max_connections: u32,
    /// `MATI_DATABASE_ACQUIRE_TIMEOUT_MS`: longest wait for a pooled connection (default 3000).
    pub database_acquire_timeout: Duration,
    /// `MATI_DATABASE_STATEMENT_TIMEOUT_MS`: PostgreSQL cancels a server's statement
    /// that runs longer (default 10000; 0 for none). Commands have none.
    pub database_statement_timeout: Option<Duration>,
    /// `MATI_REDIS_URL`: Redis for rate limits, the moderation queue and live events
    /// shared by replicas; unset keeps all three in process.
    pub redis_url: Option<Secret>,
    /// `MATI_REDIS_PREFIX`: prefix of every Redis key of this deployment (default `mati`).
    pub redis_prefix: String,
    /// `MATI_TRUSTED_PROXIES`: comma-separated addresses or CIDR ranges of proxies whose
    /// `X-Forwarded-For` is believed (default none: the peer address is the client).
    pub trusted_proxies: Vec<IpNet>,
    /// `MATI_MODERATION_LEASE_SECS`: how long claimed moderation items stay with a
    /// moderator (default 300).
    pub moderation_lease: Duration,
    /// `MATI_ESCALATION_INTERVAL_MS`: how often overdue comments are escalated (default 60000).
    pub escalation_interval: Duration,
    /// `MATI_CLOCK_SPEED`: how many seconds of Mati's time pass per real second
    /// (default 1; tests of deadlines use more).
    pub clock_speed: u32,
    /// `MATI_CITIZEN_SESSION_IDLE_DAYS`: a citizen token unused for this many days
    /// expires (default 180, at least 1).
    pub citizen_session_idle_days: u32,
    /// `MATI_RATE_LIMIT_<ACTION>`: `BURST/PERIOD` per action, e.g. `5/60s`.
    pub rate_limits: HashMap<Action, Quota>,
    /// `MATI_LISTEN`: address to listen on (default `127.0.0.1:8080`; port 0 picks one).
    pub listen: SocketAddr,
    /// `MATI_ENV`: `development` (default) or `production`.
    pub environment: Environment,
    /// `MATI_LOG`: tracing filter (default `info,sqlx=warn`).
    pub log_filter: String,
    /// `MATI_LOG_FORMAT`: `text` (default) or `json`.
    pub log_format: LogFormat,
    /// `MATI_MAX_QUERY_DEPTH`: deepest GraphQL selection (default 15: the standard
    /// introspection query, which GraphiQL sends, needs 15).
    pub max_query_depth: usize,
    /// `MATI_MAX_QUERY_COMPLEXITY`: weighted fields per GraphQL request, a paged list costing its page size times its selection (default 3000).
    pub max_query_complexity: usize,
    /// `MATI_MAX_TOKENS`, `MATI_MAX_ALIASES`, `MATI_MAX_ROOT_FIELDS`, `MATI_MAX_DIRECTIVES`:
    /// limits on the shape of a document (defaults 3000, 30, 20, 20).
    pub shape: ShapeLimits,
    /// `MATI_MAX_BATCH`: most operations in one JSON array; 0 (default) refuses batches.
    pub max_batch: usize,
    /// `MATI_ALLOWED_QUERIES`: a JSON file of SHA-256 → document; when set, only those
    /// documents run (allow-list mode).
    pub allowed_queries: Option<std::path::PathBuf>,
    /// `MATI_STATS_MAX_CONCURRENT`: statistics and counts computed at once (default a
    /// quarter of the pool, at least 1); a few more wait up to 2 s, the rest are told
    /// to retry (SERVICE_UNAVAILABLE), so writes and cheap reads keep their connections.
    pub stats_max_concurrent: usize,
    /// `MATI_STATS_CACHE_SECS`: how long a statistics answer serves the same question
    /// again (default 60; 0 shares only simultaneous questions).
    pub stats_cache: Duration,
    /// `MATI_MIN_GROUP_SIZE`: the smallest group a breakdown by gender shows (default 5).
    pub min_group_size: u64,
    /// `MATI_MAX_WEBSOCKETS_PER_ADDRESS`: WebSockets one client address may hold open at
    /// once (default 20); the next upgrade is refused with 429.
    pub max_websockets_per_address: usize,
    /// `MATI_WEBSOCKET_INIT_TIMEOUT_SECS`: how long a WebSocket may stay open without an
    /// accepted `connection_init` before it is closed with 4408 (default 10).
    pub websocket_init_timeout: Duration,
}

/// A setting that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct SettingsError {
    /// The environment variable at fault.
    pub key: String,
    /// What is wrong with it.
    pub problem: String,
}

/// Variables with the prefix that are not settings of the server but belong to its
/// test suite or CI, and are tolerated.
const TOLERATED_PREFIXES: [&str; 3] = ["MATI_TEST_", "MATI_REQUIRE_BACKENDS", "MATI_BIN"];

const KEYS: [&str; 28] = [
    "MATI_CITIZEN_SESSION_IDLE_DAYS",
    "MATI_STATS_MAX_CONCURRENT",
    "MATI_STATS_CACHE_SECS",
    "MATI_MIN_GROUP_SIZE",
    "MATI_DATABASE_STATEMENT_TIMEOUT_MS",
    "MATI_ALLOWED_QUERIES",
    "MATI_MAX_WEBSOCKETS_PER_ADDRESS",
    "MATI_WEBSOCKET_INIT_TIMEOUT_SECS",
    "MATI_MAX_TOKENS",
    "MATI_MAX_ALIASES",
    "MATI_MAX_ROOT_FIELDS",
    "MATI_MAX_DIRECTIVES",
    "MATI_MAX_BATCH",
    "MATI_ESCALATION_INTERVAL_MS",
    "MATI_CLOCK_SPEED",
    "MATI_REDIS_PREFIX",
    "MATI_TRUSTED_PROXIES",
    "MATI_MODERATION_LEASE_SECS",
    "MATI_DATABASE_URL",
    "MATI_DATABASE_MAX_CONNECTIONS",
    "MATI_DATABASE_ACQUIRE_TIMEOUT_MS",
    "MATI_REDIS_URL",
    "MATI_LISTEN",
    "MATI_ENV",
    "MATI_LOG",
    "MATI_LOG_FORMAT",
    "MATI_MAX_QUERY_DEPTH",
    "MATI_MAX_QUERY_COMPLEXITY",
];

fn error(key: &str, problem: impl Into<String>) -> SettingsError {
    SettingsError {
        key: key.to_owned(),
        problem: problem.into(),
    }
}

fn number<T: std::str::FromStr>(vars: &BTreeMap<String, String>, key: &str, default: T) -> Result<T, SettingsError> {
    match vars.get(key) {
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|_| error(key, format!("{raw:?} is not a number"))),
        None => Ok(default),
    }
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_vars(std::env::vars().filter(|(k, _)| k.starts_with("MATI_")).collect())
    }

    /// Reads the settings from `MATI_…` variables.
    pub fn from_vars(vars: BTreeMap<String, String>) -> Result<Self, SettingsError> {
        let limit_keys: Vec<(Action, String)> = Action::ALL.iter().map(|a| (*a, a.setting())).collect();
        if let Some(unknown) = vars.keys().find(|k| {
            !KEYS.contains(&k.as_str())
                && !limit_keys.iter().any(|(_, key)| key == *k)
                && !TOLERATED_PREFIXES.iter().any(|p| k.starts_with(p))
        }) {
            return Err(error(
                unknown,
                format!("unknown setting; known ones are {}", KEYS.join(", ")),
            ));
        }
        let get = |key: &str| vars.get(key).map(String::as_str);
        let database_url = get("MATI_DATABASE_URL")
            .unwrap_or("sqlite://mati.db?mode=rwc")
            .to_owned();
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(error("MATI_DATABASE_URL", "must start with sqlite: or postgres://"));
        }
        let listen = get("MATI_LISTEN").unwrap_or("127.0.0.1:8080");
        let listen = listen.parse().map_err(|_| {
            error(
                "MATI_LISTEN",
                format!("{listen:?} is not an address such as 127.0.0.1:8080"),
            )
        })?;
        let environment = match get("MATI_ENV").unwrap_or("development") {
            "development" => Environment::Development,
            "production" => Environment::Production,
            other => {
                return Err(error(
                    "MATI_ENV",
                    format!("{other:?} is neither development nor production"),
                ));
            }
        };
        let log_format = match get("MATI_LOG_FORMAT").unwrap_or("text") {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => return Err(error("MATI_LOG_FORMAT", format!("{other:?} is neither text nor json"))),
        };
        let database_max_connections = number(&vars, "MATI_DATABASE_MAX_CONNECTIONS", 16)?;
        let min_group_size = number(&vars, "MATI_MIN_GROUP_SIZE", mati_domain::stats::MIN_GROUP_SIZE)?;
        if min_group_size < 2 {
            return Err(error(
                "MATI_MIN_GROUP_SIZE",
                "must be at least 2: a group of one is one person",
            ));
        }
        let stats_max_concurrent = number::<usize>(
            &vars,
            "MATI_STATS_MAX_CONCURRENT",
            usize::try_from(database_max_connections / 4).unwrap_or(1),
        )?
        .max(1);
        let pool = usize::try_from(database_max_connections).unwrap_or(usize::MAX);
        if vars.contains_key("MATI_STATS_MAX_CONCURRENT") && stats_max_concurrent >= pool {
            return Err(error(
                "MATI_STATS_MAX_CONCURRENT",
                format!(
                    "{stats_max_concurrent} would let statistics take every one of the {pool} pooled \
                     connections (MATI_DATABASE_MAX_CONNECTIONS); give fewer"
                ),
            ));
        }
        Ok(Self {
            database_url: Secret(database_url),
            database_max_connections,
            database_acquire_timeout: Duration::from_millis(number(&vars, "MATI_DATABASE_ACQUIRE_TIMEOUT_MS", 3000)?),
            database_statement_timeout: Some(Duration::from_millis(number(
                &vars,
                "MATI_DATABASE_STATEMENT_TIMEOUT_MS",
                10_000,
            )?))
            .filter(|t| !t.is_zero()),
            redis_url: get("MATI_REDIS_URL").map(|url| Secret(url.to_owned())),
            redis_prefix: get("MATI_REDIS_PREFIX").unwrap_or("mati").to_owned(),
            trusted_proxies: match get("MATI_TRUSTED_PROXIES") {
                Some(raw) => raw
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        IpNet::parse(s).ok_or_else(|| {
                            error("MATI_TRUSTED_PROXIES", format!("{s:?} is not an address or CIDR range"))
                        })
                    })
                    .collect::<Result<_, _>>()?,
                None => Vec::new(),
            },
            moderation_lease: Duration::from_secs(number(&vars, "MATI_MODERATION_LEASE_SECS", 300)?),
            escalation_interval: Duration::from_millis(number(&vars, "MATI_ESCALATION_INTERVAL_MS", 60_000)?.max(10)),
            clock_speed: number(&vars, "MATI_CLOCK_SPEED", 1)?.max(1),
            citizen_session_idle_days: match number(&vars, "MATI_CITIZEN_SESSION_IDLE_DAYS", 180)? {
                0 => return Err(error("MATI_CITIZEN_SESSION_IDLE_DAYS", "must be at least 1")),
                days => days,
            },
            rate_limits: limit_keys
                .iter()
                .filter_map(|(action, key)| vars.get(key).map(|raw| (action, key, raw)))
                .map(|(action, key, raw)| {
                    Quota::parse(raw).map(|quota| (*action, quota)).ok_or_else(|| {
                        error(
                            key,
                            format!(
                                "{raw:?} is not BURST/PERIOD such as 5/60s, with BURST and PERIOD above 0 and \
                                     at most one request per microsecond"
                            ),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
            listen,
            environment,
            log_filter: get("MATI_LOG").unwrap_or("info,sqlx=warn").to_owned(),
            log_format,
            max_query_depth: number(&vars, "MATI_MAX_QUERY_DEPTH", 15)?,
            max_query_complexity: number(&vars, "MATI_MAX_QUERY_COMPLEXITY", 3000)?,
            shape: ShapeLimits {
                tokens: number(&vars, "MATI_MAX_TOKENS", ShapeLimits::default().tokens)?,
                aliases: number(&vars, "MATI_MAX_ALIASES", ShapeLimits::default().aliases)?,
                root_fields: number(&vars, "MATI_MAX_ROOT_FIELDS", ShapeLimits::default().root_fields)?,
                directives: number(&vars, "MATI_MAX_DIRECTIVES", ShapeLimits::default().directives)?,
            },
            max_batch: number(&vars, "MATI_MAX_BATCH", 0)?,
            allowed_queries: get("MATI_ALLOWED_QUERIES").map(std::path::PathBuf::from),
            stats_max_concurrent,
            stats_cache: Duration::from_secs(number(&vars, "MATI_STATS_CACHE_SECS", 60)?),
            min_group_size,
            max_websockets_per_address: number(&vars, "MATI_MAX_WEBSOCKETS_PER_ADDRESS", 20)?,
            websocket_init_timeout: Duration::from_secs(number(&vars, "MATI_WEBSOCKET_INIT_TIMEOUT_SECS", 10)?.max(1)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn defaults_give_the_embedded_sqlite_server() -> Result<(), SettingsError> {
        let settings = Settings::from_vars(BTreeMap::new())?;
        assert_eq!(settings.database_url.expose(), "sqlite://mati.db?mode=rwc");
        assert_eq!(settings.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(settings.environment, Environment::Development);
        assert_eq!(settings.citizen_session_idle_days, 180);
        Ok(())
    }

    #[test]
    fn citizen_tokens_cannot_be_set_to_expire_at_once() {
        let zero = Settings::from_vars(vars(&[("MATI_CITIZEN_SESSION_IDLE_DAYS", "0")])).err();
        assert_eq!(zero.map(|e| e.key).as_deref(), Some("MATI_CITIZEN_SESSION_IDLE_DAYS"));
    }

    #[test]
    fn an_unknown_or_bad_key_is_named() {
        let unknown = Settings::from_vars(vars(&[("MATI_DATABSE_URL", "x")])).err();
        assert_eq!(unknown.map(|e| e.key).as_deref(), Some("MATI_DATABSE_URL"));
        let bad = Settings::from_vars(vars(&[("MATI_LISTEN", "everywhere")])).err();
        assert_eq!(bad.map(|e| e.key).as_deref(), Some("MATI_LISTEN"));
    }

    #[test]
    fn rate_limits_and_proxies_are_read_per_action() -> Result<(), SettingsError> {
        let settings = Settings::from_vars(vars(&[
            ("MATI_RATE_LIMIT_SUBMIT_PER_TOKEN", "3/10s"),
            ("MATI_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1"),
        ]))?;
        assert_eq!(
            settings.rate_limits.get(&Action::SubmitPerToken).map(|q| q.burst),
            Some(3)
        );
        assert_eq!(settings.trusted_proxies.len(), 2);
        let bad = Settings::from_vars(vars(&[("MATI_RATE_LIMIT_FLAG", "lots")])).err();
        assert_eq!(bad.map(|e| e.key).as_deref(), Some("MATI_RATE_LIMIT_FLAG"));
        Ok(())
    }

    #[test]
    fn statistics_cannot_be_given_every_pooled_connection() {
        let all = Settings::from_vars(vars(&[
            ("MATI_DATABASE_MAX_CONNECTIONS", "8"),
            ("MATI_STATS_MAX_CONCURRENT", "8"),
        ]))
        .err();
        assert_eq!(all.map(|e| e.key).as_deref(), Some("MATI_STATS_MAX_CONCURRENT"));
        let some = Settings::from_vars(vars(&[
            ("MATI_DATABASE_MAX_CONNECTIONS", "8"),
            ("MATI_STATS_MAX_CONCURRENT", "3"),
        ]));
        assert_eq!(some.map(|s| s.stats_max_concurrent).ok(), Some(3));
    }

    #[test]
    fn secrets_do_not_print() {
        let url = Secret("postgres://u:hunter2@db/mati".into());
        assert!(!format!("{url:?}").contains("hunter2"));
    }
}

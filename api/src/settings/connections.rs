//! The settings of what Mati connects to and listens on: the database, HTTP, Redis.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::time::Duration;

use super::Fallback::{Absent, Value};
use super::{Secret, Setting, SettingsError, Vars, error};
use crate::net::IpNet;

/// The database.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// [`Self::URL`]; may hold a password, hence secret.
    pub url: Secret,
    /// [`Self::MAX_CONNECTIONS`].
    pub max_connections: u32,
    /// [`Self::ACQUIRE_TIMEOUT`].
    pub acquire_timeout: Duration,
    /// [`Self::STATEMENT_TIMEOUT`]: none when 0.
    pub statement_timeout: Option<Duration>,
    /// [`Self::READ_URL`]; may hold a password, hence secret.
    pub read_url: Option<Secret>,
    /// [`Self::READ_MAX_LAG`].
    pub read_max_lag: Duration,
}

impl DatabaseSettings {
    /// Which database.
    pub const URL: Setting = Setting {
        key: "MATI_DATABASE_URL",
        default: Value("sqlite://mati.db?mode=rwc"),
        about: "`sqlite://FILE?mode=rwc` or `postgres://USER[:PASSWORD]@HOST:PORT/DB`",
    };
    /// Pool size.
    pub const MAX_CONNECTIONS: Setting = Setting {
        key: "MATI_DATABASE_MAX_CONNECTIONS",
        default: Value("16"),
        about: "pool size",
    };
    /// Longest wait for a pooled connection.
    pub const ACQUIRE_TIMEOUT: Setting = Setting {
        key: "MATI_DATABASE_ACQUIRE_TIMEOUT_MS",
        default: Value("3000"),
        about: "longest wait for a pooled connection before `SERVICE_UNAVAILABLE`",
    };
    /// Longest statement of a server on PostgreSQL.
    pub const STATEMENT_TIMEOUT: Setting = Setting {
        key: "MATI_DATABASE_STATEMENT_TIMEOUT_MS",
        default: Value("10000"),
        about: "PostgreSQL: the server cancels a request's statement that runs longer (the client gets \
                `SERVICE_UNAVAILABLE` with `retryAfterSeconds`); `0` for none. Commands (`migrate`, \
                `gazetteer import`, `seed`) have none",
    };
    /// A PostgreSQL standby for the reads that may be a moment behind.
    pub const READ_URL: Setting = Setting {
        key: "MATI_DATABASE_READ_URL",
        default: Absent("unset"),
        about: "PostgreSQL only: `postgres://…` of a streaming standby of the primary: statistics, the CSV \
                exports and the public comment listings (and their `totalCount`) are read from it while it is \
                no further behind than `MATI_DATABASE_READ_MAX_LAG_SECS`, everything else from the primary; \
                unset, everything from the primary. See [Read replica](#read-replica)",
    };
    /// How far behind the read replica may be and still serve.
    pub const READ_MAX_LAG: Setting = Setting {
        key: "MATI_DATABASE_READ_MAX_LAG_SECS",
        default: Value("30"),
        about: "while the read replica is further behind the primary than this (or unreachable), its reads go \
                to the primary; checked every quarter of it (at most every 5 s)",
    };
    /// The group's settings.
    pub const DECLARED: &[Setting] = &[
        Self::URL,
        Self::MAX_CONNECTIONS,
        Self::ACQUIRE_TIMEOUT,
        Self::STATEMENT_TIMEOUT,
        Self::READ_URL,
        Self::READ_MAX_LAG,
    ];

    pub(super) fn read(vars: &Vars) -> Result<Self, SettingsError> {
        let url = vars.text(&Self::URL).unwrap_or_default().into_owned();
        if !(url.starts_with("sqlite:") || is_postgres(&url)) {
            return Err(error(Self::URL.key, "must start with sqlite: or postgres://"));
        }
        let read_url = vars.text(&Self::READ_URL).map(Cow::into_owned);
        if let Some(read) = &read_url {
            if !is_postgres(read) {
                return Err(error(
                    Self::READ_URL.key,
                    "must start with postgres://: a read replica is a PostgreSQL streaming standby",
                ));
            }
            if !is_postgres(&url) {
                return Err(error(
                    Self::READ_URL.key,
                    format!(
                        "the primary ({}) is SQLite, which has no read replicas; unset {}",
                        Self::URL.key,
                        Self::READ_URL.key
                    ),
                ));
            }
        }
        let read_max_lag = vars.number::<u64>(&Self::READ_MAX_LAG)?;
        if read_max_lag == 0 {
            return Err(error(Self::READ_MAX_LAG.key, "must be at least 1"));
        }
        Ok(Self {
            read_url: read_url.map(Secret),
            read_max_lag: Duration::from_secs(read_max_lag),
            url: Secret(url),
            max_connections: vars.number(&Self::MAX_CONNECTIONS)?,
            acquire_timeout: Duration::from_millis(vars.number(&Self::ACQUIRE_TIMEOUT)?),
            statement_timeout: Some(Duration::from_millis(vars.number(&Self::STATEMENT_TIMEOUT)?))
                .filter(|t| !t.is_zero()),
        })
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The HTTP listener and what it lets in.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// [`Self::LISTEN`].
    pub listen: SocketAddr,
    /// [`Self::TRUSTED_PROXIES`].
    pub trusted_proxies: Vec<IpNet>,
    /// [`Self::MAX_WEBSOCKETS_PER_ADDRESS`].
    pub max_websockets_per_address: usize,
    /// [`Self::WEBSOCKET_INIT_TIMEOUT`] (at least 1 s).
    pub websocket_init_timeout: Duration,
    /// [`Self::SHUTDOWN_DRAIN`].
    pub shutdown_drain: Duration,
    /// [`Self::SHUTDOWN_TIMEOUT`].
    pub shutdown_timeout: Duration,
}

impl HttpSettings {
    /// Where to listen.
    pub const LISTEN: Setting = Setting {
        key: "MATI_LISTEN",
        default: Value("127.0.0.1:8080"),
        about: "address to listen on; port `0` picks a free one",
    };
    /// Proxies whose `X-Forwarded-For` is believed.
    pub const TRUSTED_PROXIES: Setting = Setting {
        key: "MATI_TRUSTED_PROXIES",
        default: Absent("none"),
        about: "comma-separated addresses or CIDR ranges (e.g. `10.0.0.0/8,127.0.0.1`) of the load balancers \
                whose `X-Forwarded-For` is believed; from anyone else the header is ignored. Behind a proxy, \
                set it: per-address limits and the distinct addresses that flags need to hide a comment see \
                the clients only through it",
    };
    /// WebSockets per client address.
    pub const MAX_WEBSOCKETS_PER_ADDRESS: Setting = Setting {
        key: "MATI_MAX_WEBSOCKETS_PER_ADDRESS",
        default: Value("20"),
        about: "WebSockets one client address (an IPv6 /64) may hold open at once on a replica; the next \
                upgrade is refused with 429 (`RATE_LIMITED`) until one ends",
    };
    /// How long a WebSocket may wait for `connection_init`.
    pub const WEBSOCKET_INIT_TIMEOUT: Setting = Setting {
        key: "MATI_WEBSOCKET_INIT_TIMEOUT_SECS",
        default: Value("10"),
        about: "a WebSocket without an accepted `connection_init` within this time is closed with 4408",
    };
    /// How long a stopping server keeps serving while it reports not ready.
    pub const SHUTDOWN_DRAIN: Setting = Setting {
        key: "MATI_SHUTDOWN_DRAIN_SECS",
        default: Value("5"),
        about: "on SIGTERM, `/readyz` answers 503 (`draining`) for this long while requests are still served, so \
                load balancers stop sending new ones; then the listener closes. SIGINT (Ctrl-C) skips it",
    };
    /// How long a stopping server waits for what is in flight.
    pub const SHUTDOWN_TIMEOUT: Setting = Setting {
        key: "MATI_SHUTDOWN_TIMEOUT_SECS",
        default: Value("30"),
        about: "after the drain, the longest wait for in-flight requests, WebSockets (closed with 1001) and \
                background work (outbox relay, escalation) to finish; the process then exits 0, or 1 when \
                something was cut short",
    };
    /// The group's settings.
    pub const DECLARED: &[Setting] = &[
        Self::LISTEN,
        Self::TRUSTED_PROXIES,
        Self::MAX_WEBSOCKETS_PER_ADDRESS,
        Self::WEBSOCKET_INIT_TIMEOUT,
        Self::SHUTDOWN_DRAIN,
        Self::SHUTDOWN_TIMEOUT,
    ];

    pub(super) fn read(vars: &Vars) -> Result<Self, SettingsError> {
        let listen = vars.text(&Self::LISTEN).unwrap_or_default();
        let listen = listen.parse().map_err(|_| {
            error(
                Self::LISTEN.key,
                format!("{listen:?} is not an address such as 127.0.0.1:8080"),
            )
        })?;
        let trusted_proxies = match vars.text(&Self::TRUSTED_PROXIES) {
            Some(raw) => raw
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    IpNet::parse(s).ok_or_else(|| {
                        error(
                            Self::TRUSTED_PROXIES.key,
                            format!("{s:?} is not an address or CIDR range"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        Ok(Self {
            listen,
            trusted_proxies,
            max_websockets_per_address: vars.number(&Self::MAX_WEBSOCKETS_PER_ADDRESS)?,
            websocket_init_timeout: Duration::from_secs(vars.number::<u64>(&Self::WEBSOCKET_INIT_TIMEOUT)?.max(1)),
            shutdown_drain: Duration::from_secs(vars.number(&Self::SHUTDOWN_DRAIN)?),
            shutdown_timeout: Duration::from_secs(vars.number(&Self::SHUTDOWN_TIMEOUT)?),
        })
    }
}

/// Redis.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// [`Self::URL`], or [`Self::SENTINELS`] with [`Self::MASTER_NAME`]; none without Redis.
    pub endpoint: Option<RedisEndpoint>,
    /// [`Self::PREFIX`].
    pub prefix: String,
}

/// How Redis is reached.
#[derive(Debug, Clone)]
pub enum RedisEndpoint {
    /// One server; the URL may hold a password, hence secret.
    Url(Secret),
    /// Whichever server the sentinels name master.
    Sentinels {
        /// Each sentinel's host (an IPv6 address without brackets) and port.
        addresses: Vec<(String, u16)>,
        /// The name the sentinels monitor the master under.
        master: String,
    },
}

impl RedisSettings {
    /// Which Redis, if any.
    pub const URL: Setting = Setting {
        key: "MATI_REDIS_URL",
        default: Absent("unset"),
        about: "`redis://HOST:PORT`: rate limits, the moderation queue and live events shared by replicas; \
                unset (and no `MATI_REDIS_SENTINELS`) keeps all three in the process (and the queue in the \
                database)",
    };
    /// The sentinels that name the master, instead of a URL.
    pub const SENTINELS: Setting = Setting {
        key: "MATI_REDIS_SENTINELS",
        default: Absent("unset"),
        about: "comma-separated `HOST:PORT` of Redis Sentinels (`[ADDRESS]:PORT` for IPv6), instead of \
                `MATI_REDIS_URL`: Mati asks them for the master and follows it through failovers (see \
                [Redis with Sentinel](#redis-with-sentinel))",
    };
    /// The master's name at the sentinels.
    pub const MASTER_NAME: Setting = Setting {
        key: "MATI_REDIS_MASTER_NAME",
        default: Value("mymaster"),
        about: "with `MATI_REDIS_SENTINELS`: the name they monitor the master under (`sentinel monitor NAME \
                …`; the stock `sentinel.conf` says `mymaster`)",
    };
    /// Prefix of this deployment's keys.
    pub const PREFIX: Setting = Setting {
        key: "MATI_REDIS_PREFIX",
        default: Value("mati"),
        about: "prefix of every Redis key, one per deployment",
    };
    /// The group's settings.
    pub const DECLARED: &[Setting] = &[Self::URL, Self::SENTINELS, Self::MASTER_NAME, Self::PREFIX];

    pub(super) fn read(vars: &Vars) -> Result<Self, SettingsError> {
        let url = vars.text(&Self::URL).map(|url| Secret(url.into_owned()));
        let sentinels = vars.text(&Self::SENTINELS).map(|raw| sentinels(&raw)).transpose()?;
        let endpoint = match (url, sentinels) {
            (Some(_), Some(_)) => {
                return Err(error(
                    Self::SENTINELS.key,
                    format!("set either {} or {}, not both", Self::URL.key, Self::SENTINELS.key),
                ));
            }
            (Some(url), None) => Some(RedisEndpoint::Url(url)),
            (None, Some(addresses)) => {
                let master = vars.text(&Self::MASTER_NAME).unwrap_or_default().trim().to_owned();
                if master.is_empty() {
                    return Err(error(Self::MASTER_NAME.key, "is empty"));
                }
                Some(RedisEndpoint::Sentinels { addresses, master })
            }
            (None, None) => None,
        };
        if vars.0.contains_key(Self::MASTER_NAME.key) && !matches!(endpoint, Some(RedisEndpoint::Sentinels { .. })) {
            return Err(error(
                Self::MASTER_NAME.key,
                format!("is read only with {}", Self::SENTINELS.key),
            ));
        }
        Ok(Self {
            endpoint,
            prefix: vars.text(&Self::PREFIX).unwrap_or_default().into_owned(),
        })
    }
}

/// `HOST:PORT,…` (`[ADDRESS]:PORT` for IPv6): at least one.
fn sentinels(raw: &str) -> Result<Vec<(String, u16)>, SettingsError> {
    let bad = |entry: &str| {
        error(
            RedisSettings::SENTINELS.key,
            format!("{entry:?} is not HOST:PORT such as 10.0.0.5:26379"),
        )
    };
    let addresses = raw
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let (host, port) = entry.rsplit_once(':').ok_or_else(|| bad(entry))?;
            let host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
                Some(bracketed) => bracketed,
                None if host.contains(':') => return Err(bad(entry)),
                None => host,
            };
            let port = port.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| bad(entry))?;
            if host.is_empty() {
                return Err(bad(entry));
            }
            Ok((host.to_owned(), port))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if addresses.is_empty() {
        return Err(error(RedisSettings::SENTINELS.key, "names no sentinel"));
    }
    Ok(addresses)
}

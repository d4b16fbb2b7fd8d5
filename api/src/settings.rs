//! One typed settings tree: defaults, then `MATI_…` environment variables. An unknown
//! `MATI_` variable or a bad value stops the start with a message naming the key.
//!
//! Every setting is declared once, as a [`Setting`] (key, default, meaning) among the
//! associated constants of the group it belongs to ([`DatabaseSettings::URL`], …), and
//! listed in that group's `DECLARED`; [`Settings::GROUPS`] lists the groups. The parser
//! reads each value through its declaration, unknown keys are those not declared, and a
//! test checks that README.md's configuration table is the declaration, row for row.
//!
//! A new setting: a constant with its key, default and meaning in its group's `impl`,
//! the constant in that group's `DECLARED`, a field, a line in the group's `read`, and
//! the row the README test then asks for.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use mati_domain::rate_limit::{Action, Quota};
use mati_domain::service::Rules;

use self::Fallback::{Absent, Elsewhere, Value};
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

/// One setting: the one place its key, default and meaning are written.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// The environment variable.
    pub key: &'static str,
    /// What applies when it is not set.
    pub default: Fallback,
    /// What it means (the README's "meaning" column, Markdown).
    pub about: &'static str,
}

/// What a setting is when its variable is not set.
#[derive(Debug, Clone, Copy)]
pub enum Fallback {
    /// This text, read exactly as if it had been set.
    Value(&'static str),
    /// A value whose home is elsewhere (a rule of the domain), as text read as if set.
    Elsewhere(fn() -> String),
    /// No value: the setting is off, empty or derived, as these words say.
    Absent(&'static str),
}

impl Fallback {
    /// The text read when the variable is not set, if any.
    pub fn text(&self) -> Option<Cow<'static, str>> {
        match self {
            Self::Value(text) => Some(Cow::Borrowed(text)),
            Self::Elsewhere(value) => Some(Cow::Owned(value())),
            Self::Absent(_) => None,
        }
    }

    /// The default as the README shows it: a value in backticks, otherwise words.
    pub fn shown(&self) -> String {
        match (self, self.text()) {
            (Self::Absent(words), _) => (*words).to_owned(),
            (_, text) => format!("`{}`", text.unwrap_or_default()),
        }
    }
}

/// A group of settings, as [`Settings`] holds them.
#[derive(Debug, Clone, Copy)]
pub struct Group {
    /// The field of [`Settings`] that holds the group (`server` for its own fields).
    pub name: &'static str,
    /// The group's settings, in the order the README lists them.
    pub settings: &'static [Setting],
}

/// Every setting of the server.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The database.
    pub database: DatabaseSettings,
    /// The HTTP listener and what it lets in.
    pub http: HttpSettings,
    /// [`Settings::ENV`].
    pub environment: Environment,
    /// [`Settings::CLOCK_SPEED`].
    pub clock_speed: u32,
    /// Logging.
    pub log: LogSettings,
    /// Limits on GraphQL requests.
    pub graphql: GraphqlSettings,
    /// Statistics.
    pub stats: StatsSettings,
    /// Moderation, escalation and citizen sessions.
    pub workflow: WorkflowSettings,
    /// Redis.
    pub redis: RedisSettings,
    /// [`Settings::RATE_LIMITS`]: the quotas set, per action (the others keep the
    /// domain's default).
    pub rate_limits: HashMap<Action, Quota>,
}

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
    /// The group's settings.
    pub const DECLARED: &[Setting] = &[
        Self::URL,
        Self::MAX_CONNECTIONS,
        Self::ACQUIRE_TIMEOUT,
        Self::STATEMENT_TIMEOUT,
    ];

    fn read(vars: &Vars) -> Result<Self, SettingsError> {
        let url = vars.text(&Self::URL).unwrap_or_default().into_owned();
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(error(Self::URL.key, "must start with sqlite: or postgres://"));
        }
        Ok(Self {
            url: Secret(url),
            max_connections: vars.number(&Self::MAX_CONNECTIONS)?,
            acquire_timeout: Duration::from_millis(vars.number(&Self::ACQUIRE_TIMEOUT)?),
            statement_timeout: Some(Duration::from_millis(vars.number(&Self::STATEMENT_TIMEOUT)?))
                .filter(|t| !t.is_zero()),
        })
    }
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
    /// The group's settings.
    pub const DECLARED: &[Setting] = &[
        Self::LISTEN,
        Self::TRUSTED_PROXIES,
        Self::MAX_WEBSOCKETS_PER_ADDRESS,
        Self::WEBSOCKET_INIT_TIMEOUT,
    ];

    fn read(vars: &Vars) -> Result<Self, SettingsError> {
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
        })
    }
}

/// Logging.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// [`Self::FILTER`].
    pub filter: String,
    /// [`Self::FORMAT`].
    pub format: LogFormat,
}

impl LogSettings {
    /// What is logged.
    pub const FILTER: Setting = Setting {
        key: "MATI_LOG",
        default: Value("info,sqlx=warn"),
        about: "log filter (tracing `EnvFilter` syntax); logs go to standard error",
    };
    /// How it is written.
    pub const FORMAT: Setting = Setting {
        key: "MATI_LOG_FORMAT",
        default: Value("text"),
        about: "`json` for one JSON object per line",
    };
    /// The group's settings.
    pub const DECLARED: &[Setting] = &[Self::FILTER, Self::FORMAT];

    fn read(vars: &Vars) -> Result<Self, SettingsError> {
        let format = match vars.text(&Self::FORMAT).unwrap_or_default().as_ref() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => return Err(error(Self::FORMAT.key, format!("{other:?} is neither text nor json"))),
        };
        Ok(Self {
            filter: vars.text(&Self::FILTER).unwrap_or_default().into_owned(),
            format,
        })
    }
}

/// Limits on GraphQL requests.
#[derive(Debug, Clone)]
pub struct GraphqlSettings {
    /// [`Self::MAX_QUERY_DEPTH`].
    pub max_query_depth: usize,
    /// [`Self::MAX_QUERY_COMPLEXITY`].
    pub max_query_complexity: usize,
    /// [`Self::MAX_TOKENS`], [`Self::MAX_ALIASES`], [`Self::MAX_ROOT_FIELDS`],
    /// [`Self::MAX_DIRECTIVES`].
    pub shape: ShapeLimits,
    /// [`Self::MAX_BATCH`].
    pub max_batch: usize,
    /// [`Self::ALLOWED_QUERIES`].
    pub allowed_queries: Option<PathBuf>,
}

impl GraphqlSettings {
    /// Deepest selection.
    pub const MAX_QUERY_DEPTH: Setting = Setting {
        key: "MATI_MAX_QUERY_DEPTH",
        default: Value("15"),
        about: "deepest GraphQL selection (the standard introspection query, which GraphiQL sends, needs 15); \
                a document nested deeper than the parser goes (64 selection sets) is refused as \
                `QUERY_TOO_COMPLEX` whatever this says",
    };
    /// Most weighted fields.
    pub const MAX_QUERY_COMPLEXITY: Setting = Setting {
        key: "MATI_MAX_QUERY_COMPLEXITY",
        default: Value("3000"),
        about: "most weighted fields per request: a paged list (`first`) costs its page size times its \
                selection, `children` 25 times, and every field that aggregates (`responseStats` and each of \
                its breakdowns, `responseStatsByChild`, `responseRanking`, `totalCount`) 250, so a \
                dashboard's handful of aggregates fits and dozens do not",
    };
    /// Most tokens.
    pub const MAX_TOKENS: Setting = Setting {
        key: "MATI_MAX_TOKENS",
        default: Value("3000"),
        about: "most lexical tokens in a document",
    };
    /// Most aliases.
    pub const MAX_ALIASES: Setting = Setting {
        key: "MATI_MAX_ALIASES",
        default: Value("30"),
        about: "most aliased fields in a document",
    };
    /// Most root fields.
    pub const MAX_ROOT_FIELDS: Setting = Setting {
        key: "MATI_MAX_ROOT_FIELDS",
        default: Value("20"),
        about: "most fields at the root of an operation",
    };
    /// Most directives.
    pub const MAX_DIRECTIVES: Setting = Setting {
        key: "MATI_MAX_DIRECTIVES",
        default: Value("20"),
        about: "most directives in a document",
    };
    /// Most operations in a batch.
    pub const MAX_BATCH: Setting = Setting {
        key: "MATI_MAX_BATCH",
        default: Value("0"),
        about: "most operations in one JSON array; `0` refuses batches",
    };
    /// The allow-list of documents.
    pub const ALLOWED_QUERIES: Setting = Setting {
        key: "MATI_ALLOWED_QUERIES",
        default: Absent("unset"),
        about: "a JSON file `{\"<sha256 hex>\": \"<document>\", …}`: when set, only these documents run (sent \
                in full or as `extensions.persistedQuery.sha256Hash`)",
    };
    /// The group's settings.
    pub const DECLARED: &[Setting] = &[
        Self::MAX_QUERY_DEPTH,
        Self::MAX_QUERY_COMPLEXITY,
        Self::MAX_TOKENS,
        Self::MAX_ALIASES,
        Self::MAX_ROOT_FIELDS,
        Self::MAX_DIRECTIVES,
        Self::MAX_BATCH,
        Self::ALLOWED_QUERIES,
    ];

    fn read(vars: &Vars) -> Result<Self, SettingsError> {
        Ok(Self {
            max_query_depth: vars.number(&Self::MAX_QUERY_DEPTH)?,
            max_query_complexity: vars.number(&Self::MAX_QUERY_COMPLEXITY)?,
            shape: ShapeLimits {
                tokens: vars.number(&Self::MAX_TOKENS)?,
                aliases: vars.number(&Self::MAX_ALIASES)?,
                root_fields: vars.number(&Self::MAX_ROOT_FIELDS)?,
                directives: vars.number(&Self::MAX_DIRECTIVES)?,
            },
            max_batch: vars.number(&Self::MAX_BATCH)?,
            allowed_queries: vars
                .text(&Self::ALLOWED_QUERIES)
                .map(|path| PathBuf::from(path.as_ref())),
        })
    }
}

/// Statistics.
#[derive(Debug, Clone)]
pub struct StatsSettings {
    /// [`Self::MAX_CONCURRENT`] (at least 1, fewer than the pool when set).
    pub max_concurrent: usize,
    /// [`Self::CACHE`].
    pub cache: Duration,
    /// [`Self::MIN_GROUP_SIZE`] (at least 2).
    pub min_group_size: u64,
}

impl StatsSettings {
    /// Statistics computed at once.
    pub const MAX_CONCURRENT: Setting = Setting {
        key: "MATI_STATS_MAX_CONCURRENT",
        default: Absent("a quarter of the pool"),
        about: "statistics and counts computed at once; up to twice as many more wait at most 2 s for their \
                turn, the rest are answered `SERVICE_UNAVAILABLE` with `retryAfterSeconds` (HTTP 503 with \
                `Retry-After`), so writes and cheap reads keep their connections",
    };
    /// How long an answer is kept.
    pub const CACHE: Setting = Setting {
        key: "MATI_STATS_CACHE_SECS",
        default: Value("60"),
        about: "an answer to a statistics question (unit, period, category, breakdown) serves the same \
                question again for this long; identical questions asked at once always share one \
                computation; `0` keeps nothing",
    };
    /// The smallest group shown.
    pub const MIN_GROUP_SIZE: Setting = Setting {
        key: "MATI_MIN_GROUP_SIZE",
        default: Elsewhere(|| Rules::default().min_group_size.to_string()),
        about: "the smallest group a breakdown by gender shows (at least 2); see \"For CSO monitors\"",
    };
    /// The group's settings.
    pub const DECLARED: &[Setting] = &[Self::MAX_CONCURRENT, Self::CACHE, Self::MIN_GROUP_SIZE];

    fn read(vars: &Vars, database: &DatabaseSettings) -> Result<Self, SettingsError> {
        let min_group_size = vars.number(&Self::MIN_GROUP_SIZE)?;
        if min_group_size < 2 {
            return Err(error(
                Self::MIN_GROUP_SIZE.key,
                "must be at least 2: a group of one is one person",
            ));
        }
        let pool = usize::try_from(database.max_connections).unwrap_or(usize::MAX);
        let max_concurrent = match vars.optional_number::<usize>(&Self::MAX_CONCURRENT)? {
            Some(given) if given.max(1) >= pool => {
                let given = given.max(1);
                return Err(error(
                    Self::MAX_CONCURRENT.key,
                    format!(
                        "{given} would let statistics take every one of the {pool} pooled \
                         connections ({}); give fewer",
                        DatabaseSettings::MAX_CONNECTIONS.key
                    ),
                ));
            }
            Some(given) => given,
            None => usize::try_from(database.max_connections / 4).unwrap_or(1),
        }
        .max(1);
        Ok(Self {
            max_concurrent,
            cache: Duration::from_secs(vars.number(&Self::CACHE)?),
            min_group_size,
        })
    }
}

/// Moderation, escalation and citizen sessions.
#[derive(Debug, Clone)]
pub struct WorkflowSettings {
    /// [`Self::ESCALATION_INTERVAL`] (at least 10 ms).
    pub escalation_interval: Duration,
    /// [`Self::MODERATION_LEASE`].
    pub moderation_lease: Duration,
    /// [`Self::CITIZEN_SESSION_IDLE_DAYS`] (at least 1).
    pub citizen_session_idle_days: u32,
}

impl WorkflowSettings {
    /// How often overdue comments are escalated.
    pub const ESCALATION_INTERVAL: Setting = Setting {
        key: "MATI_ESCALATION_INTERVAL_MS",
        default: Value("60000"),
        about: "how often each replica escalates overdue comments (each is escalated once per level whichever \
                replica does it)",
    };
    /// How long a moderator keeps claimed items.
    pub const MODERATION_LEASE: Setting = Setting {
        key: "MATI_MODERATION_LEASE_SECS",
        default: Value("300"),
        about: "how long claimed moderation items stay with a moderator before returning to the queue",
    };
    /// When an unused citizen token expires.
    pub const CITIZEN_SESSION_IDLE_DAYS: Setting = Setting {
        key: "MATI_CITIZEN_SESSION_IDLE_DAYS",
        default: Elsewhere(|| Rules::default().citizen_session_idle.num_days().to_string()),
        about: "a citizen token unused for this many days expires (`UNAUTHENTICATED`; the phone starts a new \
                session); its use is recorded at most once an hour",
    };
    /// The group's settings.
    pub const DECLARED: &[Setting] = &[
        Self::ESCALATION_INTERVAL,
        Self::MODERATION_LEASE,
        Self::CITIZEN_SESSION_IDLE_DAYS,
    ];

    fn read(vars: &Vars) -> Result<Self, SettingsError> {
        Ok(Self {
            escalation_interval: Duration::from_millis(vars.number::<u64>(&Self::ESCALATION_INTERVAL)?.max(10)),
            moderation_lease: Duration::from_secs(vars.number(&Self::MODERATION_LEASE)?),
            citizen_session_idle_days: match vars.number(&Self::CITIZEN_SESSION_IDLE_DAYS)? {
                0 => return Err(error(Self::CITIZEN_SESSION_IDLE_DAYS.key, "must be at least 1")),
                days => days,
            },
        })
    }
}

/// Redis.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// [`Self::URL`]; may hold a password, hence secret.
    pub url: Option<Secret>,
    /// [`Self::PREFIX`].
    pub prefix: String,
}

impl RedisSettings {
    /// Which Redis, if any.
    pub const URL: Setting = Setting {
        key: "MATI_REDIS_URL",
        default: Absent("unset"),
        about: "`redis://HOST:PORT`: rate limits, the moderation queue and live events shared by replicas; \
                unset keeps all three in the process (and the queue in the database)",
    };
    /// Prefix of this deployment's keys.
    pub const PREFIX: Setting = Setting {
        key: "MATI_REDIS_PREFIX",
        default: Value("mati"),
        about: "prefix of every Redis key, one per deployment",
    };
    /// The group's settings.
    pub const DECLARED: &[Setting] = &[Self::URL, Self::PREFIX];

    fn read(vars: &Vars) -> Result<Self, SettingsError> {
        Ok(Self {
            url: vars.text(&Self::URL).map(|url| Secret(url.into_owned())),
            prefix: vars.text(&Self::PREFIX).unwrap_or_default().into_owned(),
        })
    }
}

impl Settings {
    /// How the server presents itself.
    pub const ENV: Setting = Setting {
        key: "MATI_ENV",
        default: Value("development"),
        about: "`production` turns off GraphiQL, introspection and field suggestions",
    };
    /// How fast Mati's clock runs.
    pub const CLOCK_SPEED: Setting = Setting {
        key: "MATI_CLOCK_SPEED",
        default: Value("1"),
        about: "seconds of Mati's time per real second; only for tests and demonstrations of deadlines",
    };
    /// The server's own settings (fields of [`Settings`] itself).
    pub const DECLARED: &[Setting] = &[Self::ENV, Self::CLOCK_SPEED];

    /// One quota per [`Action`]: the key is [`Action::setting`], the default
    /// [`Action::default_quota`] (README's table of rate limits lists them).
    pub const RATE_LIMITS: Setting = Setting {
        key: "MATI_RATE_LIMIT_<ACTION>",
        default: Absent("see below"),
        about: "`BURST/PERIOD`, e.g. `5/60s`, `100/1m`, `10/1h`",
    };

    /// Every group, in the order the README lists them; the rate limits, a family of
    /// keys, come last ([`Self::RATE_LIMITS`]).
    pub const GROUPS: &[Group] = &[
        Group {
            name: "database",
            settings: DatabaseSettings::DECLARED,
        },
        Group {
            name: "http",
            settings: HttpSettings::DECLARED,
        },
        Group {
            name: "server",
            settings: Self::DECLARED,
        },
        Group {
            name: "log",
            settings: LogSettings::DECLARED,
        },
        Group {
            name: "graphql",
            settings: GraphqlSettings::DECLARED,
        },
        Group {
            name: "stats",
            settings: StatsSettings::DECLARED,
        },
        Group {
            name: "workflow",
            settings: WorkflowSettings::DECLARED,
        },
        Group {
            name: "redis",
            settings: RedisSettings::DECLARED,
        },
    ];

    /// Every declared setting but the rate limits, group by group.
    pub fn declared() -> impl Iterator<Item = &'static Setting> {
        Self::GROUPS.iter().flat_map(|group| group.settings)
    }

    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_vars(std::env::vars().filter(|(k, _)| k.starts_with("MATI_")).collect())
    }

    /// Reads the settings from `MATI_…` variables.
    pub fn from_vars(vars: BTreeMap<String, String>) -> Result<Self, SettingsError> {
        let limit_keys: Vec<(Action, String)> = Action::ALL.iter().map(|a| (*a, a.setting())).collect();
        if let Some(unknown) = vars.keys().find(|k| {
            !Self::declared().any(|setting| setting.key == *k)
                && !limit_keys.iter().any(|(_, key)| key == *k)
                && !TOLERATED_PREFIXES.iter().any(|p| k.starts_with(p))
        }) {
            let known: Vec<&str> = Self::declared().map(|setting| setting.key).collect();
            return Err(error(
                unknown,
                format!("unknown setting; known ones are {}", known.join(", ")),
            ));
        }
        let vars = Vars(vars);
        let environment = match vars.text(&Self::ENV).unwrap_or_default().as_ref() {
            "development" => Environment::Development,
            "production" => Environment::Production,
            other => {
                return Err(error(
                    Self::ENV.key,
                    format!("{other:?} is neither development nor production"),
                ));
            }
        };
        let database = DatabaseSettings::read(&vars)?;
        let http = HttpSettings::read(&vars)?;
        let log = LogSettings::read(&vars)?;
        let stats = StatsSettings::read(&vars, &database)?;
        Ok(Self {
            environment,
            clock_speed: vars.number::<u32>(&Self::CLOCK_SPEED)?.max(1),
            workflow: WorkflowSettings::read(&vars)?,
            rate_limits: limit_keys
                .iter()
                .filter_map(|(action, key)| vars.0.get(key).map(|raw| (action, key, raw)))
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
            graphql: GraphqlSettings::read(&vars)?,
            redis: RedisSettings::read(&vars)?,
            database,
            http,
            log,
            stats,
        })
    }
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

fn error(key: &str, problem: impl Into<String>) -> SettingsError {
    SettingsError {
        key: key.to_owned(),
        problem: problem.into(),
    }
}

/// The `MATI_…` variables given, read through their declarations.
struct Vars(BTreeMap<String, String>);

impl Vars {
    /// The value set, else the default's text; none when neither.
    fn text(&self, setting: &Setting) -> Option<Cow<'_, str>> {
        debug_assert!(
            Settings::declared().any(|declared| declared.key == setting.key),
            "{} is read but not in its group's DECLARED",
            setting.key
        );
        match self.0.get(setting.key) {
            Some(raw) => Some(Cow::Borrowed(raw)),
            None => setting.default.text(),
        }
    }

    /// The number set or, when not set, the default's.
    fn number<T: std::str::FromStr>(&self, setting: &Setting) -> Result<T, SettingsError> {
        self.optional_number(setting)?
            .ok_or_else(|| error(setting.key, "is not set and has no default"))
    }

    /// The number set or, when not set, the default's; none when neither.
    fn optional_number<T: std::str::FromStr>(&self, setting: &Setting) -> Result<Option<T>, SettingsError> {
        self.text(setting)
            .map(|raw| {
                raw.trim()
                    .parse()
                    .map_err(|_| error(setting.key, format!("{raw:?} is not a number")))
            })
            .transpose()
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
        assert_eq!(settings.database.url.expose(), "sqlite://mati.db?mode=rwc");
        assert_eq!(settings.http.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(settings.environment, Environment::Development);
        assert_eq!(settings.workflow.citizen_session_idle_days, 180);
        assert_eq!(settings.stats.min_group_size, mati_domain::stats::MIN_GROUP_SIZE);
        assert_eq!(settings.stats.max_concurrent, 4, "a quarter of the pool of 16");
        assert_eq!(settings.database.statement_timeout, Some(Duration::from_secs(10)));
        Ok(())
    }

    #[test]
    fn every_key_is_declared_once() {
        let mut keys: Vec<&str> = Settings::declared().map(|setting| setting.key).collect();
        let count = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), count, "a key declared twice");
        assert!(keys.iter().all(|key| key.starts_with("MATI_")));
    }

    /// README.md's configuration table is the declaration, row for row: key, default and
    /// meaning; and its table of rate limits names every action with its default quota.
    #[test]
    fn the_readme_lists_every_setting_as_declared() {
        let readme = include_str!("../../README.md");
        let section = readme
            .split("\n## Configuration\n")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .unwrap_or_default();
        let rows: Vec<&str> = section.lines().filter(|line| line.starts_with("| `MATI_")).collect();
        let declared: Vec<String> = Settings::declared()
            .chain([&Settings::RATE_LIMITS])
            .map(|setting| {
                format!(
                    "| `{}` | {} | {} |",
                    setting.key,
                    setting.default.shown(),
                    setting.about
                )
            })
            .collect();
        let (table, limits) = rows.split_at(declared.len().min(rows.len()));
        assert!(
            table == declared,
            "README.md's configuration table is not what api/src/settings.rs declares; it should read:\n\n{}\n",
            declared.join("\n")
        );
        let limits_declared: Vec<String> = Action::ALL
            .iter()
            .map(|action| format!("| `{}` | `{}` | ", action.setting(), action.default_quota()))
            .collect();
        assert_eq!(
            limits.len(),
            limits_declared.len(),
            "one row per rate limit: {limits:#?}"
        );
        for (row, start) in limits.iter().zip(&limits_declared) {
            assert!(row.starts_with(start), "README.md's row {row:?} should start {start:?}");
        }
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
        let bad = Settings::from_vars(vars(&[("MATI_MAX_TOKENS", "many")])).err();
        assert_eq!(
            bad.map(|e| e.to_string()).as_deref(),
            Some("MATI_MAX_TOKENS: \"many\" is not a number")
        );
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
        assert_eq!(settings.http.trusted_proxies.len(), 2);
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
        assert_eq!(some.map(|s| s.stats.max_concurrent).ok(), Some(3));
    }

    #[test]
    fn secrets_do_not_print() {
        let url = Secret("postgres://u:hunter2@db/mati".into());
        assert!(!format!("{url:?}").contains("hunter2"));
    }
}

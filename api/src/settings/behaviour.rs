//! The settings of how Mati behaves: logging, GraphQL limits, statistics, the workflow.

use std::path::PathBuf;
use std::time::Duration;

use mati_domain::service::Rules;

use super::Fallback::{Absent, Elsewhere, Value};
use super::{DatabaseSettings, LogFormat, Setting, SettingsError, Vars, error};
use crate::graphql::limits::ShapeLimits;

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

    pub(super) fn read(vars: &Vars) -> Result<Self, SettingsError> {
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

    pub(super) fn read(vars: &Vars) -> Result<Self, SettingsError> {
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

    pub(super) fn read(vars: &Vars, database: &DatabaseSettings) -> Result<Self, SettingsError> {
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

    pub(super) fn read(vars: &Vars) -> Result<Self, SettingsError> {
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

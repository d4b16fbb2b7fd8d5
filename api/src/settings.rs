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

use mati_domain::rate_limit::{Action, Quota};

use self::Fallback::{Absent, Value};

mod behaviour;
mod connections;

pub use behaviour::{GraphqlSettings, LogSettings, StatsSettings, WorkflowSettings};
pub use connections::{DatabaseSettings, HttpSettings, RedisEndpoint, RedisSettings};

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
mod tests;

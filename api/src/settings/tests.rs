//! The settings parser and the README's configuration table.

use std::time::Duration;

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
    let readme = include_str!("../../../README.md");
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

#[test]
fn a_read_replica_is_a_postgres_standby_of_a_postgres_primary() -> Result<(), SettingsError> {
    let primary = ("MATI_DATABASE_URL", "postgres://mati@db:5432/mati");
    let standby = ("MATI_DATABASE_READ_URL", "postgres://mati@standby:5432/mati");
    let settings = Settings::from_vars(vars(&[primary, standby]))?;
    assert_eq!(
        settings.database.read_url.as_ref().map(Secret::expose),
        Some("postgres://mati@standby:5432/mati")
    );
    assert_eq!(settings.database.read_max_lag, Duration::from_secs(30));
    let unset = Settings::from_vars(vars(&[primary]))?;
    assert!(
        unset.database.read_url.is_none(),
        "without one everything reads the primary"
    );
    let sqlite_replica = Settings::from_vars(vars(&[primary, ("MATI_DATABASE_READ_URL", "sqlite://r.db")])).err();
    assert_eq!(sqlite_replica.map(|e| e.key).as_deref(), Some("MATI_DATABASE_READ_URL"));
    let sqlite_primary = Settings::from_vars(vars(&[standby])).err();
    let problem = sqlite_primary.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        problem.starts_with("MATI_DATABASE_READ_URL: the primary (MATI_DATABASE_URL) is SQLite"),
        "{problem}"
    );
    let no_lag = Settings::from_vars(vars(&[primary, standby, ("MATI_DATABASE_READ_MAX_LAG_SECS", "0")])).err();
    assert_eq!(
        no_lag.map(|e| e.key).as_deref(),
        Some("MATI_DATABASE_READ_MAX_LAG_SECS")
    );
    Ok(())
}

#[test]
fn redis_is_one_url_or_sentinels_never_both() -> Result<(), SettingsError> {
    let url = Settings::from_vars(vars(&[("MATI_REDIS_URL", "redis://10.0.0.5:6379")]))?;
    assert!(matches!(url.redis.endpoint, Some(RedisEndpoint::Url(ref u)) if u.expose() == "redis://10.0.0.5:6379"));
    let sentinels = Settings::from_vars(vars(&[("MATI_REDIS_SENTINELS", "10.0.0.5:26379, [fd00::7]:26380,")]))?;
    let Some(RedisEndpoint::Sentinels { addresses, master }) = sentinels.redis.endpoint else {
        return Err(error("MATI_REDIS_SENTINELS", "not read as sentinels"));
    };
    assert_eq!(
        addresses,
        [("10.0.0.5".to_owned(), 26379), ("fd00::7".to_owned(), 26380)]
    );
    assert_eq!(master, "mymaster", "the name the stock sentinel.conf monitors");
    let named = Settings::from_vars(vars(&[
        ("MATI_REDIS_SENTINELS", "sentinel-1:26379"),
        ("MATI_REDIS_MASTER_NAME", "mati"),
    ]))?;
    assert!(matches!(named.redis.endpoint, Some(RedisEndpoint::Sentinels { ref master, .. }) if master == "mati"));

    let both = Settings::from_vars(vars(&[
        ("MATI_REDIS_URL", "redis://10.0.0.5:6379"),
        ("MATI_REDIS_SENTINELS", "10.0.0.5:26379"),
    ]))
    .err()
    .map(|e| e.to_string());
    assert_eq!(
        both.as_deref(),
        Some("MATI_REDIS_SENTINELS: set either MATI_REDIS_URL or MATI_REDIS_SENTINELS, not both")
    );
    for bad in [
        "",
        " , ",
        "sentinel-1",
        "sentinel-1:0",
        "sentinel-1:port",
        ":26379",
        "fd00::7:26379",
    ] {
        let refused = Settings::from_vars(vars(&[("MATI_REDIS_SENTINELS", bad)])).err();
        assert_eq!(
            refused.map(|e| e.key).as_deref(),
            Some("MATI_REDIS_SENTINELS"),
            "{bad:?}"
        );
    }
    let stray = Settings::from_vars(vars(&[("MATI_REDIS_MASTER_NAME", "mati")])).err();
    assert_eq!(stray.map(|e| e.key).as_deref(), Some("MATI_REDIS_MASTER_NAME"));
    Ok(())
}

//! Exact rate limits across replicas: the generic cell rate algorithm (GCRA), one Lua
//! script per check so that the read and the write are atomic, timed by Redis' own
//! clock so that replicas with skewed clocks agree.

use std::time::Duration;

use mati_domain::rate_limit::{Action, Quota};
use mati_domain::{DomainError, DomainResult};
use redis::Script;

use crate::redis::Redis;

/// KEYS[1]: the limit's key. ARGV[1]: emission interval (µs), ARGV[2]: burst.
/// Returns {1, 0} when allowed, {0, µs to wait} when refused.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - tolerance
if allow_at > now then
  return {0, allow_at - now}
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return {1, 0}
";

/// Checks one request against a quota in Redis.
pub async fn check(redis: &Redis, action: Action, quota: Quota, key: &str) -> DomainResult<()> {
    let mut conn = redis.connection().await?;
    let interval = i64::try_from(quota.emission_interval().as_micros()).unwrap_or(i64::MAX);
    let script = Script::new(GCRA);
    let answer: Result<(i64, i64), _> = script
        .key(redis.key(&format!("rl:{}:{key}", action.name())))
        .arg(interval)
        .arg(quota.burst)
        .invoke_async(&mut conn)
        .await;
    match answer {
        Ok((1, _)) => Ok(()),
        Ok((_, wait)) => Err(DomainError::RateLimited {
            retry_after: Duration::from_micros(u64::try_from(wait).unwrap_or_default()),
        }),
        Err(err) => Err(redis.failed(&err)),
    }
}

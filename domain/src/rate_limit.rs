//! Rate limits as a closed set of actions, each with a quota (burst per period) that
//! deployments may change. Addresses are shared by many phones behind carrier NAT, so
//! per-address limits are generous and per-token limits strict (PRODUCT.md §6).

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

/// Something a client does often enough to need a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// `startCitizenSession`, per client address.
    StartSessionPerAddress,
    /// `submitComment`, per citizen session.
    SubmitPerToken,
    /// `submitComment`, per client address.
    SubmitPerAddress,
    /// Comments posted through Open311, per API key: an application posts for many
    /// citizens, so its limit replaces the per-session one.
    SubmitPerApiKey,
    /// `login` from a device not trusted for the account, per username, whether it
    /// exists or not (slows password guessing on one account). A stranger's guesses
    /// exhaust only this limit.
    LoginPerUsername,
    /// `login` from a device trusted for the account (its device token came from an
    /// earlier login), per device: the owner's own limit, which strangers cannot use up.
    LoginPerDevice,
    /// `login`, per client address.
    LoginPerAddress,
    /// `flagComment`, per citizen session.
    Flag,
    /// `supportComment`, per citizen session.
    Support,
    /// `commentByTrackingCode`, per client address (codes must not be guessable by
    /// trying many).
    TrackPerAddress,
    /// Statistics computed anew, `totalCount` and the CSV exports, per client address:
    /// the reads that aggregate many comments.
    StatsPerAddress,
}

/// The shortest time between two refilled requests that a limit can count.
pub const MIN_EMISSION_INTERVAL: Duration = Duration::from_micros(1);

/// How many requests at once (`burst`), refilled evenly over `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Requests allowed at once.
    pub burst: u32,
    /// Time in which `burst` requests are refilled.
    pub period: Duration,
}

impl Quota {
    /// Parses `BURST/PERIOD`, e.g. `5/60s`, `100/1m`, `10/1h`.
    pub fn parse(raw: &str) -> Option<Self> {
        let (burst, period) = raw.trim().split_once('/')?;
        let burst: u32 = burst.trim().parse().ok().filter(|b| *b > 0)?;
        let period = period.trim();
        let split = period.find(|c: char| !c.is_ascii_digit())?;
        let (amount, unit) = period.split_at(split);
        let amount: u64 = amount.parse().ok().filter(|a| *a > 0)?;
        let seconds = match unit {
            "s" => amount,
            "m" => amount.checked_mul(60)?,
            "h" => amount.checked_mul(3600)?,
            _ => return None,
        };
        let quota = Self {
            burst,
            period: Duration::from_secs(seconds),
        };
        // Limits are counted in whole microseconds (Redis' clock): a quota that refills
        // faster cannot be honoured and is refused rather than silently never applied.
        (quota.emission_interval() >= MIN_EMISSION_INTERVAL).then_some(quota)
    }

    /// Time between two refilled requests.
    pub fn emission_interval(&self) -> Duration {
        self.period / self.burst
    }
}

impl fmt::Display for Quota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}s", self.burst, self.period.as_secs())
    }
}

impl Action {
    /// Every action.
    pub const ALL: [Self; 11] = [
        Self::StartSessionPerAddress,
        Self::SubmitPerToken,
        Self::SubmitPerAddress,
        Self::SubmitPerApiKey,
        Self::LoginPerUsername,
        Self::LoginPerDevice,
        Self::LoginPerAddress,
        Self::Flag,
        Self::Support,
        Self::TrackPerAddress,
        Self::StatsPerAddress,
    ];

    /// Short stable name, used in keys and settings.
    pub const fn name(self) -> &'static str {
        match self {
            Self::StartSessionPerAddress => "start_session_per_address",
            Self::SubmitPerToken => "submit_per_token",
            Self::SubmitPerAddress => "submit_per_address",
            Self::SubmitPerApiKey => "submit_per_api_key",
            Self::LoginPerUsername => "login_per_username",
            Self::LoginPerDevice => "login_per_device",
            Self::LoginPerAddress => "login_per_address",
            Self::Flag => "flag",
            Self::Support => "support",
            Self::TrackPerAddress => "track_per_address",
            Self::StatsPerAddress => "stats_per_address",
        }
    }

    /// The environment variable that overrides its quota, e.g. `MATI_RATE_LIMIT_SUBMIT_PER_TOKEN`.
    pub fn setting(self) -> String {
        format!("MATI_RATE_LIMIT_{}", self.name().to_ascii_uppercase())
    }

    /// The default quota.
    pub const fn default_quota(self) -> Quota {
        const fn quota(burst: u32, seconds: u64) -> Quota {
            Quota {
                burst,
                period: Duration::from_secs(seconds),
            }
        }
        match self {
            Self::StartSessionPerAddress => quota(60, 60),
            Self::SubmitPerToken => quota(5, 60),
            Self::SubmitPerAddress => quota(300, 60),
            Self::SubmitPerApiKey => quota(60, 60),
            Self::LoginPerUsername => quota(10, 600),
            Self::LoginPerDevice => quota(10, 600),
            Self::LoginPerAddress => quota(100, 600),
            Self::Flag => quota(10, 3600),
            Self::Support => quota(60, 3600),
            Self::TrackPerAddress => quota(120, 60),
            Self::StatsPerAddress => quota(60, 60),
        }
    }
}

/// Where a request comes from, as far as limits are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Origin {
    /// The client's address (behind trusted proxies only), if known.
    pub address: Option<IpAddr>,
}

impl Origin {
    /// The rate-limit key of the address: an IPv6 client is keyed by its /64, since one
    /// phone may hold a whole prefix.
    pub fn address_key(&self) -> Option<String> {
        self.address.map(|address| match address {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_parse_as_burst_per_period() {
        assert_eq!(
            Quota::parse("5/60s"),
            Some(Quota {
                burst: 5,
                period: Duration::from_secs(60)
            })
        );
        assert_eq!(Quota::parse("100/1m").map(|q| q.period), Some(Duration::from_secs(60)));
        assert_eq!(Quota::parse("10/2h").map(|q| q.period), Some(Duration::from_secs(7200)));
        assert!(
            Quota::parse("1000000/1s").is_some(),
            "one per microsecond is the most a limit counts"
        );
        for bad in [
            "5",
            "0/60s",
            "5/0s",
            "5/60",
            "5/60d",
            "x/60s",
            "-1/60s",
            "100000000/1s",
            "2000000/1s",
        ] {
            assert_eq!(Quota::parse(bad), None, "{bad}");
        }
        assert_eq!(
            Quota::parse("5/60s").map(|q| q.emission_interval()),
            Some(Duration::from_secs(12))
        );
    }

    #[test]
    fn every_action_has_a_setting_name() {
        assert_eq!(Action::SubmitPerToken.setting(), "MATI_RATE_LIMIT_SUBMIT_PER_TOKEN");
        let names: std::collections::BTreeSet<_> = Action::ALL.iter().map(|a| a.name()).collect();
        assert_eq!(names.len(), Action::ALL.len());
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_prefix() {
        let a = Origin {
            address: "2001:db8:1:2:aaaa::1".parse().ok(),
        };
        let b = Origin {
            address: "2001:db8:1:2:bbbb::9".parse().ok(),
        };
        assert_eq!(a.address_key(), b.address_key());
        let v4 = Origin {
            address: "10.1.2.3".parse().ok(),
        };
        assert_eq!(v4.address_key().as_deref(), Some("10.1.2.3"));
    }
}

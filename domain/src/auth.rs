//! Who is calling: citizens with an anonymous session token, staff with a role and,
//! for officials, a unit. Tokens are random and only their SHA-256 digest is stored.
//!
//! A staff login also hands out a device token (OWASP's "device cookie"): a browser
//! that presents it for the same account is trusted, and its login attempts are limited
//! on their own, so that a stranger's guesses, which exhaust the limit of untrusted
//! devices, cannot lock the owner out.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::comment::{CitizenId, StaffId};
use crate::geography::UnitCode;
use crate::{DomainError, DomainResult};

/// A staff role (PRODUCT.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Creates staff accounts, edits categories, routing and deadlines.
    Admin,
    /// Screens comments and handles flags.
    Moderator,
    /// Answers the comments assigned to the own unit.
    Official,
    /// Watches statistics (CSO).
    Monitor,
}

impl Role {
    /// Every role.
    pub const ALL: [Self; 4] = [Self::Admin, Self::Moderator, Self::Official, Self::Monitor];

    /// The stored name, e.g. `OFFICIAL`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "ADMIN",
            Self::Moderator => "MODERATOR",
            Self::Official => "OFFICIAL",
            Self::Monitor => "MONITOR",
        }
    }

    /// Parses a stored or typed name, in any case.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.as_str().eq_ignore_ascii_case(s))
    }
}

/// A staff account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffAccount {
    /// Identity.
    pub id: StaffId,
    /// Login name.
    pub username: String,
    /// What they may do.
    pub role: Role,
    /// Their administration (officials only).
    pub unit: Option<UnitCode>,
    /// A disabled account cannot log in and has no session.
    pub disabled: bool,
}

/// A client application's key for Open311 (a CSO's app, another city's 311 tool). It
/// posts comments as a citizen of its own, so idempotency and limits work as for phones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Identity.
    pub id: i64,
    /// Who holds it, as the admin named it.
    pub name: String,
    /// The author of the comments it posts.
    pub citizen: CitizenId,
    /// The admin who issued it.
    pub created_by: StaffId,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When it stopped working, if it did.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The caller of an operation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Principal {
    /// No token.
    #[default]
    Anonymous,
    /// A phone with a citizen session.
    Citizen(CitizenId),
    /// A logged-in staff member.
    Staff(StaffAccount),
}

impl Principal {
    /// The staff account, if the caller has one of `roles`; otherwise the right error.
    pub fn staff_with(&self, roles: &[Role]) -> DomainResult<&StaffAccount> {
        match self {
            Self::Staff(staff) if roles.contains(&staff.role) => Ok(staff),
            Self::Staff(_) | Self::Citizen(_) => Err(DomainError::forbidden(&format!(
                "this needs one of the roles {}",
                roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
            ))),
            Self::Anonymous => Err(DomainError::Unauthenticated),
        }
    }

    /// The citizen session, or the right error.
    pub fn citizen(&self) -> DomainResult<CitizenId> {
        match self {
            Self::Citizen(id) => Ok(*id),
            Self::Staff(_) => Err(DomainError::forbidden("this needs a citizen session token")),
            Self::Anonymous => Err(DomainError::Unauthenticated),
        }
    }

    /// Whether the caller is a moderator or an admin.
    pub fn is_moderator(&self) -> bool {
        matches!(self, Self::Staff(s) if matches!(s.role, Role::Moderator | Role::Admin))
    }

    /// The unit of an official caller.
    pub fn official_unit(&self) -> Option<&UnitCode> {
        match self {
            Self::Staff(StaffAccount {
                role: Role::Official,
                unit,
                ..
            }) => unit.as_ref(),
            _ => None,
        }
    }
}

/// Whose token it is, told by its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// `mati_c_…`: a citizen session, sent as the bearer token.
    Citizen,
    /// `mati_s_…`: a staff session, sent as the bearer token.
    Staff,
    /// `mati_d_…`: a device trusted for a staff account, sent only to `login`.
    Device,
    /// `mati_k_…`: a client application's key for Open311, sent as `api_key`.
    ApiKey,
}

impl TokenKind {
    const fn prefix(self) -> &'static str {
        match self {
            Self::Citizen => "mati_c_",
            Self::Staff => "mati_s_",
            Self::Device => "mati_d_",
            Self::ApiKey => "mati_k_",
        }
    }

    /// The kind of a presented token, if it has a known prefix.
    pub fn of(token: &str) -> Option<Self> {
        [Self::Citizen, Self::Staff, Self::Device, Self::ApiKey]
            .into_iter()
            .find(|kind| token.starts_with(kind.prefix()))
    }
}

/// How many devices stay trusted per staff account; a login from one more forgets the
/// one unused for longest, so the table cannot grow with logins.
pub const TRUSTED_DEVICES_PER_ACCOUNT: u64 = 10;

/// A citizen session as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CitizenSession {
    /// The citizen.
    pub id: CitizenId,
    /// When the token was last used, as recorded (at most [`CITIZEN_USE_RECORDED_EVERY`]
    /// behind the truth).
    pub last_used_at: DateTime<Utc>,
}

/// How often a citizen token's use is written down: reads must not all write, and an
/// idle time of days does not need a finer record.
pub const CITIZEN_USE_RECORDED_EVERY: Duration = Duration::hours(1);

/// What a presented citizen token is worth now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CitizenTokenUse {
    /// Unused for longer than the idle time: UNAUTHENTICATED.
    Expired,
    /// Valid, and its use recorded recently enough.
    Valid,
    /// Valid; record this use.
    ValidRecordUse,
}

impl CitizenSession {
    /// Whether the token is still valid at `now` when tokens expire after `idle` without
    /// use, and whether to record this use.
    pub fn use_at(&self, now: DateTime<Utc>, idle: Duration) -> CitizenTokenUse {
        let unused = now - self.last_used_at;
        if unused >= idle {
            CitizenTokenUse::Expired
        } else if unused >= CITIZEN_USE_RECORDED_EVERY {
            CitizenTokenUse::ValidRecordUse
        } else {
            CitizenTokenUse::Valid
        }
    }
}

/// A freshly issued bearer token and the digest to store.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// Given to the client once, never stored.
    pub token: String,
    /// Stored.
    pub digest: String,
}

/// Issues a new random token of `kind` (256 bits).
pub fn issue_token(kind: TokenKind, rng: &mut impl RngCore) -> IssuedToken {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    let token = format!("{}{}", kind.prefix(), URL_SAFE_NO_PAD.encode(bytes));
    let digest = token_digest(&token);
    IssuedToken { token, digest }
}

/// The stored form of a token: hex SHA-256. Tokens carry 256 bits of randomness, so a
/// fast hash is enough; no salt is needed for lookup.
pub fn token_digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A username: 3 to 64 characters of ASCII letters, digits, `.`, `_` or `-`, kept in
/// lower case so that logins do not depend on case.
pub fn username(field: &str, raw: &str) -> DomainResult<String> {
    let name = raw.trim().to_ascii_lowercase();
    let valid = (3..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(name)
    } else {
        Err(DomainError::invalid(
            field,
            "must be 3 to 64 letters, digits, '.', '_' or '-'",
            "ឈ្មោះអ្នកប្រើមិនត្រឹមត្រូវ",
        ))
    }
}

/// The unit of an account of `role`: an official needs one (the one `given`, else the
/// one it has), nobody else has one. Errors name `unitCode`.
pub fn placement<U>(role: Role, given: Option<U>, current: Option<U>) -> DomainResult<Option<U>> {
    match (role, given.or(current.filter(|_| role == Role::Official))) {
        (Role::Official, None) => Err(DomainError::invalid(
            "unitCode",
            "an OFFICIAL needs the code of their administration",
            "មន្ត្រីត្រូវមានលេខកូដអង្គភាព",
        )),
        (Role::Official, unit) => Ok(unit),
        (_, Some(_)) => Err(DomainError::invalid(
            "unitCode",
            "only an OFFICIAL belongs to a unit",
            "មានតែមន្ត្រីទេដែលមានអង្គភាព",
        )),
        (_, None) => Ok(None),
    }
}

/// A new password: 12 to 256 characters, no control characters.
pub fn new_password(field: &str, raw: &str) -> DomainResult<String> {
    let len = raw.chars().count();
    if !(12..=256).contains(&len) || raw.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            field,
            "must be 12 to 256 characters without control characters",
            "ពាក្យសម្ងាត់ត្រូវមានពី 12 ដល់ 256 តួអក្សរ",
        ));
    }
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_are_told_apart_by_prefix_and_stored_only_as_digests() {
        let mut rng = rand::rng();
        let citizen = issue_token(TokenKind::Citizen, &mut rng);
        let staff = issue_token(TokenKind::Staff, &mut rng);
        assert_eq!(TokenKind::of(&citizen.token), Some(TokenKind::Citizen));
        assert_eq!(TokenKind::of(&staff.token), Some(TokenKind::Staff));
        assert_eq!(TokenKind::of("Bearer xyz"), None);
        assert_eq!(citizen.digest, token_digest(&citizen.token));
        assert_eq!(citizen.digest.len(), 64);
        assert!(!citizen.digest.contains(&citizen.token));
    }

    #[test]
    fn device_tokens_are_neither_citizen_nor_staff_sessions() {
        let device = issue_token(TokenKind::Device, &mut rand::rng());
        assert_eq!(TokenKind::of(&device.token), Some(TokenKind::Device));
    }

    #[test]
    fn a_citizen_token_expires_after_the_idle_time_and_its_use_is_recorded_hourly() {
        let start = DateTime::<Utc>::UNIX_EPOCH;
        let session = CitizenSession {
            id: CitizenId::new(1),
            last_used_at: start,
        };
        let idle = Duration::days(180);
        let at = |d: Duration| session.use_at(start + d, idle);
        assert_eq!(at(Duration::minutes(59)), CitizenTokenUse::Valid);
        assert_eq!(at(Duration::hours(1)), CitizenTokenUse::ValidRecordUse);
        assert_eq!(at(Duration::days(179)), CitizenTokenUse::ValidRecordUse);
        assert_eq!(at(Duration::days(180)), CitizenTokenUse::Expired);
        assert_eq!(at(Duration::days(4000)), CitizenTokenUse::Expired);
    }

    #[test]
    fn only_officials_have_a_unit_and_keep_theirs_unless_given_another() {
        use Role::{Monitor, Official};
        assert_eq!(placement(Official, Some("1201"), None), Ok(Some("1201")));
        assert_eq!(placement(Official, None, Some("1201")), Ok(Some("1201")));
        assert_eq!(placement(Official, Some("120109"), Some("1201")), Ok(Some("120109")));
        // A monitor made an official: no unit to keep.
        assert!(
            matches!(placement::<&str>(Official, None, None), Err(DomainError::InvalidInput { field, .. }) if field == "unitCode")
        );
        // An official made a monitor leaves the unit; a monitor cannot be given one.
        assert_eq!(placement(Monitor, None, Some("1201")), Ok(None));
        assert!(placement(Monitor, Some("1201"), None).is_err());
    }

    #[test]
    fn roles_parse_in_any_case() {
        assert_eq!(Role::parse("official"), Some(Role::Official));
        assert_eq!(Role::parse("ADMIN"), Some(Role::Admin));
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn usernames_are_lower_case_and_plain() {
        assert_eq!(username("u", " Sokha.Chan ").ok().as_deref(), Some("sokha.chan"));
        for bad in ["ab", "sok ha", "សុខា", "a;drop"] {
            assert!(username("u", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_role_check_distinguishes_unauthenticated_from_forbidden() {
        let anonymous = Principal::Anonymous;
        assert_eq!(
            anonymous.staff_with(&[Role::Admin]).err(),
            Some(DomainError::Unauthenticated)
        );
        let citizen = Principal::Citizen(CitizenId::new(1));
        assert!(matches!(
            citizen.staff_with(&[Role::Admin]),
            Err(DomainError::Forbidden(_))
        ));
    }
}

//! Cambodia's administrative units. Codes nest by prefix: province `17`, district
//! `1702`, commune `170201`, village `17020101`.

use std::fmt;

use crate::DomainError;

/// The level of an administrative unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AdminLevel {
    /// Capital or province (2-digit code).
    Province,
    /// Municipality, district or khan (4 digits).
    District,
    /// Commune or sangkat (6 digits).
    Commune,
    /// Village (8 digits).
    Village,
}

impl AdminLevel {
    /// Every level, from the top.
    pub const ALL: [Self; 4] = [Self::Province, Self::District, Self::Commune, Self::Village];

    /// The length of codes at this level.
    pub const fn code_len(self) -> usize {
        match self {
            Self::Province => 2,
            Self::District => 4,
            Self::Commune => 6,
            Self::Village => 8,
        }
    }

    /// The level one step up, if any.
    pub const fn parent(self) -> Option<Self> {
        match self {
            Self::Province => None,
            Self::District => Some(Self::Province),
            Self::Commune => Some(Self::District),
            Self::Village => Some(Self::Commune),
        }
    }

    /// The level one step down, if any.
    pub const fn child(self) -> Option<Self> {
        match self {
            Self::Province => Some(Self::District),
            Self::District => Some(Self::Commune),
            Self::Commune => Some(Self::Village),
            Self::Village => None,
        }
    }

    /// A bit standing for this level in a set of levels.
    pub const fn bit(self) -> i32 {
        match self {
            Self::Province => 1,
            Self::District => 2,
            Self::Commune => 4,
            Self::Village => 8,
        }
    }

    /// The stored name, e.g. `COMMUNE`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Province => "PROVINCE",
            Self::District => "DISTRICT",
            Self::Commune => "COMMUNE",
            Self::Village => "VILLAGE",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|level| level.as_str() == s)
    }
}

/// A syntactically valid unit code: 2, 4, 6 or 8 ASCII digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitCode(String);

impl UnitCode {
    /// Parses a code sent as `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let raw = raw.trim();
        let valid = matches!(raw.len(), 2 | 4 | 6 | 8) && raw.bytes().all(|b| b.is_ascii_digit());
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(DomainError::invalid(
                field,
                "must be a unit code of 2, 4, 6 or 8 digits",
                "លេខកូដតំបន់មិនត្រឹមត្រូវ",
            ))
        }
    }

    /// The level its length implies.
    pub fn level(&self) -> AdminLevel {
        match self.0.len() {
            2 => AdminLevel::Province,
            4 => AdminLevel::District,
            6 => AdminLevel::Commune,
            _ => AdminLevel::Village,
        }
    }

    /// The code of the enclosing unit at `level`, if `level` is at or above this one.
    pub fn ancestor_at(&self, level: AdminLevel) -> Option<Self> {
        (level.code_len() <= self.0.len()).then(|| Self(self.0[..level.code_len()].to_owned()))
    }

    /// The parent's code, if any.
    pub fn parent(&self) -> Option<Self> {
        self.level().parent().and_then(|level| self.ancestor_at(level))
    }

    /// Whether this unit lies inside (or is) `other`.
    pub fn is_within(&self, other: &UnitCode) -> bool {
        self.0.starts_with(&other.0)
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UnitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An administrative unit as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminUnit {
    /// Its code.
    pub code: UnitCode,
    /// Its level.
    pub level: AdminLevel,
    /// capital | province | krong | srok | khan | khum | sangkat | phum
    pub kind: String,
    /// Khmer name.
    pub name_km: String,
    /// English (romanised) name.
    pub name_en: String,
    /// The enclosing unit, none for a province.
    pub parent_code: Option<UnitCode>,
}

/// Filter for listing units.
#[derive(Debug, Clone, Default)]
pub struct UnitFilter {
    /// Only this level.
    pub level: Option<AdminLevel>,
    /// Only children of this unit.
    pub parent: Option<UnitCode>,
    /// Khmer substring, English substring (any case) or code prefix.
    pub search: Option<String>,
    /// At most this many.
    pub limit: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_nest_by_prefix() {
        let village = UnitCode::parse("c", "17020101").map_err(|e| e.to_string());
        let village = village.as_ref().map(UnitCode::level);
        assert_eq!(village, Ok(AdminLevel::Village));
        let commune = UnitCode::parse("c", "170201").ok();
        let district = commune.as_ref().and_then(UnitCode::parent);
        assert_eq!(district.as_ref().map(UnitCode::as_str), Some("1702"));
        let province = commune.as_ref().and_then(|c| c.ancestor_at(AdminLevel::Province));
        assert_eq!(province.as_ref().map(UnitCode::as_str), Some("17"));
        assert_eq!(commune.as_ref().and_then(|c| c.ancestor_at(AdminLevel::Village)), None);
    }

    #[test]
    fn malformed_codes_are_rejected() {
        for raw in ["", "1", "123", "0506140-", "12345678901", "１７"] {
            assert!(UnitCode::parse("communeCode", raw).is_err(), "{raw}");
        }
    }
}

/// TEMPORARY stub.
#[derive(Debug, Clone, PartialEq)]
pub struct CommuneCentre {
    /// Code.
    pub code: UnitCode,
    /// Lat.
    pub lat: f64,
    /// Long.
    pub long: f64,
}

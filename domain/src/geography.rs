//! Cambodia's administrative units. Codes nest by prefix: province `17`, district
//! `1702`, commune `170201`, village `17020101`.
//!
//! Some communes have an approximate centre ([`CommuneCentre`]), by which the commune of
//! a GPS position is suggested: the one whose centre is nearest, on a sphere
//! ([`distance_km`]).

use std::fmt;
use std::ops::RangeInclusive;

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
    /// This unit and the units above it, most specific first (a village, its commune,
    /// district and province).
    pub fn upwards(&self) -> Vec<Self> {
        let mut chain = Vec::new();
        let mut next = Some(self.clone());
        while let Some(unit) = next {
            next = unit.parent();
            chain.push(unit);
        }
        chain
    }

    /// The enclosing unit, none for a province.
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

/// Latitudes (degrees north) of Cambodia's bounding box, with a margin: the country
/// spans about 10.4° to 14.7°.
pub const CAMBODIA_LAT: RangeInclusive<f64> = 9.5..=15.0;
/// Longitudes (degrees east) of Cambodia's bounding box, with a margin: the country
/// spans about 102.3° to 107.7°.
pub const CAMBODIA_LONG: RangeInclusive<f64> = 102.0..=108.0;

/// The mean radius of the Earth in km, the sphere [`distance_km`] measures on.
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// A position in degrees (WGS 84): latitude north, longitude east.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPoint {
    /// Latitude, degrees north.
    pub lat: f64,
    /// Longitude, degrees east.
    pub long: f64,
}

impl GeoPoint {
    /// A position sent as the fields `lat` and `long`: finite and inside Cambodia's
    /// bounding box ([`CAMBODIA_LAT`], [`CAMBODIA_LONG`]), else BAD_USER_INPUT on the
    /// field that is not.
    pub fn in_cambodia(lat: f64, long: f64) -> Result<Self, DomainError> {
        if !CAMBODIA_LAT.contains(&lat) {
            return Err(DomainError::invalid(
                "lat",
                "must be a latitude inside Cambodia (9.5 to 15.0 degrees north)",
                "ទីតាំងនេះមិនស្ថិតនៅក្នុងប្រទេសកម្ពុជាទេ",
            ));
        }
        if !CAMBODIA_LONG.contains(&long) {
            return Err(DomainError::invalid(
                "long",
                "must be a longitude inside Cambodia (102.0 to 108.0 degrees east)",
                "ទីតាំងនេះមិនស្ថិតនៅក្នុងប្រទេសកម្ពុជាទេ",
            ));
        }
        Ok(Self { lat, long })
    }

    /// Whether the position lies inside Cambodia's bounding box (never for NaN or an
    /// infinity).
    pub fn is_in_cambodia(self) -> bool {
        CAMBODIA_LAT.contains(&self.lat) && CAMBODIA_LONG.contains(&self.long)
    }
}

/// The great-circle distance in km between two positions, by the haversine formula on
/// a sphere of the Earth's mean radius: within about 0.5 % of the distance on the
/// ellipsoid, far closer than a commune centre is to anything.
pub fn distance_km(from: GeoPoint, to: GeoPoint) -> f64 {
    let (lat1, lat2) = (from.lat.to_radians(), to.lat.to_radians());
    let half_dlat = (to.lat - from.lat).to_radians() / 2.0;
    let half_dlong = (to.long - from.long).to_radians() / 2.0;
    let a = half_dlat.sin().powi(2) + lat1.cos() * lat2.cos() * half_dlong.sin().powi(2);
    // Rounding can push `a` a hair past 1 for antipodes; asin is undefined there.
    2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

/// The approximate centre of a commune (from the NCDD-based pumi data): good for
/// suggesting the commune of a position, not for drawing its boundary.
#[derive(Debug, Clone, PartialEq)]
pub struct CommuneCentre {
    /// The commune's code (6 digits).
    pub code: UnitCode,
    /// Latitude, degrees north.
    pub lat: f64,
    /// Longitude, degrees east.
    pub long: f64,
}

impl CommuneCentre {
    /// Where the centre is.
    pub fn point(&self) -> GeoPoint {
        GeoPoint {
            lat: self.lat,
            long: self.long,
        }
    }
}

/// The `count` centres nearest to `from`, nearest first, each with its distance in km;
/// ties go to the smaller code, so the answer does not depend on the input's order.
pub fn nearest(centres: &[CommuneCentre], from: GeoPoint, count: usize) -> Vec<(&CommuneCentre, f64)> {
    let mut ranked: Vec<(&CommuneCentre, f64)> = centres
        .iter()
        .map(|centre| (centre, distance_km(from, centre.point())))
        .collect();
    ranked.sort_by(|(a, da), (b, db)| da.total_cmp(db).then_with(|| a.code.cmp(&b.code)));
    ranked.truncate(count);
    ranked
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

    fn centre(code: &str, lat: f64, long: f64) -> CommuneCentre {
        let code = UnitCode::parse("code", code).unwrap_or_else(|e| panic!("{e}"));
        CommuneCentre { code, lat, long }
    }

    const PHNOM_PENH: GeoPoint = GeoPoint {
        lat: 11.5564,
        long: 104.9282,
    };

    #[test]
    fn the_distance_from_phnom_penh_to_siem_reap_is_about_230_km() {
        let siem_reap = GeoPoint {
            lat: 13.3633,
            long: 103.8564,
        };
        let km = distance_km(PHNOM_PENH, siem_reap);
        assert!((km - 231.0).abs() < 3.0, "{km}");
        assert!((distance_km(siem_reap, PHNOM_PENH) - km).abs() < 1e-9, "symmetric");
    }

    #[test]
    fn a_point_is_at_no_distance_from_itself_and_a_degree_of_latitude_is_about_111_km() {
        assert!(distance_km(PHNOM_PENH, PHNOM_PENH).abs() < 1e-9);
        let north = GeoPoint {
            lat: PHNOM_PENH.lat + 1.0,
            long: PHNOM_PENH.long,
        };
        let km = distance_km(PHNOM_PENH, north);
        assert!((km - 111.2).abs() < 0.1, "{km}");
        // A degree of longitude shrinks with the cosine of the latitude.
        let east = GeoPoint {
            lat: PHNOM_PENH.lat,
            long: PHNOM_PENH.long + 1.0,
        };
        let km = distance_km(PHNOM_PENH, east);
        assert!((km - 111.2 * PHNOM_PENH.lat.to_radians().cos()).abs() < 0.1, "{km}");
    }

    #[test]
    fn antipodes_are_half_the_earth_apart() {
        let antipode = GeoPoint {
            lat: -PHNOM_PENH.lat,
            long: PHNOM_PENH.long - 180.0,
        };
        let km = distance_km(PHNOM_PENH, antipode);
        assert!((km - std::f64::consts::PI * EARTH_RADIUS_KM).abs() < 1e-6, "{km}");
    }

    #[test]
    fn positions_outside_cambodia_or_not_numbers_are_refused_on_their_field() {
        let field = |lat: f64, long: f64| match GeoPoint::in_cambodia(lat, long) {
            Ok(_) => "ok".to_owned(),
            Err(DomainError::InvalidInput { field, .. }) => field,
            Err(other) => format!("{other:?}"),
        };
        assert_eq!(field(11.5564, 104.9282), "ok");
        assert_eq!(field(13.75, 100.50), "long", "Bangkok");
        assert_eq!(field(21.03, 105.85), "lat", "Hanoi");
        assert_eq!(field(f64::NAN, 104.9), "lat");
        assert_eq!(field(11.5, f64::INFINITY), "long");
        assert_eq!(field(9.5, 108.0), "ok", "the box includes its edges");
        assert!(
            !GeoPoint {
                lat: f64::NAN,
                long: 104.9
            }
            .is_in_cambodia()
        );
    }

    #[test]
    fn the_nearest_centres_come_first_and_ties_go_to_the_smaller_code() {
        let centres = [
            centre("120102", 11.60, 104.92),
            centre("120101", 11.55, 104.93),
            centre("120103", 11.50, 104.93),
            centre("170201", 13.36, 103.86),
        ];
        let codes = |from: GeoPoint, count: usize| -> Vec<String> {
            nearest(&centres, from, count)
                .into_iter()
                .map(|(c, _)| c.code.to_string())
                .collect()
        };
        assert_eq!(codes(PHNOM_PENH, 2), ["120101", "120102"]);
        assert_eq!(codes(PHNOM_PENH, 10), ["120101", "120102", "120103", "170201"]);
        let twins = [centre("120105", 11.5, 104.9), centre("120104", 11.5, 104.9)];
        let order: Vec<&str> = nearest(&twins, PHNOM_PENH, 2)
            .into_iter()
            .map(|(c, _)| c.code.as_str())
            .collect();
        assert_eq!(order, ["120104", "120105"]);
        let at = nearest(&centres, centres[3].point(), 1);
        assert!(
            at.first()
                .is_some_and(|(c, km)| c.code.as_str() == "170201" && *km < 1e-9)
        );
    }
}

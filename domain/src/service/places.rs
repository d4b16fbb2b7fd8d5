//! Places: the communes near a GPS position, by their approximate centres.
//!
//! About 1,200 of the 1,661 communes have a centre. The centres are read whole at every
//! call (a few hundred kilobytes at most, one statement) and ranked here, which works
//! alike on every database and sees a new gazetteer import at once; nothing is cached.
//! Communes without a centre are never suggested by distance, so [`CommunesNear`] names
//! the ones of the same districts too, for an app to offer beside the nearest.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::Mati;
use crate::geography::{self, AdminLevel, AdminUnit, CommuneCentre, GeoPoint, UnitCode};
use crate::{DomainError, DomainResult};

/// The farthest a position may be from the nearest commune centre for
/// [`Mati::commune_at`] to name that commune, in km. Communes are rarely wider than
/// 30 km, and the centres are approximate.
pub const MAX_COMMUNE_DISTANCE_KM: f64 = 25.0;

/// The most communes [`Mati::communes_near`] returns.
pub const MAX_NEARBY_COMMUNES: u64 = 20;

/// A commune near a position.
#[derive(Debug, Clone, PartialEq)]
pub struct NearbyCommune {
    /// The commune.
    pub unit: AdminUnit,
    /// Its approximate centre.
    pub centre: CommuneCentre,
    /// From the position to the centre, in km.
    pub distance_km: f64,
}

/// The communes nearest to a position, and those that cannot be placed nearby.
#[derive(Debug, Clone, PartialEq)]
pub struct CommunesNear {
    /// The communes with a centre, nearest first.
    pub communes: Vec<NearbyCommune>,
    /// The communes of the same districts as `communes` that have no centre, by code:
    /// they may be nearer still, and nothing here can tell.
    pub without_centre: Vec<AdminUnit>,
}

/// Checks how many communes to return: fewer than 1 is an error; more than
/// [`MAX_NEARBY_COMMUNES`] is cut to it.
fn nearby_count(first: i64) -> DomainResult<usize> {
    let first = u64::try_from(first)
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| DomainError::invalid("first", "must be at least 1", "ចំនួនត្រូវតែយ៉ាងហោចណាស់ 1"))?;
    Ok(usize::try_from(first.min(MAX_NEARBY_COMMUNES)).unwrap_or(1))
}

impl Mati {
    /// The `first` communes (1 to 20) whose centres are nearest to the position, nearest
    /// first, with the communes of their districts that have no centre. BAD_USER_INPUT on
    /// `lat` or `long` for a position outside Cambodia's bounding box, on `first` when it
    /// is below 1.
    pub async fn communes_near(&self, lat: f64, long: f64, first: i64) -> DomainResult<CommunesNear> {
        let count = nearby_count(first)?;
        let here = GeoPoint::in_cambodia(lat, long)?;
        let centres = self.ports.geography.all_commune_centres().await?;
        let ranked = geography::nearest(&centres, here, count);
        let codes: Vec<UnitCode> = ranked.iter().map(|(c, _)| c.code.clone()).collect();
        let mut units: HashMap<UnitCode, AdminUnit> = self
            .ports
            .geography
            .units(&codes)
            .await?
            .into_iter()
            .map(|u| (u.code.clone(), u))
            .collect();
        // A centre always has its commune (the table's foreign key); one that did not
        // would be left out rather than shown without a name.
        let communes: Vec<NearbyCommune> = ranked
            .into_iter()
            .filter_map(|(centre, distance_km)| {
                units.remove(&centre.code).map(|unit| NearbyCommune {
                    unit,
                    centre: centre.clone(),
                    distance_km,
                })
            })
            .collect();
        let districts: Vec<UnitCode> = communes
            .iter()
            .filter_map(|c| c.unit.parent_code.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let placed: HashSet<&UnitCode> = centres.iter().map(|c| &c.code).collect();
        let without_centre = self
            .ports
            .geography
            .children(&districts)
            .await?
            .into_iter()
            .filter(|u| u.level == AdminLevel::Commune && !placed.contains(&u.code))
            .collect();
        Ok(CommunesNear {
            communes,
            without_centre,
        })
    }

    /// The commune whose centre is nearest to the position: the commune to suggest for a
    /// report sent with GPS coordinates. BAD_USER_INPUT on `lat` (the position as a
    /// whole) when it is outside Cambodia's bounding box, or farther than
    /// [`MAX_COMMUNE_DISTANCE_KM`] from every centre.
    pub async fn commune_at(&self, lat: f64, long: f64) -> DomainResult<AdminUnit> {
        let here = GeoPoint { lat, long };
        if !here.is_in_cambodia() {
            return Err(DomainError::invalid(
                "lat",
                "the position (lat, long) is not inside Cambodia",
                "ទីតាំងនេះមិនស្ថិតនៅក្នុងប្រទេសកម្ពុជាទេ",
            ));
        }
        let far = || {
            DomainError::invalid(
                "lat",
                &format!("no commune centre lies within {MAX_COMMUNE_DISTANCE_KM} km of the position (lat, long)"),
                "រកមិនឃើញឃុំ ឬសង្កាត់នៅជិតទីតាំងនេះទេ",
            )
        };
        let centres = self.ports.geography.all_commune_centres().await?;
        let code = match geography::nearest(&centres, here, 1).first() {
            Some((centre, km)) if *km <= MAX_COMMUNE_DISTANCE_KM => centre.code.clone(),
            _ => return Err(far()),
        };
        let unit = self.ports.geography.units(std::slice::from_ref(&code)).await?;
        unit.into_iter().next().ok_or_else(far)
    }

    /// The centres of the communes inside a unit (every one with a centre when none).
    pub async fn commune_centres_within(&self, unit: Option<&UnitCode>) -> DomainResult<Vec<CommuneCentre>> {
        let centres = self.ports.geography.all_commune_centres().await?;
        Ok(centres
            .into_iter()
            .filter(|c| unit.is_none_or(|u| c.code.is_within(u)))
            .collect())
    }

    /// The centres of these communes (codes without one are left out), in any order.
    pub async fn commune_centres(&self, codes: &[UnitCode]) -> DomainResult<Vec<CommuneCentre>> {
        let communes: Vec<UnitCode> = codes
            .iter()
            .filter(|c| c.level() == AdminLevel::Commune)
            .cloned()
            .collect();
        if communes.is_empty() {
            return Ok(Vec::new());
        }
        self.ports.geography.commune_centres(&communes).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_number_of_communes_is_at_least_one_and_at_most_twenty() {
        let field = |first: i64| match nearby_count(first) {
            Ok(n) => format!("{n}"),
            Err(DomainError::InvalidInput { field, .. }) => field,
            Err(other) => format!("{other:?}"),
        };
        assert_eq!(field(1), "1");
        assert_eq!(field(5), "5");
        assert_eq!(field(20), "20");
        assert_eq!(field(21), "20");
        assert_eq!(field(i64::MAX), "20");
        assert_eq!(field(0), "first");
        assert_eq!(field(-3), "first");
    }
}

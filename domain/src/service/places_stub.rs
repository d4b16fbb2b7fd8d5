//! TEMPORARY until the commune-centre branch lands.
use super::Mati;
use crate::DomainResult;
use crate::geography::{AdminUnit, CommuneCentre, UnitCode};

impl Mati {
    /// Stub.
    pub async fn commune_at(&self, _lat: f64, _long: f64) -> DomainResult<AdminUnit> {
        Err(crate::DomainError::invalid("lat", "no commune", "no"))
    }
    /// Stub.
    pub async fn commune_centres(&self, _codes: &[UnitCode]) -> DomainResult<Vec<CommuneCentre>> {
        Ok(Vec::new())
    }
}

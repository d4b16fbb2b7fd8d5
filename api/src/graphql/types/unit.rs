//! `AdminUnit` and `Category`, and the places near a position: `CommunesNear`,
//! `NearbyCommune`, `GeoPoint`.

use async_graphql::{Context, ID, Object, SimpleObject};
use mati_domain::category::Category as DomainCategory;
use mati_domain::geography::{AdminLevel as DomainLevel, AdminUnit as DomainUnit, CommuneCentre, UnitCode};
use mati_domain::service::{CommunesNear as DomainNear, NearbyCommune as DomainNearby};

use super::enums::AdminLevel;
use crate::graphql::error::ToGraphql;
use crate::graphql::limits::CHILDREN_COST;
use crate::graphql::loaders::{ChildrenOf, Loaders};

/// The unit with `code`, through the request's loader (batched, cached per request).
pub async fn load_unit(ctx: &Context<'_>, code: Option<UnitCode>) -> async_graphql::Result<Option<AdminUnit>> {
    let Some(code) = code else {
        return Ok(None);
    };
    Ok(ctx.data::<Loaders>()?.units.load_one(code).await.gql()?.map(AdminUnit))
}

/// An administrative unit of the gazetteer.
pub struct AdminUnit(pub DomainUnit);

#[Object]
impl AdminUnit {
    /// Its code: 2 (province), 4 (district), 6 (commune) or 8 (village) digits.
    async fn code(&self) -> ID {
        ID(self.0.code.as_str().to_owned())
    }

    /// Its level.
    async fn level(&self) -> AdminLevel {
        self.0.level.into()
    }

    /// capital | province | krong | srok | khan | khum | sangkat | phum
    #[graphql(name = "type")]
    async fn kind(&self) -> &str {
        &self.0.kind
    }

    /// Khmer name.
    async fn name_km(&self) -> &str {
        &self.0.name_km
    }

    /// English (romanised) name.
    async fn name_en(&self) -> &str {
        &self.0.name_en
    }

    /// The enclosing unit.
    async fn parent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<AdminUnit>> {
        load_unit(ctx, self.0.parent_code.clone()).await
    }

    /// The approximate centre of a commune (from the NCDD-based pumi data; good for
    /// suggesting a commune, not for a map of its boundary). Null for provinces,
    /// districts and villages, and for the communes that have none (about 480 of 1,661).
    async fn centre(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<GeoPoint>> {
        if self.0.level != DomainLevel::Commune {
            return Ok(None);
        }
        let loaders = ctx.data::<Loaders>()?;
        let centre = loaders.centres.load_one(self.0.code.clone()).await.gql()?;
        Ok(centre.as_ref().map(GeoPoint::of))
    }

    /// The units directly inside, ordered by code.
    #[graphql(complexity = "CHILDREN_COST.saturating_mul(child_complexity).saturating_add(1)")]
    async fn children(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<AdminUnit>> {
        let loaders = ctx.data::<Loaders>()?;
        let children = loaders.children.load_one(ChildrenOf(self.0.code.clone())).await.gql()?;
        Ok(children.unwrap_or_default().into_iter().map(AdminUnit).collect())
    }
}

/// A comment category and the level that answers it.
pub struct Category(pub DomainCategory);

#[Object]
impl Category {
    /// Stable code, e.g. `LOCAL_ROADS`.
    async fn code(&self) -> ID {
        ID(self.0.code.clone())
    }

    /// Khmer name.
    async fn name_km(&self) -> &str {
        &self.0.name_km
    }

    /// English name.
    async fn name_en(&self) -> &str {
        &self.0.name_en
    }

    /// The level whose unit containing the commune answers.
    async fn responsible_level(&self) -> AdminLevel {
        self.0.responsible_level.into()
    }
}

/// A position in degrees (WGS 84).
#[derive(SimpleObject)]
pub struct GeoPoint {
    /// Latitude, degrees north.
    lat: f64,
    /// Longitude, degrees east.
    long: f64,
}

impl GeoPoint {
    /// Where a commune centre is.
    fn of(centre: &CommuneCentre) -> Self {
        Self {
            lat: centre.lat,
            long: centre.long,
        }
    }
}

/// A commune near a position, by its approximate centre.
pub struct NearbyCommune(DomainNearby);

#[Object]
impl NearbyCommune {
    /// The commune.
    async fn commune(&self) -> AdminUnit {
        AdminUnit(self.0.unit.clone())
    }

    /// Latitude of the commune's approximate centre, degrees north.
    async fn lat(&self) -> f64 {
        self.0.centre.lat
    }

    /// Longitude of the commune's approximate centre, degrees east.
    async fn long(&self) -> f64 {
        self.0.centre.long
    }

    /// From the position asked about to the centre, in km along the Earth's surface.
    async fn distance_km(&self) -> f64 {
        self.0.distance_km
    }
}

/// The communes nearest to a position, and those of the same districts that cannot be
/// placed: about 480 communes have no known centre, so one of them may be nearer still.
pub struct CommunesNear(pub DomainNear);

#[Object]
impl CommunesNear {
    /// The communes with a centre, nearest first.
    async fn communes(&self) -> Vec<NearbyCommune> {
        self.0.communes.iter().cloned().map(NearbyCommune).collect()
    }

    /// The communes of the districts of `communes` that have no centre, ordered by code:
    /// to offer beside them, as their distance is unknown.
    async fn without_centre(&self) -> Vec<AdminUnit> {
        self.0.without_centre.iter().cloned().map(AdminUnit).collect()
    }
}

//! `AdminUnit` and `Category`.

use async_graphql::{Context, ID, Object};
use mati_domain::category::Category as DomainCategory;
use mati_domain::geography::{AdminUnit as DomainUnit, UnitCode};

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

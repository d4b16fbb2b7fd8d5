//! DataLoaders: one batched query per kind of related data per request, so a page of
//! comments costs the same number of statements whatever its size.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use mati_domain::DomainError;
use mati_domain::category::Category;
use mati_domain::comment::{CommentEvent, CommentId, Response};
use mati_domain::geography::{AdminUnit, UnitCode};
use mati_domain::service::Mati;

/// Loads administrative units by code.
pub struct Units(Mati);
/// Loads the children of units by the parent's code.
pub struct Children(Mati);
/// Loads categories by code (all at once; the table is small).
pub struct Categories(Mati);
/// Loads the responses of comments.
pub struct Responses(Mati);
/// Loads the events of comments.
pub struct Events(Mati);

/// Key of [`Children`]: the parent's code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChildrenOf(pub UnitCode);

type Shared = Arc<DomainError>;

impl Loader<UnitCode> for Units {
    type Value = AdminUnit;
    type Error = Shared;

    async fn load(&self, keys: &[UnitCode]) -> Result<HashMap<UnitCode, AdminUnit>, Shared> {
        let units = self.0.ports().geography.units(keys).await?;
        Ok(units.into_iter().map(|u| (u.code.clone(), u)).collect())
    }
}

impl Loader<ChildrenOf> for Children {
    type Value = Vec<AdminUnit>;
    type Error = Shared;

    async fn load(&self, keys: &[ChildrenOf]) -> Result<HashMap<ChildrenOf, Vec<AdminUnit>>, Shared> {
        let parents: Vec<UnitCode> = keys.iter().map(|k| k.0.clone()).collect();
        let mut grouped: HashMap<ChildrenOf, Vec<AdminUnit>> = keys.iter().map(|k| (k.clone(), Vec::new())).collect();
        for unit in self.0.ports().geography.children(&parents).await? {
            if let Some(parent) = unit.parent_code.clone() {
                grouped.entry(ChildrenOf(parent)).or_default().push(unit);
            }
        }
        Ok(grouped)
    }
}

impl Loader<String> for Categories {
    type Value = Category;
    type Error = Shared;

    async fn load(&self, _keys: &[String]) -> Result<HashMap<String, Category>, Shared> {
        let all = self.0.categories().await?;
        Ok(all.into_iter().map(|c| (c.code.clone(), c)).collect())
    }
}

fn grouped<T>(keys: &[CommentId], items: Vec<T>, id: impl Fn(&T) -> CommentId) -> HashMap<CommentId, Vec<T>> {
    let mut map: HashMap<CommentId, Vec<T>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for item in items {
        map.entry(id(&item)).or_default().push(item);
    }
    map
}

impl Loader<CommentId> for Responses {
    type Value = Vec<Response>;
    type Error = Shared;

    async fn load(&self, keys: &[CommentId]) -> Result<HashMap<CommentId, Vec<Response>>, Shared> {
        let items = self.0.ports().comments.responses(keys).await?;
        Ok(grouped(keys, items, |r| r.comment_id))
    }
}

impl Loader<CommentId> for Events {
    type Value = Vec<CommentEvent>;
    type Error = Shared;

    async fn load(&self, keys: &[CommentId]) -> Result<HashMap<CommentId, Vec<CommentEvent>>, Shared> {
        let items = self.0.ports().comments.events(keys).await?;
        Ok(grouped(keys, items, |e| e.comment_id))
    }
}

/// The loaders of one request (their caches must not outlive it).
pub struct Loaders {
    /// Units by code.
    pub units: DataLoader<Units>,
    /// Children by parent.
    pub children: DataLoader<Children>,
    /// Categories by code.
    pub categories: DataLoader<Categories>,
    /// Responses by comment.
    pub responses: DataLoader<Responses>,
    /// Events by comment.
    pub events: DataLoader<Events>,
}

impl Loaders {
    /// Fresh loaders for one request.
    pub fn new(mati: &Mati) -> Self {
        Self {
            units: DataLoader::new(Units(mati.clone()), tokio::spawn),
            children: DataLoader::new(Children(mati.clone()), tokio::spawn),
            categories: DataLoader::new(Categories(mati.clone()), tokio::spawn),
            responses: DataLoader::new(Responses(mati.clone()), tokio::spawn),
            events: DataLoader::new(Events(mati.clone()), tokio::spawn),
        }
    }
}

//! DataLoaders: one batched query per kind of related data per request, so a page of
//! comments costs the same number of statements whatever its size.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::Lookahead;
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use mati_domain::DomainError;
use mati_domain::category::Category;
use mati_domain::comment::{Comment, CommentEvent, CommentId, Response};
use mati_domain::geography::{AdminUnit, CommuneCentre, UnitCode};
use mati_domain::service::Mati;

/// Loads administrative units by code.
pub struct Units(Mati);
/// Loads the children of units by the parent's code.
pub struct Children(Mati);
/// Loads commune centres by the commune's code.
pub struct Centres(Mati);
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
        let units = self.0.units(keys).await?;
        Ok(units.into_iter().map(|u| (u.code.clone(), u)).collect())
    }
}

impl Loader<ChildrenOf> for Children {
    type Value = Vec<AdminUnit>;
    type Error = Shared;

    async fn load(&self, keys: &[ChildrenOf]) -> Result<HashMap<ChildrenOf, Vec<AdminUnit>>, Shared> {
        let parents: Vec<UnitCode> = keys.iter().map(|k| k.0.clone()).collect();
        let mut grouped: HashMap<ChildrenOf, Vec<AdminUnit>> = keys.iter().map(|k| (k.clone(), Vec::new())).collect();
        for unit in self.0.children_of(&parents).await? {
            if let Some(parent) = unit.parent_code.clone() {
                grouped.entry(ChildrenOf(parent)).or_default().push(unit);
            }
        }
        Ok(grouped)
    }
}

impl Loader<UnitCode> for Centres {
    type Value = CommuneCentre;
    type Error = Shared;

    async fn load(&self, keys: &[UnitCode]) -> Result<HashMap<UnitCode, CommuneCentre>, Shared> {
        let centres = self.0.commune_centres(keys).await?;
        Ok(centres.into_iter().map(|c| (c.code.clone(), c)).collect())
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
        let items = self.0.responses_of(keys).await?;
        Ok(grouped(keys, items, |r| r.comment_id))
    }
}

impl Loader<CommentId> for Events {
    type Value = Vec<CommentEvent>;
    type Error = Shared;

    async fn load(&self, keys: &[CommentId]) -> Result<HashMap<CommentId, Vec<CommentEvent>>, Shared> {
        let items = self.0.events_of(keys).await?;
        Ok(grouped(keys, items, |e| e.comment_id))
    }
}

type Cached<T> = DataLoader<T, HashMapCache>;

/// The loaders of one request. Their caches live as long as the request, so a page
/// of comments is loaded in one statement per kind of related data: [`Loaders::prefetch`]
/// fills them for the whole page before its nodes resolve.
pub struct Loaders {
    /// Units by code.
    pub units: Cached<Units>,
    /// Children by parent.
    pub children: Cached<Children>,
    /// Commune centres by commune.
    pub centres: Cached<Centres>,
    /// Categories by code.
    pub categories: Cached<Categories>,
    /// Responses by comment.
    pub responses: Cached<Responses>,
    /// Events by comment.
    pub events: Cached<Events>,
}

/// What a page's nodes will ask for, from the query's selection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Wanted {
    /// `responses` is selected.
    pub responses: bool,
    /// `events` is selected.
    pub events: bool,
    /// Some unit (commune, village, assigned, of responses or events) is selected.
    pub units: bool,
    /// `category` is selected.
    pub category: bool,
}

impl Wanted {
    /// What the selection `node` (a `Comment`) asks for.
    pub fn of(node: &Lookahead<'_>) -> Self {
        let responses = node.field("responses");
        let events = node.field("events");
        Self {
            responses: responses.exists(),
            events: events.exists(),
            units: ["commune", "village", "assignedUnit"]
                .iter()
                .any(|f| node.field(f).exists())
                || responses.field("unit").exists()
                || events.field("unit").exists()
                || events.field("fromUnit").exists(),
            category: node.field("category").exists(),
        }
    }
}

impl Loaders {
    /// Fresh loaders for one request.
    pub fn new(mati: &Mati) -> Self {
        fn cached<T>(loader: T) -> Cached<T>
        where
            T: Send + Sync + 'static,
        {
            DataLoader::with_cache(loader, tokio::spawn, HashMapCache::default())
        }
        Self {
            units: cached(Units(mati.clone())),
            children: cached(Children(mati.clone())),
            centres: cached(Centres(mati.clone())),
            categories: cached(Categories(mati.clone())),
            responses: cached(Responses(mati.clone())),
            events: cached(Events(mati.clone())),
        }
    }

    /// Turns the caches off, for a long-lived WebSocket connection whose events must
    /// show comments as they are now.
    pub fn without_cache(self) -> Self {
        self.units.enable_all_cache(false);
        self.children.enable_all_cache(false);
        self.centres.enable_all_cache(false);
        self.categories.enable_all_cache(false);
        self.responses.enable_all_cache(false);
        self.events.enable_all_cache(false);
        self
    }

    /// Loads what `wanted` says the nodes of `comments` need, one statement per kind,
    /// so that the cost of a page does not depend on its size.
    pub async fn prefetch(&self, comments: &[Comment], wanted: Wanted) -> Result<(), Shared> {
        let ids: Vec<CommentId> = comments.iter().map(|c| c.id).collect();
        let mut units: Vec<UnitCode> = Vec::new();
        if wanted.units {
            for comment in comments {
                units.push(comment.commune_code.clone());
                units.extend(comment.village_code.clone());
                units.extend(comment.assigned_unit.clone());
            }
        }
        if wanted.responses {
            let loaded = self.responses.load_many(ids.iter().copied()).await?;
            if wanted.units {
                units.extend(loaded.values().flatten().map(|r| r.unit.clone()));
            }
        }
        if wanted.events {
            let loaded = self.events.load_many(ids.iter().copied()).await?;
            if wanted.units {
                for event in loaded.values().flatten() {
                    units.extend(event.event.unit.clone());
                    units.extend(event.event.from_unit.clone());
                }
            }
        }
        if wanted.category {
            let codes = comments.iter().map(|c| c.category_code.clone());
            self.categories.load_many(codes).await?;
        }
        if !units.is_empty() {
            units.sort();
            units.dedup();
            self.units.load_many(units).await?;
        }
        Ok(())
    }
}

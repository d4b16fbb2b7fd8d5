//! The GraphQL API: one [`build_schema`] with the limits applied; per request, the
//! caller's principal and fresh DataLoaders are attached by the HTTP layer.

pub mod bounds;
pub mod contract;
pub mod error;
pub mod limits;
pub mod loaders;
pub mod mutation;
pub mod persisted;
pub mod query;
pub mod subscription;
pub mod types;

use async_graphql::extensions::apollo_persisted_queries::{ApolloPersistedQueries, LruCacheStorage};
use std::sync::Arc;

use async_graphql::{Context, Schema};
use mati_domain::auth::Principal;
use mati_domain::rate_limit::Origin;
use mati_domain::service::Mati;

use self::bounds::Bounds;
use self::error::Code;
use self::limits::{Kind, ShapeLimits};
use self::persisted::{AllowList, persisted_hash};
use crate::metrics::{Metrics, Observed};

pub use mutation::Mutation;
pub use query::Query;
pub use subscription::Subscription;

/// The services and the caller of a request, for resolvers.
pub(crate) fn context<'a>(ctx: &'a Context<'_>) -> async_graphql::Result<(&'a Mati, &'a Principal)> {
    Ok((ctx.data::<Mati>()?, ctx.data::<Principal>()?))
}

/// Where the request came from (set by the HTTP layer; unknown for other callers).
pub(crate) fn origin(ctx: &Context<'_>) -> Origin {
    ctx.data_opt::<Origin>().copied().unwrap_or_default()
}

/// What every transport checks before a document runs: in allow-list mode, that it is
/// registered (the registered text then runs, whatever was sent); always, that it keeps
/// within the shape limits. Its kind when admitted; the refusal's code and message when
/// not.
pub fn admit(
    request: &mut async_graphql::Request,
    allow_list: Option<&AllowList>,
    shape: &ShapeLimits,
) -> Result<Kind, (Code, String)> {
    if let Some(allowed) = allow_list {
        let Some(document) = allowed.resolve(&request.query, persisted_hash(request).as_deref()) else {
            return Err((
                Code::BadUserInput,
                "this document is not registered on this server".to_owned(),
            ));
        };
        request.query = document;
        request.extensions.remove("persistedQuery");
    }
    limits::check(&request.query, shape).map_err(|message| (Code::QueryTooComplex, message))
}

/// Mati's schema type.
pub type MatiSchema = Schema<Query, Mutation, Subscription>;

/// Limits on what one request may ask (from the settings, which hold their defaults).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest selection.
    pub depth: usize,
    /// Most fields, weighted.
    pub complexity: usize,
    /// Whether introspection and suggestions are on (development).
    pub introspection: bool,
}

/// Builds the schema over the application services.
pub fn build_schema(mati: Mati, limits: Limits, metrics: Arc<Metrics>) -> MatiSchema {
    let bounds = Bounds {
        depth: limits.depth,
        complexity: limits.complexity,
    };
    let builder = Schema::build(Query, Mutation, Subscription)
        .data(mati)
        .extension(ApolloPersistedQueries::new(LruCacheStorage::new(1000)))
        .extension(bounds)
        .extension(Observed(metrics));
    let builder = if limits.introspection {
        builder
    } else {
        builder.disable_introspection().disable_suggestions()
    };
    builder.finish()
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query, Mutation, Subscription).finish().sdl()
}

//! Relay-style connections. A cursor is the opaque encoding of a comment's id; pages are
//! keyset pages on the id, so a cursor stays valid however many comments arrive.

use async_graphql::{Context, Object, SimpleObject};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mati_domain::auth::Principal;
use mati_domain::comment::CommentId;
use mati_domain::service::{Listing, Mati};
use mati_domain::{DomainError, DomainResult};

use super::comment::Comment;
use crate::graphql::error::ToGraphql;
use crate::graphql::limits::AGGREGATE_COST;
use crate::graphql::loaders::{Loaders, Wanted};
use crate::graphql::origin;

const PREFIX: &str = "comment:";

/// The opaque cursor of a comment.
pub fn cursor(id: CommentId) -> String {
    URL_SAFE_NO_PAD.encode(format!("{PREFIX}{id}"))
}

/// The comment id inside a cursor sent as `after`.
pub fn parse_cursor(raw: &str) -> DomainResult<CommentId> {
    URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix(PREFIX).and_then(|id| id.parse().ok()))
        .ok_or_else(|| DomainError::invalid("after", "is not a cursor from this API", "ទីតាំងទំព័រមិនត្រឹមត្រូវ"))
}

/// Pagination state.
#[derive(SimpleObject)]
pub struct PageInfo {
    /// Whether another page follows.
    has_next_page: bool,
    /// Cursor of the last edge, to pass as `after`.
    end_cursor: Option<String>,
}

/// A comment and its cursor.
#[derive(SimpleObject)]
pub struct CommentEdge {
    /// Opaque position.
    cursor: String,
    /// The comment.
    node: Comment,
}

/// A page of comments.
pub struct CommentConnection {
    listing: Listing,
    viewer: Principal,
}

impl CommentConnection {
    /// The page as `viewer` sees it.
    pub fn new(listing: Listing, viewer: Principal) -> Self {
        Self { listing, viewer }
    }
}

#[Object]
impl CommentConnection {
    /// The comments of this page, newest first.
    async fn edges(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CommentEdge>> {
        let wanted = Wanted::of(&ctx.look_ahead().field("node"));
        ctx.data::<Loaders>()?
            .prefetch(&self.listing.page.items, wanted)
            .await
            .gql()?;
        Ok(self
            .listing
            .page
            .items
            .iter()
            .map(|c| CommentEdge {
                cursor: cursor(c.id),
                node: Comment::for_viewer(c.clone(), &self.viewer),
            })
            .collect())
    }

    /// Where this page stands.
    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.listing.page.has_next,
            end_cursor: self.listing.page.items.last().map(|c| cursor(c.id)),
        }
    }

    /// How many comments the whole listing holds (counted only when asked for: an
    /// aggregate, limited like statistics).
    #[graphql(complexity = "AGGREGATE_COST")]
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        let count = ctx
            .data::<Mati>()?
            .count(&self.listing.query, &origin(ctx))
            .await
            .gql()?;
        Ok(i64::try_from(count).unwrap_or(i64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_anything_else() {
        assert_eq!(parse_cursor(&cursor(CommentId::new(42))), Ok(CommentId::new(42)));
        assert!(parse_cursor("42").is_err());
        assert!(parse_cursor(&URL_SAFE_NO_PAD.encode("user:42")).is_err());
    }
}

//! Limits on the shape of a request, checked on the document before it runs: tokens,
//! aliases, root fields, directives, and nesting beyond what the parser goes. (Depth and complexity are async-graphql's own
//! limits, set in [`super::build_schema`]; a paged list costs by its page size, see
//! [`page_cost`], and an aggregate [`AGGREGATE_COST`].) A request over one is refused whole with QUERY_TOO_COMPLEX and a
//! short message.

use async_graphql::parser::types::{ExecutableDocument, Field, OperationType, Selection, SelectionSet};
use async_graphql::parser::{Error as ParseError, parse_query};
use mati_domain::service::MAX_PAGE;

/// The limits (settings `MATI_MAX_TOKENS`, `MATI_MAX_ALIASES`, `MATI_MAX_ROOT_FIELDS`,
/// `MATI_MAX_DIRECTIVES`, declared with their defaults in [`crate::settings::GraphqlSettings`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShapeLimits {
    /// Lexical tokens in the document.
    pub tokens: usize,
    /// Aliased fields in the document.
    pub aliases: usize,
    /// Fields at the root of one operation.
    pub root_fields: usize,
    /// Directives in the document.
    pub directives: usize,
}

/// Page size when `first` is not given.
pub const DEFAULT_PAGE: i32 = 20;

/// How many communes `communesNear` returns when `first` is not given.
pub const DEFAULT_NEARBY: i32 = 5;

/// How many children a unit is assumed to have when pricing `children` (a district has
/// up to a few dozen communes, a commune up to a few dozen villages).
pub const CHILDREN_COST: usize = 25;

/// What a field that aggregates many comments costs (statistics, their breakdowns,
/// rankings, `totalCount`): about as much as a page of 50 comments with a few fields
/// each, so that a dashboard's handful of aggregates fits in a request and dozens do not.
pub const AGGREGATE_COST: usize = 250;

/// Rows a breakdown by category may return (the table has 13 categories).
pub const CATEGORY_ROWS: usize = 15;
/// Rows a breakdown by month is assumed to return (a year).
pub const MONTH_ROWS: usize = 12;
/// Rows of a breakdown by gender.
pub const GENDER_ROWS: usize = 4;

/// The complexity of a paged list field: each of the `first` items it may return costs
/// what one item's selection costs (`first` clamped as the services clamp it), so
/// `comments(first: 100) { … }` costs five times `comments(first: 20) { … }`.
pub fn page_cost(first: Option<i32>, child_complexity: usize) -> usize {
    let page = first
        .unwrap_or(DEFAULT_PAGE)
        .clamp(1, i32::try_from(MAX_PAGE).unwrap_or(i32::MAX));
    usize::try_from(page)
        .unwrap_or(1)
        .saturating_mul(child_complexity)
        .saturating_add(1)
}

/// How many times `name` is selected directly in `field`'s selection set (inline
/// fragments included; named fragments are not looked into).
fn selected(field: &Field, name: &str) -> usize {
    fn count(set: &SelectionSet, name: &str) -> usize {
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(field) => usize::from(field.node.name.node == name),
                Selection::InlineFragment(inline) => count(&inline.node.selection_set.node, name),
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    count(&field.selection_set.node, name)
}

/// The complexity of a connection (`comments`, `inbox`, `myComments`) as written in
/// `field`: its edges cost `first` times an edge ([`page_cost`]), while each
/// `totalCount` — one aggregate over the whole listing, [`AGGREGATE_COST`] — counts
/// once. A `totalCount` inside a named fragment is priced per edge: more, never less.
/// (`field` is the connection field as async-graphql hands it to a complexity
/// expression, where it is named `__field`.)
pub fn connection_cost(first: Option<i32>, child_complexity: usize, field: &Field) -> usize {
    let once = (selected(field, "totalCount") * AGGREGATE_COST).min(child_complexity);
    page_cost(first, child_complexity - once).saturating_add(once)
}

/// What a document is, as far as the transports care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only reads: the one kind allowed over GET.
    Query,
    /// Only subscriptions: the one kind allowed over the WebSocket.
    Subscription,
    /// Changes something, or mixes kinds.
    Other,
}

/// Counts the lexical tokens of a GraphQL document (names, numbers, strings,
/// punctuators), without building anything.
pub fn count_tokens(source: &str) -> usize {
    let bytes = source.as_bytes();
    let (mut i, mut count) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' => {
                count += 1;
                if bytes[i..].starts_with(b"\"\"\"") {
                    i += 3;
                    while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    i += 3;
                } else {
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    i += 1;
                }
            }
            b'.' if bytes[i..].starts_with(b"...") => {
                count += 1;
                i += 3;
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' => {
                count += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'.' | b'-' | b'+'))
                {
                    i += 1;
                }
            }
            _ => {
                count += 1;
                i += 1;
            }
        }
    }
    count
}

#[derive(Default)]
struct Counts {
    aliases: usize,
    directives: usize,
}

fn walk(set: &SelectionSet, counts: &mut Counts) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                counts.aliases += usize::from(field.node.alias.is_some());
                counts.directives += field.node.directives.len();
                walk(&field.node.selection_set.node, counts);
            }
            Selection::FragmentSpread(spread) => counts.directives += spread.node.directives.len(),
            Selection::InlineFragment(inline) => {
                counts.directives += inline.node.directives.len();
                walk(&inline.node.selection_set.node, counts);
            }
        }
    }
}

fn shape(document: &ExecutableDocument) -> (Counts, usize, Kind) {
    let mut counts = Counts::default();
    let mut root_fields = 0;
    let mut kind = None;
    for (_, operation) in document.operations.iter() {
        let operation = &operation.node;
        let this = match operation.ty {
            OperationType::Query => Kind::Query,
            OperationType::Subscription => Kind::Subscription,
            OperationType::Mutation => Kind::Other,
        };
        kind = match kind {
            Some(seen) if seen != this => Some(Kind::Other),
            _ => Some(this),
        };
        counts.directives += operation.directives.len();
        root_fields = root_fields.max(operation.selection_set.node.items.len());
        walk(&operation.selection_set.node, &mut counts);
    }
    for fragment in document.fragments.values() {
        counts.directives += fragment.node.directives.len();
        walk(&fragment.node.selection_set.node, &mut counts);
    }
    (counts, root_fields, kind.unwrap_or(Kind::Query))
}

/// Checks `source` against `limits`; the refusal's message when over one, or when it
/// nests deeper than the parser goes. A document that does not parse for any other
/// reason passes here and gets the parser's own error when it runs.
pub fn check(source: &str, limits: &ShapeLimits) -> Result<Kind, String> {
    let tokens = count_tokens(source);
    if tokens > limits.tokens {
        return Err(format!(
            "the query has {tokens} tokens; at most {} are allowed",
            limits.tokens
        ));
    }
    let document = match parse_query(source) {
        Ok(document) => document,
        // The parser stops at a nesting of its own (64 selection sets): that is a
        // query over a limit like the depth rule's, not a malformed one.
        Err(ParseError::RecursionLimitExceeded) => {
            return Err("the query's selections are nested deeper than the parser allows".to_owned());
        }
        Err(_) => return Ok(Kind::Query),
    };
    let (counts, root_fields, kind) = shape(&document);
    let over = [
        (counts.aliases, limits.aliases, "aliases"),
        (root_fields, limits.root_fields, "root fields"),
        (counts.directives, limits.directives, "directives"),
    ];
    for (count, limit, what) in over {
        if count > limit {
            return Err(format!("the query has {count} {what}; at most {limit} are allowed"));
        }
    }
    Ok(kind)
}

/// What `source` holds: only queries, only subscriptions, or anything else. A document
/// that does not parse counts as a query (and gets the parser's error when it runs).
pub fn kind(source: &str) -> Kind {
    parse_query(source).map(|d| shape(&d).2).unwrap_or(Kind::Query)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_counted_like_a_lexer_would() {
        assert_eq!(count_tokens("{ a }"), 3);
        assert_eq!(count_tokens("query Q($x: Int = 5) { a(x: $x) @skip(if: false) }"), 26);
        assert_eq!(count_tokens("{ a(s: \"x y, z\") } # comment"), 8);
        assert_eq!(count_tokens("{ ...F } fragment F on T { b }"), 11);
    }

    #[test]
    fn aliases_root_fields_and_directives_are_limited() {
        let limits = ShapeLimits {
            tokens: 1000,
            aliases: 2,
            root_fields: 3,
            directives: 1,
        };
        assert_eq!(check("{ a b c }", &limits), Ok(Kind::Query));
        assert!(check("{ a b c d }", &limits).is_err_and(|m| m.contains("root fields")));
        assert!(check("{ x: a y: a z: a }", &limits).is_err_and(|m| m.contains("aliases")));
        assert!(check("{ a @skip(if: true) b @skip(if: true) }", &limits).is_err_and(|m| m.contains("directives")));
        let tiny = ShapeLimits { tokens: 5, ..limits };
        assert!(check("{ a b c d e f }", &tiny).is_err_and(|m| m.contains("tokens")));
    }

    #[test]
    fn a_connection_counts_its_total_once_and_its_edges_per_item() {
        let document = parse_query("{ comments(first: 50) { totalCount edges { node { id } } } }");
        let Ok(document) = document else {
            panic!("the document parses")
        };
        let operation = document.operations.iter().next().map(|(_, op)| op.node.clone());
        let Some(Selection::Field(field)) =
            operation.and_then(|op| op.selection_set.node.items.first().map(|s| s.node.clone()))
        else {
            panic!("a root field")
        };
        // Children: totalCount (250) + edges (1 + node (1 + id 1)) = 253.
        assert_eq!(connection_cost(Some(50), 253, &field.node), 50 * 3 + 1 + AGGREGATE_COST);
        assert_eq!(
            page_cost(Some(50), 253),
            50 * 253 + 1,
            "without the total, every child is per item"
        );
    }

    #[test]
    fn a_query_nested_deeper_than_the_parser_goes_is_over_a_limit() {
        let limits = ShapeLimits {
            tokens: 1000,
            aliases: 30,
            root_fields: 20,
            directives: 20,
        };
        let nested = |depth: usize| format!("{}a{}", "{ b ".repeat(depth), " }".repeat(depth));
        assert_eq!(check(&nested(60), &limits), Ok(Kind::Query));
        assert!(check(&nested(70), &limits).is_err_and(|m| m.contains("nested deeper")));
        // A malformed document is left to the parser's own error.
        assert_eq!(check("{ a", &limits), Ok(Kind::Query));
    }

    #[test]
    fn mutations_and_subscriptions_are_told_from_queries() {
        assert_eq!(kind("{ a }"), Kind::Query);
        assert_eq!(kind("query { a }"), Kind::Query);
        assert_eq!(kind("mutation { a }"), Kind::Other);
        assert_eq!(kind("query A { a } mutation B { b }"), Kind::Other);
        assert_eq!(kind("subscription { a }"), Kind::Subscription);
        assert_eq!(kind("subscription A { a } subscription B { b }"), Kind::Subscription);
        assert_eq!(kind("subscription A { a } query B { b }"), Kind::Other);
    }
}

//! Persisted queries, so that phones on slow links send a hash instead of a document.
//!
//! - Automatic (always on): a client sends `extensions.persistedQuery.sha256Hash`; an
//!   unknown hash is answered `PersistedQueryNotFound` and the client sends the document
//!   once with its hash (the Apollo protocol). Each replica remembers 1,000 documents.
//! - Allow-list (`MATI_ALLOWED_QUERIES=FILE`, a JSON object of SHA-256 hex → document):
//!   only registered documents run, by hash or in full; anything else is refused. For
//!   production apps whose every operation is known at build time.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use sha2::{Digest, Sha256};

/// The registered documents, by the hex SHA-256 of their text.
#[derive(Debug, Clone, Default)]
pub struct AllowList(HashMap<String, String>);

/// The hex SHA-256 of a document, as clients compute it.
pub fn hash(document: &str) -> String {
    Sha256::digest(document.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl AllowList {
    /// Reads `{ "<sha256 hex>": "<document>", … }`; every hash must match its document.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let map: HashMap<String, String> = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a JSON object of strings", path.display()))?;
        if let Some((key, _)) = map.iter().find(|(key, document)| **key != hash(document)) {
            anyhow::bail!("{}: {key} is not the SHA-256 of its document", path.display());
        }
        Ok(Self(map))
    }

    /// The document to run for a request that sent `query` (maybe empty) and maybe a
    /// persisted-query hash; `None` when it is not registered.
    pub fn resolve(&self, query: &str, persisted: Option<&str>) -> Option<String> {
        let key = if query.is_empty() {
            persisted?.to_owned()
        } else {
            hash(query)
        };
        self.0.get(&key).cloned()
    }
}

/// The persisted-query hash a request carries in `extensions.persistedQuery.sha256Hash`.
pub fn persisted_hash(request: &async_graphql::Request) -> Option<String> {
    let value = request.extensions.get("persistedQuery")?.clone().into_json().ok()?;
    value.get("sha256Hash")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_documents_resolve_by_text_or_hash_and_others_do_not() {
        let document = "{ categories { code } }";
        let list = AllowList(HashMap::from([(hash(document), document.to_owned())]));
        assert_eq!(list.resolve(document, None).as_deref(), Some(document));
        assert_eq!(list.resolve("", Some(&hash(document))).as_deref(), Some(document));
        assert_eq!(list.resolve("{ comments { totalCount } }", None), None);
        assert_eq!(list.resolve("", Some("00")), None);
        assert_eq!(hash("").len(), 64);
    }
}

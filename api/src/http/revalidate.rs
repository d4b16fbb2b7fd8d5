//! Revalidation: an `ETag` on answers to GET, and `304 Not Modified` for a client that
//! holds the answer already.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::failure::{Failure, RequestId};
use crate::graphql::error::Code;

/// A GET's answer with an `ETag` of its body and `cache` as its `Cache-Control`, or
/// `304 Not Modified` when the client holds that body already (`If-None-Match`): a
/// phone asks again for the gazetteer or a page and downloads it only when it changed.
pub async fn revalidated(answer: Response, headers: &HeaderMap, cache: &'static str, id: &RequestId) -> Response {
    if answer.status() != StatusCode::OK {
        return answer;
    }
    let (mut parts, body) = answer.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return Failure::refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            Code::Internal,
            "the answer could not be read",
        )
        .answer(id);
    };
    let digest = Sha256::digest(&body);
    let tag = format!(
        "\"{}\"",
        digest.iter().take(16).map(|b| format!("{b:02x}")).collect::<String>()
    );
    let Ok(etag) = HeaderValue::from_str(&tag) else {
        return Response::from_parts(parts, Body::from(body));
    };
    parts.headers.insert(header::ETAG, etag.clone());
    parts
        .headers
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    let held = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|candidate| {
            let candidate = candidate.trim();
            candidate == "*" || candidate.trim_start_matches("W/") == tag
        });
    if held {
        let mut not_modified = StatusCode::NOT_MODIFIED.into_response();
        for name in [header::ETAG, header::CACHE_CONTROL] {
            if let Some(value) = parts.headers.get(&name) {
                not_modified.headers_mut().insert(name, value.clone());
            }
        }
        return not_modified;
    }
    Response::from_parts(parts, Body::from(body))
}

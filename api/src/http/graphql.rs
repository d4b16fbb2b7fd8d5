//! `POST /graphql` (and `GET /graphql?query=…` for queries): one operation per request,
//! `application/json` only, so that no cross-site form can reach a mutation.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mati_domain::rate_limit::Origin;

use super::AppState;
use super::failure::{Failure, RequestId, code_of, retry_after_of, status_of};
use super::origin::Client;
use super::revalidate::revalidated;
use crate::graphql;
use crate::graphql::error::{Code, finish};
use crate::graphql::limits::{self, Kind};
use crate::graphql::loaders::Loaders;

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

fn bearer(headers: &HeaderMap) -> Result<Option<String>, ()> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ())?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err(()),
    }
}

fn response_type(headers: &HeaderMap) -> &'static str {
    let wants_graphql = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/graphql-response+json"));
    if wants_graphql {
        "application/graphql-response+json"
    } else {
        "application/json"
    }
}

pub(super) async fn graphql(
    State(state): State<AppState>,
    Client(origin): Client,
    Extension(id): Extension<RequestId>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Failure::transport(StatusCode::PAYLOAD_TOO_LARGE, "the request body is larger than 64 KiB")
                .answer(&id);
        }
        Err(rejection) => {
            return Failure::transport(rejection.status(), "the request body could not be read").answer(&id);
        }
    };
    match requests_from(&state, &headers, &body) {
        Ok((requests, batch)) => run(state, &headers, requests, batch, origin, &id).await,
        Err(refusal) => refusal.answer(&id),
    }
}

/// A request refused before it ran (boxed: a failure is large next to a request).
type Refusal = Box<Failure>;

fn refused(status: StatusCode, message: &str) -> Refusal {
    Box::new(Failure::transport(status, message))
}

/// One GraphQL request from its JSON form.
fn request_from(value: serde_json::Value) -> Result<async_graphql::Request, Refusal> {
    // async-graphql would read a missing query as an empty one; it is a malformed
    // request, unless it names a persisted query instead.
    let persisted = value
        .pointer("/extensions/persistedQuery/sha256Hash")
        .is_some_and(serde_json::Value::is_string);
    if !persisted && !value.get("query").is_some_and(serde_json::Value::is_string) {
        return Err(refused(
            StatusCode::BAD_REQUEST,
            "the body must be a GraphQL request with a \"query\" string",
        ));
    }
    serde_json::from_value(value).map_err(|_| {
        refused(
            StatusCode::BAD_REQUEST,
            "the body must be a GraphQL request: {\"query\": …, \"variables\": …}",
        )
    })
}

/// The requests of a POST body: one, or a batch when batches are enabled and it is
/// small enough.
fn requests_from(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Vec<async_graphql::Request>, bool), Refusal> {
    if !is_json(headers) {
        return Err(refused(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send GraphQL requests as application/json",
        ));
    }
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| refused(StatusCode::BAD_REQUEST, "the body is not valid JSON"))?;
    match value {
        serde_json::Value::Array(_) if state.max_batch == 0 => {
            Err(refused(StatusCode::BAD_REQUEST, "batched requests are not accepted"))
        }
        serde_json::Value::Array(items) if items.is_empty() || items.len() > state.max_batch => Err(refused(
            StatusCode::BAD_REQUEST,
            &format!("a batch holds 1 to {} requests", state.max_batch),
        )),
        serde_json::Value::Array(items) => Ok((items.into_iter().map(request_from).collect::<Result<_, _>>()?, true)),
        single => Ok((vec![request_from(single)?], false)),
    }
}

/// `GET /graphql?query=…[&variables=…][&operationName=…]`: queries only; without a
/// query, GraphiQL (in development).
pub(super) async fn graphql_get(
    State(state): State<AppState>,
    Client(origin): Client,
    Extension(id): Extension<RequestId>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some(query) = params.get("query") else {
        return super::graphiql(state, &id).await;
    };
    if limits::kind(query) != Kind::Query {
        return Failure::transport(StatusCode::METHOD_NOT_ALLOWED, "mutations and subscriptions need POST")
            .allow("POST")
            .answer(&id);
    }
    let mut request = async_graphql::Request::new(query.clone());
    if let Some(name) = params.get("operationName") {
        request = request.operation_name(name.clone());
    }
    if let Some(raw) = params.get("variables") {
        match serde_json::from_str::<serde_json::Value>(raw) {
            Ok(value) => request = request.variables(async_graphql::Variables::from_json(value)),
            Err(_) => return Failure::transport(StatusCode::BAD_REQUEST, "variables must be JSON").answer(&id),
        }
    }
    let answer = run(state, &headers, vec![request], false, origin, &id).await;
    // `private` keeps a signed-in caller's answers out of shared caches.
    let cache = if headers.contains_key(header::AUTHORIZATION) {
        "private, no-cache"
    } else {
        "no-cache"
    };
    revalidated(answer, &headers, cache, &id).await
}

async fn run(
    state: AppState,
    headers: &HeaderMap,
    requests: Vec<async_graphql::Request>,
    batch: bool,
    origin: Origin,
    id: &RequestId,
) -> Response {
    let mut requests = requests;
    for request in &mut requests {
        if let Err((code, message)) = graphql::admit(request, state.allow_list.as_deref(), &state.shape) {
            return Failure::refused(StatusCode::OK, code, &message).answer(id);
        }
    }
    let Ok(token) = bearer(headers) else {
        return Failure::refused(
            StatusCode::UNAUTHORIZED,
            Code::Unauthenticated,
            "the Authorization header must be 'Bearer <token>'",
        )
        .answer(id);
    };
    let principal = match state.mati.authenticate(token.as_deref()).await {
        Ok(principal) => principal,
        Err(err) => return Failure::domain(err).answer(id),
    };
    let mut responses = Vec::with_capacity(requests.len());
    for request in requests {
        let request = request
            .data(principal.clone())
            .data(Loaders::new(&state.mati))
            .data(origin)
            .data(Bearer(token.clone()));
        let mut response = state.schema.execute(request).await;
        finish(&mut response.errors, id.as_str());
        responses.push(response);
    }
    let refused = if batch {
        None
    } else {
        responses.first().and_then(refused_for)
    };
    // GraphQL over HTTP: with its own media type, a request that never ran (it did not
    // parse, validate or coerce its variables) is a 400 without a `data` entry.
    let modern = response_type(headers) == "application/graphql-response+json";
    let never_ran = !batch && modern && responses.first().is_some_and(is_request_error);
    let body = if batch {
        serde_json::to_string(&responses)
    } else if never_ran {
        serde_json::to_value(responses.first()).map(|mut value| {
            if let Some(object) = value.as_object_mut() {
                object.remove("data");
            }
            value.to_string()
        })
    } else {
        serde_json::to_string(&responses.first())
    };
    let status = if never_ran {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    match body {
        Ok(body) => match refused {
            // The whole request was refused by a rate limit or for want of capacity:
            // say so in HTTP too.
            Some((status, retry_after)) => (
                status,
                [
                    (header::CONTENT_TYPE, response_type(headers).to_owned()),
                    (header::RETRY_AFTER, retry_after.to_string()),
                ],
                body,
            )
                .into_response(),
            None => (status, [(header::CONTENT_TYPE, response_type(headers))], body).into_response(),
        },
        Err(err) => {
            tracing::error!(error = %err, "response serialisation failed");
            Failure::refused(StatusCode::INTERNAL_SERVER_ERROR, Code::Internal, "internal error").answer(id)
        }
    }
}

/// The caller's bearer token, for `logout`.
#[derive(Debug, Clone)]
pub struct Bearer(pub Option<String>);

/// Whether a response is a request error: nothing ran, and no error belongs to a field.
fn is_request_error(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
        && refused_for(response).is_none()
}

/// The status and seconds to wait, when nothing of the response succeeded and only
/// limits (429) or a lack of capacity (503) refused it: every error is such a refusal,
/// and every root field is null because of one (a field that is null for its own
/// reason, or an error of another kind, makes the answer a plain 200).
fn refused_for(response: &async_graphql::Response) -> Option<(StatusCode, u64)> {
    let mut refusals = Vec::with_capacity(response.errors.len());
    for error in &response.errors {
        let status = status_of(code_of(error)?);
        if status != StatusCode::TOO_MANY_REQUESTS && status != StatusCode::SERVICE_UNAVAILABLE {
            return None;
        }
        let seconds = retry_after_of(error)?;
        let root = match error.path.first() {
            Some(async_graphql::PathSegment::Field(name)) => Some(name.as_str()),
            _ => None,
        };
        refusals.push((status, seconds, root));
    }
    let all_refused = match &response.data {
        async_graphql::Value::Null => true,
        async_graphql::Value::Object(fields) => fields.iter().all(|(name, value)| {
            *value == async_graphql::Value::Null && refusals.iter().any(|(_, _, root)| *root == Some(name.as_str()))
        }),
        _ => false,
    };
    if !all_refused {
        return None;
    }
    refusals
        .into_iter()
        .map(|(status, seconds, _)| (status, seconds))
        .max_by_key(|(_, seconds)| *seconds)
}

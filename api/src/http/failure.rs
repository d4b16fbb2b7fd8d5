//! The one place an HTTP error answer is built: its status, its GraphQL-shaped body (the
//! codes of [`crate::graphql::error`]), the request id and `Retry-After`. The request id
//! itself comes from one middleware, [`request_id`], so the id in a client's answer is
//! the id in the log.

use std::sync::Arc;

use async_graphql::{ServerError, Value};
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mati_domain::DomainError;
use serde_json::json;
use tracing::Instrument;

use crate::graphql::error::{Code, finish, refusal, server_error, to_graphql};

/// The header that carries the request id.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of one HTTP request (a WebSocket's upgrade request names its connection).
#[derive(Debug, Clone)]
pub struct RequestId(Arc<str>);

impl RequestId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Mints the request id, runs the request inside a span carrying it, and returns it in
/// `x-request-id` on every answer.
pub async fn request_id(mut request: Request, next: Next) -> Response {
    let id = RequestId(uuid::Uuid::new_v4().to_string().into());
    request.extensions_mut().insert(id.clone());
    let span = tracing::info_span!("request", request_id = %id.as_str());
    let mut response = next.run(request).instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(id.as_str()) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// The HTTP status of an answer that ran nothing because of an error with this code.
pub fn status_of(code: &str) -> StatusCode {
    match code {
        c if c == Code::Unauthenticated.as_str() => StatusCode::UNAUTHORIZED,
        c if c == Code::Forbidden.as_str() => StatusCode::FORBIDDEN,
        c if c == Code::BadUserInput.as_str() => StatusCode::BAD_REQUEST,
        c if c == Code::NotFound.as_str() => StatusCode::NOT_FOUND,
        c if c == Code::Conflict.as_str() => StatusCode::CONFLICT,
        c if c == Code::RateLimited.as_str() => StatusCode::TOO_MANY_REQUESTS,
        c if c == Code::ServiceUnavailable.as_str() => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The code of an error, as sent.
pub fn code_of(error: &ServerError) -> Option<&str> {
    match error.extensions.as_ref()?.get("code") {
        Some(Value::String(code)) => Some(code),
        _ => None,
    }
}

/// Seconds to wait before retrying, when the error says.
pub fn retry_after_of(error: &ServerError) -> Option<u64> {
    match error.extensions.as_ref()?.get("retryAfterSeconds") {
        Some(Value::Number(seconds)) => seconds.as_u64(),
        _ => None,
    }
}

/// An error answer, before it is sent.
#[derive(Debug)]
pub struct Failure {
    status: StatusCode,
    error: ServerError,
    allow: Option<&'static str>,
}

impl Failure {
    /// A domain error: its code decides the status.
    pub fn domain(err: DomainError) -> Self {
        let error = server_error(to_graphql(err));
        let status = code_of(&error).map_or(StatusCode::INTERNAL_SERVER_ERROR, status_of);
        Self {
            status,
            error,
            allow: None,
        }
    }

    /// A request refused by the transport (size, media type, method, malformed JSON):
    /// BAD_USER_INPUT with the status that names what was wrong.
    pub fn transport(status: StatusCode, message: &str) -> Self {
        Self::refused(status, Code::BadUserInput, message)
    }

    /// A request refused before it ran, with `code`, answered with `status` (GraphQL's
    /// own refusals, such as a shape limit, are answered 200 like any GraphQL error).
    pub fn refused(status: StatusCode, code: Code, message: &str) -> Self {
        Self {
            status,
            error: server_error(refusal(code, message.to_owned())),
            allow: None,
        }
    }

    /// The status it is answered with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What the client is told (never an internal cause).
    pub fn message(&self) -> &str {
        &self.error.message
    }

    /// Seconds to wait before retrying, when the error says.
    pub fn retry_after(&self) -> Option<u64> {
        retry_after_of(&self.error)
    }

    /// Names the methods that would have been allowed (405).
    pub fn allow(mut self, methods: &'static str) -> Self {
        self.allow = Some(methods);
        self
    }

    /// The answer: `{"errors": [...]}` with the request id where the cause is hidden,
    /// and `Retry-After` when the error says how long to wait.
    pub fn answer(self, id: &RequestId) -> Response {
        let mut errors = vec![self.error];
        finish(&mut errors, id.as_str());
        let retry_after = errors.first().and_then(retry_after_of);
        let body = json!({ "errors": errors });
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(methods) = self.allow {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(methods));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn each_domain_error_gets_the_status_of_its_code() {
        let cases = [
            (DomainError::Unauthenticated, StatusCode::UNAUTHORIZED),
            (DomainError::forbidden("no"), StatusCode::FORBIDDEN),
            (DomainError::invalid("f", "bad", "bad"), StatusCode::BAD_REQUEST),
            (DomainError::NotFound("comment".into()), StatusCode::NOT_FOUND),
            (DomainError::Conflict("no".into()), StatusCode::CONFLICT),
            (
                DomainError::RateLimited {
                    retry_after: Duration::from_millis(1500),
                },
                StatusCode::TOO_MANY_REQUESTS,
            ),
            (
                DomainError::Busy {
                    retry_after: Duration::from_secs(2),
                },
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (DomainError::Unavailable("down".into()), StatusCode::SERVICE_UNAVAILABLE),
            (DomainError::Internal("bug".into()), StatusCode::INTERNAL_SERVER_ERROR),
        ];
        for (err, status) in cases {
            assert_eq!(Failure::domain(err).status, status);
        }
    }

    #[tokio::test]
    async fn an_answer_carries_the_request_id_of_a_hidden_cause_and_the_wait() {
        let id = RequestId("r-1".into());
        let answer = Failure::domain(DomainError::Internal("secret detail".into())).answer(&id);
        assert_eq!(answer.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(answer.into_body(), 4096).await.unwrap_or_default();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(body["errors"][0]["extensions"]["requestId"], "r-1");
        assert_eq!(body["errors"][0]["extensions"]["code"], "INTERNAL");
        assert!(!body.to_string().contains("secret detail"));
        let limited = Failure::domain(DomainError::RateLimited {
            retry_after: Duration::from_millis(1500),
        })
        .answer(&id);
        assert_eq!(
            limited.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()),
            Some("2")
        );
    }
}

//! The one place where errors become GraphQL errors with the stable `extensions.code`
//! of PRODUCT.md §7. Internal details go to the log with the request id, never to the
//! client.

use async_graphql::{ErrorExtensionValues, ServerError, Value};
use mati_domain::DomainError;

/// The codes a client can rely on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// No or unknown token.
    Unauthenticated,
    /// Known caller, not allowed.
    Forbidden,
    /// Invalid input; `field` names it.
    BadUserInput,
    /// Nothing there.
    NotFound,
    /// The state does not allow it, or an input conflicts with what is stored under it
    /// (`field` names it).
    Conflict,
    /// Too many requests.
    RateLimited,
    /// Over a query limit.
    QueryTooComplex,
    /// A backend is down; retry.
    ServiceUnavailable,
    /// A bug.
    Internal,
}

impl Code {
    /// As sent in `extensions.code`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::NotFound => "NOT_FOUND",
            Self::Conflict => "CONFLICT",
            Self::RateLimited => "RATE_LIMITED",
            Self::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Self::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Self::Internal => "INTERNAL",
        }
    }
}

fn with_code(message: String, code: Code, km: Option<&str>) -> async_graphql::Error {
    let mut error = async_graphql::Error::new(message);
    let mut ext = ErrorExtensionValues::default();
    ext.set("code", code.as_str());
    if let Some(km) = km {
        ext.set("messageKm", km);
    }
    error.extensions = Some(ext);
    error
}

/// Adds `extensions.field`: the input at fault, as the client named it.
fn with_field(mut error: async_graphql::Error, field: String) -> async_graphql::Error {
    if let Some(ext) = error.extensions.as_mut() {
        ext.set("field", field);
    }
    error
}

/// Adds `extensions.retryAfterSeconds`, rounded up: a client that waits exactly this
/// long must find the way open.
fn with_retry_after(mut error: async_graphql::Error, retry_after: std::time::Duration) -> async_graphql::Error {
    if let Some(ext) = error.extensions.as_mut() {
        let seconds = u64::try_from(retry_after.as_millis().div_ceil(1000)).unwrap_or(u64::MAX);
        ext.set("retryAfterSeconds", seconds.max(1));
    }
    error
}

/// A request refused before it ran, with its code.
pub fn refusal(code: Code, message: String) -> async_graphql::Error {
    with_code(message, code, None)
}

/// An error outside of execution (no path, no location), as sent in `errors`.
pub fn server_error(error: async_graphql::Error) -> ServerError {
    let mut server = ServerError::new(error.message, None);
    server.extensions = error.extensions;
    server
}

/// Turns a domain error into a GraphQL error, logging what must not be shown.
pub fn to_graphql(err: DomainError) -> async_graphql::Error {
    match err {
        DomainError::Unauthenticated => with_code(
            "authentication required: send a valid bearer token".into(),
            Code::Unauthenticated,
            Some("សូមចូលប្រើប្រាស់ជាមុនសិន"),
        ),
        DomainError::Forbidden(message) => with_code(message, Code::Forbidden, Some("អ្នកមិនមានសិទ្ធិធ្វើសកម្មភាពនេះទេ")),
        DomainError::InvalidInput {
            field,
            message,
            message_km,
        } => with_field(
            with_code(format!("{field}: {message}"), Code::BadUserInput, Some(&message_km)),
            field,
        ),
        DomainError::NotFound(what) => with_code(format!("{what} not found"), Code::NotFound, Some("រកមិនឃើញទេ")),
        DomainError::Conflict(message) => {
            with_code(message, Code::Conflict, Some("សកម្មភាពនេះមិនអាចធ្វើបានក្នុងស្ថានភាពបច្ចុប្បន្នទេ"))
        }
        DomainError::ConflictingInput {
            field,
            message,
            message_km,
        } => with_field(
            with_code(format!("{field}: {message}"), Code::Conflict, Some(&message_km)),
            field,
        ),
        DomainError::RateLimited { retry_after } => with_retry_after(
            with_code(
                "too many requests; retry later".into(),
                Code::RateLimited,
                Some("សំណើច្រើនពេក សូមព្យាយាមម្តងទៀតពេលក្រោយ"),
            ),
            retry_after,
        ),
        DomainError::Busy { retry_after } => with_retry_after(
            with_code(
                "the server is busy with other requests of this kind; retry shortly".into(),
                Code::ServiceUnavailable,
                Some("ម៉ាស៊ីនមេរវល់ពេក សូមព្យាយាមម្តងទៀតបន្តិចទៀត"),
            ),
            retry_after,
        ),
        DomainError::Unavailable(detail) => {
            tracing::warn!(%detail, "backend unavailable");
            with_code(
                "service temporarily unavailable; retry shortly".into(),
                Code::ServiceUnavailable,
                Some("សេវាកម្មមិនអាចប្រើបានបណ្តោះអាសន្ន សូមព្យាយាមម្តងទៀត"),
            )
        }
        DomainError::Internal(detail) => {
            tracing::error!(%detail, "internal error");
            with_code("internal error".into(), Code::Internal, Some("មានបញ្ហាបច្ចេកទេស"))
        }
    }
}

/// `.gql()` on domain results, so resolvers end in `?` and the mapping stays here.
pub trait ToGraphql<T> {
    /// The result with its error mapped.
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> ToGraphql<T> for Result<T, DomainError> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(to_graphql)
    }
}

/// Makes sure every error of a response carries a code: errors raised by the GraphQL
/// engine itself (syntax, validation, variable coercion) are the client's (limits carry
/// their own code, see [`super::bounds`]); codes that hide an internal cause get the
/// request id.
pub fn finish(errors: &mut [ServerError], request_id: &str) {
    for error in errors {
        let code = code_of(error).to_owned();
        let ext = error.extensions.get_or_insert_with(ErrorExtensionValues::default);
        ext.set("code", code.as_str());
        if code == Code::Internal.as_str() || code == Code::ServiceUnavailable.as_str() {
            ext.set("requestId", request_id);
        }
    }
}

/// The code an error is answered with: its own, or, for an error of the GraphQL engine
/// itself, BAD_USER_INPUT.
pub fn code_of(error: &ServerError) -> &str {
    match error.extensions.as_ref().and_then(|ext| ext.get("code")) {
        Some(Value::String(code)) => code,
        _ => Code::BadUserInput.as_str(),
    }
}

impl<T> ToGraphql<T> for Result<T, std::sync::Arc<DomainError>> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|shared| to_graphql((*shared).clone()))
    }
}

//! The one error type of the domain layer. The API maps each variant to a stable
//! `extensions.code` (PRODUCT.md §7) in exactly one place.

use std::time::Duration;

/// Result alias for domain operations.
pub type DomainResult<T> = Result<T, DomainError>;

/// Everything that can go wrong in a domain operation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    /// The caller did not identify itself, or its token is unknown or expired.
    #[error("authentication required")]
    Unauthenticated,
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// An input value is invalid; `field` names it as the client sent it.
    #[error("{message}")]
    InvalidInput {
        /// The input field at fault, e.g. `body` or `communeCode`.
        field: String,
        /// English explanation.
        message: String,
        /// Khmer explanation, for the citizen's screen.
        message_km: String,
    },
    /// The thing asked for does not exist (or the caller may not know it exists).
    #[error("{0} not found")]
    NotFound(String),
    /// The comment's current state does not allow this transition, or it changed meanwhile.
    #[error("{0}")]
    Conflict(String),
    /// An input value conflicts with what is already stored under it (a `clientId`
    /// reused for a different comment); `field` names it as the client sent it.
    #[error("{message}")]
    ConflictingInput {
        /// The input field at fault, e.g. `clientId`.
        field: String,
        /// English explanation.
        message: String,
        /// Khmer explanation, for the citizen's screen.
        message_km: String,
    },
    /// Too many requests for this action; retry after the given time.
    #[error("too many requests")]
    RateLimited {
        /// How long until a retry can succeed.
        retry_after: Duration,
    },
    /// The server is at capacity for this kind of work (aggregates, password checks) and
    /// refuses rather than queues; safe to retry after the given time.
    #[error("busy")]
    Busy {
        /// How long until a retry is likely to find capacity.
        retry_after: Duration,
    },
    /// A backend (database, Redis) is unreachable; safe to retry. Holds the internal detail.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected backend answer. Holds the internal detail, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl DomainError {
    /// A `BAD_USER_INPUT` error for `field` with English and Khmer messages.
    pub fn invalid(field: &str, message: &str, message_km: &str) -> Self {
        Self::InvalidInput {
            field: field.to_owned(),
            message: message.to_owned(),
            message_km: message_km.to_owned(),
        }
    }

    /// A `FORBIDDEN` error with an explanation.
    pub fn forbidden(message: &str) -> Self {
        Self::Forbidden(message.to_owned())
    }

    /// A `CONFLICT` error with an explanation.
    pub fn conflict(message: &str) -> Self {
        Self::Conflict(message.to_owned())
    }

    /// A `CONFLICT` error on `field`, with English and Khmer messages.
    pub fn conflicting(field: &str, message: &str, message_km: &str) -> Self {
        Self::ConflictingInput {
            field: field.to_owned(),
            message: message.to_owned(),
            message_km: message_km.to_owned(),
        }
    }

    /// Renames the field of an `InvalidInput` error, e.g. when a value parsed as `code`
    /// was sent by the client as `communeCode`.
    pub fn for_field(self, field: &str) -> Self {
        match self {
            Self::InvalidInput {
                message, message_km, ..
            } => Self::InvalidInput {
                field: field.to_owned(),
                message,
                message_km,
            },
            other => other,
        }
    }
}

//! The bounds every request is held to: page sizes, periods, how many units a search
//! returns.

use chrono::{DateTime, Datelike, Utc};

use crate::{DomainError, DomainResult};

/// The largest page a listing returns.
pub const MAX_PAGE: u64 = 100;
/// The most units a gazetteer search returns.
pub(super) const MAX_UNITS: u64 = 20_000;

/// Checks a page size: negative is an error; more than [`MAX_PAGE`] is cut to it.
pub(super) fn clamp_first(first: i64) -> DomainResult<u64> {
    u64::try_from(first)
        .map(|n| n.min(MAX_PAGE))
        .map_err(|_| DomainError::invalid("first", "must not be negative", "ចំនួនមិនអាចអវិជ្ជមានទេ"))
}

/// The earliest and latest years a period may name.
const YEARS: std::ops::RangeInclusive<i32> = 1970..=9999;

/// Checks a period: each end within the years 1970 to 9999, `to` after `from`.
pub(super) fn check_period(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> DomainResult<()> {
    for (field, at) in [("from", from), ("to", to)] {
        if at.is_some_and(|at| !YEARS.contains(&at.year())) {
            return Err(DomainError::invalid(
                field,
                "must be a time between the years 1970 and 9999",
                "កាលបរិច្ឆេទត្រូវនៅចន្លោះឆ្នាំ 1970 និង 9999",
            ));
        }
    }
    match (from, to) {
        (Some(from), Some(to)) if from >= to => Err(DomainError::invalid(
            "to",
            "must be later than from",
            "កាលបរិច្ឆេទបញ្ចប់ត្រូវនៅក្រោយកាលបរិច្ឆេទចាប់ផ្តើម",
        )),
        _ => Ok(()),
    }
}

//! Response statistics, exactly as PRODUCT.md §5 defines them. The store hands over one
//! [`StatsRow`] per comment routed in the period inside the unit; everything else is
//! computed here, so the definitions live in one tested place.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::geography::{AdminLevel, UnitCode};
use crate::lifecycle::CommentStatus;

/// The facts about one routed comment that statistics need.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsRow {
    /// The comment's commune.
    pub commune: UnitCode,
    /// When it was routed.
    pub routed_at: DateTime<Utc>,
    /// Its first-response deadline.
    pub due_at: Option<DateTime<Utc>>,
    /// Its first official response, if any.
    pub first_response_at: Option<DateTime<Utc>>,
    /// Its current status.
    pub status: CommentStatus,
}

/// The counters of §5 for one unit (or the country) and one period.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseStats {
    /// The unit, none for the whole country.
    pub unit: Option<UnitCode>,
    /// Comments inside the unit routed in the period.
    pub received: u64,
    /// Of them, those with at least one official response.
    pub responded: u64,
    /// responded / received, 0 when nothing was received.
    pub response_rate: f64,
    /// Of them, those resolved.
    pub resolved: u64,
    /// Of them, those without a response whose first-response deadline has passed.
    pub overdue: u64,
    /// Median hours from routing to the first response (nearest rank), none if none.
    pub median_hours_to_first_response: Option<f64>,
    /// 90th percentile of the same (nearest rank).
    pub p90_hours_to_first_response: Option<f64>,
}

/// The `p`-th percentile (0 < p ≤ 100) of ascending `sorted` by the nearest-rank
/// method: the value at rank ⌈p/100 · n⌉.
pub fn nearest_rank(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    // n is small enough (comments of one query) for f64 to be exact here.
    #[expect(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "rank of a slice index"
    )]
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// Computes the counters for `unit` over `rows` (already restricted to the unit and the
/// period) as they stand at `now`.
pub fn compute<'a>(
    unit: Option<UnitCode>,
    rows: impl IntoIterator<Item = &'a StatsRow>,
    now: DateTime<Utc>,
) -> ResponseStats {
    let mut received = 0;
    let mut resolved = 0;
    let mut overdue = 0;
    let mut hours = Vec::new();
    for row in rows {
        received += 1;
        if row.status == CommentStatus::Resolved {
            resolved += 1;
        }
        match row.first_response_at {
            Some(first) => {
                #[expect(clippy::cast_precision_loss, reason = "seconds fit an f64 exactly")]
                let seconds = (first - row.routed_at).num_seconds() as f64;
                hours.push(seconds / 3600.0);
            }
            None if row.due_at.is_some_and(|due| due < now) => overdue += 1,
            None => {}
        }
    }
    hours.sort_by(f64::total_cmp);
    let responded = hours.len() as u64;
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let response_rate = if received == 0 {
        0.0
    } else {
        responded as f64 / received as f64
    };
    ResponseStats {
        unit,
        received,
        responded,
        response_rate,
        resolved,
        overdue,
        median_hours_to_first_response: nearest_rank(&hours, 50.0),
        p90_hours_to_first_response: nearest_rank(&hours, 90.0),
    }
}

/// One row per child of `parent` (per province when `parent` is none), in `children`'s
/// order, including children that received nothing.
pub fn by_child(
    parent: Option<&UnitCode>,
    children: &[UnitCode],
    rows: &[StatsRow],
    now: DateTime<Utc>,
) -> Vec<ResponseStats> {
    let level = parent
        .map_or(Some(AdminLevel::Province), |p| p.level().child())
        .unwrap_or(AdminLevel::Village)
        .min(AdminLevel::Commune);
    let mut groups: BTreeMap<UnitCode, Vec<&StatsRow>> = BTreeMap::new();
    for row in rows {
        if let Some(child) = row.commune.ancestor_at(level) {
            groups.entry(child).or_default().push(row);
        }
    }
    children
        .iter()
        .map(|child| {
            let rows = groups.get(child).map(Vec::as_slice).unwrap_or_default();
            compute(Some(child.clone()), rows.iter().copied(), now)
        })
        .collect()
}

#[cfg(test)]
mod tests;

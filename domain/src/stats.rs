//! Response statistics, exactly as PRODUCT.md §5 defines them. The store hands over one
//! [`StatsRow`] per comment routed in the period inside the unit, or — on PostgreSQL,
//! for speed — computes the same numbers in SQL; the definitions here are the
//! reference both are tested against.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Utc};

use crate::comment::Gender;
use crate::geography::{AdminLevel, UnitCode};
use crate::lifecycle::CommentStatus;

/// The facts about one routed comment that statistics need.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsRow {
    /// The comment's commune.
    pub commune: UnitCode,
    /// Its category.
    pub category: String,
    /// The submitter's self-declared gender.
    pub gender: Option<Gender>,
    /// When it was routed.
    pub routed_at: DateTime<Utc>,
    /// Its first-response deadline.
    pub due_at: Option<DateTime<Utc>>,
    /// When it was first acknowledged.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// Its first official response, if any.
    pub first_response_at: Option<DateTime<Utc>>,
    /// When it was resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Its current status.
    pub status: CommentStatus,
    /// The citizen's rating of the resolution.
    pub satisfied: Option<bool>,
    /// The levels it was escalated away from ([`AdminLevel::bit`]).
    pub escalated_levels: i32,
}

/// What to count over: comments inside `within` (the country when none), routed in
/// `[from, to)`, as things stand at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsScope {
    /// The unit.
    pub within: Option<UnitCode>,
    /// Start of the period (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// End of the period (exclusive).
    pub to: Option<DateTime<Utc>>,
    /// Only comments of this category.
    pub category: Option<String>,
    /// The present, for deadlines.
    pub now: DateTime<Utc>,
}

/// How to break statistics down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// One group: the whole scope (key `""`).
    Total,
    /// By the unit of this level containing the commune (key: its code).
    Child(AdminLevel),
    /// By category (key: its code).
    Category,
    /// By month of routing in Cambodia's time, UTC+7 (key: `YYYY-MM`).
    Month,
    /// By self-declared gender (key: `FEMALE`, `MALE`, `OTHER` or `UNDECLARED`).
    Gender,
}

/// Key of comments whose submitter declared no gender.
pub const UNDECLARED: &str = "UNDECLARED";

/// The counters of §5 for one group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResponseStats {
    /// The unit, none for the whole country or a non-unit group.
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
    /// Of them, those acknowledged.
    pub acknowledged: u64,
    /// Of them, those escalated away from the unit (never for the country).
    pub escalated_away: u64,
    /// Of them, those whose resolution the citizen rated.
    pub rated: u64,
    /// Of those rated, the satisfied ones.
    pub satisfied: u64,
    /// satisfied / rated; none when nothing was rated.
    pub satisfaction_rate: Option<f64>,
    /// Median hours from routing to the first response (nearest rank), none if none.
    pub median_hours_to_first_response: Option<f64>,
    /// 90th percentile of the same (nearest rank).
    pub p90_hours_to_first_response: Option<f64>,
    /// Median hours from routing to resolution over the resolved ones (nearest rank).
    pub median_hours_to_resolution: Option<f64>,
    /// 90th percentile of the same (nearest rank).
    pub p90_hours_to_resolution: Option<f64>,
}

/// The `p`-th percentile (0 < p ≤ 100) of ascending `sorted` by the nearest-rank
/// method: the value at rank ⌈p/100 · n⌉.
pub fn nearest_rank(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    #[expect(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "rank of a slice index"
    )]
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// `part / whole` as a rate.
pub fn ratio(part: u64, whole: u64) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

/// Hours between two instants, computed as seconds (to the microsecond) / 3600 — the
/// same arithmetic the PostgreSQL aggregate does, so both give identical numbers.
fn hours(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    let micros = (to - from).num_microseconds().unwrap_or(i64::MAX);
    #[expect(
        clippy::cast_precision_loss,
        reason = "microseconds of a comment's life fit an f64 exactly"
    )]
    let seconds = micros as f64 / 1_000_000.0;
    seconds / 3600.0
}

/// Computes the counters for `unit` over `rows` (already restricted to the unit and the
/// period) at `now`. `unit` decides what "escalated away" means: from it to above it.
pub fn compute<'a>(
    unit: Option<UnitCode>,
    rows: impl IntoIterator<Item = &'a StatsRow>,
    now: DateTime<Utc>,
) -> ResponseStats {
    let away = unit.as_ref().map_or(0, |u| u.level().bit());
    let mut stats = ResponseStats {
        unit,
        ..ResponseStats::default()
    };
    let mut to_first = Vec::new();
    let mut to_resolution = Vec::new();
    for row in rows {
        stats.received += 1;
        if row.acknowledged_at.is_some() {
            stats.acknowledged += 1;
        }
        if row.status == CommentStatus::Resolved {
            stats.resolved += 1;
            if let Some(resolved) = row.resolved_at {
                to_resolution.push(hours(row.routed_at, resolved));
            }
        }
        if row.escalated_levels & away != 0 {
            stats.escalated_away += 1;
        }
        if let Some(satisfied) = row.satisfied {
            stats.rated += 1;
            stats.satisfied += u64::from(satisfied);
        }
        match row.first_response_at {
            Some(first) => to_first.push(hours(row.routed_at, first)),
            None if row.due_at.is_some_and(|due| due < now) => stats.overdue += 1,
            None => {}
        }
    }
    to_first.sort_by(f64::total_cmp);
    to_resolution.sort_by(f64::total_cmp);
    stats.responded = to_first.len() as u64;
    stats.response_rate = ratio(stats.responded, stats.received);
    stats.satisfaction_rate = (stats.rated > 0).then(|| ratio(stats.satisfied, stats.rated));
    stats.median_hours_to_first_response = nearest_rank(&to_first, 50.0);
    stats.p90_hours_to_first_response = nearest_rank(&to_first, 90.0);
    stats.median_hours_to_resolution = nearest_rank(&to_resolution, 50.0);
    stats.p90_hours_to_resolution = nearest_rank(&to_resolution, 90.0);
    stats
}

/// The month of `at` in Cambodia (UTC+7, no daylight saving), as `YYYY-MM`.
pub fn month_of(at: DateTime<Utc>) -> String {
    match FixedOffset::east_opt(7 * 3600) {
        Some(ict) => at.with_timezone(&ict).format("%Y-%m").to_string(),
        None => at.format("%Y-%m").to_string(),
    }
}

/// The key of `row` under `grouping`.
pub fn key_of(row: &StatsRow, grouping: Grouping) -> String {
    match grouping {
        Grouping::Total => String::new(),
        Grouping::Child(level) => row
            .commune
            .ancestor_at(level.min(AdminLevel::Commune))
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default(),
        Grouping::Category => row.category.clone(),
        Grouping::Month => month_of(row.routed_at),
        Grouping::Gender => row.gender.map_or(UNDECLARED, |g| g.as_str()).to_owned(),
    }
}

/// Groups `rows` (already within the scope) and computes each group, ordered by key.
/// Under [`Grouping::Child`] each group counts escalations away from its child unit;
/// otherwise away from the scope's unit.
pub fn group(scope: &StatsScope, grouping: Grouping, rows: &[StatsRow]) -> Vec<(String, ResponseStats)> {
    let mut groups: BTreeMap<String, Vec<&StatsRow>> = BTreeMap::new();
    for row in rows {
        groups.entry(key_of(row, grouping)).or_default().push(row);
    }
    if grouping == Grouping::Total {
        groups.entry(String::new()).or_default();
    }
    groups
        .into_iter()
        .map(|(key, rows)| {
            let unit = match grouping {
                Grouping::Child(_) => UnitCode::parse("unit", &key).ok(),
                _ => scope.within.clone(),
            };
            let stats = compute(unit, rows, scope.now);
            (key, stats)
        })
        .collect()
}

/// One row per unit of `children`, in their order, taking each from `groups` (keyed by
/// unit code) or zero when the unit received nothing.
pub fn by_child(children: &[UnitCode], groups: Vec<(String, ResponseStats)>) -> Vec<ResponseStats> {
    let mut groups: BTreeMap<String, ResponseStats> = groups.into_iter().collect();
    children
        .iter()
        .map(|child| {
            let mut stats = groups.remove(child.as_str()).unwrap_or_default();
            stats.unit = Some(child.clone());
            stats
        })
        .collect()
}

#[cfg(test)]
mod tests;

//! Response statistics, exactly as PRODUCT.md §5 defines them. The store streams one
//! [`StatsRow`] per comment routed in the period inside the unit into a [`Grouper`], or
//! — on PostgreSQL, for speed — computes the same numbers in SQL; the definitions here
//! are the reference both are tested against. Breakdowns by a personal attribute go
//! through [`suppress`] before anyone sees them.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, FixedOffset, NaiveTime, Offset, Utc};

use crate::comment::CommentStatus;
use crate::comment::Gender;
use crate::geography::{AdminLevel, UnitCode};

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
    /// Every rating the citizen gave it.
    pub ratings: u32,
    /// Of them, the satisfied ones.
    pub satisfied_ratings: u32,
    /// Whether the citizen reopened it.
    pub reopened: bool,
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

impl Grouping {
    /// Whether the groups are people sharing a personal attribute, so that a small
    /// group could single someone out ([`suppress`]).
    pub const fn is_personal(self) -> bool {
        matches!(self, Self::Gender)
    }

    /// The keys every breakdown lists, empty groups included, when the set is closed
    /// (a personal attribute: a missing group would tell as much as a zero).
    pub const fn keys(self) -> &'static [&'static str] {
        match self {
            Self::Gender => &GENDER_KEYS,
            _ => &[],
        }
    }
}

/// Key of comments whose submitter declared no gender.
pub const UNDECLARED: &str = "UNDECLARED";

/// Every key of a breakdown by gender.
pub const GENDER_KEYS: [&str; 4] = ["FEMALE", "MALE", "OTHER", UNDECLARED];

/// The default smallest group a breakdown by a personal attribute shows
/// (`MATI_MIN_GROUP_SIZE`).
pub const MIN_GROUP_SIZE: u64 = 5;

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
    /// The ratings their citizens gave (a comment reopened and rated again counts
    /// twice: every rating counts, the "not satisfied" that reopened it too).
    pub rated: u64,
    /// Of those ratings, the satisfied ones.
    pub satisfied: u64,
    /// satisfied / rated; none when nothing was rated.
    pub satisfaction_rate: Option<f64>,
    /// Of them, those the citizen reopened as not satisfied.
    pub reopened: u64,
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
    let rank = rank(p, sorted.len())?;
    sorted.get(rank - 1).copied()
}

/// The nearest rank ⌈p/100 · n⌉ (1-based, within 1..=n) of the `p`-th percentile of `n`
/// values; none when there are none. Stores that pick the value themselves use it.
pub fn rank(p: f64, n: usize) -> Option<usize> {
    if n == 0 {
        return None;
    }
    #[expect(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "rank of a slice index"
    )]
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    Some(rank.clamp(1, n))
}

/// `part / whole` as a rate.
pub fn ratio(part: u64, whole: u64) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

/// Hours between two instants, computed as seconds (to the microsecond) / 3600 — the
/// same arithmetic the PostgreSQL aggregate does, so both give identical numbers.
fn hours(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    hours_from_micros((to - from).num_microseconds().unwrap_or(i64::MAX))
}

/// Hours in `micros` microseconds, by the arithmetic every store uses.
pub fn hours_from_micros(micros: i64) -> f64 {
    #[expect(
        clippy::cast_precision_loss,
        reason = "microseconds of a comment's life fit an f64 exactly"
    )]
    let seconds = micros as f64 / 1_000_000.0;
    seconds / 3600.0
}

/// The counters of one group, fed one row at a time: memory grows with the answered
/// comments (their times, for the percentiles), never with whole rows.
#[derive(Debug, Clone)]
pub struct Tally {
    stats: ResponseStats,
    away: i32,
    to_first: Vec<f64>,
    to_resolution: Vec<f64>,
}

impl Tally {
    /// An empty tally for `unit`, which decides what "escalated away" means: from it to
    /// above it.
    pub fn new(unit: Option<UnitCode>) -> Self {
        Self {
            away: unit.as_ref().map_or(0, |u| u.level().bit()),
            stats: ResponseStats {
                unit,
                ..ResponseStats::default()
            },
            to_first: Vec::new(),
            to_resolution: Vec::new(),
        }
    }

    /// Counts one row (restricted to the unit and the period already) at `now`. A
    /// comment rejected after routing does not count: the unit could not act on it.
    pub fn add(&mut self, row: &StatsRow, now: DateTime<Utc>) {
        if row.status == CommentStatus::Rejected {
            return;
        }
        let stats = &mut self.stats;
        stats.received += 1;
        if row.acknowledged_at.is_some() {
            stats.acknowledged += 1;
        }
        if row.status == CommentStatus::Resolved {
            stats.resolved += 1;
            if let Some(resolved) = row.resolved_at {
                self.to_resolution.push(hours(row.routed_at, resolved));
            }
        }
        if row.escalated_levels & self.away != 0 {
            stats.escalated_away += 1;
        }
        stats.rated += u64::from(row.ratings);
        stats.satisfied += u64::from(row.satisfied_ratings);
        stats.reopened += u64::from(row.reopened);
        match row.first_response_at {
            Some(first) => self.to_first.push(hours(row.routed_at, first)),
            None if row.due_at.is_some_and(|due| due < now) => stats.overdue += 1,
            None => {}
        }
    }

    /// The counters.
    pub fn finish(mut self) -> ResponseStats {
        self.to_first.sort_by(f64::total_cmp);
        self.to_resolution.sort_by(f64::total_cmp);
        let mut stats = self.stats;
        stats.responded = self.to_first.len() as u64;
        stats.response_rate = ratio(stats.responded, stats.received);
        stats.satisfaction_rate = (stats.rated > 0).then(|| ratio(stats.satisfied, stats.rated));
        stats.median_hours_to_first_response = nearest_rank(&self.to_first, 50.0);
        stats.p90_hours_to_first_response = nearest_rank(&self.to_first, 90.0);
        stats.median_hours_to_resolution = nearest_rank(&self.to_resolution, 50.0);
        stats.p90_hours_to_resolution = nearest_rank(&self.to_resolution, 90.0);
        stats
    }
}

/// Computes the counters for `unit` over `rows` (already restricted to the unit and the
/// period) at `now`. `unit` decides what "escalated away" means: from it to above it.
pub fn compute<'a>(
    unit: Option<UnitCode>,
    rows: impl IntoIterator<Item = &'a StatsRow>,
    now: DateTime<Utc>,
) -> ResponseStats {
    let mut tally = Tally::new(unit);
    for row in rows {
        tally.add(row, now);
    }
    tally.finish()
}

/// Cambodia's time: UTC+7 all year, no daylight saving.
pub fn cambodia() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).unwrap_or_else(|| Utc.fix())
}

/// The month of `at` in Cambodia (UTC+7, no daylight saving), as `YYYY-MM`.
pub fn month_of(at: DateTime<Utc>) -> String {
    at.with_timezone(&cambodia()).format("%Y-%m").to_string()
}

/// The midnight in Cambodia that starts the day of `at`.
fn start_of_day(at: DateTime<Utc>) -> DateTime<Utc> {
    let local = at.with_timezone(&cambodia());
    let midnight = local.date_naive().and_time(NaiveTime::MIN);
    midnight
        .and_local_timezone(cambodia())
        .single()
        .map_or(at, |m| m.with_timezone(&Utc))
}

/// The period statistics count: whole days in Cambodia's time (PRODUCT.md §5), `from`
/// moved back to the midnight that starts its day and `to` on to the next midnight
/// unless it is one. A period of a microsecond around one comment's routing is a day.
pub fn whole_days(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let to = to.map(|to| {
        let start = start_of_day(to);
        if start == to { to } else { start + Duration::days(1) }
    });
    (from.map(start_of_day), to)
}

/// `groups` with a zero group for every key of `grouping`'s closed set that had no
/// rows (for stores that aggregate in SQL, which only yields groups with rows).
pub fn with_every_key(
    scope: &StatsScope,
    grouping: Grouping,
    groups: Vec<(String, ResponseStats)>,
) -> Vec<(String, ResponseStats)> {
    let mut groups: BTreeMap<String, ResponseStats> = groups.into_iter().collect();
    for key in grouping.keys() {
        groups.entry((*key).to_owned()).or_insert_with(|| ResponseStats {
            unit: scope.within.clone(),
            ..ResponseStats::default()
        });
    }
    groups.into_iter().collect()
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

/// Rows grouped as they stream in, each group tallied on its own.
#[derive(Debug, Clone)]
pub struct Grouper {
    scope: StatsScope,
    grouping: Grouping,
    groups: BTreeMap<String, Tally>,
}

impl Grouper {
    /// An empty grouping of the rows of `scope`.
    pub fn new(scope: &StatsScope, grouping: Grouping) -> Self {
        let mut grouper = Self {
            scope: scope.clone(),
            grouping,
            groups: BTreeMap::new(),
        };
        if grouping == Grouping::Total {
            grouper.tally(String::new());
        }
        for key in grouping.keys() {
            grouper.tally((*key).to_owned());
        }
        grouper
    }

    fn tally(&mut self, key: String) -> &mut Tally {
        let (grouping, within) = (self.grouping, &self.scope.within);
        self.groups.entry(key).or_insert_with_key(|key| {
            // Under a breakdown by child unit, escalations count away from the child.
            let unit = match grouping {
                Grouping::Child(_) => UnitCode::parse("unit", key).ok(),
                _ => within.clone(),
            };
            Tally::new(unit)
        })
    }

    /// Counts one row (already within the scope).
    pub fn add(&mut self, row: &StatsRow) {
        let now = self.scope.now;
        let key = key_of(row, self.grouping);
        self.tally(key).add(row, now);
    }

    /// Every group, ordered by key: only groups with rows, but for the one group of
    /// [`Grouping::Total`] and the closed key sets of [`Grouping::keys`], always there.
    pub fn finish(self) -> Vec<(String, ResponseStats)> {
        self.groups
            .into_iter()
            .map(|(key, tally)| (key, tally.finish()))
            .filter(|(key, stats)| stats.received > 0 || key.is_empty() || self.grouping.keys().contains(&key.as_str()))
            .collect()
    }
}

/// Groups `rows` (already within the scope) and computes each group, ordered by key, as
/// a [`Grouper`] does.
pub fn group(scope: &StatsScope, grouping: Grouping, rows: &[StatsRow]) -> Vec<(String, ResponseStats)> {
    let mut grouper = Grouper::new(scope, grouping);
    for row in rows {
        grouper.add(row);
    }
    grouper.finish()
}

/// One group of a breakdown by a personal attribute: its counters, or none when the
/// group is too small to show.
pub type Cell = (String, Option<ResponseStats>);

/// Suppresses the groups of a breakdown by a personal attribute that could single
/// someone out (PRODUCT.md §5): every group with fewer than `min` comments, empty ones
/// included (a zero next to a small total tells as much as the count); then, while the
/// suppressed groups together hold more than none but fewer than `min` comments, the
/// smallest shown group too. The total minus the shown groups — all that can be learnt
/// of the suppressed ones, also with zeros known from a larger unit — is then none or at
/// least `min`, never a small count. Expects every key of the attribute
/// ([`Grouping::keys`]).
pub fn suppress(groups: Vec<(String, ResponseStats)>, min: u64) -> Vec<Cell> {
    let mut hidden: Vec<bool> = groups.iter().map(|(_, stats)| stats.received < min).collect();
    loop {
        let held: u64 = groups
            .iter()
            .zip(&hidden)
            .filter(|(_, hidden)| **hidden)
            .map(|((_, stats), _)| stats.received)
            .sum();
        if held == 0 || held >= min {
            break;
        }
        let smallest = groups
            .iter()
            .enumerate()
            .filter(|(n, _)| !hidden.get(*n).copied().unwrap_or(true))
            .min_by_key(|(_, (key, stats))| (stats.received, key.clone()))
            .map(|(n, _)| n);
        match smallest.and_then(|n| hidden.get_mut(n)) {
            Some(hide) => *hide = true,
            None => break,
        }
    }
    groups
        .into_iter()
        .zip(hidden)
        .map(|((key, stats), hidden)| (key, (!hidden).then_some(stats)))
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

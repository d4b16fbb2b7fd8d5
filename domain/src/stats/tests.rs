use chrono::{Duration, TimeZone};

use super::*;

fn code(raw: &str) -> UnitCode {
    UnitCode::parse("code", raw).unwrap_or_else(|e| panic!("{e}"))
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).single().unwrap_or_default()
}

fn row(commune: &str, answered_after_hours: Option<i64>, status: CommentStatus) -> StatsRow {
    StatsRow {
        commune: code(commune),
        category: "LOCAL_ROADS".into(),
        gender: None,
        routed_at: t0(),
        due_at: Some(t0() + Duration::days(15)),
        acknowledged_at: None,
        first_response_at: answered_after_hours.map(|h| t0() + Duration::hours(h)),
        resolved_at: None,
        status,
        ratings: 0,
        satisfied_ratings: 0,
        reopened: false,
        escalated_levels: 0,
    }
}

fn scope(within: Option<&str>, now: DateTime<Utc>) -> StatsScope {
    StatsScope {
        within: within.map(code),
        from: None,
        to: None,
        category: None,
        now,
    }
}

#[test]
fn nearest_rank_takes_the_value_at_the_ceiling_rank() {
    let values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
    assert_eq!(nearest_rank(&values, 50.0), Some(5.0));
    assert_eq!(nearest_rank(&values, 90.0), Some(9.0));
    assert_eq!(nearest_rank(&[3.0, 7.0, 8.0], 50.0), Some(7.0));
    assert_eq!(nearest_rank(&[3.0, 7.0, 8.0], 90.0), Some(8.0));
    assert_eq!(nearest_rank(&[4.0], 90.0), Some(4.0));
    assert_eq!(nearest_rank(&[], 50.0), None);
}

#[test]
fn counters_follow_the_definitions_on_a_fixture() {
    use CommentStatus::{Acknowledged, Resolved, Responded, Routed};
    let rows = [
        row("120101", Some(2), Resolved),
        row("120101", Some(10), Responded),
        row("120101", Some(30), Responded),
        row("120102", Some(50), Resolved),
        row("120102", None, Routed),
        row("120102", None, Acknowledged),
    ];
    let before_deadline = t0() + Duration::days(3);
    let stats = compute(None, &rows, before_deadline);
    assert_eq!(stats.received, 6);
    assert_eq!(stats.responded, 4);
    assert!((stats.response_rate - 4.0 / 6.0).abs() < 1e-12);
    assert_eq!(stats.resolved, 2);
    assert_eq!(stats.overdue, 0);
    // Hours 2, 10, 30, 50: median rank ⌈2⌉ = 10, p90 rank ⌈3.6⌉ = 50.
    assert_eq!(stats.median_hours_to_first_response, Some(10.0));
    assert_eq!(stats.p90_hours_to_first_response, Some(50.0));

    let after_deadline = t0() + Duration::days(16);
    assert_eq!(compute(None, &rows, after_deadline).overdue, 2);
}

#[test]
fn acknowledgements_ratings_resolution_times_and_escalations_are_counted() {
    let mut rows = vec![row("120101", Some(5), CommentStatus::Resolved); 3];
    // Ratings (given, satisfied): the second comment was reopened as not satisfied.
    for (row, (resolved_after, ratings)) in rows.iter_mut().zip([(24, (1, 1)), (48, (1, 0)), (96, (0, 0))]) {
        row.acknowledged_at = Some(t0() + Duration::hours(1));
        row.resolved_at = Some(t0() + Duration::hours(resolved_after));
        (row.ratings, row.satisfied_ratings) = ratings;
    }
    rows[1].reopened = true;
    let mut escalated = row("120101", None, CommentStatus::Routed);
    escalated.escalated_levels = AdminLevel::Commune.bit();
    rows.push(escalated);
    let commune = compute(Some(code("120101")), &rows, t0());
    assert_eq!(
        (commune.acknowledged, commune.resolved, commune.rated, commune.satisfied),
        (3, 3, 2, 1)
    );
    assert_eq!(commune.satisfaction_rate, Some(0.5));
    assert_eq!(commune.reopened, 1);
    assert_eq!(commune.median_hours_to_resolution, Some(48.0));
    assert_eq!(commune.p90_hours_to_resolution, Some(96.0));
    assert_eq!(commune.escalated_away, 1, "it left the commune");
    assert_eq!(
        compute(Some(code("1201")), &rows, t0()).escalated_away,
        0,
        "it stayed in the district"
    );
    assert_eq!(
        compute(None, &rows, t0()).escalated_away,
        0,
        "nothing leaves the country"
    );
    assert_eq!(compute(None, &rows[3..], t0()).satisfaction_rate, None, "nothing rated");
}

#[test]
fn nothing_received_means_a_zero_rate_and_no_times() {
    let stats = compute(Some(code("12")), &[], t0());
    assert_eq!((stats.received, stats.response_rate), (0, 0.0));
    assert_eq!(stats.median_hours_to_first_response, None);
    assert_eq!(stats.p90_hours_to_first_response, None);
}

#[test]
fn breakdown_by_child_lists_every_child_even_empty_ones() {
    let rows = [
        row("120101", Some(1), CommentStatus::Responded),
        row("120201", None, CommentStatus::Routed),
        row("120202", Some(3), CommentStatus::Responded),
    ];
    let children = [code("1201"), code("1202"), code("1203")];
    let groups = group(&scope(Some("12"), t0()), Grouping::Child(AdminLevel::District), &rows);
    let stats = by_child(&children, groups);
    let received: Vec<u64> = stats.iter().map(|s| s.received).collect();
    assert_eq!(received, [1, 2, 0]);
    assert_eq!(stats[1].responded, 1);
    assert_eq!(stats[2].unit, Some(code("1203")));

    let groups = group(&scope(None, t0()), Grouping::Child(AdminLevel::Province), &rows);
    let provinces = by_child(&[code("12"), code("17")], groups);
    assert_eq!(provinces[0].received, 3);
    assert_eq!(provinces[1].received, 0);
}

#[test]
fn breakdowns_by_category_month_and_gender_use_the_same_counters() {
    let mut rows = vec![
        row("120101", Some(1), CommentStatus::Responded),
        row("120101", None, CommentStatus::Routed),
        row("120101", Some(4), CommentStatus::Responded),
    ];
    rows[1].category = "HEALTH".into();
    rows[1].gender = Some(Gender::Female);
    rows[2].gender = Some(Gender::Female);
    // 2026-10-31 20:00 UTC is already November in Phnom Penh.
    rows[2].routed_at = Utc
        .with_ymd_and_hms(2026, 10, 31, 20, 0, 0)
        .single()
        .unwrap_or_default();
    let all = scope(None, t0());
    let by_category = group(&all, Grouping::Category, &rows);
    let keys: Vec<&str> = by_category.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["HEALTH", "LOCAL_ROADS"]);
    assert_eq!((by_category[1].1.received, by_category[1].1.responded), (2, 2));
    let by_month = group(&all, Grouping::Month, &rows);
    let months: Vec<(&str, u64)> = by_month.iter().map(|(k, s)| (k.as_str(), s.received)).collect();
    assert_eq!(months, [("2026-10", 2), ("2026-11", 1)]);
    let by_gender = group(&all, Grouping::Gender, &rows);
    let genders: Vec<(&str, u64)> = by_gender.iter().map(|(k, s)| (k.as_str(), s.received)).collect();
    assert_eq!(
        genders,
        [("FEMALE", 2), ("MALE", 0), ("OTHER", 0), ("UNDECLARED", 1)],
        "every gender is listed, an empty one too"
    );
    assert_eq!(
        group(&all, Grouping::Total, &[]).len(),
        1,
        "the total exists even when empty"
    );
}

#[test]
fn a_comment_rejected_after_routing_leaves_the_statistics() {
    let mut rejected = row("120101", None, CommentStatus::Rejected);
    rejected.due_at = Some(t0());
    let rows = [row("120101", Some(3), CommentStatus::Responded), rejected];
    let stats = compute(Some(code("120101")), &rows, t0() + Duration::days(30));
    assert_eq!((stats.received, stats.responded, stats.overdue), (1, 1, 0));
    let only_rejected = group(&scope(None, t0()), Grouping::Category, &rows[1..]);
    assert!(only_rejected.is_empty(), "no group is made of rejected comments alone");
}

#[test]
fn every_rating_counts_and_reopened_comments_are_counted() {
    let mut rows = vec![row("120101", Some(1), CommentStatus::Resolved); 10];
    // Five satisfied; five not satisfied, which reopened their comments.
    for (n, row) in rows.iter_mut().enumerate() {
        row.ratings = 1;
        row.satisfied_ratings = u32::from(n < 5);
        row.reopened = n >= 5;
    }
    let stats = compute(None, &rows, t0());
    assert_eq!((stats.rated, stats.satisfied, stats.reopened), (10, 5, 5));
    assert_eq!(stats.satisfaction_rate, Some(0.5));
}

fn cells(received: &[(&str, u64)]) -> Vec<(String, ResponseStats)> {
    received
        .iter()
        .map(|(key, n)| {
            let stats = ResponseStats {
                received: *n,
                ..ResponseStats::default()
            };
            ((*key).to_owned(), stats)
        })
        .collect()
}

fn shown(cells: &[Cell]) -> Vec<(&str, Option<u64>)> {
    cells
        .iter()
        .map(|(key, stats)| (key.as_str(), stats.as_ref().map(|s| s.received)))
        .collect()
}

#[test]
fn small_groups_of_a_personal_attribute_are_suppressed_never_shown_as_small_counts() {
    // MALE (3) and OTHER (0) together hold 3: the total minus FEMALE and UNDECLARED
    // would tell it, so UNDECLARED (the smaller shown one) goes too.
    let groups = cells(&[("FEMALE", 12), ("MALE", 3), ("OTHER", 0), ("UNDECLARED", 7)]);
    assert_eq!(
        shown(&suppress(groups, 5)),
        [
            ("FEMALE", Some(12)),
            ("MALE", None),
            ("OTHER", None),
            ("UNDECLARED", None)
        ]
    );
    // Empty groups alone give away nothing about anyone.
    let groups = cells(&[("FEMALE", 40), ("MALE", 30), ("OTHER", 0), ("UNDECLARED", 0)]);
    assert_eq!(
        shown(&suppress(groups, 5)),
        [
            ("FEMALE", Some(40)),
            ("MALE", Some(30)),
            ("OTHER", None),
            ("UNDECLARED", None)
        ]
    );
    // With those zeros known from the district, a commune of 9 women and 1 man shows
    // nothing: otherwise its total minus FEMALE would be the man.
    let commune = cells(&[("FEMALE", 9), ("MALE", 1), ("OTHER", 0), ("UNDECLARED", 0)]);
    assert!(suppress(commune, 5).iter().all(|(_, stats)| stats.is_none()));
    let one_person = cells(&[("FEMALE", 1), ("MALE", 0), ("OTHER", 0), ("UNDECLARED", 0)]);
    assert!(
        suppress(one_person, 5).iter().all(|(_, stats)| stats.is_none()),
        "a single comment's author shows in no group"
    );
}

#[test]
fn a_lone_suppressed_group_takes_the_next_smallest_with_it() {
    // The total (40) minus the shown groups would give OTHER back if it hid alone.
    let groups = cells(&[("FEMALE", 20), ("MALE", 12), ("OTHER", 2), ("UNDECLARED", 6)]);
    assert_eq!(
        shown(&suppress(groups, 5)),
        [
            ("FEMALE", Some(20)),
            ("MALE", Some(12)),
            ("OTHER", None),
            ("UNDECLARED", None)
        ]
    );
    let large = cells(&[("FEMALE", 20), ("MALE", 12), ("OTHER", 9), ("UNDECLARED", 6)]);
    assert!(
        suppress(large, 5).iter().all(|(_, stats)| stats.is_some()),
        "nothing to hide"
    );
}

proptest::proptest! {
    /// Whatever the counts, no group under the threshold is shown, and what the total
    /// minus the shown groups tells of the suppressed ones is none or at least `min`:
    /// never a small count, even where the zeros among them are known.
    #[test]
    fn suppressed_groups_cannot_be_recovered_from_the_total(counts in proptest::collection::vec(0u64..40, 4), min in 1u64..10) {
        let keys = ["FEMALE", "MALE", "OTHER", "UNDECLARED"];
        let groups: Vec<(&str, u64)> = keys.iter().copied().zip(counts.iter().copied()).collect();
        let result = suppress(cells(&groups), min);
        let total: u64 = counts.iter().sum();
        let shown: u64 = result.iter().filter_map(|(_, stats)| stats.as_ref()).map(|s| s.received).sum();
        let held = total - shown;
        proptest::prop_assert!(held == 0 || held >= min, "{:?}: the suppressed hold {}", counts, held);
        for (_, stats) in &result {
            if let Some(stats) = stats {
                proptest::prop_assert!(stats.received >= min);
            }
        }
    }
}

#[test]
fn public_periods_are_whole_days_in_cambodias_time() {
    let at = |d: u32, h: u32, m: u32| Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).single().unwrap_or_default();
    // One comment routed at 14:05 in Phnom Penh (07:05 UTC), asked about for a microsecond.
    let routed = at(29, 7, 5);
    let (from, to) = whole_days(Some(routed), Some(routed + Duration::microseconds(1)));
    assert_eq!(from, Some(at(28, 17, 0)), "midnight of the 29th in Phnom Penh");
    assert_eq!(to, Some(at(29, 17, 0)), "midnight of the 30th in Phnom Penh");
    // Already whole days stay as they are; open ends stay open.
    assert_eq!(whole_days(Some(at(28, 17, 0)), None), (Some(at(28, 17, 0)), None));
    assert_eq!(whole_days(None, Some(at(29, 17, 0))), (None, Some(at(29, 17, 0))));
    // Midnight UTC is 07:00 in Phnom Penh: the day began seven hours earlier.
    assert_eq!(
        whole_days(Some(at(1, 0, 0)), None).0,
        Some(at(1, 0, 0) - Duration::hours(7))
    );
}

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
        satisfied: None,
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
    for (row, (resolved_after, satisfied)) in rows.iter_mut().zip([(24, Some(true)), (48, Some(false)), (96, None)]) {
        row.acknowledged_at = Some(t0() + Duration::hours(1));
        row.resolved_at = Some(t0() + Duration::hours(resolved_after));
        row.satisfied = satisfied;
    }
    let mut escalated = row("120101", None, CommentStatus::Routed);
    escalated.escalated_levels = AdminLevel::Commune.bit();
    rows.push(escalated);
    let commune = compute(Some(code("120101")), &rows, t0());
    assert_eq!(
        (commune.acknowledged, commune.resolved, commune.rated, commune.satisfied),
        (3, 3, 2, 1)
    );
    assert_eq!(commune.satisfaction_rate, Some(0.5));
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
    assert_eq!(genders, [("FEMALE", 2), ("UNDECLARED", 1)]);
    assert_eq!(
        group(&all, Grouping::Total, &[]).len(),
        1,
        "the total exists even when empty"
    );
}

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
        routed_at: t0(),
        due_at: Some(t0() + Duration::days(15)),
        first_response_at: answered_after_hours.map(|h| t0() + Duration::hours(h)),
        status,
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
    let stats = by_child(Some(&code("12")), &children, &rows, t0());
    let received: Vec<u64> = stats.iter().map(|s| s.received).collect();
    assert_eq!(received, [1, 2, 0]);
    assert_eq!(stats[1].responded, 1);
    assert_eq!(stats[1].unit, Some(code("1202")));

    let provinces = by_child(None, &[code("12"), code("17")], &rows, t0());
    assert_eq!(provinces[0].received, 3);
    assert_eq!(provinces[1].received, 0);
}

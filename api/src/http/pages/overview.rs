//! The overview of the country (`/`) or of a province, district or commune
//! (`/units/{code}`) for a period (by default the twelve months up to now): the key
//! figures of PRODUCT.md §5, the child administrations ranked by response rate and by
//! time to respond (n beside every rate, too few comments not ranked), the months as a
//! chart drawn on the server with its table, categories, gender with small groups
//! suppressed, and the CSV exports of the same unit and period. Every figure comes from
//! the statistics services GraphQL answers from, which share one computation among the
//! visitors of the same page within a short window.

use askama::Template;
use axum::extract::{Extension, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use mati_domain::stats::cambodia;
use std::collections::HashMap;

use mati_domain::geography::{AdminLevel, AdminUnit, CommuneCentre, UnitCode};
use mati_domain::rate_limit::Origin;
use mati_domain::service::{Mati, StatsFilter};
use mati_domain::stats::{Grouping, ResponseStats};
use mati_domain::{DomainError, DomainResult};

use super::{Lang, PAGE_CACHE, refusal, render};
use crate::http::AppState;
use crate::http::failure::RequestId;
use crate::http::origin::Client;

/// Units that received fewer comments in the period are listed but not ranked: one
/// unanswered comment is not a response rate.
pub const MIN_RANKED: u64 = 10;
/// The chart's height in SVG units, and the width of one month.
const CHART_HEIGHT: f64 = 150.0;
const MONTH_WIDTH: f64 = 30.0;
/// Room left of the bars for the scale.
const LEFT_MARGIN: f64 = 24.0;

/// A child administration's row.
struct ChildRow {
    rank: String,
    href: String,
    name: String,
    n: String,
    rate: String,
    median: String,
}

/// A bar of the chart.
struct Bar {
    x: String,
    y: String,
    width: String,
    height: String,
    class: &'static str,
}

/// A label of the chart.
struct Label {
    x: String,
    y: String,
    text: String,
}

/// A commune on the map.
struct Point {
    cx: String,
    cy: String,
    r: String,
    class: &'static str,
    title: Option<String>,
}

/// The width of the map in SVG units.
const MAP_WIDTH: f64 = 320.0;
/// The most communes listed beside the map.
const BUSIEST: usize = 20;

#[derive(Template)]
#[template(path = "overview.html")]
struct Overview {
    lang: Lang,
    title: String,
    trail: Vec<(String, String)>,
    from_value: String,
    to_value: String,
    period: String,
    figures: Vec<(&'static str, String)>,
    children_caption: String,
    children: Vec<ChildRow>,
    speed_caption: String,
    by_speed: Vec<ChildRow>,
    chart_width: String,
    bars: Vec<Bar>,
    labels: Vec<Label>,
    months: Vec<(String, String, String, String)>,
    categories: Vec<(String, String, String)>,
    genders: Vec<(String, String, String)>,
    map_width: String,
    map_height: String,
    points: Vec<Point>,
    busiest: Vec<(String, String, String, String)>,
    suppression_note: String,
    stats_csv: String,
    comments_csv: String,
}

/// The period asked for (`from` and `to`, whole days `YYYY-MM-DD`, `to` included), or
/// the twelve months up to now.
fn period(query: &[(String, String)], now: DateTime<Utc>) -> DomainResult<(NaiveDate, NaiveDate)> {
    let day = |name: &str| {
        query
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| {
                NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .map_err(|_| DomainError::invalid(name, "must be a date, YYYY-MM-DD", "កាលបរិច្ឆេទមិនត្រឹមត្រូវ"))
            })
            .transpose()
    };
    let today = now.with_timezone(&cambodia()).date_naive();
    let to = day("to")?.unwrap_or(today);
    let from = day("from")?.unwrap_or_else(|| to - Duration::days(364));
    if from > to {
        return Err(DomainError::invalid(
            "from",
            "must not come after to",
            "កាលបរិច្ឆេទមិនត្រឹមត្រូវ",
        ));
    }
    Ok((from, to))
}

fn start_of(day: NaiveDate) -> Option<DateTime<Utc>> {
    cambodia()
        .from_local_datetime(&day.and_hms_opt(0, 0, 0)?)
        .single()
        .map(|at| at.with_timezone(&Utc))
}

fn percent(lang: Lang, rate: f64) -> String {
    lang.digits(&format!("{:.0}%", rate * 100.0))
}

fn days(lang: Lang, hours: Option<f64>) -> String {
    match hours {
        Some(hours) => lang.digits(&format!("{:.1}", hours / 24.0)) + lang.pick(" ថ្ងៃ", " days"),
        None => "—".to_owned(),
    }
}

fn written_day(lang: Lang, day: NaiveDate) -> String {
    match lang {
        Lang::Km => lang.digits(&day.format("%d/%m/%Y").to_string()),
        Lang::En => day.format("%-d %B %Y").to_string(),
    }
}

fn figures(lang: Lang, stats: &ResponseStats) -> Vec<(&'static str, String)> {
    let n = |value: u64| lang.number(value);
    vec![
        (lang.pick("បានទទួល", "Received"), n(stats.received)),
        (lang.pick("បានឆ្លើយតប", "Responded"), n(stats.responded)),
        (
            lang.pick("អត្រាឆ្លើយតប", "Response rate"),
            percent(lang, stats.response_rate),
        ),
        (lang.pick("បានដោះស្រាយ", "Resolved"), n(stats.resolved)),
        (lang.pick("ហួសកំណត់ឥឡូវនេះ", "Overdue now"), n(stats.overdue)),
        (
            lang.pick("មធ្យមភាគរហូតដល់ចម្លើយដំបូង", "Median to first response"),
            days(lang, stats.median_hours_to_first_response),
        ),
        (
            lang.pick("p90 រហូតដល់ចម្លើយដំបូង", "p90 to first response"),
            days(lang, stats.p90_hours_to_first_response),
        ),
        (
            lang.pick("មធ្យមភាគរហូតដល់ការដោះស្រាយ", "Median to resolution"),
            days(lang, stats.median_hours_to_resolution),
        ),
        (
            lang.pick("p90 រហូតដល់ការដោះស្រាយ", "p90 to resolution"),
            days(lang, stats.p90_hours_to_resolution),
        ),
        (
            lang.pick("ការពេញចិត្ត", "Satisfaction"),
            stats.satisfaction_rate.map_or_else(
                || "—".to_owned(),
                |rate| format!("{} (n={})", percent(lang, rate), n(stats.rated)),
            ),
        ),
        (lang.pick("បានបើកឡើងវិញ", "Reopened"), n(stats.reopened)),
    ]
}

/// The rows of the child administrations: ranked by `key` (best first) where they
/// received enough, the rest after them unranked.
fn ranked(
    lang: Lang,
    rows: &[(AdminUnit, ResponseStats)],
    link: &dyn Fn(&UnitCode) -> String,
    by_speed: bool,
) -> Vec<ChildRow> {
    let mut order: Vec<&(AdminUnit, ResponseStats)> = rows.iter().collect();
    let key = |stats: &ResponseStats| {
        if by_speed {
            stats.median_hours_to_first_response.unwrap_or(f64::INFINITY)
        } else {
            -stats.response_rate
        }
    };
    order.sort_by(|(a_unit, a), (b_unit, b)| {
        let ranked = |s: &ResponseStats| s.received < MIN_RANKED;
        ranked(a)
            .cmp(&ranked(b))
            .then(key(a).total_cmp(&key(b)))
            .then(b.received.cmp(&a.received))
            .then(a_unit.code.as_str().cmp(b_unit.code.as_str()))
    });
    order
        .into_iter()
        .enumerate()
        .map(|(place, (unit, stats))| ChildRow {
            rank: if stats.received >= MIN_RANKED {
                lang.number(u64::try_from(place).unwrap_or_default() + 1)
            } else {
                "—".to_owned()
            },
            href: link(&unit.code),
            name: lang.pick(&unit.name_km, &unit.name_en).to_owned(),
            n: lang.number(stats.received),
            rate: percent(lang, stats.response_rate),
            median: days(lang, stats.median_hours_to_first_response),
        })
        .collect()
}

/// The months as grouped bars (received, responded, resolved), each month labelled
/// under its bars and the tallest count beside the top.
fn chart(lang: Lang, months: &[(String, ResponseStats)]) -> (String, Vec<Bar>, Vec<Label>) {
    let highest = months.iter().map(|(_, s)| s.received).max().unwrap_or(0).max(1);
    let mut bars = Vec::new();
    let mut labels = vec![Label {
        x: "0".to_owned(),
        y: "10".to_owned(),
        text: lang.number(highest),
    }];
    for (n, (month, stats)) in months.iter().enumerate() {
        let left = LEFT_MARGIN + n as f64 * MONTH_WIDTH;
        for (k, (value, class)) in [
            (stats.received, "received"),
            (stats.responded, "responded"),
            (stats.resolved, "resolved"),
        ]
        .into_iter()
        .enumerate()
        {
            let height = value as f64 / highest as f64 * CHART_HEIGHT;
            bars.push(Bar {
                x: format!("{:.1}", left + 3.0 + k as f64 * 8.0),
                y: format!("{:.1}", CHART_HEIGHT + 5.0 - height),
                width: "7".to_owned(),
                height: format!("{height:.1}"),
                class,
            });
        }
        // `YYYY-MM`: the month's number under its bars.
        labels.push(Label {
            x: format!("{:.1}", left + 6.0),
            y: format!("{:.0}", CHART_HEIGHT + 20.0),
            text: lang.digits(month.get(5..).unwrap_or(month)),
        });
    }
    let width = LEFT_MARGIN + months.len().max(1) as f64 * MONTH_WIDTH;
    (format!("{width:.0}"), bars, labels)
}

/// The communes as points at their centres: an equirectangular projection of the
/// unit's own extent, each point sized by comments and coloured by response rate.
fn map(
    lang: Lang,
    centres: &[CommuneCentre],
    stats: &HashMap<String, ResponseStats>,
    names: &HashMap<String, String>,
) -> (String, Vec<Point>) {
    let (mut south, mut north, mut west, mut east) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for c in centres {
        south = south.min(c.lat);
        north = north.max(c.lat);
        west = west.min(c.long);
        east = east.max(c.long);
    }
    let stretch = ((south + north) / 2.0).to_radians().cos();
    let span = ((east - west) * stretch).max(north - south).max(0.01);
    let scale = (MAP_WIDTH - 20.0) / span;
    let height = (north - south) * scale + 20.0;
    let busiest = stats.values().map(|s| s.received).max().unwrap_or(0).max(1) as f64;
    let mut points: Vec<Point> = centres
        .iter()
        .map(|c| {
            let found = stats.get(c.code.as_str()).filter(|s| s.received > 0);
            let (r, class, title) = match found {
                Some(s) => {
                    let class = match s.response_rate {
                        r if r >= 0.8 => "rate-high",
                        r if r >= 0.5 => "rate-mid",
                        _ => "rate-low",
                    };
                    let name = names
                        .get(c.code.as_str())
                        .cloned()
                        .unwrap_or_else(|| c.code.as_str().to_owned());
                    let title = format!(
                        "{name}: n={}, {}",
                        lang.number(s.received),
                        percent(lang, s.response_rate)
                    );
                    (2.0 + 6.0 * (s.received as f64 / busiest).sqrt(), class, Some(title))
                }
                None => (1.2, "rate-none", None),
            };
            Point {
                cx: format!("{:.1}", (c.long - west) * stretch * scale + 10.0),
                cy: format!("{:.1}", (north - c.lat) * scale + 10.0),
                r: format!("{r:.1}"),
                class,
                title,
            }
        })
        .collect();
    // The communes with comments drawn last, over the empty ones.
    points.sort_by_key(|p| p.title.is_some());
    (format!("{height:.0}"), points)
}

async fn overview_of(
    mati: &Mati,
    code: Option<&str>,
    query: &[(String, String)],
    origin: &Origin,
    lang: Lang,
) -> DomainResult<Overview> {
    let unit = match code {
        Some(code) => {
            let unit = mati
                .admin_unit(code)
                .await
                .map_err(|_| DomainError::NotFound(format!("unit {code}")))?
                .filter(|u| u.level != AdminLevel::Village)
                .ok_or_else(|| DomainError::NotFound(format!("unit {code}")))?;
            Some(unit)
        }
        None => None,
    };
    let (from, to) = period(query, mati.now())?;
    let filter = StatsFilter {
        unit_code: unit.as_ref().map(|u| u.code.as_str().to_owned()),
        from: start_of(from),
        to: start_of(to + Duration::days(1)),
        category_code: None,
    };
    let stats = mati.response_stats(&filter, origin).await?;
    let months = mati.response_stats_breakdown(&filter, Grouping::Month, origin).await?;
    let by_category = mati
        .response_stats_breakdown(&filter, Grouping::Category, origin)
        .await?;
    let genders = mati.response_stats_by_gender(&filter, origin).await?;
    let children = match &unit {
        Some(u) if u.level == AdminLevel::Commune => Vec::new(),
        _ => mati.response_stats_by_child(&filter, origin).await?,
    };
    let child_codes: Vec<UnitCode> = children.iter().filter_map(|s| s.unit.clone()).collect();
    let mut trail_codes = Vec::new();
    let mut up = unit.as_ref().and_then(|u| u.parent_code.clone());
    while let Some(code) = up {
        up = code.parent();
        trail_codes.insert(0, code);
    }
    let mut codes = child_codes.clone();
    codes.extend(trail_codes.iter().cloned());
    let units = mati.units(&codes).await?;
    let by_commune = mati.response_stats_by_commune(&filter, origin).await?;
    let centres = mati.commune_centres_within(unit.as_ref().map(|u| &u.code)).await?;
    let commune_codes: Vec<UnitCode> = by_commune
        .iter()
        .filter_map(|(code, _)| UnitCode::parse("code", code).ok())
        .collect();
    let commune_names: HashMap<String, String> = mati
        .units(&commune_codes)
        .await?
        .into_iter()
        .map(|u| (u.code.as_str().to_owned(), lang.pick(&u.name_km, &u.name_en).to_owned()))
        .collect();
    let commune_stats: HashMap<String, ResponseStats> = by_commune.into_iter().collect();
    let categories = mati.categories().await?;
    let dates = format!("from={from}&to={to}");
    let link = |code: &UnitCode| format!("/units/{}?lang={}&{dates}", code.as_str(), lang.code());
    let rows: Vec<(AdminUnit, ResponseStats)> = children
        .into_iter()
        .filter_map(|s| {
            let unit = units.iter().find(|u| Some(&u.code) == s.unit.as_ref())?.clone();
            Some((unit, s))
        })
        .collect();
    let country = lang.pick("កម្ពុជា", "Cambodia").to_owned();
    let title = unit
        .as_ref()
        .map_or_else(|| country.clone(), |u| lang.pick(&u.name_km, &u.name_en).to_owned());
    let mut trail = Vec::new();
    if unit.is_some() {
        trail.push((format!("/?lang={}&{dates}", lang.code()), country));
        for code in &trail_codes {
            if let Some(u) = units.iter().find(|u| &u.code == code) {
                trail.push((link(code), lang.pick(&u.name_km, &u.name_en).to_owned()));
            }
        }
    }
    let (chart_width, bars, labels) = chart(lang, &months);
    let (map_height, points) = map(lang, &centres, &commune_stats, &commune_names);
    let mut busiest: Vec<(&String, &ResponseStats)> = commune_stats.iter().filter(|(_, s)| s.received > 0).collect();
    busiest.sort_by(|(a_code, a), (b_code, b)| b.received.cmp(&a.received).then(a_code.cmp(b_code)));
    let busiest = busiest
        .into_iter()
        .take(BUSIEST)
        .map(|(code, s)| {
            (
                format!("/units/{code}?lang={}&{dates}", lang.code()),
                commune_names.get(code).cloned().unwrap_or_else(|| code.clone()),
                lang.number(s.received),
                percent(lang, s.response_rate),
            )
        })
        .collect();
    let unit_param = unit
        .as_ref()
        .map(|u| format!("unitCode={}&", u.code.as_str()))
        .unwrap_or_default();
    let (from_at, to_at) = (
        filter.from.map(|at| at.to_rfc3339()).unwrap_or_default(),
        filter.to.map(|at| at.to_rfc3339()).unwrap_or_default(),
    );
    let encode = |at: &str| at.replace('+', "%2B");
    let gender_name = |key: &str| match key {
        "FEMALE" => lang.pick("ស្រី", "Female"),
        "MALE" => lang.pick("ប្រុស", "Male"),
        "OTHER" => lang.pick("ផ្សេងទៀត", "Other"),
        _ => lang.pick("មិនបានប្រកាស", "Not declared"),
    };
    Ok(Overview {
        lang,
        trail,
        from_value: from.to_string(),
        to_value: to.to_string(),
        period: format!(
            "{} {} {} {}",
            lang.pick("មតិដែលបានបញ្ជូនពី", "Comments routed from"),
            written_day(lang, from),
            lang.pick("ដល់", "to"),
            written_day(lang, to)
        ),
        figures: figures(lang, &stats),
        children_caption: lang.digits(&format!(
            "{} {MIN_RANKED} {}",
            lang.pick("រដ្ឋបាលដែលបានទទួលមតិតិចជាង", "Administrations that received fewer than"),
            lang.pick("មិនត្រូវបានចាត់ថ្នាក់ទេ។", "comments are not ranked.")
        )),
        children: ranked(lang, &rows, &link, false),
        speed_caption: lang.pick("លឿនបំផុតមុនគេ។", "Fastest first.").to_owned(),
        by_speed: ranked(lang, &rows, &link, true),
        chart_width,
        bars,
        labels,
        months: months
            .iter()
            .map(|(month, s)| {
                (
                    lang.digits(month),
                    lang.number(s.received),
                    lang.number(s.responded),
                    lang.number(s.resolved),
                )
            })
            .collect(),
        categories: by_category
            .iter()
            .map(|(code, s)| {
                let name = categories
                    .iter()
                    .find(|c| &c.code == code)
                    .map_or_else(|| code.clone(), |c| lang.pick(&c.name_km, &c.name_en).to_owned());
                (name, lang.number(s.received), percent(lang, s.response_rate))
            })
            .collect(),
        genders: genders
            .iter()
            .map(|(key, cell)| match cell {
                Some(s) => (
                    gender_name(key).to_owned(),
                    lang.number(s.received),
                    percent(lang, s.response_rate),
                ),
                None => (gender_name(key).to_owned(), "—".to_owned(), "—".to_owned()),
            })
            .collect(),
        map_width: format!("{MAP_WIDTH:.0}"),
        map_height,
        points,
        busiest,
        suppression_note: lang.digits(&format!(
            "{} {} {}",
            lang.pick("«—» ៖ ក្រុមដែលមានមតិតិចជាង", "“—”: a group of fewer than"),
            mati.min_group_size(),
            lang.pick("ត្រូវបានលាក់។", "comments is suppressed.")
        )),
        stats_csv: format!(
            "/exports/stats.csv?{unit_param}from={}&to={}",
            encode(&from_at),
            encode(&to_at)
        ),
        comments_csv: format!(
            "/exports/comments.csv?{unit_param}from={}&to={}",
            encode(&from_at),
            encode(&to_at)
        ),
        title,
    })
}

async fn answer(
    state: &AppState,
    code: Option<&str>,
    query: &[(String, String)],
    origin: &Origin,
    headers: &HeaderMap,
    id: &RequestId,
) -> Response {
    let lang = Lang::of(query);
    match overview_of(&state.mati, code, query, origin, lang).await {
        Ok(page) => render(page.render(), headers, PAGE_CACHE, id).await,
        Err(err) => refusal(lang, err, id),
    }
}

/// `/`: the country.
pub async fn country(
    State(state): State<AppState>,
    Client(origin): Client,
    Extension(id): Extension<RequestId>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    answer(&state, None, &query, &origin, &headers, &id).await
}

/// `/units/{code}`: a province, district or commune.
pub async fn unit(
    State(state): State<AppState>,
    Client(origin): Client,
    Extension(id): Extension<RequestId>,
    Path(code): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    answer(&state, Some(&code), &query, &origin, &headers, &id).await
}

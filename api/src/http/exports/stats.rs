//! `GET /exports/stats.csv`: the response statistics of a unit (the country when no
//! `unitCode`) and of each of its child administrations, one row each, then the unit's
//! breakdown by gender (column `gender`), with the filters of the statistics queries:
//! `unitCode`, `categoryCode`, `from`, `to`. Same counters, definitions and whole days as
//! `responseStats`; a gender group too small to show has `suppressed` true and empty
//! counters, as in `byGender`. UTF-8 with a byte-order mark for spreadsheets. Computed
//! anew, it counts against `MATI_RATE_LIMIT_STATS_PER_ADDRESS` like the queries.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Query, State};
use axum::response::Response;
use mati_domain::geography::{AdminLevel, UnitCode};
use mati_domain::rate_limit::Origin;
use mati_domain::service::{Mati, StatsFilter};
use mati_domain::stats::ResponseStats;
use mati_domain::{DomainError, DomainResult};

use super::{BOM, csv_file, instant, parameters, unreadable};
use crate::http::failure::{Failure, RequestId};
use crate::http::origin::Client;

const COLUMNS: [&str; 19] = [
    "unit_code",
    "unit_en",
    "unit_km",
    "received",
    "responded",
    "response_rate",
    "resolved",
    "overdue",
    "acknowledged",
    "escalated_away",
    "rated",
    "satisfaction_rate",
    "median_hours_to_first_response",
    "p90_hours_to_first_response",
    "median_hours_to_resolution",
    "p90_hours_to_resolution",
    "reopened",
    "gender",
    "suppressed",
];

fn filter(params: &[(String, String)]) -> DomainResult<StatsFilter> {
    let mut filter = StatsFilter::default();
    for (name, value) in parameters(params, &["unitCode", "categoryCode", "from", "to"])? {
        match name {
            "unitCode" => filter.unit_code = Some(value.to_owned()),
            "categoryCode" => filter.category_code = Some(value.to_owned()),
            "from" => filter.from = Some(instant("from", value)?),
            _ => filter.to = Some(instant("to", value)?),
        }
    }
    Ok(filter)
}

fn number(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.4}")).unwrap_or_default()
}

/// The unit's code and names (the country's when none).
fn unit_columns(unit: Option<&UnitCode>, names: &HashMap<UnitCode, (String, String)>) -> [String; 3] {
    let (en, km) = unit
        .and_then(|u| names.get(u).cloned())
        .unwrap_or_else(|| ("Cambodia".to_owned(), "កម្ពុជា".to_owned()));
    [unit.map(|u| u.as_str().to_owned()).unwrap_or_default(), en, km]
}

/// The counters of a row, in the order of [`COLUMNS`] from `received` to `reopened`.
fn counters(stats: &ResponseStats) -> [String; 14] {
    [
        stats.received.to_string(),
        stats.responded.to_string(),
        format!("{:.4}", stats.response_rate),
        stats.resolved.to_string(),
        stats.overdue.to_string(),
        stats.acknowledged.to_string(),
        stats.escalated_away.to_string(),
        stats.rated.to_string(),
        number(stats.satisfaction_rate),
        number(stats.median_hours_to_first_response),
        number(stats.p90_hours_to_first_response),
        number(stats.median_hours_to_resolution),
        number(stats.p90_hours_to_resolution),
        stats.reopened.to_string(),
    ]
}

fn record(
    unit: Option<&UnitCode>,
    stats: Option<&ResponseStats>,
    gender: &str,
    names: &HashMap<UnitCode, (String, String)>,
) -> Vec<String> {
    let mut row: Vec<String> = unit_columns(unit, names).into();
    match stats {
        Some(stats) => row.extend(counters(stats)),
        None => row.extend(std::iter::repeat_n(String::new(), 14)),
    }
    row.push(gender.to_owned());
    row.push(stats.is_none().to_string());
    row
}

async fn rows(mati: &Mati, filter: &StatsFilter, origin: &Origin) -> DomainResult<Vec<Vec<String>>> {
    let total = mati.response_stats(filter, origin).await?;
    let is_commune = total.unit.as_ref().is_some_and(|u| u.level() == AdminLevel::Commune);
    let children = if is_commune {
        Vec::new()
    } else {
        mati.response_stats_by_child(filter, origin).await?
    };
    let genders = mati.response_stats_by_gender(filter, origin).await?;
    let codes: Vec<UnitCode> = std::iter::once(&total)
        .chain(&children)
        .filter_map(|s| s.unit.clone())
        .collect();
    let names: HashMap<UnitCode, (String, String)> = mati
        .units(&codes)
        .await?
        .into_iter()
        .map(|u| (u.code, (u.name_en, u.name_km)))
        .collect();
    let unit = total.unit.clone();
    Ok(std::iter::once(&total)
        .chain(&children)
        .map(|s| record(s.unit.as_ref(), Some(s), "", &names))
        .chain(
            genders
                .iter()
                .map(|(gender, stats)| record(unit.as_ref(), stats.as_ref(), gender, &names)),
        )
        .collect())
}

fn encode(rows: &[Vec<String>]) -> DomainResult<Vec<u8>> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(BOM.as_bytes().to_vec());
    let failed = |err: csv::Error| DomainError::Internal(format!("CSV encoding: {err}"));
    writer.write_record(COLUMNS).map_err(failed)?;
    for row in rows {
        writer.write_record(row).map_err(failed)?;
    }
    writer
        .into_inner()
        .map_err(|err| DomainError::Internal(format!("CSV encoding: {err}")))
}

/// The statistics export (see the module documentation).
pub async fn stats(
    State(mati): State<Mati>,
    Client(origin): Client,
    Extension(id): Extension<RequestId>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let Ok(Query(params)) = params else {
        return unreadable().answer(&id);
    };
    let body = async {
        let filter = filter(&params)?;
        encode(&rows(&mati, &filter, &origin).await?)
    };
    match body.await {
        Ok(body) => csv_file("attachment; filename=\"mati-stats.csv\"", body),
        Err(err) => Failure::domain(err).answer(&id),
    }
}

//! `GET /exports/stats.csv`: the response statistics of a unit (the country when no
//! `unitCode`) and of each of its child administrations, one row each, with the filters
//! of the statistics queries: `unitCode`, `categoryCode`, `from`, `to`. Same counters and
//! definitions as `responseStats`; UTF-8 with a byte-order mark for spreadsheets.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use mati_domain::geography::{AdminLevel, UnitCode};
use mati_domain::stats::ResponseStats;
use mati_domain::{DomainError, DomainResult};

use super::{BOM, csv_file, fail, instant, parameters};
use crate::http::AppState;

const COLUMNS: [&str; 16] = [
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
];

#[derive(Default)]
struct Filter {
    unit_code: Option<String>,
    category_code: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

fn filter(params: &[(String, String)]) -> DomainResult<Filter> {
    let mut filter = Filter::default();
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

fn record(stats: &ResponseStats, names: &HashMap<UnitCode, (String, String)>) -> Vec<String> {
    let (en, km) = stats
        .unit
        .as_ref()
        .and_then(|u| names.get(u).cloned())
        .unwrap_or_else(|| ("Cambodia".to_owned(), "កម្ពុជា".to_owned()));
    vec![
        stats.unit.as_ref().map(|u| u.as_str().to_owned()).unwrap_or_default(),
        en,
        km,
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
    ]
}

async fn rows(state: &AppState, filter: &Filter) -> DomainResult<Vec<Vec<String>>> {
    let mati = &state.mati;
    let (unit, category) = (filter.unit_code.as_deref(), filter.category_code.as_deref());
    let total = mati.response_stats(unit, filter.from, filter.to, category).await?;
    let is_commune = total.unit.as_ref().is_some_and(|u| u.level() == AdminLevel::Commune);
    let children = if is_commune {
        Vec::new()
    } else {
        mati.response_stats_by_child(unit, filter.from, filter.to, category)
            .await?
    };
    let codes: Vec<UnitCode> = std::iter::once(&total)
        .chain(&children)
        .filter_map(|s| s.unit.clone())
        .collect();
    let names: HashMap<UnitCode, (String, String)> = mati
        .ports()
        .geography
        .units(&codes)
        .await?
        .into_iter()
        .map(|u| (u.code, (u.name_en, u.name_km)))
        .collect();
    Ok(std::iter::once(&total)
        .chain(&children)
        .map(|s| record(s, &names))
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
    State(state): State<AppState>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let Ok(Query(params)) = params else {
        return fail(DomainError::invalid(
            "query",
            "the query string could not be read",
            "ប៉ារ៉ាម៉ែត្រមិនត្រឹមត្រូវ",
        ));
    };
    let body = async {
        let filter = filter(&params)?;
        encode(&rows(&state, &filter).await?)
    };
    match body.await {
        Ok(body) => csv_file("attachment; filename=\"mati-stats.csv\"", body),
        Err(err) => fail(err),
    }
}

//! `GET /exports/comments.csv`: the public, published comments as CSV for monitors'
//! spreadsheets, with the filters of the `comments` query as URL parameters
//! (`unitCode`, `categoryCode`, `status`) plus `from` and `to` (RFC 3339, on the time a
//! comment was sent, [from, to)). Open to anyone: the domain decides which rows and
//! columns are public ([`Mati::export_comments_page`]).
//!
//! The file is streamed page by page, so memory stays flat however many rows there are.
//! It starts with a byte-order mark, so that spreadsheet programs read the Khmer as
//! UTF-8, and ends lines with CRLF. A body that a spreadsheet would take for a formula
//! (`=`, `+`, `-`, `@`, tab or CR first) gets a leading `'`, so that opening a public
//! file never runs a citizen's formula.

pub mod stats;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures::{StreamExt, stream};
use mati_domain::comment::CommentId;
use mati_domain::comment::CommentStatus;
use mati_domain::service::{EXPORT_COLUMNS, Export, ExportFilter, ExportRow, MAX_EXPORT_PAGE, Mati};
use mati_domain::{DomainError, DomainResult};

use super::failure::{Failure, RequestId};
use super::origin::Client;

/// Saves the file as `mati-comments.csv`.
const DISPOSITION: &str = "attachment; filename=\"mati-comments.csv\"";
/// The byte-order mark that tells spreadsheet programs the file is UTF-8.
pub(crate) const BOM: &str = "\u{FEFF}";
/// The column that holds citizens' text.
const BODY: usize = EXPORT_COLUMNS.len() - 1;

/// The comments export (see the module documentation).
pub async fn comments(
    State(mati): State<Mati>,
    Client(origin): Client,
    Extension(id): Extension<RequestId>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let Ok(Query(params)) = params else {
        return unreadable().answer(&id);
    };
    let started = async {
        let export = mati.prepare_export(filter(&params)?, &origin).await?;
        // The first page is read before answering, so that a failing database is a
        // proper error status rather than a cut-off file.
        let first = mati.export_comments_page(&export, None, MAX_EXPORT_PAGE).await?;
        let mut chunk = BOM.as_bytes().to_vec();
        chunk.extend(encode(std::iter::once(&EXPORT_COLUMNS.map(str::to_owned)))?);
        chunk.extend(encode(first.rows.iter().map(ExportRow::fields))?);
        Ok::<_, DomainError>((export, first.next, chunk))
    };
    let (export, next, chunk) = match started.await {
        Ok(started) => started,
        Err(err) => return Failure::domain(err).answer(&id),
    };
    let rest = stream::unfold(Some(Pages { mati, export, next }), Pages::next);
    let body = Body::from_stream(stream::once(async { Ok(Bytes::from(chunk)) }).chain(rest));
    csv_file(DISPOSITION, body)
}

/// A CSV download: `disposition` names the file.
pub(crate) fn csv_file(disposition: &'static str, body: impl Into<Body>) -> Response {
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        ),
        (header::CONTENT_DISPOSITION, HeaderValue::from_static(disposition)),
    ];
    (StatusCode::OK, headers, body.into()).into_response()
}

/// The pages after the first, one body chunk each.
struct Pages {
    mati: Mati,
    export: Export,
    next: Option<CommentId>,
}

impl Pages {
    async fn next(state: Option<Self>) -> Option<(Result<Bytes, std::io::Error>, Option<Self>)> {
        let mut pages = state?;
        let after = pages.next?;
        let page = pages
            .mati
            .export_comments_page(&pages.export, Some(after), MAX_EXPORT_PAGE)
            .await;
        let chunk = page.and_then(|page| {
            pages.next = page.next;
            encode(page.rows.iter().map(ExportRow::fields))
        });
        match chunk {
            Ok(chunk) => Some((Ok(Bytes::from(chunk)), Some(pages))),
            Err(err) => {
                // The status is already sent: breaking the body off is how the client
                // learns that the file is incomplete.
                tracing::error!(error = %err, after = after.get(), "comments export failed midway");
                Some((Err(std::io::Error::other("export failed")), None))
            }
        }
    }
}

/// The non-empty parameters of an export, checked against the `known` names: unknown or
/// repeated ones are refused, so that a typo never exports more than was asked for;
/// empty ones count as absent.
pub(crate) fn parameters<'a>(params: &'a [(String, String)], known: &[&str]) -> DomainResult<Vec<(&'a str, &'a str)>> {
    let mut seen: Vec<&str> = Vec::new();
    let mut given = Vec::new();
    for (name, value) in params {
        if seen.contains(&name.as_str()) {
            return Err(DomainError::invalid(name, "is given more than once", "ប៉ារ៉ាម៉ែត្រស្ទួន"));
        }
        seen.push(name);
        if !known.contains(&name.as_str()) {
            return Err(DomainError::invalid(
                name,
                &format!("is not a parameter of this export; use {}", known.join(", ")),
                "ប៉ារ៉ាម៉ែត្រមិនស្គាល់",
            ));
        }
        let value = value.trim();
        if !value.is_empty() {
            given.push((name.as_str(), value));
        }
    }
    Ok(given)
}

/// Reads the comments export's parameters.
fn filter(params: &[(String, String)]) -> DomainResult<ExportFilter> {
    let mut filter = ExportFilter::default();
    for (name, value) in parameters(params, &["unitCode", "categoryCode", "status", "from", "to"])? {
        match name {
            "unitCode" => filter.unit_code = Some(value.to_owned()),
            "categoryCode" => filter.category_code = Some(value.to_owned()),
            "status" => filter.status = Some(status(value)?),
            "from" => filter.from = Some(instant("from", value)?),
            _ => filter.to = Some(instant("to", value)?),
        }
    }
    Ok(filter)
}

fn status(raw: &str) -> DomainResult<CommentStatus> {
    CommentStatus::parse(raw).ok_or_else(|| {
        DomainError::invalid(
            "status",
            "must be one of PENDING, REJECTED, ROUTED, ACKNOWLEDGED, RESPONDED, RESOLVED",
            "ស្ថានភាពមិនត្រឹមត្រូវ",
        )
    })
}

pub(crate) fn instant(field: &str, raw: &str) -> DomainResult<DateTime<Utc>> {
    // An unencoded `+` in a query string arrives as a space: `…T00:00:00 07:00`.
    DateTime::parse_from_rfc3339(raw)
        .or_else(|err| match raw.rsplit_once(' ') {
            Some((time, offset)) => DateTime::parse_from_rfc3339(&format!("{time}+{offset}")),
            None => Err(err),
        })
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| {
            DomainError::invalid(
                field,
                "must be an RFC 3339 time such as 2026-01-01T00:00:00Z",
                "កាលបរិច្ឆេទមិនត្រឹមត្រូវ",
            )
        })
}

/// CSV records with CRLF line ends and quoting where needed.
fn encode<'a>(records: impl Iterator<Item = &'a [String; EXPORT_COLUMNS.len()]>) -> DomainResult<Vec<u8>> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for record in records {
        let mut record = record.clone();
        record[BODY] = defused(&record[BODY]);
        writer
            .write_record(&record)
            .map_err(|err| DomainError::Internal(format!("CSV encoding: {err}")))?;
    }
    writer
        .into_inner()
        .map_err(|err| DomainError::Internal(format!("CSV encoding: {err}")))
}

/// Text that a spreadsheet shows as text, never evaluates.
fn defused(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// A query string that could not be read.
pub(super) fn unreadable() -> Failure {
    Failure::domain(DomainError::invalid(
        "query",
        "the query string could not be read",
        "ប៉ារ៉ាម៉ែត្រមិនត្រឹមត្រូវ",
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn record(body: &str) -> [String; EXPORT_COLUMNS.len()] {
        let mut record: [String; EXPORT_COLUMNS.len()] = Default::default();
        record[0] = "KH7F3K2Q".into();
        record[BODY] = body.into();
        record
    }

    fn line(body: &str) -> String {
        String::from_utf8(encode(std::iter::once(&record(body))).unwrap()).unwrap()
    }

    #[test]
    fn bodies_with_commas_quotes_and_newlines_are_quoted() {
        let empty = ",".repeat(EXPORT_COLUMNS.len() - 2);
        assert_eq!(line("plain words"), format!("KH7F3K2Q{empty},plain words\r\n"));
        assert_eq!(
            line("roads, bridges"),
            format!("KH7F3K2Q{empty},\"roads, bridges\"\r\n")
        );
        assert_eq!(
            line("the \"new\" road"),
            format!("KH7F3K2Q{empty},\"the \"\"new\"\" road\"\r\n")
        );
        assert_eq!(
            line("one\ntwo\r\nthree"),
            format!("KH7F3K2Q{empty},\"one\ntwo\r\nthree\"\r\n")
        );
        assert_eq!(line("ផ្លូវខូច"), format!("KH7F3K2Q{empty},ផ្លូវខូច\r\n"));
    }

    #[test]
    fn a_body_that_looks_like_a_formula_stays_text() {
        let empty = ",".repeat(EXPORT_COLUMNS.len() - 2);
        assert_eq!(line("=1+1"), format!("KH7F3K2Q{empty},'=1+1\r\n"));
        assert_eq!(line("@SUM(A1)"), format!("KH7F3K2Q{empty},'@SUM(A1)\r\n"));
        assert_eq!(line("a = b"), format!("KH7F3K2Q{empty},a = b\r\n"));
    }

    #[test]
    fn parameters_are_checked_by_name() {
        let params = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
        };
        let field = |result: DomainResult<ExportFilter>| match result {
            Err(DomainError::InvalidInput { field, .. }) => field,
            other => panic!("expected invalid input, got {other:?}"),
        };
        assert_eq!(field(filter(&params(&[("status", "NOPE")]))), "status");
        assert_eq!(field(filter(&params(&[("from", "yesterday")]))), "from");
        assert_eq!(field(filter(&params(&[("unit_code", "12")]))), "unit_code");
        assert_eq!(
            field(filter(&params(&[("to", "2026-01-01T00:00:00Z"), ("to", "x")]))),
            "to"
        );
        let ok = filter(&params(&[("from", "2026-01-01T07:00:00 07:00"), ("unitCode", "")])).unwrap();
        assert_eq!(ok.from.unwrap().to_rfc3339(), "2026-01-01T00:00:00+00:00");
        assert_eq!(ok.unit_code, None);
    }
}

//! Public pages, rendered on the server from templates checked at compile time
//! (askama, `api/templates/`): Khmer by default, English by a visible switch that keeps
//! the page (`?lang=en`), no JavaScript, nothing loaded from another host
//! (`Content-Security-Policy: default-src 'self'`), an `ETag` on every page.

use askama::Template;
use axum::Router;
use axum::extract::{Extension, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mati_domain::DomainError;
use mati_domain::deadline::DeadlinePolicy;

mod overview;
mod track;

use super::AppState;
use super::failure::{Failure, RequestId};
use super::revalidate::revalidated;

/// Only this server's own resources, and no plugins, frames or forms elsewhere.
const CSP: &str = "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";
/// Pages change with the data: kept a few minutes, then checked again.
const PAGE_CACHE: &str = "public, max-age=300";
/// The one stylesheet.
const STYLESHEET: &str = include_str!("../../assets/mati.css");
/// The gazetteer's attribution, shown on the methodology page.
const ATTRIBUTION: &str = include_str!("../../../data/gazetteer/ATTRIBUTION.txt");

/// The language of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Khmer, the default.
    Km,
    /// English.
    En,
}

impl Lang {
    /// From `?lang=`: English when asked for, Khmer otherwise.
    fn of(query: &[(String, String)]) -> Self {
        match query.iter().find(|(name, _)| name == "lang") {
            Some((_, value)) if value == "en" => Self::En,
            _ => Self::Km,
        }
    }

    /// The `lang` attribute's value.
    pub fn code(self) -> &'static str {
        match self {
            Self::Km => "km",
            Self::En => "en",
        }
    }

    /// The text of this language.
    pub fn pick<'a>(self, km: &'a str, en: &'a str) -> &'a str {
        match self {
            Self::Km => km,
            Self::En => en,
        }
    }

    /// A whole number as this language writes it: Khmer digits in Khmer.
    pub fn number(self, n: u64) -> String {
        self.digits(&n.to_string())
    }

    /// `text` with its digits as this language writes them.
    pub fn digits(self, text: &str) -> String {
        match self {
            Self::En => text.to_owned(),
            Self::Km => text
                .chars()
                .map(|c| c.to_digit(10).and_then(|d| char::from_u32(0x17E0 + d)).unwrap_or(c))
                .collect(),
        }
    }
}

/// The methodology page.
#[derive(Template)]
#[template(path = "methodology.html")]
struct Methodology {
    lang: Lang,
    min_group: String,
    first_response_days: String,
    min_ranked: String,
    attribution: &'static str,
}

/// A page that could not be shown.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    lang: Lang,
    title: &'static str,
    message: &'static str,
}

/// The routes of the pages and their stylesheet.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(overview::country))
        .route("/units/{code}", get(overview::unit))
        .route("/methodology", get(methodology))
        .route("/track/{code}", get(track::track))
        // The short form for an SMS: the same page.
        .route("/t/{code}", get(track::track))
        .route("/assets/mati.css", get(stylesheet))
}

/// A rendered page with its headers, revalidated, kept as `cache` says.
async fn render(
    rendered: askama::Result<String>,
    headers: &HeaderMap,
    cache: &'static str,
    id: &RequestId,
) -> Response {
    let html = match rendered {
        Ok(html) => html,
        Err(err) => {
            return Failure::domain(DomainError::Internal(format!("a page failed to render: {err}"))).answer(id);
        }
    };
    revalidated(html_response(StatusCode::OK, html), headers, cache, id).await
}

/// An HTML answer: only this server's resources, no sniffing.
fn html_response(status: StatusCode, html: String) -> Response {
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        html,
    )
        .into_response()
}

/// The page of a refusal: its status decided where every answer's is
/// ([`Failure::domain`]), its words in the page's language, `Retry-After` kept.
fn refusal(lang: Lang, err: DomainError, id: &RequestId) -> Response {
    let failure = Failure::domain(err);
    let status = failure.status();
    let (title, message) = match status {
        StatusCode::NOT_FOUND => (
            lang.pick("រកមិនឃើញ", "Not found"),
            lang.pick(
                "គ្មានមតិណាមួយមានលេខកូដនេះទេ។ សូមពិនិត្យលេខកូដម្តងទៀត។",
                "No comment has this code. Please check the code.",
            ),
        ),
        StatusCode::BAD_REQUEST => (
            lang.pick("មិនយល់សំណើនេះទេ", "Not understood"),
            lang.pick(
                "សូមពិនិត្យកាលបរិច្ឆេទ (ឆ្នាំ-ខែ-ថ្ងៃ) ហើយព្យាយាមម្តងទៀត។",
                "Please check the dates (year-month-day) and try again.",
            ),
        ),
        StatusCode::TOO_MANY_REQUESTS => (
            lang.pick("សំណើច្រើនពេក", "Too many requests"),
            lang.pick("សូមព្យាយាមម្តងទៀតបន្តិចទៀត។", "Please try again in a little while."),
        ),
        _ => (
            lang.pick("សេវាកម្មមិនអាចប្រើបានបណ្តោះអាសន្ន", "Temporarily unavailable"),
            lang.pick("សូមព្យាយាមម្តងទៀតបន្តិចទៀត។", "Please try again in a little while."),
        ),
    };
    let page = ErrorPage { lang, title, message };
    let Ok(html) = page.render() else {
        return failure.answer(id);
    };
    let retry_after = failure.retry_after();
    let mut response = html_response(status, html);
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

async fn methodology(
    State(state): State<AppState>,
    Extension(id): Extension<RequestId>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::of(&query);
    let days = u64::try_from(DeadlinePolicy::default().respond_within.num_days()).unwrap_or_default();
    let template = Methodology {
        lang,
        min_group: lang.number(state.mati.min_group_size()),
        first_response_days: lang.number(days),
        min_ranked: lang.number(overview::MIN_RANKED),
        attribution: ATTRIBUTION,
    };
    render(template.render(), &headers, PAGE_CACHE, &id).await
}

async fn stylesheet(Extension(id): Extension<RequestId>, headers: HeaderMap) -> Response {
    let response = (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/css; charset=utf-8"),
        )],
        STYLESHEET,
    )
        .into_response();
    revalidated(response, &headers, "public, max-age=86400", &id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn khmer_is_the_default_and_writes_khmer_digits() {
        assert_eq!(Lang::of(&[]), Lang::Km);
        assert_eq!(Lang::of(&[("lang".into(), "en".into())]), Lang::En);
        assert_eq!(Lang::of(&[("lang".into(), "fr".into())]), Lang::Km);
        assert_eq!(Lang::Km.number(2026), "២០២៦");
        assert_eq!(Lang::En.number(15), "15");
    }
}

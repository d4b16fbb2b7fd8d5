//! `/track/{code}` and its short form for an SMS, `/t/{code}`: where a comment is in its
//! life, for whoever holds its tracking code, with the visibility and the limit of
//! `commentByTrackingCode`: status, the administration responsible, public responses,
//! deadlines and the timeline always; the text only of a published public comment.

use askama::Template;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use chrono::{DateTime, Datelike, Timelike, Utc};
use mati_domain::auth::Principal;
use mati_domain::comment::{CommentStatus, EventKind};
use mati_domain::geography::UnitCode;
use mati_domain::privacy::{self, Reading};
use mati_domain::rate_limit::Origin;
use mati_domain::service::Mati;
use mati_domain::{DomainError, DomainResult, deadline};

use super::{Lang, refusal, render};
use crate::http::AppState;
use crate::http::failure::RequestId;
use crate::http::origin::Client;

/// A public response as the page shows it.
struct Answer {
    unit: String,
    at: String,
    iso: String,
    body: String,
}

/// A step of the timeline.
struct Step {
    at: String,
    iso: String,
    what: &'static str,
    unit: Option<String>,
    note: Option<String>,
}

#[derive(Template)]
#[template(path = "track.html")]
struct Track {
    lang: Lang,
    code: String,
    status: &'static str,
    status_class: &'static str,
    overdue: bool,
    category: String,
    place: String,
    assigned: Option<String>,
    sent: String,
    due: Option<String>,
    body: Option<String>,
    withheld: &'static str,
    responses: Vec<Answer>,
    steps: Vec<Step>,
}

const MONTHS_KM: [&str; 12] = [
    "មករា",
    "កុម្ភៈ",
    "មីនា",
    "មេសា",
    "ឧសភា",
    "មិថុនា",
    "កក្កដា",
    "សីហា",
    "កញ្ញា",
    "តុលា",
    "វិច្ឆិកា",
    "ធ្នូ",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A moment in Cambodia's time as the language writes it, and as ISO 8601.
fn moment(lang: Lang, at: DateTime<Utc>) -> (String, String) {
    let local = at.with_timezone(&mati_domain::stats::cambodia());
    let month = usize::try_from(local.month0()).unwrap_or_default() % 12;
    let clock = format!("{}:{:02}", local.hour(), local.minute());
    let text = match lang {
        Lang::Km => lang.digits(&format!(
            "{} {} {} ម៉ោង {clock}",
            local.day(),
            MONTHS_KM[month],
            local.year()
        )),
        Lang::En => format!("{} {} {}, {clock}", local.day(), MONTHS_EN[month], local.year()),
    };
    (text, local.format("%Y-%m-%dT%H:%M:%S%:z").to_string())
}

fn status_label(lang: Lang, status: CommentStatus) -> (&'static str, &'static str) {
    match status {
        CommentStatus::Pending => (lang.pick("កំពុងរង់ចាំអ្នកសម្របសម្រួលពិនិត្យ", "Waiting for a moderator"), "pending"),
        CommentStatus::Routed => (
            lang.pick("បានបញ្ជូនទៅរដ្ឋបាលទទួលខុសត្រូវ", "Sent to the administration responsible"),
            "open",
        ),
        CommentStatus::Acknowledged => (
            lang.pick("រដ្ឋបាលបានទទួលស្គាល់", "Acknowledged by the administration"),
            "open",
        ),
        CommentStatus::Responded => (lang.pick("បានឆ្លើយតប", "Answered"), "open"),
        CommentStatus::Resolved => (lang.pick("បានដោះស្រាយ", "Resolved"), "closed"),
        CommentStatus::Rejected => (
            lang.pick(
                "មិនត្រូវបានផ្សព្វផ្សាយ (អ្នកសម្របសម្រួលបានបដិសេធ)",
                "Not published (a moderator rejected it)",
            ),
            "rejected",
        ),
    }
}

fn event_label(lang: Lang, kind: EventKind) -> &'static str {
    match kind {
        EventKind::Submitted => lang.pick("បានផ្ញើ", "Sent"),
        EventKind::Approved => lang.pick("អ្នកសម្របសម្រួលបានអនុម័ត", "Approved by a moderator"),
        EventKind::Rejected => lang.pick("អ្នកសម្របសម្រួលបានបដិសេធ", "Rejected by a moderator"),
        EventKind::Routed => lang.pick("បានបញ្ជូនទៅរដ្ឋបាល", "Routed to the administration"),
        EventKind::Acknowledged => lang.pick("រដ្ឋបាលបានទទួលស្គាល់", "Acknowledged"),
        EventKind::Responded => lang.pick("រដ្ឋបាលបានឆ្លើយតប", "Answered"),
        EventKind::Referred => lang.pick("បានបញ្ជូនបន្តទៅរដ្ឋបាលផ្សេង", "Referred to another administration"),
        EventKind::Escalated => lang.pick("ហួសកំណត់ បានបញ្ជូនទៅថ្នាក់លើ", "Overdue: escalated to the level above"),
        EventKind::Resolved => lang.pick("បានដោះស្រាយ", "Resolved"),
        EventKind::Rated => lang.pick("ពលរដ្ឋបានវាយតម្លៃ", "Rated by the citizen"),
        EventKind::Reopened => lang.pick("ពលរដ្ឋបានបើកឡើងវិញ", "Reopened by the citizen"),
        EventKind::Flagged => lang.pick("មានអ្នករាយការណ៍", "Flagged"),
        EventKind::Hidden => lang.pick("បានលាក់ រង់ចាំការពិនិត្យ", "Hidden until a moderator reviews it"),
        EventKind::Restored => lang.pick("បានដាក់បង្ហាញវិញ", "Shown again"),
    }
}

/// The page of the comment with `code`; none when no comment has it (or it cannot be a
/// code at all).
async fn tracked(mati: &Mati, code: &str, origin: &Origin, lang: Lang) -> DomainResult<Option<Track>> {
    let comment = match mati.comment_by_tracking_code(code, origin).await {
        Ok(Some(comment)) => comment,
        Ok(None) | Err(DomainError::InvalidInput { .. }) => return Ok(None),
        Err(err) => return Err(err),
    };
    let viewer = Principal::Anonymous;
    let reading = Reading::of(&viewer, &comment);
    let events = mati.events_of(&[comment.id]).await?;
    let responses = mati.responses_of(&[comment.id]).await?;
    let place = comment.village_code.as_ref().unwrap_or(&comment.commune_code).upwards();
    let mut codes = place.clone();
    codes.extend(comment.assigned_unit.clone());
    codes.extend(events.iter().filter_map(|e| e.event.unit.clone()));
    codes.extend(responses.iter().map(|r| r.unit.clone()));
    let units = mati.units(&codes).await?;
    let name = |code: &UnitCode| {
        units.iter().find(|u| &u.code == code).map_or_else(
            || code.as_str().to_owned(),
            |u| lang.pick(&u.name_km, &u.name_en).to_owned(),
        )
    };
    let categories = mati.categories().await?;
    let category = categories.iter().find(|c| c.code == comment.category_code).map_or_else(
        || comment.category_code.clone(),
        |c| lang.pick(&c.name_km, &c.name_en).to_owned(),
    );
    let (status, status_class) = status_label(lang, comment.status);
    let withheld = if comment.is_public {
        lang.pick(
            "អត្ថបទនឹងបង្ហាញនៅទីនេះ នៅពេលអ្នកសម្របសម្រួលអនុម័ត។",
            "The text shows here once a moderator approves it.",
        )
    } else {
        lang.pick(
            "មតិនេះជាឯកជន៖ មានតែរដ្ឋបាលទទួលខុសត្រូវ និងអ្នកសម្របសម្រួលប៉ុណ្ណោះដែលអានអត្ថបទបាន។",
            "This comment is private: only the administration responsible and the moderators read its text.",
        )
    };
    let answers = responses
        .iter()
        .map(|r| {
            let (at, iso) = moment(lang, r.created_at);
            Answer {
                unit: name(&r.unit),
                at,
                iso,
                body: reading.text(&r.body).into_owned(),
            }
        })
        .collect();
    let steps = events
        .iter()
        .map(|e| {
            let (at, iso) = moment(lang, e.event.at);
            Step {
                at,
                iso,
                what: event_label(lang, e.event.kind),
                unit: e.event.unit.as_ref().map(&name),
                note: e.event.note.as_deref().map(|n| reading.text(n).into_owned()),
            }
        })
        .collect();
    Ok(Some(Track {
        lang,
        code: comment.tracking_code.as_str().to_owned(),
        status,
        status_class,
        overdue: deadline::is_overdue(&comment, mati.now()),
        category,
        place: place.iter().map(&name).collect::<Vec<_>>().join(", "),
        assigned: comment.assigned_unit.as_ref().map(&name),
        sent: moment(lang, comment.created_at).0,
        due: comment
            .due_at
            .filter(|_| comment.first_response_at.is_none())
            .map(|at| moment(lang, at).0),
        body: privacy::may_view(&viewer, &comment).then(|| reading.text(&comment.body).into_owned()),
        withheld,
        responses: answers,
        steps,
    }))
}

/// The tracking page (see the module documentation).
pub async fn track(
    State(state): State<AppState>,
    Client(origin): Client,
    Extension(id): Extension<RequestId>,
    Path(code): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::of(&query);
    let mut response = match tracked(&state.mati, &code, &origin, lang).await {
        Ok(Some(page)) => render(page.render(), &headers, "private, no-cache", &id).await,
        Ok(None) => refusal(lang, DomainError::NotFound(format!("comment {code}")), &id),
        Err(err) => refusal(lang, err, &id),
    };
    // The code is the credential: never passed on to another site, never indexed.
    let headers = response.headers_mut();
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_are_written_in_cambodia_time_in_each_language() {
        let at = DateTime::parse_from_rfc3339("2026-11-29T07:05:00Z")
            .map(|at| at.with_timezone(&Utc))
            .unwrap_or_default();
        assert_eq!(moment(Lang::En, at).0, "29 November 2026, 14:05");
        assert_eq!(moment(Lang::Km, at).0, "២៩ វិច្ឆិកា ២០២៦ ម៉ោង ១៤:០៥");
        assert_eq!(moment(Lang::En, at).1, "2026-11-29T14:05:00+07:00");
    }
}

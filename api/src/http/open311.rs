//! Open311 GeoReport v2 under `/open311/v2/`, beside GraphQL and on the same domain
//! services: categories are services, published comments are service requests.
//!
//! | path | what |
//! | --- | --- |
//! | `GET discovery.{xml,json}` | the endpoint, its formats and where keys come from |
//! | `GET services.{xml,json}` | one service per category (`?lat=&long=`: routable there) |
//! | `GET services/{code}.{xml,json}` | the attributes a comment may carry |
//! | `GET requests.{xml,json}` | published public comments, with the spec's filters |
//! | `POST requests.{xml,json}` | a new comment (form-encoded, with `api_key`) |
//! | `GET requests/{id}.{xml,json}` | one published public comment |
//! | `GET tokens/{token}.{xml,json}` | the request a token became, once approved |
//! | `GET servicerequestupdates.{xml,json}` | public updates in a period |
//!
//! Statuses: a comment routed, acknowledged or answered is `open`; a resolved one is
//! `closed`. Pending comments are not requests yet (POST answers a token), and rejected
//! ones never become public, so neither is listed. Errors are the spec's `errors` body
//! with the HTTP status as `code`: 404 for what does not exist, 403 for a missing or
//! wrong key, 429 with `Retry-After` over a limit, 503 when a backend is down, 400 for
//! anything else the client sent wrong.

mod document;
mod params;

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use mati_domain::auth::Principal;
use mati_domain::category::Category;
use mati_domain::comment::{AgeGroup, Comment, CommentEvent, CommentId, CommentStatus, EventKind, Gender};
use mati_domain::geography::{AdminLevel, AdminUnit, UnitCode};
use mati_domain::privacy::Reading;
use mati_domain::rate_limit::Origin;
use mati_domain::service::{MAX_REQUESTS_PAGE, Mati, PUBLIC_UPDATES, PublicUpdate, RequestQuery, Submission};
use mati_domain::{DomainError, DomainResult};

use self::document::{Document, Value};
use self::params::Params;
use super::AppState;
use super::failure::{Failure, RequestId};
use super::origin::Client;

/// The longest period one listing may span, and the default one (the spec's).
const MAX_SPAN_DAYS: i64 = 90;
/// The period of the feed of updates when the client names none.
const DEFAULT_UPDATES_HOURS: i64 = 24;
/// When this endpoint last changed, for discovery's `changeset`.
const CHANGESET: &str = "2026-11-30T00:00:00+07:00";
/// The statuses of an `open` request.
const OPEN: [CommentStatus; 3] = [
    CommentStatus::Routed,
    CommentStatus::Acknowledged,
    CommentStatus::Responded,
];

/// The routes, under `/open311/v2/`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/open311/v2/{file}", get(top).post(post))
        .route("/open311/v2/services/{file}", get(service_definition))
        .route("/open311/v2/requests/{file}", get(one_request))
        .route("/open311/v2/tokens/{file}", get(token))
}

/// The format a path asks for by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Xml,
    Json,
}

/// `name.xml` or `name.json`, split.
fn split(file: &str) -> Option<(&str, Format)> {
    let (stem, extension) = file.rsplit_once('.')?;
    let format = match extension {
        "xml" => Format::Xml,
        "json" => Format::Json,
        _ => return None,
    };
    Some((stem, format))
}

fn answer(format: Format, status: StatusCode, document: &Document) -> Response {
    let (content_type, body) = match format {
        Format::Xml => ("text/xml; charset=utf-8", document.xml()),
        Format::Json => ("application/json; charset=utf-8", document.json()),
    };
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        // Public data, no credentials: any web page may read it.
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*")),
    ];
    (status, headers, body).into_response()
}

/// The spec's errors body for a refusal, its status decided where every other answer's
/// is ([`Failure::domain`]); Open311 answers a missing or wrong key with 403 and a
/// clash of input with 400.
fn refuse(format: Format, err: DomainError, id: &RequestId) -> Response {
    let failure = Failure::domain(err);
    let status = match failure.status() {
        StatusCode::UNAUTHORIZED => StatusCode::FORBIDDEN,
        StatusCode::CONFLICT => StatusCode::BAD_REQUEST,
        status => status,
    };
    let mut description = failure.message().to_owned();
    if status.is_server_error() {
        description.push_str(&format!(" (request id {})", id.as_str()));
    }
    let error = Value::Object(vec![
        ("code", Value::Integer(i64::from(status.as_u16()))),
        ("description", description.into()),
    ]);
    let mut response = answer(format, status, &Document::list("errors", "error", vec![error]));
    if let Some(seconds) = failure.retry_after() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

fn respond(format: Format, answered: DomainResult<Document>, id: &RequestId) -> Response {
    match answered {
        Ok(document) => answer(format, StatusCode::OK, &document),
        Err(err) => refuse(format, err, id),
    }
}

/// A path with no known format: answered in JSON, the format it could not name.
fn unknown_path(id: &RequestId) -> Response {
    let err = DomainError::NotFound("no such Open311 resource (paths end in .xml or .json)".into());
    refuse(Format::Json, err, id)
}

async fn top(
    State(state): State<AppState>,
    Extension(id): Extension<RequestId>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Some((stem, format)) = split(&file) else {
        return unknown_path(&id);
    };
    let params = Params::parse(query.as_deref().unwrap_or_default());
    let mati = &state.mati;
    let answered = match stem {
        "discovery" => Ok(discovery(&headers)),
        "services" => services(mati, &params).await,
        "requests" => requests(mati, &params).await,
        "servicerequestupdates" => updates(mati, &params).await,
        _ => return unknown_path(&id),
    };
    respond(format, answered, &id)
}

async fn service_definition(
    State(state): State<AppState>,
    Extension(id): Extension<RequestId>,
    Path(file): Path<String>,
) -> Response {
    let Some((code, format)) = split(&file) else {
        return unknown_path(&id);
    };
    let answered = async {
        let categories = state.mati.categories().await?;
        let category = categories
            .iter()
            .find(|c| c.code == code)
            .ok_or_else(|| DomainError::NotFound(format!("service {code}")))?;
        Ok(definition(category))
    };
    respond(format, answered.await, &id)
}

async fn one_request(
    State(state): State<AppState>,
    Extension(id): Extension<RequestId>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some((raw, format)) = split(&file) else {
        return unknown_path(&id);
    };
    let params = Params::parse(query.as_deref().unwrap_or_default());
    let answered = async {
        let missing = || DomainError::NotFound(format!("service request {raw}"));
        let comment_id = raw.parse::<i64>().map(CommentId::new).map_err(|_| missing())?;
        let comment = state
            .mati
            .comment(&Principal::Anonymous, comment_id)
            .await?
            .filter(|c| c.status.is_published())
            .ok_or_else(missing)?;
        let language = Language::of(&params);
        render_requests(&state.mati, vec![comment], language, extended(&params)?).await
    };
    respond(format, answered.await, &id)
}

async fn token(
    State(state): State<AppState>,
    Client(origin): Client,
    Extension(id): Extension<RequestId>,
    Path(file): Path<String>,
) -> Response {
    let Some((token, format)) = split(&file) else {
        return unknown_path(&id);
    };
    let answered = async {
        let comment = state
            .mati
            .comment_by_token(token, &origin)
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("token {token}")))?;
        Ok(token_answer(&comment, Vec::new()))
    };
    respond(format, answered.await, &id)
}

async fn post(
    State(state): State<AppState>,
    Client(origin): Client,
    Extension(id): Extension<RequestId>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some((stem, format)) = split(&file) else {
        return unknown_path(&id);
    };
    if stem != "requests" {
        let mut refused = refuse(format, DomainError::NotFound(format!("no POST on {stem}")), &id);
        *refused.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        refused
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET"));
        return refused;
    }
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let answered = async {
        if !form {
            return Err(DomainError::invalid(
                "Content-Type",
                "send the request as application/x-www-form-urlencoded",
                "ទម្រង់សំណើមិនត្រឹមត្រូវ",
            ));
        }
        let body = std::str::from_utf8(&body)
            .map_err(|_| DomainError::invalid("body", "the form is not UTF-8", "អត្ថបទមិនមែន UTF-8"))?;
        let mut params = Params::parse(query.as_deref().unwrap_or_default());
        params.add(body);
        create(&state.mati, &origin, &params).await.map_err(open311_fields)
    };
    respond(format, answered.await, &id)
}

/// What a token stands for: the token, and the request once it is one (a comment
/// pending or rejected is not a service request: the token alone); then `more`.
fn token_answer(comment: &Comment, more: Vec<(&'static str, Value)>) -> Document {
    let mut fields = Vec::new();
    if comment.status.is_published() {
        fields.push(("service_request_id", comment.id.to_string().into()));
    }
    fields.push(("token", comment.tracking_code.as_str().into()));
    fields.extend(more);
    Document::list("service_requests", "request", vec![Value::Object(fields)])
}

/// The names Open311 clients sent, in place of GraphQL's, in refusals of a POST.
fn open311_fields(err: DomainError) -> DomainError {
    let rename = |field: &str| {
        match field {
            "body" => "description",
            "categoryCode" => "service_code",
            "communeCode" | "villageCode" => "address_id",
            "clientId" => "attribute[client_id]",
            other => other,
        }
        .to_owned()
    };
    match err {
        DomainError::InvalidInput {
            field,
            message,
            message_km,
        } => DomainError::InvalidInput {
            field: rename(&field),
            message,
            message_km,
        },
        DomainError::ConflictingInput {
            field,
            message,
            message_km,
        } => DomainError::ConflictingInput {
            field: rename(&field),
            message,
            message_km,
        },
        other => other,
    }
}

fn required<'a>(params: &'a Params, name: &str) -> DomainResult<&'a str> {
    params
        .get(name)
        .ok_or_else(|| DomainError::invalid(name, "is required", "ត្រូវតែបំពេញ"))
}

/// A commune, and a village when one is named, from `address_id` or `lat`/`long`.
async fn location(mati: &Mati, params: &Params) -> DomainResult<(String, Option<String>)> {
    if let Some(code) = params.get("address_id") {
        let code = UnitCode::parse("address_id", code)?;
        return match code.level() {
            AdminLevel::Commune => Ok((code.as_str().to_owned(), None)),
            AdminLevel::Village => {
                let commune = code.ancestor_at(AdminLevel::Commune).map(|c| c.as_str().to_owned());
                Ok((commune.unwrap_or_default(), Some(code.as_str().to_owned())))
            }
            _ => Err(DomainError::invalid(
                "address_id",
                "must be a commune (6 digits) or village (8 digits) code",
                "ត្រូវតែជាលេខកូដឃុំ ឬភូមិ",
            )),
        };
    }
    match (params.number("lat")?, params.number("long")?) {
        (Some(lat), Some(long)) => Ok((mati.commune_at(lat, long).await?.code.as_str().to_owned(), None)),
        _ => Err(DomainError::invalid(
            "address_id",
            "a location is needed: address_id (a commune or village code), or lat and long",
            "ត្រូវការទីតាំង",
        )),
    }
}

/// POST `requests`: a new comment through the same service as GraphQL's.
async fn create(mati: &Mati, origin: &Origin, params: &Params) -> DomainResult<Document> {
    let client = mati.api_client(params.get("api_key")).await?;
    let category_code = required(params, "service_code")?.to_owned();
    let body = required(params, "description")?.to_owned();
    let (commune_code, village_code) = location(mati, params).await?;
    let choice = |name: &str, known: bool| {
        if known {
            Ok(())
        } else {
            Err(DomainError::invalid(
                name,
                "is not one of the listed values",
                "តម្លៃមិនត្រឹមត្រូវ",
            ))
        }
    };
    let gender = params.get("attribute[gender]").map(|g| (Gender::parse(g), g));
    if let Some((parsed, _)) = gender {
        choice("attribute[gender]", parsed.is_some())?;
    }
    let age_group = params.get("attribute[age_group]").map(AgeGroup::parse);
    if let Some(parsed) = age_group {
        choice("attribute[age_group]", parsed.is_some())?;
    }
    // The citizen's own fields (`email`, `phone`, names, `device_id`, `account_id`) are
    // not kept: Mati keeps no contact details for GraphQL's comments either.
    let submission = Submission {
        body,
        category_code,
        commune_code,
        village_code,
        is_public: params.flag("attribute[is_public]")?.unwrap_or(true),
        gender: gender.and_then(|(g, _)| g),
        age_group: age_group.flatten(),
        client_id: params.get("attribute[client_id]").map(str::to_owned),
    };
    let comment = mati.submit_as_client(&client, origin, submission).await?;
    let notice = "Received. A moderator reviews every comment before it is routed to the \
                  administration responsible and published; follow it with this token (also its \
                  tracking code).";
    // A retry of a comment approved meanwhile is a request already.
    Ok(token_answer(
        &comment,
        vec![("service_notice", notice.into()), ("account_id", Value::Null)],
    ))
}

/// Khmer or English names: `locale=km` for Khmer, English otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Language {
    Khmer,
    English,
}

impl Language {
    fn of(params: &Params) -> Self {
        match params.get("locale") {
            Some(locale) if locale.to_ascii_lowercase().starts_with("km") => Self::Khmer,
            _ => Self::English,
        }
    }

    fn unit(self, unit: &AdminUnit) -> &str {
        match self {
            Self::Khmer => &unit.name_km,
            Self::English => &unit.name_en,
        }
    }

    fn category(self, category: &Category) -> &str {
        match self {
            Self::Khmer => &category.name_km,
            Self::English => &category.name_en,
        }
    }
}

/// A datetime in whole seconds, in Cambodia's time with its offset.
fn datetime(at: DateTime<Utc>) -> Value {
    let local = at.with_timezone(&mati_domain::stats::cambodia());
    Value::Text(local.format("%Y-%m-%dT%H:%M:%S%:z").to_string())
}

fn level_name(level: AdminLevel) -> &'static str {
    match level {
        AdminLevel::Province => "province",
        AdminLevel::District => "district",
        AdminLevel::Commune => "commune",
        AdminLevel::Village => "village",
    }
}

fn discovery(headers: &HeaderMap) -> Document {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = match headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()) {
        Some("https") => "https",
        _ => "http",
    };
    let endpoint = Value::Object(vec![
        ("specification", "http://wiki.open311.org/GeoReport_v2".into()),
        ("url", format!("{scheme}://{host}/open311/v2").into()),
        ("changeset", CHANGESET.into()),
        ("type", "production".into()),
        (
            "formats",
            Value::List {
                item: "format",
                items: vec!["text/xml".into(), "application/json".into()],
            },
        ),
    ]);
    Document {
        root: "discovery",
        value: Value::Object(vec![
            ("changeset", CHANGESET.into()),
            (
                "contact",
                "The administrators of this Mati platform; see its public pages.".into(),
            ),
            (
                "key_service",
                "API keys for posting requests are issued by this platform's administrators.".into(),
            ),
            (
                "endpoints",
                Value::List {
                    item: "endpoint",
                    items: vec![endpoint],
                },
            ),
        ]),
    }
}

fn service(category: &Category, language: Language) -> Value {
    Value::Object(vec![
        ("service_code", category.code.as_str().into()),
        ("service_name", language.category(category).into()),
        (
            "description",
            format!(
                "{} / {} (answered by the {} administration)",
                category.name_en,
                category.name_km,
                level_name(category.responsible_level)
            )
            .into(),
        ),
        ("metadata", true.into()),
        // A comment waits for a moderator: POST answers a token, not a request.
        ("type", "batch".into()),
        (
            "keywords",
            format!("{},{},{}", category.name_en, category.name_km, category.code).into(),
        ),
        ("group", level_name(category.responsible_level).into()),
    ])
}

async fn services(mati: &Mati, params: &Params) -> DomainResult<Document> {
    let language = Language::of(params);
    let here = match (params.number("lat")?, params.number("long")?) {
        (Some(lat), Some(long)) => Some(mati.commune_at(lat, long).await?),
        (None, None) => None,
        _ => {
            return Err(DomainError::invalid(
                "long",
                "lat and long go together",
                "ត្រូវការទាំងរយៈទទឹង និងរយៈបណ្តោយ",
            ));
        }
    };
    let categories = mati.categories().await?;
    let mut listed = Vec::new();
    for category in &categories {
        // Routable there: the unit of the category's level that holds the commune.
        if let Some(commune) = &here
            && mati_domain::routing::responsible_unit(&commune.code, category).is_err()
        {
            continue;
        }
        listed.push(service(category, language));
    }
    Ok(Document::list("services", "service", listed))
}

fn definition(category: &Category) -> Document {
    let values = |items: &[(&str, &str)]| Value::List {
        item: "value",
        items: items
            .iter()
            .map(|(key, name)| Value::Object(vec![("key", (*key).into()), ("name", (*name).into())]))
            .collect(),
    };
    let attribute = |code: &str, datatype: &str, order: i64, description: &str, choices: Option<Value>| {
        let mut fields = vec![
            ("variable", true.into()),
            ("code", code.into()),
            ("datatype", datatype.into()),
            ("required", false.into()),
            ("datatype_description", Value::Null),
            ("order", Value::Integer(order)),
            ("description", description.into()),
        ];
        if let Some(choices) = choices {
            fields.push(("values", choices));
        }
        Value::Object(fields)
    };
    let attributes = vec![
        attribute(
            "is_public",
            "singlevaluelist",
            1,
            "Whether everybody may read the comment once a moderator approves it (default true)",
            Some(values(&[
                ("true", "Public once approved"),
                ("false", "Private: only the responsible officials and the moderators"),
            ])),
        ),
        attribute(
            "gender",
            "singlevaluelist",
            2,
            "Self-declared, optional, used only in statistics",
            Some(values(&[("FEMALE", "Female"), ("MALE", "Male"), ("OTHER", "Other")])),
        ),
        attribute(
            "age_group",
            "singlevaluelist",
            3,
            "Self-declared, optional, used only in statistics",
            Some(values(&[
                ("UNDER_18", "Under 18"),
                ("FROM_18_TO_24", "18 to 24"),
                ("FROM_25_TO_34", "25 to 34"),
                ("FROM_35_TO_49", "35 to 49"),
                ("FROM_50_TO_64", "50 to 64"),
                ("FROM_65", "65 and over"),
            ])),
        ),
        attribute(
            "client_id",
            "string",
            4,
            "An id the client makes once per comment (1 to 64 visible ASCII characters): a retry with the same id returns the first comment",
            None,
        ),
    ];
    Document {
        root: "service_definition",
        value: Value::Object(vec![
            ("service_code", category.code.as_str().into()),
            (
                "attributes",
                Value::List {
                    item: "attribute",
                    items: attributes,
                },
            ),
        ]),
    }
}

fn extended(params: &Params) -> DomainResult<bool> {
    Ok(params.flag("extensions")?.unwrap_or(false))
}

/// The period [from, to) a listing spans: at most [`MAX_SPAN_DAYS`], by default the
/// last ones.
fn span(
    params: &Params,
    default: Duration,
    now: DateTime<Utc>,
) -> DomainResult<(DateTime<Utc>, Option<DateTime<Utc>>)> {
    let max = Duration::days(MAX_SPAN_DAYS);
    let (from, to) = match (params.datetime("start_date")?, params.datetime("end_date")?) {
        (Some(from), Some(to)) => (from, Some(to)),
        (Some(from), None) => (from, Some(from + max)),
        (None, Some(to)) => (to - default, Some(to)),
        (None, None) => (now - default, None),
    };
    if let Some(to) = to {
        if to <= from {
            return Err(DomainError::invalid(
                "end_date",
                "must come after start_date",
                "កាលបរិច្ឆេទបញ្ចប់ត្រូវនៅក្រោយកាលបរិច្ឆេទចាប់ផ្តើម",
            ));
        }
        if to - from > max {
            return Err(DomainError::invalid(
                "start_date",
                &format!("the period may span at most {MAX_SPAN_DAYS} days"),
                "រយៈពេលវែងពេក",
            ));
        }
    }
    Ok((from, to))
}

async fn requests(mati: &Mati, params: &Params) -> DomainResult<Document> {
    let language = Language::of(params);
    let extensions = extended(params)?;
    let ids = params
        .list("service_request_id")
        .iter()
        .map(|raw| {
            raw.parse::<i64>().map(CommentId::new).map_err(|_| {
                DomainError::invalid(
                    "service_request_id",
                    "must be service request ids separated by commas",
                    "លេខសម្គាល់មិនត្រឹមត្រូវ",
                )
            })
        })
        .collect::<DomainResult<Vec<_>>>()?;
    let query = if ids.is_empty() {
        let mut statuses = Vec::new();
        for status in params.list("status") {
            match status.to_ascii_lowercase().as_str() {
                "open" => statuses.extend(OPEN),
                "closed" => statuses.push(CommentStatus::Resolved),
                _ => {
                    return Err(DomainError::invalid(
                        "status",
                        "must be open, closed or both separated by a comma",
                        "ស្ថានភាពមិនត្រឹមត្រូវ",
                    ));
                }
            }
        }
        let (from, to) = span(params, Duration::days(MAX_SPAN_DAYS), mati.now())?;
        RequestQuery {
            categories: params.list("service_code"),
            statuses,
            sent_from: Some(from),
            sent_before: to,
            updated_from: params.datetime("updated_after")?,
            updated_before: params.datetime("updated_before")?,
            page: params.count("page", u64::from(u32::MAX))?.unwrap_or(1),
            page_size: params
                .count("page_size", MAX_REQUESTS_PAGE)?
                .unwrap_or(MAX_REQUESTS_PAGE),
            ..RequestQuery::default()
        }
    } else {
        // Ids name the requests: every other filter steps aside.
        let page_size = ids.len() as u64;
        RequestQuery {
            ids,
            page: 1,
            page_size,
            ..RequestQuery::default()
        }
    };
    let comments = mati.published_comments(query).await?;
    render_requests(mati, comments, language, extensions).await
}

/// What the requests of a page need beside themselves, loaded once for the page.
struct Context {
    categories: HashMap<String, Category>,
    units: HashMap<UnitCode, AdminUnit>,
    centres: HashMap<UnitCode, (f64, f64)>,
    events: HashMap<CommentId, Vec<CommentEvent>>,
    latest_answer: HashMap<CommentId, String>,
    answers: HashMap<CommentId, Vec<(DateTime<Utc>, String)>>,
    language: Language,
}

async fn render_requests(
    mati: &Mati,
    comments: Vec<Comment>,
    language: Language,
    extensions: bool,
) -> DomainResult<Document> {
    let ids: Vec<CommentId> = comments.iter().map(|c| c.id).collect();
    let mut codes: Vec<UnitCode> = Vec::new();
    for comment in &comments {
        codes.extend(comment.village_code.as_ref().unwrap_or(&comment.commune_code).upwards());
        codes.extend(comment.assigned_unit.clone());
    }
    codes.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    codes.dedup();
    let communes: Vec<UnitCode> = comments.iter().map(|c| c.commune_code.clone()).collect();
    let mut context = Context {
        categories: mati
            .categories()
            .await?
            .into_iter()
            .map(|c| (c.code.clone(), c))
            .collect(),
        units: mati
            .units(&codes)
            .await?
            .into_iter()
            .map(|u| (u.code.clone(), u))
            .collect(),
        centres: mati
            .commune_centres(&communes)
            .await?
            .into_iter()
            .map(|c| (c.code, (c.lat, c.long)))
            .collect(),
        events: HashMap::new(),
        latest_answer: HashMap::new(),
        answers: HashMap::new(),
        language,
    };
    for event in mati.events_of(&ids).await? {
        context.events.entry(event.comment_id).or_default().push(event);
    }
    for response in mati.responses_of(&ids).await? {
        let comment = comments.iter().find(|c| c.id == response.comment_id);
        let Some(comment) = comment else { continue };
        let text = Reading::of(&Principal::Anonymous, comment)
            .text(&response.body)
            .into_owned();
        context
            .answers
            .entry(response.comment_id)
            .or_default()
            .push((response.created_at, text.clone()));
        // Oldest first: the last one stays.
        context.latest_answer.insert(response.comment_id, text);
    }
    let items = comments
        .iter()
        .map(|comment| request(comment, &context, extensions))
        .collect();
    Ok(Document::list("service_requests", "request", items))
}

fn status_name(status: CommentStatus) -> &'static str {
    if status == CommentStatus::Resolved {
        "closed"
    } else {
        "open"
    }
}

fn request(comment: &Comment, context: &Context, extensions: bool) -> Value {
    let language = context.language;
    let reading = Reading::of(&Principal::Anonymous, comment);
    let category = context.categories.get(&comment.category_code);
    let name = |code: &UnitCode| context.units.get(code).map(|u| language.unit(u).to_owned());
    let place = comment
        .village_code
        .clone()
        .unwrap_or_else(|| comment.commune_code.clone());
    let address: Vec<String> = place.upwards().iter().filter_map(name).collect();
    let events = context.events.get(&comment.id);
    let updated = events
        .and_then(|events| events.iter().map(|e| e.event.at).max())
        .unwrap_or(comment.created_at);
    let centre = context.centres.get(&comment.commune_code);
    let mut fields = vec![
        ("service_request_id", comment.id.to_string().into()),
        ("status", status_name(comment.status).into()),
        ("status_notes", context.latest_answer.get(&comment.id).cloned().into()),
        ("service_name", category.map(|c| language.category(c).to_owned()).into()),
        ("service_code", comment.category_code.as_str().into()),
        ("description", reading.text(&comment.body).into_owned().into()),
        (
            "agency_responsible",
            comment.assigned_unit.as_ref().and_then(name).into(),
        ),
        ("service_notice", Value::Null),
        ("requested_datetime", datetime(comment.created_at)),
        ("updated_datetime", datetime(updated)),
        ("expected_datetime", comment.due_at.map_or(Value::Null, datetime)),
        ("address", Some(address.join(", ")).filter(|a| !a.is_empty()).into()),
        ("address_id", place.as_str().into()),
        ("zipcode", Value::Null),
        ("lat", centre.map_or(Value::Null, |(lat, _)| Value::Number(*lat))),
        ("long", centre.map_or(Value::Null, |(_, long)| Value::Number(*long))),
        ("media_url", Value::Null),
    ];
    if extensions {
        let code_at = |level| comment.commune_code.ancestor_at(level).map(|c| c.as_str().to_owned());
        fields.push((
            "extended_attributes",
            Value::Object(vec![
                ("province_code", code_at(AdminLevel::Province).into()),
                ("district_code", code_at(AdminLevel::District).into()),
                ("commune_code", comment.commune_code.as_str().into()),
                ("village_code", comment.village_code.as_ref().map(|v| v.as_str()).into()),
                (
                    "assigned_unit_code",
                    comment.assigned_unit.as_ref().map(|u| u.as_str()).into(),
                ),
                ("support_count", Value::Integer(i64::from(comment.support_count))),
            ]),
        ));
        let answers = context.answers.get(&comment.id);
        let notes = events
            .into_iter()
            .flatten()
            .filter(|e| {
                PUBLIC_UPDATES.contains(&e.event.kind)
                    || matches!(e.event.kind, EventKind::Submitted | EventKind::Approved)
            })
            .map(|e| {
                let text = match e.event.kind {
                    EventKind::Responded => answers
                        .and_then(|a| a.iter().rfind(|(at, _)| *at <= e.event.at))
                        .map(|(_, text)| text.clone()),
                    _ => e.event.note.as_deref().map(|n| reading.text(n).into_owned()),
                };
                Value::Object(vec![
                    ("datetime", datetime(e.event.at)),
                    ("description", text.unwrap_or_default().into()),
                    ("type", e.event.kind.as_str().to_ascii_lowercase().into()),
                ])
            })
            .collect();
        fields.push((
            "notes",
            Value::List {
                item: "note",
                items: notes,
            },
        ));
    }
    Value::Object(fields)
}

/// The status an update leaves its request in, in mySociety's extended statuses.
fn update_status(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Acknowledged | EventKind::Responded => "in_progress",
        EventKind::Referred => "internal_referral",
        EventKind::Resolved => "closed",
        EventKind::Reopened => "reopen",
        _ => "open",
    }
}

async fn updates(mati: &Mati, params: &Params) -> DomainResult<Document> {
    let now = mati.now();
    let (from, to) = span(params, Duration::hours(DEFAULT_UPDATES_HOURS), now)?;
    let updates = mati.public_updates(from, to.unwrap_or(now)).await?;
    let items = updates
        .into_iter()
        .map(
            |PublicUpdate {
                 event,
                 comment,
                 description,
             }| {
                Value::Object(vec![
                    ("update_id", event.id.to_string().into()),
                    ("service_request_id", comment.id.to_string().into()),
                    ("status", update_status(event.event.kind).into()),
                    ("updated_datetime", datetime(event.event.at)),
                    ("description", description.unwrap_or_default().into()),
                    ("media_url", "".into()),
                    ("external_status_code", event.event.kind.as_str().into()),
                ])
            },
        )
        .collect();
    Ok(Document::list("service_request_updates", "request_update", items))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_format() {
        assert_eq!(split("services.xml"), Some(("services", Format::Xml)));
        assert_eq!(split("requests.json"), Some(("requests", Format::Json)));
        assert_eq!(split("KH7F3K2Q.json"), Some(("KH7F3K2Q", Format::Json)));
        assert_eq!(split("services"), None);
        assert_eq!(split("services.html"), None);
    }

    #[test]
    fn datetimes_are_whole_seconds_in_cambodia_time() {
        let at = DateTime::parse_from_rfc3339("2026-11-29T07:05:00.123Z")
            .map(|at| at.with_timezone(&Utc))
            .unwrap_or_default();
        assert_eq!(datetime(at), Value::Text("2026-11-29T14:05:00+07:00".into()));
    }

    #[test]
    fn only_resolved_comments_are_closed() {
        assert_eq!(status_name(CommentStatus::Resolved), "closed");
        for status in OPEN {
            assert_eq!(status_name(status), "open");
        }
    }

    #[test]
    fn a_period_is_at_most_ninety_days_and_runs_forwards() {
        let now = Utc::now();
        let day = Duration::days(1);
        let (from, to) = span(&Params::default(), day * 90, now).unwrap_or((now, None));
        assert_eq!((from, to), (now - day * 90, None));
        let long = Params::parse("start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z");
        assert!(span(&long, day, now).is_err());
        let backwards = Params::parse("start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z");
        assert!(span(&backwards, day, now).is_err());
    }
}

//! Exports of public data: the published public comments as rows of plain values, page
//! by page, for CSV today and for Open311 or the CLI later. Exports are open to anyone,
//! so a row holds nothing personal (no author, client id, gender or age group: in a
//! row-level file they would identify people) and the text is redacted as in every
//! public view.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};

use super::Mati;
use super::bounds::check_period;
use crate::DomainResult;
use crate::comment::CommentStatus;
use crate::comment::{Comment, CommentId};
use crate::deadline;
use crate::geography::{AdminLevel, AdminUnit, UnitCode};
use crate::ports::{CommentQuery, PageRequest, Visibility};
use crate::privacy::Reading;
use crate::rate_limit::{Action, Origin};

/// The columns of an export, in order; [`ExportRow::fields`] follows them.
pub const EXPORT_COLUMNS: [&str; 19] = [
    "tracking_code",
    "created_at",
    "routed_at",
    "status",
    "category_code",
    "category_en",
    "commune_code",
    "commune_en",
    "commune_km",
    "district_code",
    "province_code",
    "assigned_unit_code",
    "due_at",
    "first_response_at",
    "resolved_at",
    "is_overdue",
    "support_count",
    "response_count",
    "body",
];

/// The largest page [`Mati::export_comments_page`] reads at once.
pub const MAX_EXPORT_PAGE: u64 = 1000;

/// Which comments to export: the filters of the public listing, plus a period on the
/// time a comment was sent, [from, to).
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    /// Only comments whose commune lies inside this unit, or, for a village, tagged
    /// with it.
    pub unit_code: Option<String>,
    /// Only this category.
    pub category_code: Option<String>,
    /// Only this status (a status that is never published exports nothing).
    pub status: Option<CommentStatus>,
    /// Only comments sent at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Only comments sent before this instant.
    pub to: Option<DateTime<Utc>>,
}

/// A checked export, ready to be read page by page.
#[derive(Debug, Clone)]
pub struct Export {
    query: CommentQuery,
    category_names: HashMap<String, String>,
}

/// One exported comment, every value as it is written out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRow {
    /// The values, in the order of [`EXPORT_COLUMNS`].
    values: [String; EXPORT_COLUMNS.len()],
}

impl ExportRow {
    /// The values, in the order of [`EXPORT_COLUMNS`]; empty where there is none.
    pub fn fields(&self) -> &[String; EXPORT_COLUMNS.len()] {
        &self.values
    }
}

/// One page of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportPage {
    /// The rows, newest comment first.
    pub rows: Vec<ExportRow>,
    /// Where the next page starts (pass it as `after`), or `None` after the last page.
    pub next: Option<CommentId>,
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn maybe_time(at: Option<DateTime<Utc>>) -> String {
    at.map(time).unwrap_or_default()
}

fn ancestor(code: &UnitCode, level: AdminLevel) -> String {
    code.ancestor_at(level)
        .map(|c| c.as_str().to_owned())
        .unwrap_or_default()
}

/// The row of a public comment: what the public may read of it, nothing personal.
fn row(
    comment: &Comment,
    category_en: &str,
    commune: Option<&AdminUnit>,
    responses: usize,
    now: DateTime<Utc>,
) -> ExportRow {
    ExportRow {
        values: [
            comment.tracking_code.as_str().to_owned(),
            time(comment.created_at),
            maybe_time(comment.routed_at),
            comment.status.as_str().to_owned(),
            comment.category_code.clone(),
            category_en.to_owned(),
            comment.commune_code.as_str().to_owned(),
            commune.map(|u| u.name_en.clone()).unwrap_or_default(),
            commune.map(|u| u.name_km.clone()).unwrap_or_default(),
            ancestor(&comment.commune_code, AdminLevel::District),
            ancestor(&comment.commune_code, AdminLevel::Province),
            comment
                .assigned_unit
                .as_ref()
                .map(|u| u.as_str().to_owned())
                .unwrap_or_default(),
            maybe_time(comment.due_at),
            maybe_time(comment.first_response_at),
            maybe_time(comment.resolved_at),
            deadline::is_overdue(comment, now).to_string(),
            comment.support_count.to_string(),
            responses.to_string(),
            // An export is public: its text reads as the public reads it.
            Reading::Redacted.text(&comment.body).into_owned(),
        ],
    }
}

impl Mati {
    /// Checks an export's filters (unknown units and categories, an empty period are
    /// BAD_USER_INPUT), so that they fail before the first row is written. An export
    /// reads many comments: it counts against the caller's address like statistics.
    pub async fn prepare_export(&self, filter: ExportFilter, origin: &Origin) -> DomainResult<Export> {
        check_period(filter.from, filter.to)?;
        self.limit(Action::StatsPerAddress, origin.address_key()).await?;
        let within = match filter.unit_code.as_deref() {
            Some(raw) => Some(
                self.existing_unit("unitCode", UnitCode::parse("unitCode", raw)?)
                    .await?,
            ),
            None => None,
        };
        let category = match filter.category_code.as_deref() {
            Some(code) => Some(self.category("categoryCode", code).await?.code),
            None => None,
        };
        let category_names = self
            .categories()
            .await?
            .into_iter()
            .map(|c| (c.code, c.name_en))
            .collect();
        // Public, published comments only, whoever asks: an export is public data.
        let query = CommentQuery {
            within,
            assigned_to: None,
            status: filter.status,
            category,
            visibility: Visibility::Public,
            overdue_at: None,
            author: None,
            created_from: filter.from,
            created_before: filter.to,
            ..CommentQuery::default()
        };
        Ok(Export { query, category_names })
    }

    /// Up to `limit` rows (at most [`MAX_EXPORT_PAGE`]) of comments older than `after`,
    /// newest first, with the gazetteer's names and the response counts loaded for the
    /// whole page at once.
    pub async fn export_comments_page(
        &self,
        export: &Export,
        after: Option<CommentId>,
        limit: u64,
    ) -> DomainResult<ExportPage> {
        let first = limit.clamp(1, MAX_EXPORT_PAGE);
        let page = self
            .ports
            .comments
            .page(&export.query, PageRequest { first, after, skip: 0 })
            .await?;
        let next = if page.has_next {
            page.items.last().map(|c| c.id)
        } else {
            None
        };
        // Flags hide a comment from the public until a moderator looks at it again.
        let comments: Vec<Comment> = page.items.into_iter().filter(|c| !c.hidden).collect();
        let ids: Vec<CommentId> = comments.iter().map(|c| c.id).collect();
        let mut responses: HashMap<CommentId, usize> = HashMap::new();
        for response in self.ports.comments.responses(&ids).await? {
            *responses.entry(response.comment_id).or_default() += 1;
        }
        let codes: HashSet<UnitCode> = comments.iter().map(|c| c.commune_code.clone()).collect();
        let codes: Vec<UnitCode> = codes.into_iter().collect();
        let communes: HashMap<UnitCode, AdminUnit> = self
            .ports
            .geography
            .units(&codes)
            .await?
            .into_iter()
            .map(|u| (u.code.clone(), u))
            .collect();
        let now = self.now();
        let rows = comments
            .iter()
            .map(|c| {
                let category_en = export.category_names.get(&c.category_code).map_or("", String::as_str);
                let count = responses.get(&c.id).copied().unwrap_or(0);
                row(c, category_en, communes.get(&c.commune_code), count, now)
            })
            .collect();
        Ok(ExportPage { rows, next })
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::deadline::DeadlinePolicy;
    use crate::lifecycle::tests_support::routed_at;

    fn commune() -> AdminUnit {
        AdminUnit {
            code: UnitCode::parse("code", "120105").unwrap_or_else(|e| panic!("{e}")),
            level: AdminLevel::Commune,
            kind: "Sangkat".into(),
            name_km: "បឹងកេងកង ទី ១".into(),
            name_en: "Boeng Keng Kang Ti Muoy".into(),
            parent_code: None,
        }
    }

    #[test]
    fn a_row_follows_the_columns_and_redacts_the_text() {
        let at = Utc
            .with_ymd_and_hms(2026, 3, 1, 8, 30, 0)
            .single()
            .unwrap_or_else(|| panic!("time"));
        let mut comment = routed_at(at, DeadlinePolicy::default());
        comment.body = "Call me on 012 345 678 about the road".into();
        comment.support_count = 4;
        let row = row(
            &comment,
            "Local roads and drainage",
            Some(&commune()),
            2,
            at + Duration::days(30),
        );
        let fields = row.fields();
        let value = |column: &str| {
            let i = EXPORT_COLUMNS
                .iter()
                .position(|c| *c == column)
                .unwrap_or_else(|| panic!("{column}"));
            fields[i].as_str()
        };
        assert_eq!(value("tracking_code"), "KH7F3K2Q");
        assert_eq!(value("created_at"), "2026-03-01T08:30:00Z");
        assert_eq!(value("routed_at"), "2026-03-01T08:30:00Z");
        assert_eq!(value("status"), "ROUTED");
        assert_eq!(value("category_en"), "Local roads and drainage");
        assert_eq!(value("commune_km"), "បឹងកេងកង ទី ១");
        assert_eq!(value("district_code"), "1201");
        assert_eq!(value("province_code"), "12");
        assert_eq!(value("assigned_unit_code"), "120105");
        assert_eq!(value("first_response_at"), "");
        assert_eq!(value("is_overdue"), "true");
        assert_eq!(value("support_count"), "4");
        assert_eq!(value("response_count"), "2");
        assert_eq!(value("body"), "Call me on […] about the road");
    }

    #[test]
    fn an_unknown_commune_leaves_its_names_empty() {
        let at = Utc
            .with_ymd_and_hms(2026, 3, 1, 8, 30, 0)
            .single()
            .unwrap_or_else(|| panic!("time"));
        let comment = routed_at(at, DeadlinePolicy::default());
        let row = row(&comment, "", None, 0, at);
        assert_eq!(row.fields()[7], "");
        assert_eq!(row.fields()[8], "");
        assert_eq!(row.fields()[15], "false");
    }
}

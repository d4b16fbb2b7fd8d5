//! Rows to domain values. A stored value the domain cannot read is a bug (or a manual
//! edit of the database), reported as INTERNAL with what was wrong.

use mati_domain::auth::{Role, StaffAccount};
use mati_domain::category::Category;
use mati_domain::comment::CommentStatus;
use mati_domain::comment::{AgeGroup, Comment, CommentEvent, EventKind, Gender, NewEvent, Response};
use mati_domain::comment::{CitizenId, CommentId, StaffId};
use mati_domain::geography::{AdminLevel, AdminUnit, CommuneCentre, UnitCode};
use mati_domain::tracking::TrackingCode;
use mati_domain::{DomainError, DomainResult};

use crate::db::entity::{admin_unit, category, comment, comment_event, commune_centre, response, staff};

fn corrupt(what: &str, value: &str) -> DomainError {
    DomainError::Internal(format!("stored {what} {value:?} is not valid"))
}

pub(super) fn code(raw: &str) -> DomainResult<UnitCode> {
    UnitCode::parse("code", raw).map_err(|_| corrupt("unit code", raw))
}

fn opt_code(raw: Option<&str>) -> DomainResult<Option<UnitCode>> {
    raw.map(code).transpose()
}

pub(super) fn level(raw: &str) -> DomainResult<AdminLevel> {
    AdminLevel::parse(raw).ok_or_else(|| corrupt("level", raw))
}

pub(super) fn unit(row: admin_unit::Model) -> DomainResult<AdminUnit> {
    Ok(AdminUnit {
        code: code(&row.code)?,
        level: level(&row.level)?,
        kind: row.kind,
        name_km: row.name_km,
        name_en: row.name_en,
        parent_code: opt_code(row.parent_code.as_deref())?,
    })
}

pub(super) fn centre(row: commune_centre::Model) -> DomainResult<CommuneCentre> {
    Ok(CommuneCentre {
        code: code(&row.code)?,
        lat: row.lat,
        long: row.lon,
    })
}

pub(super) fn category(row: category::Model) -> DomainResult<Category> {
    Ok(Category {
        responsible_level: level(&row.responsible_level)?,
        code: row.code,
        name_km: row.name_km,
        name_en: row.name_en,
    })
}

pub(super) fn comment(row: comment::Model) -> DomainResult<Comment> {
    Ok(Comment {
        id: CommentId::new(row.id),
        tracking_code: TrackingCode::parse("t", &row.tracking_code)
            .map_err(|_| corrupt("tracking code", &row.tracking_code))?,
        body: row.body,
        category_code: row.category_code,
        commune_code: code(&row.commune_code)?,
        village_code: opt_code(row.village_code.as_deref())?,
        status: CommentStatus::parse(&row.status).ok_or_else(|| corrupt("status", &row.status))?,
        assigned_unit: opt_code(row.assigned_unit.as_deref())?,
        is_public: row.is_public,
        author: CitizenId::new(row.author_id),
        client_id: row.client_id,
        gender: row
            .gender
            .as_deref()
            .map(|g| Gender::parse(g).ok_or_else(|| corrupt("gender", g)))
            .transpose()?,
        age_group: row
            .age_group
            .as_deref()
            .map(|a| AgeGroup::parse(a).ok_or_else(|| corrupt("age group", a)))
            .transpose()?,
        created_at: row.created_at,
        routed_at: row.routed_at,
        ack_due_at: row.ack_due_at,
        due_at: row.due_at,
        acknowledged_at: row.acknowledged_at,
        first_response_at: row.first_response_at,
        resolved_at: row.resolved_at,
        satisfied: row.satisfied,
        ratings: row.ratings,
        satisfied_ratings: row.satisfied_ratings,
        reopen_count: row.reopen_count,
        support_count: row.support_count,
        version: row.version,
        escalated_levels: row.escalated_levels,
        hidden: row.hidden,
    })
}

pub(super) fn event(row: comment_event::Model) -> DomainResult<CommentEvent> {
    Ok(CommentEvent {
        id: row.id,
        comment_id: CommentId::new(row.comment_id),
        event: NewEvent {
            kind: EventKind::parse(&row.kind).ok_or_else(|| corrupt("event kind", &row.kind))?,
            at: row.at,
            unit: opt_code(row.unit_code.as_deref())?,
            from_unit: opt_code(row.from_unit_code.as_deref())?,
            actor: row.actor_id.map(StaffId::new),
            note: row.note,
        },
    })
}

pub(super) fn response(row: response::Model) -> DomainResult<Response> {
    Ok(Response {
        id: row.id,
        comment_id: CommentId::new(row.comment_id),
        body: row.body,
        unit: code(&row.unit_code)?,
        author: StaffId::new(row.author_id),
        created_at: row.created_at,
    })
}

pub(super) fn staff(row: staff::Model) -> DomainResult<StaffAccount> {
    Ok(StaffAccount {
        id: StaffId::new(row.id),
        role: Role::parse(&row.role).ok_or_else(|| corrupt("role", &row.role))?,
        unit: opt_code(row.unit_code.as_deref())?,
        username: row.username,
        disabled: row.disabled_at.is_some(),
    })
}

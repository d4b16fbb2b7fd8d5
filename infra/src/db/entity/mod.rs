//! sea-orm entities, one per table. They stay inside infra: the domain and the API
//! have their own types, converted at the edges.
#![allow(missing_docs, reason = "entity fields mirror the migration, documented there")]

pub mod admin_unit;
pub mod api_key;
pub mod category;
pub mod citizen;
pub mod comment;
pub mod comment_event;
pub mod commune_centre;
pub mod deadline_rule;
pub mod flag;
pub mod moderation_lease;
pub mod outbox;
pub mod response;
pub mod staff;
pub mod staff_device;
pub mod staff_session;
pub mod support;

//! Live inboxes: who may watch which notifications.

use super::Mati;
use crate::DomainResult;
use crate::auth::{Principal, Role};
use crate::geography::UnitCode;
use crate::ports::Notification;

/// What a watcher sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watch {
    /// An official: comments arriving in or leaving the own unit's inbox.
    Unit(UnitCode),
    /// A moderator: everything.
    Everything,
}

impl Watch {
    /// Whether `notification` concerns this watcher.
    pub fn sees(&self, notification: &Notification) -> bool {
        match self {
            Self::Everything => true,
            Self::Unit(unit) => {
                notification.unit.as_ref() == Some(unit) || notification.from_unit.as_ref() == Some(unit)
            }
        }
    }
}

impl Mati {
    /// What `caller` may watch live: OFFICIAL (own unit) and MODERATOR or ADMIN (all).
    pub fn watch(&self, caller: &Principal) -> DomainResult<Watch> {
        let staff = caller.staff_with(&[Role::Official, Role::Moderator, Role::Admin])?;
        Ok(match (&staff.role, &staff.unit) {
            (Role::Official, Some(unit)) => Watch::Unit(unit.clone()),
            (Role::Official, None) => return Err(crate::DomainError::forbidden("this official has no unit")),
            _ => Watch::Everything,
        })
    }
}

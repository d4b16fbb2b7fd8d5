//! Live inboxes: who may watch which notifications, for as long as their session lasts.

use futures::StreamExt;

use super::Mati;
use crate::DomainResult;
use crate::auth::{Principal, Role};
use crate::geography::UnitCode;
use crate::ports::{Notification, Notifications};

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

    /// The notifications `viewer` may watch, from now on, until the session behind
    /// `token` ends (logout, expiry, revocation, a changed account): the stream ends at
    /// the first notification after that.
    pub fn inbox_events(&self, viewer: &Principal, token: Option<String>) -> DomainResult<Notifications> {
        let watch = self.watch(viewer)?;
        let (mati, viewer) = (self.clone(), viewer.clone());
        let seen = self
            .ports
            .notifier
            .subscribe()
            .filter(move |n| futures::future::ready(watch.sees(n)))
            .then(move |notification| {
                let (mati, token, viewer) = (mati.clone(), token.clone(), viewer.clone());
                async move {
                    let still = mati.authenticate(token.as_deref()).await.is_ok_and(|p| p == viewer);
                    still.then_some(notification)
                }
            })
            .take_while(|n| futures::future::ready(n.is_some()))
            .filter_map(futures::future::ready);
        Ok(Box::pin(seen))
    }
}

//! Subscriptions, over WebSocket (`graphql-transport-ws` at `/graphql/ws`). The caller
//! is authenticated once, from the `Authorization` field of `connection_init`.

use async_graphql::{Context, Object, Subscription as GraphqlSubscription};
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use mati_domain::auth::Principal;
use mati_domain::ports::Notification;
use mati_domain::service::Mati;

use super::error::ToGraphql;
use super::types::comment::Comment;
use super::types::unit::{AdminUnit, load_unit};

/// Live data.
pub struct Subscription;

/// Something that happened to a comment in the caller's inbox.
pub struct InboxEvent {
    notification: Notification,
    viewer: Principal,
}

#[Object]
impl InboxEvent {
    /// SUBMITTED APPROVED ROUTED ACKNOWLEDGED RESPONDED REFERRED ESCALATED RESOLVED …
    async fn kind(&self) -> &str {
        self.notification.kind.as_str()
    }

    /// When.
    async fn at(&self) -> DateTime<Utc> {
        self.notification.at
    }

    /// The unit whose inbox it concerns.
    async fn unit(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<AdminUnit>> {
        load_unit(ctx, self.notification.unit.clone()).await
    }

    /// The comment as it is now.
    async fn comment(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Comment>> {
        let mati = ctx.data::<Mati>()?;
        let comment = mati.comment(&self.viewer, self.notification.comment_id).await.gql()?;
        Ok(comment.map(|c| Comment::for_viewer(c, &self.viewer)))
    }
}

#[GraphqlSubscription]
impl Subscription {
    /// OFFICIAL: what happens to comments arriving in or leaving the own unit's inbox;
    /// MODERATOR and ADMIN: everything. Seen from every replica.
    async fn inbox_events(&self, ctx: &Context<'_>) -> async_graphql::Result<impl Stream<Item = InboxEvent> + use<>> {
        let (mati, viewer) = super::context(ctx)?;
        let token = ctx.data_opt::<crate::http::Bearer>().and_then(|b| b.0.clone());
        let notifications = mati.inbox_events(viewer, token).gql()?;
        let viewer = viewer.clone();
        Ok(notifications.map(move |notification| InboxEvent {
            notification,
            viewer: viewer.clone(),
        }))
    }
}

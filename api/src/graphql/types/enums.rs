//! GraphQL enums and their conversions to and from the domain's.

use async_graphql::Enum;
use mati_domain::auth::Role as DomainRole;
use mati_domain::comment::CommentStatus as DomainStatus;
use mati_domain::comment::{AgeGroup as DomainAgeGroup, Gender as DomainGender};
use mati_domain::geography::AdminLevel as DomainLevel;
use mati_domain::service::RejectReason as DomainReason;

macro_rules! mirror {
    ($(#[$doc:meta])* $name:ident <=> $domain:ident { $($variant:ident = $gql:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $(#[allow(missing_docs, reason = "documented in the domain")] #[graphql(name = $gql)] $variant),+
        }
        impl From<$name> for $domain {
            fn from(value: $name) -> Self {
                match value { $($name::$variant => Self::$variant),+ }
            }
        }
        impl From<$domain> for $name {
            fn from(value: $domain) -> Self {
                match value { $($domain::$variant => Self::$variant),+ }
            }
        }
    };
}

mirror!(
    /// Province, district, commune or village.
    AdminLevel <=> DomainLevel { Province = "PROVINCE", District = "DISTRICT", Commune = "COMMUNE", Village = "VILLAGE" }
);
mirror!(
    /// Where a comment is in its life.
    CommentStatus <=> DomainStatus {
        Pending = "PENDING",
        Rejected = "REJECTED",
        Routed = "ROUTED",
        Acknowledged = "ACKNOWLEDGED",
        Responded = "RESPONDED",
        Resolved = "RESOLVED",
    }
);
mirror!(
    /// Self-declared gender.
    Gender <=> DomainGender { Female = "FEMALE", Male = "MALE", Other = "OTHER" }
);
mirror!(
    /// Self-declared age group.
    AgeGroup <=> DomainAgeGroup {
        Under18 = "UNDER_18",
        From18To24 = "FROM_18_TO_24",
        From25To34 = "FROM_25_TO_34",
        From35To49 = "FROM_35_TO_49",
        From50To64 = "FROM_50_TO_64",
        From65 = "FROM_65",
    }
);
mirror!(
    /// Why a comment is rejected or flagged.
    RejectReason <=> DomainReason {
        Spam = "SPAM",
        Abusive = "ABUSIVE",
        PersonalData = "PERSONAL_DATA",
        Duplicate = "DUPLICATE",
        OffTopic = "OFF_TOPIC",
        Other = "OTHER",
    }
);
mirror!(
    /// A staff role.
    Role <=> DomainRole { Admin = "ADMIN", Moderator = "MODERATOR", Official = "OFFICIAL", Monitor = "MONITOR" }
);

/// A moderator's decision.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModerationDecision {
    /// Publish and route.
    #[graphql(name = "APPROVE")]
    Approve,
    /// Refuse, with a reason.
    #[graphql(name = "REJECT")]
    Reject,
}

//! Properties of the pure rules, over many generated inputs: routing, deadline
//! arithmetic, tracking codes, text normalisation and redaction.
#![allow(clippy::unwrap_used, reason = "a failed unwrap fails the property, with its input")]

use crate::category::Category;
use crate::comment::StaffId;
use crate::deadline::{DeadlinePolicy, is_overdue};
use crate::geography::{AdminLevel, UnitCode};
use crate::lifecycle::{self, Actor};
use crate::privacy::{REDACTED, redact};
use crate::routing::{check_referral_target, responsible_unit};
use crate::text;
use crate::tracking::TrackingCode;
use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use rand::SeedableRng;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

fn level() -> impl Strategy<Value = AdminLevel> {
    prop_oneof![
        Just(AdminLevel::Province),
        Just(AdminLevel::District),
        Just(AdminLevel::Commune)
    ]
}

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..4_000_000_000).prop_map(|s| Utc.timestamp_opt(s, 0).single().unwrap())
}

fn category(level: AdminLevel) -> Category {
    Category {
        code: "TEST".into(),
        name_km: "សាកល្បង".into(),
        name_en: "Test".into(),
        responsible_level: level,
    }
}

proptest! {
    #[test]
    fn a_comment_is_routed_to_the_unit_of_its_level_that_contains_its_commune(digits in "[0-9]{6}", level in level()) {
        let commune = UnitCode::parse("c", &digits).unwrap();
        let unit = responsible_unit(&commune, &category(level)).unwrap();
        prop_assert!(commune.is_within(&unit));
        prop_assert_eq!(unit.level(), level);
        // And it may always be referred up to any unit containing it, never sideways.
        prop_assert!(check_referral_target(&commune, &unit).is_ok());
        let province = commune.ancestor_at(AdminLevel::Province).unwrap();
        prop_assert!(check_referral_target(&commune, &province).is_ok());
    }

    #[test]
    fn deadlines_follow_routing_and_overdue_starts_just_after_them(
        routed in instant(),
        ack_hours in 1i64..500,
        extra_hours in 0i64..500,
    ) {
        let policy = DeadlinePolicy::from_hours(ack_hours, ack_hours + extra_hours).unwrap();
        let (ack, due) = policy.due_from(routed);
        prop_assert_eq!(ack, routed + Duration::hours(ack_hours));
        prop_assert!(ack <= due);
        let pending = crate::lifecycle::tests_support::pending(routed);
        let unit = UnitCode::parse("u", "120105").unwrap();
        let comment = lifecycle::approve(&pending, unit, None, &policy, Actor { staff: StaffId::new(1), at: routed }).unwrap().comment;
        prop_assert_eq!(comment.due_at, Some(due));
        prop_assert!(!is_overdue(&comment, due));
        prop_assert!(is_overdue(&comment, due + Duration::seconds(1)));
        prop_assert!(!is_overdue(&comment, routed));
    }

    #[test]
    fn generated_tracking_codes_always_parse_back(seed in any::<u64>()) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let code = TrackingCode::generate(&mut rng);
        prop_assert_eq!(TrackingCode::parse("t", &code.as_str().to_lowercase()).unwrap(), code);
    }

    #[test]
    fn parsing_anything_as_a_tracking_code_never_panics(raw in ".{0,40}") {
        if let Ok(code) = TrackingCode::parse("t", &raw) {
            prop_assert_eq!(code.as_str().len(), 8);
        }
    }

    #[test]
    fn normalised_text_is_stable_and_free_of_control_characters(raw in "\\PC{0,200}|.{0,50}") {
        match text::normalise("body", &raw) {
            Ok(once) => {
                prop_assert_eq!(text::normalise("body", &once).unwrap(), once.clone());
                prop_assert!(!once.chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
            }
            Err(err) => prop_assert!(err.to_string().contains("character")),
        }
    }

    #[test]
    fn no_eight_digits_survive_redaction_and_nothing_else_changes(
        raw in "[0-9០-៩٠-٩０-９ ,._:\\-/()+'\t\u{A0}\u{200B}ab⑳½㋉㎡\\[\\]…]{0,60}"
    ) {
        let redacted = redact(&raw);
        // Counted on the text folded as a whole, independently of how redaction folds.
        let mut run = 0;
        for c in redacted.nfkc() {
            run = if c.general_category() == GeneralCategory::DecimalNumber { run + 1 } else { 0 };
            prop_assert!(run < 8, "eight digits survived: {:?}", redacted);
        }
        prop_assert_eq!(redact(&redacted), redacted.clone(), "not idempotent");
        if !redacted.contains(REDACTED) {
            prop_assert_eq!(redacted, raw);
        }
    }
}

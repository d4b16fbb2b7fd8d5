//! Routing (PRODUCT.md §3): a comment goes to the unit at its category's responsible
//! level that contains the comment's commune.

use crate::DomainError;
use crate::category::Category;
use crate::geography::{AdminLevel, UnitCode};

/// The unit responsible for a comment about `commune` in `category`.
pub fn responsible_unit(commune: &UnitCode, category: &Category) -> Result<UnitCode, DomainError> {
    // A village-level responsibility would be a data error: villages have no administration.
    let level = category.responsible_level.min(AdminLevel::Commune);
    commune
        .ancestor_at(level)
        .ok_or_else(|| DomainError::Internal(format!("{commune} is not a commune code")))
}

/// Checks that a comment about `commune` may be referred to `target`: an administration
/// (not a village) that contains the commune.
pub fn check_referral_target(commune: &UnitCode, target: &UnitCode) -> Result<(), DomainError> {
    if target.level() == AdminLevel::Village || !commune.is_within(target) {
        return Err(DomainError::invalid(
            "toUnitCode",
            "must be the commune, district or province that contains the comment's commune",
            "អង្គភាពនេះមិនគ្របដណ្តប់ឃុំសង្កាត់នៃមតិនេះទេ",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::category::defaults;

    fn code(raw: &str) -> UnitCode {
        UnitCode::parse("code", raw).unwrap_or_else(|e| panic!("{e}"))
    }

    fn category(code: &str) -> Category {
        defaults()
            .into_iter()
            .find(|c| c.code == code)
            .unwrap_or_else(|| panic!("no category {code}"))
    }

    #[test]
    fn each_category_goes_to_its_responsible_level_above_the_commune() {
        let commune = code("120105");
        assert_eq!(responsible_unit(&commune, &category("LOCAL_ROADS")), Ok(code("120105")));
        assert_eq!(responsible_unit(&commune, &category("SOLID_WASTE")), Ok(code("1201")));
        assert_eq!(responsible_unit(&commune, &category("LAND")), Ok(code("12")));
        assert_eq!(responsible_unit(&commune, &category("OTHER")), Ok(code("120105")));
    }

    #[test]
    fn a_referral_must_stay_above_the_comments_commune() {
        let commune = code("120105");
        assert!(check_referral_target(&commune, &code("1201")).is_ok());
        assert!(check_referral_target(&commune, &code("12")).is_ok());
        assert!(check_referral_target(&commune, &code("1202")).is_err());
        assert!(check_referral_target(&commune, &code("12010501")).is_err());
    }
}

//! Lookups every service shares: a category or a unit named in a request, which must
//! exist, else BAD_USER_INPUT on the field that named it.

use super::Mati;
use crate::category::Category;
use crate::geography::{AdminLevel, UnitCode};
use crate::{DomainError, DomainResult};

impl Mati {
    /// The category with this code, else BAD_USER_INPUT on `field`.
    pub(super) async fn category(&self, field: &str, code: &str) -> DomainResult<Category> {
        self.ports
            .categories
            .categories()
            .await?
            .into_iter()
            .find(|c| c.code == code.trim())
            .ok_or_else(|| DomainError::invalid(field, &format!("unknown category {code}"), "រកមិនឃើញប្រភេទនេះទេ"))
    }

    /// An existing unit of `level` sent as `field`.
    pub(super) async fn unit_at(&self, field: &str, raw: &str, level: AdminLevel) -> DomainResult<UnitCode> {
        let code = UnitCode::parse(field, raw)?;
        if code.level() != level {
            return Err(DomainError::invalid(
                field,
                &format!(
                    "must be a {} code of {} digits",
                    level.as_str().to_lowercase(),
                    level.code_len()
                ),
                "លេខកូដតំបន់មិនត្រឹមត្រូវ",
            ));
        }
        self.existing_unit(field, code).await
    }

    /// An existing commune, district or province sent as `field`.
    pub(super) async fn administration(&self, field: &str, raw: &str) -> DomainResult<UnitCode> {
        let code = UnitCode::parse(field, raw)?;
        if code.level() == AdminLevel::Village {
            return Err(DomainError::invalid(
                field,
                "a village has no administration; give a commune, district or province",
                "ភូមិមិនមែនជាអង្គភាពរដ្ឋបាលទេ",
            ));
        }
        self.existing_unit(field, code).await
    }

    /// `code` if the gazetteer has it, else BAD_USER_INPUT on `field`.
    pub(super) async fn existing_unit(&self, field: &str, code: UnitCode) -> DomainResult<UnitCode> {
        let found = self.ports.geography.units(std::slice::from_ref(&code)).await?;
        if found.is_empty() {
            return Err(DomainError::invalid(
                field,
                &format!("unknown unit code {code}"),
                "រកមិនឃើញលេខកូដតំបន់នេះទេ",
            ));
        }
        Ok(code)
    }
}

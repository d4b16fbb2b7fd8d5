//! Comment categories and the level of administration responsible for each.

use crate::geography::AdminLevel;

/// A category as stored (admins may edit the table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    /// Stable code, e.g. `LOCAL_ROADS`.
    pub code: String,
    /// Khmer name.
    pub name_km: String,
    /// English name.
    pub name_en: String,
    /// The level whose unit answers comments of this category.
    pub responsible_level: AdminLevel,
}

/// The default table of PRODUCT.md §3: (code, Khmer, English, level).
pub const DEFAULT_CATEGORIES: [(&str, &str, &str, AdminLevel); 13] = [
    (
        "CIVIL_REGISTRATION",
        "ការចុះបញ្ជីអត្រានុកូលដ្ឋាន",
        "Civil registration",
        AdminLevel::Commune,
    ),
    (
        "LOCAL_ROADS",
        "ផ្លូវ និងប្រព័ន្ធលូក្នុងមូលដ្ឋាន",
        "Local roads and drainage",
        AdminLevel::Commune,
    ),
    (
        "WATER_SANITATION",
        "ទឹកស្អាត និងអនាម័យ",
        "Water and sanitation",
        AdminLevel::Commune,
    ),
    (
        "PUBLIC_ORDER",
        "សន្តិសុខ និងសណ្តាប់ធ្នាប់សាធារណៈ",
        "Public order",
        AdminLevel::Commune,
    ),
    ("SOCIAL_WELFARE", "សុខុមាលភាពសង្គម", "Social welfare", AdminLevel::Commune),
    ("SOLID_WASTE", "ការប្រមូលសំរាម", "Solid waste", AdminLevel::District),
    (
        "PRIMARY_EDUCATION",
        "អប់រំបឋមសិក្សា",
        "Primary education",
        AdminLevel::District,
    ),
    (
        "ONE_WINDOW_SERVICES",
        "សេវាច្រកចេញចូលតែមួយ",
        "One-window services",
        AdminLevel::District,
    ),
    (
        "OFFICIAL_CONDUCT",
        "ឥរិយាបថមន្ត្រី",
        "Conduct of officials",
        AdminLevel::District,
    ),
    ("HEALTH", "សុខាភិបាល", "Health", AdminLevel::Province),
    ("LAND", "ដីធ្លី", "Land", AdminLevel::Province),
    (
        "NATURAL_RESOURCES",
        "ធនធានធម្មជាតិ",
        "Natural resources",
        AdminLevel::Province,
    ),
    ("OTHER", "ផ្សេងៗ", "Other", AdminLevel::Commune),
];

/// The default categories as values.
pub fn defaults() -> Vec<Category> {
    DEFAULT_CATEGORIES
        .iter()
        .map(|(code, km, en, level)| Category {
            code: (*code).to_owned(),
            name_km: (*km).to_owned(),
            name_en: (*en).to_owned(),
            responsible_level: *level,
        })
        .collect()
}

//! The gazetteer source: four CSV files (`provinces.csv`, `districts.csv`, `communes.csv`,
//! `villages.csv`), each with the header `code,parent_code,type,name_km,name_en`.
//!
//! Parsing is pure: it never touches a database. A defective row is reported as a [`Defect`]
//! and not imported; only a whole-source failure (missing file, wrong header, unreadable CSV)
//! is a [`SourceError`]. Fields are trimmed. Each row is checked against these rules in this
//! order, and the first one that fails is its only reason:
//!
//! 1. the row has exactly five fields;
//! 2. `code` is a well-formed code of the file's level (2, 4, 6 or 8 digits);
//! 3. `type` is one of the level's kinds (`capital`/`province`, `khan`/`krong`/`srok`,
//!    `khum`/`sangkat`, `phum`);
//! 4. `name_km` and `name_en` are non-empty after NFC normalisation and hold no control
//!    characters;
//! 5. a province has an empty `parent_code`; any other unit has a well-formed `parent_code`
//!    one level up;
//! 6. `code` starts with `parent_code` ("not under its parent");
//! 7. the parent is a valid unit already accepted from the file above ("missing parent");
//! 8. `code` has not been accepted before ("duplicate code"): the first valid occurrence wins.
//!
//! Checking the prefix (6) before existence (7) reports a village filed under the wrong
//! commune as misplaced even when that commune is also absent, and reports "missing parent"
//! only for rows that would otherwise fit.

use std::collections::HashMap;
use std::path::Path;

use csv::{ReaderBuilder, StringRecord};
use mati_domain::geography::{AdminLevel, AdminUnit, UnitCode};
use mati_domain::text::normalise;

#[cfg(test)]
mod tests;

/// The exact header every source file starts with.
const HEADER: [&str; 5] = ["code", "parent_code", "type", "name_km", "name_en"];

/// Where a defective row is and why it was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defect {
    /// The file name, e.g. `villages.csv`.
    pub file: String,
    /// The 1-based physical line the row starts on; the header is line 1.
    pub line: u64,
    /// The row's code as written (trimmed), possibly malformed or empty.
    pub code: String,
    /// Why the row was rejected.
    pub reason: String,
}

/// The parsed gazetteer: valid units in import order (provinces, districts, communes,
/// villages) and every defective row.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    /// Valid units, parents before children, each file in source order.
    pub units: Vec<AdminUnit>,
    /// Every rejected row, each exactly once, in source order.
    pub defects: Vec<Defect>,
    /// The number of data rows read over all files: `units.len() + defects.len()`.
    pub rows: usize,
}

/// The four files, in order, as (file name, level).
pub const FILES: [(&str, AdminLevel); 4] = [
    ("provinces.csv", AdminLevel::Province),
    ("districts.csv", AdminLevel::District),
    ("communes.csv", AdminLevel::Commune),
    ("villages.csv", AdminLevel::Village),
];

/// A whole-source failure (missing file, bad header, unreadable CSV), as opposed to a
/// defective row.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// One of the four files is absent.
    #[error("gazetteer file {file} is missing")]
    Missing {
        /// The missing file's name.
        file: String,
    },
    /// A file exists but cannot be read (permissions, invalid UTF-8, …).
    #[error("gazetteer file {file} cannot be read: {message}")]
    Read {
        /// The file's name.
        file: String,
        /// What went wrong.
        message: String,
    },
    /// A file's first line is not `code,parent_code,type,name_km,name_en`.
    #[error("gazetteer file {file} has header {found:?}, expected \"code,parent_code,type,name_km,name_en\"")]
    Header {
        /// The file's name.
        file: String,
        /// The header found.
        found: String,
    },
    /// A file is not readable as CSV.
    #[error("gazetteer file {file} is not valid CSV: {message}")]
    Csv {
        /// The file's name.
        file: String,
        /// The CSV reader's complaint.
        message: String,
    },
}

/// Parses the four files from texts given as (file name, content) — used for the copy
/// embedded in the binary. Texts whose names are not in [`FILES`] are ignored.
pub fn parse_texts(texts: &[(&str, &str)]) -> Result<Parsed, SourceError> {
    let mut parser = Parser::default();
    for (file, level) in FILES {
        let text = texts
            .iter()
            .find(|(name, _)| *name == file)
            .map(|(_, text)| *text)
            .ok_or_else(|| SourceError::Missing { file: file.to_owned() })?;
        parser.file(file, level, text)?;
    }
    Ok(parser.parsed)
}

/// Reads DIR/{provinces,districts,communes,villages}.csv and parses them.
pub fn parse_dir(dir: &Path) -> Result<Parsed, SourceError> {
    let mut texts = Vec::with_capacity(FILES.len());
    for (file, _) in FILES {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                SourceError::Missing { file: file.to_owned() }
            } else {
                SourceError::Read {
                    file: file.to_owned(),
                    message: format!("{}: {e}", path.display()),
                }
            }
        })?;
        texts.push((file, text));
    }
    let texts: Vec<(&str, &str)> = texts.iter().map(|(file, text)| (*file, text.as_str())).collect();
    parse_texts(&texts)
}

/// The accepted units so far, with the line each code was accepted at.
#[derive(Default)]
struct Parser {
    parsed: Parsed,
    /// Accepted codes → line of acceptance. Codes of different levels differ in length, so
    /// one map serves both the parent and the duplicate checks.
    seen: HashMap<String, u64>,
}

impl Parser {
    /// Parses one file's rows into `self.parsed`.
    fn file(&mut self, file: &str, level: AdminLevel, text: &str) -> Result<(), SourceError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let csv_error = |e: csv::Error| SourceError::Csv {
            file: file.to_owned(),
            message: e.to_string(),
        };
        let mut reader = ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(text.as_bytes());
        let header = reader.headers().map_err(csv_error)?;
        if !header.iter().eq(HEADER) {
            return Err(SourceError::Header {
                file: file.to_owned(),
                found: header.iter().collect::<Vec<_>>().join(","),
            });
        }
        let mut lines = LineCounter::new(text);
        for record in reader.records() {
            let record = record.map_err(csv_error)?;
            self.parsed.rows += 1;
            let line = lines.line_of(record.position().map_or(0, csv::Position::byte));
            match self.row(level, &record) {
                Ok(unit) => {
                    self.seen.insert(unit.code.as_str().to_owned(), line);
                    self.parsed.units.push(unit);
                }
                Err(reason) => self.parsed.defects.push(Defect {
                    file: file.to_owned(),
                    line,
                    code: record.get(0).unwrap_or_default().trim().to_owned(),
                    reason,
                }),
            }
        }
        Ok(())
    }

    /// Checks one row against the rules, in the documented order.
    fn row(&self, level: AdminLevel, record: &StringRecord) -> Result<AdminUnit, String> {
        if record.len() != HEADER.len() {
            return Err(format!("expected {} fields, found {}", HEADER.len(), record.len()));
        }
        let field = |i: usize| record.get(i).unwrap_or_default().trim();

        let raw_code = field(0);
        let code = well_formed(raw_code, level)
            .ok_or_else(|| format!("malformed code {raw_code:?}: expected {} digits", level.code_len()))?;

        let kind = field(2);
        let kinds = kinds(level);
        if !kinds.contains(&kind) {
            return Err(format!(
                "unknown type {kind:?} for a {}: expected {}",
                level_name(level),
                kinds.join(" or ")
            ));
        }

        let name_km = name("name_km", "Khmer", field(3))?;
        let name_en = name("name_en", "English", field(4))?;

        let raw_parent = field(1);
        let parent_code = match level.parent() {
            None if raw_parent.is_empty() => None,
            None => {
                return Err(format!(
                    "a {} has no parent, found parent code {raw_parent:?}",
                    level_name(level)
                ));
            }
            Some(parent_level) if raw_parent.is_empty() => {
                return Err(format!(
                    "missing parent code: a {} needs its {}",
                    level_name(level),
                    level_name(parent_level)
                ));
            }
            Some(parent_level) => {
                let parent = well_formed(raw_parent, parent_level).ok_or_else(|| {
                    format!(
                        "malformed parent code {raw_parent:?}: expected {} digits",
                        parent_level.code_len()
                    )
                })?;
                if !code.is_within(&parent) {
                    return Err(format!("code {code} is not under its parent {parent}"));
                }
                if !self.seen.contains_key(parent.as_str()) {
                    return Err(format!(
                        "missing parent: {} {parent} does not exist",
                        level_name(parent_level)
                    ));
                }
                Some(parent)
            }
        };

        if let Some(first) = self.seen.get(code.as_str()) {
            return Err(format!("duplicate code, first seen at line {first}"));
        }

        Ok(AdminUnit {
            code,
            level,
            kind: kind.to_owned(),
            name_km,
            name_en,
            parent_code,
        })
    }
}

/// Finds the 1-based physical line a record starts on. The csv reader's own line count
/// skips blank lines and miscounts CRLF; its byte offset is where the previous record
/// ended, so the record's first byte is the next one that is not a line terminator.
struct LineCounter<'a> {
    text: &'a [u8],
    /// Bytes before this offset are counted.
    offset: usize,
    /// The line `offset` lies on.
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text: text.as_bytes(),
            offset: 0,
            line: 1,
        }
    }

    /// The line of the record whose reader position is `byte`; calls must not go back.
    fn line_of(&mut self, byte: u64) -> u64 {
        let mut start = usize::try_from(byte).map_or(self.text.len(), |b| b.max(self.offset));
        while matches!(self.text.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        let counted = self.text.get(self.offset..start).unwrap_or_default();
        for (i, byte) in counted.iter().enumerate() {
            let next = self.text.get(self.offset + i + 1);
            if *byte == b'\n' || (*byte == b'\r' && next != Some(&b'\n')) {
                self.line += 1;
            }
        }
        self.offset = start;
        self.line
    }
}

/// `raw` as a code of exactly `level`'s length, if it is one.
fn well_formed(raw: &str, level: AdminLevel) -> Option<UnitCode> {
    UnitCode::parse("code", raw).ok().filter(|code| code.level() == level)
}

/// The unit types allowed at `level`.
const fn kinds(level: AdminLevel) -> &'static [&'static str] {
    match level {
        AdminLevel::Province => &["capital", "province"],
        AdminLevel::District => &["khan", "krong", "srok"],
        AdminLevel::Commune => &["khum", "sangkat"],
        AdminLevel::Village => &["phum"],
    }
}

/// The level's name for messages, e.g. `commune`.
const fn level_name(level: AdminLevel) -> &'static str {
    match level {
        AdminLevel::Province => "province",
        AdminLevel::District => "district",
        AdminLevel::Commune => "commune",
        AdminLevel::Village => "village",
    }
}

/// A normalised, non-empty name without control characters (not even newlines or tabs).
fn name(field: &str, language: &str, raw: &str) -> Result<String, String> {
    let text = normalise(field, raw).map_err(|e| format!("invalid {language} name: {e}"))?;
    if let Some(bad) = text.chars().find(|c| c.is_control()) {
        return Err(format!(
            "invalid {language} name: must not contain control character U+{:04X}",
            u32::from(bad)
        ));
    }
    if text.is_empty() {
        return Err(format!("empty {language} name"));
    }
    Ok(text)
}

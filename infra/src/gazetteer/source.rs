//! The gazetteer source: four CSV files (`provinces.csv`, `districts.csv`, `communes.csv`,
//! `villages.csv`), each with the header `code,parent_code,type,name_km,name_en` on its
//! first line, and optionally a fifth, `commune_centroids.csv`, with the header
//! `code,lat,lon`: the approximate centres of some communes (module `centres`).
//!
//! # One line, one row
//!
//! A gazetteer row never contains a line break, so each physical line (ended by LF, CRLF
//! or a lone CR) is one row, read on its own: a quoted field must close on the line it
//! opens on, and a quote left open is a defect of that line, after which the next line is
//! read as the next row. Lines are checked for UTF-8 one by one too, so a stray Latin-1
//! byte spoils its line, not the file. Every line of a file is accounted for exactly once:
//! it is the header, a blank line (empty: skipped, and counted in [`Parsed::blank`]), a
//! valid unit (or centre), or a [`Defect`] naming the line. Hence
//! `lines == files + blank + units.len() + centres.len() + defects.len()`.
//!
//! Parsing is pure: it never touches a database. A defective row is reported as a [`Defect`]
//! and not imported; only a whole-source failure (missing or unreadable file, wrong header)
//! is a [`SourceError`]. Fields are trimmed. Each row is checked against these rules in this
//! order, and the first one that fails is its only reason:
//!
//! 1. the line is UTF-8 (a byte order mark before the header is dropped);
//! 2. the line is one CSV record: a quoted field closes on the same line and is followed by
//!    a comma or the line's end, and a quote appears only around a whole field (written
//!    `""` inside it);
//! 3. the row has exactly five fields;
//! 4. `code` is a well-formed code of the file's level (2, 4, 6 or 8 digits);
//! 5. `type` is one of the level's kinds (`capital`/`province`, `khan`/`krong`/`srok`,
//!    `khum`/`sangkat`, `phum`);
//! 6. `name_km` and `name_en` are non-empty after NFC normalisation and hold no control
//!    characters;
//! 7. a province has an empty `parent_code`; any other unit has a well-formed `parent_code`
//!    one level up;
//! 8. `code` starts with `parent_code` ("not under its parent");
//! 9. the parent is a valid unit already accepted from the file above ("missing parent");
//! 10. `code` has not been accepted before ("duplicate code"): the first valid occurrence
//!     wins.
//!
//! Checking the prefix (8) before existence (9) reports a village filed under the wrong
//! commune as misplaced even when that commune is also absent, and reports "missing parent"
//! only for rows that would otherwise fit.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use mati_domain::geography::{AdminLevel, AdminUnit, CommuneCentre, UnitCode};
use mati_domain::text::normalise;

mod centres;
mod record;
#[cfg(test)]
mod tests;

/// The exact header every source file of units starts with.
const HEADER: [&str; 5] = ["code", "parent_code", "type", "name_km", "name_en"];

pub use centres::CENTRES_FILE;

/// Where a defective row is and why it was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defect {
    /// The file name, e.g. `villages.csv`.
    pub file: String,
    /// The 1-based physical line of the row; the header is line 1.
    pub line: u64,
    /// The row's code as written (trimmed), possibly malformed, with bytes that are not
    /// UTF-8 shown as U+FFFD; `None` when the line has no first field to read it from, or
    /// an empty one.
    pub code: Option<String>,
    /// Why the row was rejected.
    pub reason: String,
}

/// `FILE:LINE: CODE: REASON`, with `(no code)` for a row without one.
impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self.code.as_deref().unwrap_or("(no code)");
        write!(f, "{}:{}: {code}: {}", self.file, self.line, self.reason)
    }
}

/// The parsed gazetteer: valid units in import order (provinces, districts, communes,
/// villages), the valid commune centres, and every defective row.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    /// Valid units, parents before children, each file in source order.
    pub units: Vec<AdminUnit>,
    /// Valid commune centres in source order, each of a commune in `units`; `None` when
    /// the source has no [`CENTRES_FILE`].
    pub centres: Option<Vec<CommuneCentre>>,
    /// Every rejected row, each exactly once, in source order.
    pub defects: Vec<Defect>,
    /// The number of data rows read over all files, one per non-blank line after the
    /// header: `units.len() + centres.len() + defects.len()`.
    pub rows: usize,
    /// Blank (empty) lines, skipped.
    pub blank: usize,
    /// The files read, each with its header line: four, or five with [`CENTRES_FILE`].
    pub files: usize,
    /// Every physical line of the files, headers included: `files + blank + rows`.
    pub lines: usize,
}

impl Parsed {
    /// The valid rows: units and centres.
    pub fn valid(&self) -> usize {
        self.units.len() + self.centres.as_ref().map_or(0, Vec::len)
    }
}

/// The four files, in order, as (file name, level).
pub const FILES: [(&str, AdminLevel); 4] = [
    ("provinces.csv", AdminLevel::Province),
    ("districts.csv", AdminLevel::District),
    ("communes.csv", AdminLevel::Commune),
    ("villages.csv", AdminLevel::Village),
];

/// A whole-source failure (missing or unreadable file, bad header), as opposed to a
/// defective row.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// One of the four files is absent.
    #[error("gazetteer file {file} is missing")]
    Missing {
        /// The missing file's name.
        file: String,
    },
    /// A file exists but cannot be read (permissions, a directory, …).
    #[error("gazetteer file {file} cannot be read: {message}")]
    Read {
        /// The file's name.
        file: String,
        /// What went wrong.
        message: String,
    },
    /// A file's first line is not its header (`code,parent_code,type,name_km,name_en`,
    /// or `code,lat,lon` for the centres).
    #[error("gazetteer file {file} has header {found:?}, expected {expected:?}")]
    Header {
        /// The file's name.
        file: String,
        /// The first line found (bytes that are not UTF-8 shown as U+FFFD).
        found: String,
        /// The header the file must start with.
        expected: String,
    },
}

/// Parses the four files, and [`CENTRES_FILE`] if given, from texts given as (file name,
/// content) — used for the copy embedded in the binary. Other texts are ignored.
pub fn parse_texts(texts: &[(&str, &str)]) -> Result<Parsed, SourceError> {
    let files: Vec<(&str, &[u8])> = texts.iter().map(|(file, text)| (*file, text.as_bytes())).collect();
    parse_bytes(&files)
}

/// Parses the four files, and [`CENTRES_FILE`] if given, from their bytes given as (file
/// name, content), which need not be UTF-8: a line that is not is a defect. Other
/// contents are ignored.
pub fn parse_bytes(files: &[(&str, &[u8])]) -> Result<Parsed, SourceError> {
    let content = |file: &str| files.iter().find(|(name, _)| *name == file).map(|(_, bytes)| *bytes);
    let mut parser = Parser::default();
    for (file, level) in FILES {
        let bytes = content(file).ok_or_else(|| SourceError::Missing { file: file.to_owned() })?;
        parser.file(file, level, bytes)?;
    }
    if let Some(bytes) = content(CENTRES_FILE) {
        parser.centres_file(bytes)?;
    }
    Ok(parser.parsed)
}

/// Reads DIR/{provinces,districts,communes,villages}.csv, and DIR/commune_centroids.csv
/// when it exists, and parses them.
pub fn parse_dir(dir: &Path) -> Result<Parsed, SourceError> {
    let read = |file: &str| {
        let path = dir.join(file);
        std::fs::read(&path).map_err(|e| (e.kind(), format!("{}: {e}", path.display())))
    };
    let unreadable = |file: &str, message| SourceError::Read {
        file: file.to_owned(),
        message,
    };
    let mut contents = Vec::with_capacity(FILES.len() + 1);
    for (file, _) in FILES {
        let bytes = read(file).map_err(|(kind, message)| {
            if kind == std::io::ErrorKind::NotFound {
                SourceError::Missing { file: file.to_owned() }
            } else {
                unreadable(file, message)
            }
        })?;
        contents.push((file, bytes));
    }
    match read(CENTRES_FILE) {
        Ok(bytes) => contents.push((CENTRES_FILE, bytes)),
        Err((std::io::ErrorKind::NotFound, _)) => {}
        Err((_, message)) => return Err(unreadable(CENTRES_FILE, message)),
    }
    let files: Vec<(&str, &[u8])> = contents.iter().map(|(file, bytes)| (*file, bytes.as_slice())).collect();
    parse_bytes(&files)
}

/// The lines of a file after its header, numbered from 2, once the header is checked
/// against `expected` (a byte order mark before it is dropped).
fn body<'a>(
    file: &str,
    bytes: &'a [u8],
    expected: &[&str],
) -> Result<impl Iterator<Item = (&'a [u8], u64)> + use<'a>, SourceError> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut lines = record::lines(bytes).zip(1_u64..);
    let header = lines.next().map_or(&[][..], |(header, _)| header);
    let fields = std::str::from_utf8(header)
        .ok()
        .and_then(|h| record::fields(h, expected).ok());
    if fields.is_none_or(|fields| fields != expected) {
        return Err(SourceError::Header {
            file: file.to_owned(),
            found: String::from_utf8_lossy(header).into_owned(),
            expected: expected.join(","),
        });
    }
    Ok(lines)
}

/// The fields of one non-blank line of a file with header `names`, or the row's code (if
/// any) and why the line is not one record.
fn record_of(bytes: &[u8], names: &[&str]) -> Result<Vec<String>, (Option<String>, String)> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let lossy = String::from_utf8_lossy(bytes);
        let fields = record::fields(&lossy, names).unwrap_or_else(|malformed| malformed.fields);
        let at = e.valid_up_to();
        let byte = bytes.get(at).copied().unwrap_or_default();
        let reason = format!(
            "not UTF-8: byte 0x{byte:02X} at byte {} of the line (save the file as UTF-8)",
            at + 1
        );
        (code_of(&fields), reason)
    })?;
    record::fields(text, names).map_err(|malformed| (code_of(&malformed.fields), malformed.reason))
}

/// The accepted units and centres so far, with the line each code was accepted at.
#[derive(Default)]
struct Parser {
    parsed: Parsed,
    /// Accepted codes → line of acceptance. Codes of different levels differ in length, so
    /// one map serves both the parent and the duplicate checks.
    seen: HashMap<String, u64>,
    /// Communes with an accepted centre → line of acceptance.
    centred: HashMap<String, u64>,
}

impl Parser {
    /// Counts one line after a header: whether it is a row to read (not blank).
    fn count(&mut self, text: &[u8]) -> bool {
        self.parsed.lines += 1;
        if text.is_empty() {
            self.parsed.blank += 1;
            return false;
        }
        self.parsed.rows += 1;
        true
    }

    /// Parses one file's lines into `self.parsed`.
    fn file(&mut self, file: &str, level: AdminLevel, bytes: &[u8]) -> Result<(), SourceError> {
        let lines = body(file, bytes, &HEADER)?;
        self.parsed.files += 1;
        self.parsed.lines += 1;
        for (text, line) in lines {
            if !self.count(text) {
                continue;
            }
            match self.line(level, text) {
                Ok(unit) => {
                    self.seen.insert(unit.code.as_str().to_owned(), line);
                    self.parsed.units.push(unit);
                }
                Err((code, reason)) => self.parsed.defects.push(Defect {
                    file: file.to_owned(),
                    line,
                    code,
                    reason,
                }),
            }
        }
        Ok(())
    }

    /// Reads one non-blank line as a row: the unit, or the row's code (if any) and why it
    /// was rejected.
    fn line(&self, level: AdminLevel, bytes: &[u8]) -> Result<AdminUnit, (Option<String>, String)> {
        let fields = record_of(bytes, &HEADER)?;
        self.row(level, &fields).map_err(|reason| (code_of(&fields), reason))
    }

    /// Checks one row's fields against the rules, in the documented order.
    fn row(&self, level: AdminLevel, record: &[String]) -> Result<AdminUnit, String> {
        if record.len() != HEADER.len() {
            return Err(format!("expected {} fields, found {}", HEADER.len(), record.len()));
        }
        let field = |i: usize| record.get(i).map_or("", |f| f.trim());
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

/// The row's code as written, trimmed; `None` when its first field is absent or empty.
fn code_of(fields: &[String]) -> Option<String> {
    fields
        .first()
        .map(|code| code.trim())
        .filter(|code| !code.is_empty())
        .map(str::to_owned)
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

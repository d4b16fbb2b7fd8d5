//! The optional fifth file, `commune_centroids.csv`: approximate centres of communes,
//! with the header `code,lat,lon`. It is read after the four files of units, line by line
//! like them (rules 1 and 2 of the [parent module](super)), and each row is checked in
//! this order:
//!
//! 1. the row has exactly three fields;
//! 2. `code` is a well-formed commune code (6 digits);
//! 3. `lat` and `lon` are finite decimal numbers of degrees;
//! 4. the position lies inside Cambodia's bounding box (latitude 9.5 to 15.0, longitude
//!    102.0 to 108.0), so that swapped or mistyped coordinates are caught;
//! 5. the commune is a valid unit accepted from `communes.csv` ("missing commune");
//! 6. the commune has no centre accepted before ("duplicate code"): the first valid
//!    occurrence wins.
//!
//! Without the file, [`Parsed::centres`](super::Parsed::centres) is `None`, and an import leaves the stored
//! centres as they are.

use mati_domain::geography::{AdminLevel, CAMBODIA_LAT, CAMBODIA_LONG, CommuneCentre, GeoPoint};

use super::{Defect, Parser, SourceError, body, code_of, record_of, well_formed};

/// The optional file of commune centres.
pub const CENTRES_FILE: &str = "commune_centroids.csv";

/// The exact header of [`CENTRES_FILE`].
const CENTRES_HEADER: [&str; 3] = ["code", "lat", "lon"];

impl Parser {
    /// Parses the lines of [`CENTRES_FILE`] into `self.parsed`, after the units.
    pub(super) fn centres_file(&mut self, bytes: &[u8]) -> Result<(), SourceError> {
        let lines = body(CENTRES_FILE, bytes, &CENTRES_HEADER)?;
        self.parsed.files += 1;
        self.parsed.lines += 1;
        let mut centres = Vec::new();
        for (text, line) in lines {
            if !self.count(text) {
                continue;
            }
            let centre = record_of(text, &CENTRES_HEADER)
                .and_then(|fields| self.centre(&fields).map_err(|reason| (code_of(&fields), reason)));
            match centre {
                Ok(centre) => {
                    self.centred.insert(centre.code.as_str().to_owned(), line);
                    centres.push(centre);
                }
                Err((code, reason)) => self.parsed.defects.push(Defect {
                    file: CENTRES_FILE.to_owned(),
                    line,
                    code,
                    reason,
                }),
            }
        }
        self.parsed.centres = Some(centres);
        Ok(())
    }

    /// Checks one row of [`CENTRES_FILE`] against the rules, in the documented order.
    fn centre(&self, record: &[String]) -> Result<CommuneCentre, String> {
        if record.len() != CENTRES_HEADER.len() {
            return Err(format!(
                "expected {} fields, found {}",
                CENTRES_HEADER.len(),
                record.len()
            ));
        }
        let field = |i: usize| record.get(i).map_or("", |f| f.trim());
        let raw_code = field(0);
        let code = well_formed(raw_code, AdminLevel::Commune)
            .ok_or_else(|| format!("malformed code {raw_code:?}: expected 6 digits"))?;
        let degrees = |name: &str, raw: &str| {
            raw.parse::<f64>()
                .ok()
                .filter(|value| value.is_finite())
                .ok_or_else(|| format!("malformed {name} {raw:?}: expected a decimal number of degrees"))
        };
        let lat = degrees("lat", field(1))?;
        let long = degrees("lon", field(2))?;
        if !(GeoPoint { lat, long }).is_in_cambodia() {
            return Err(format!(
                "position {lat}, {long} is outside Cambodia (lat {:.1} to {:.1}, lon {:.1} to {:.1})",
                CAMBODIA_LAT.start(),
                CAMBODIA_LAT.end(),
                CAMBODIA_LONG.start(),
                CAMBODIA_LONG.end()
            ));
        }
        if !self.seen.contains_key(code.as_str()) {
            return Err(format!("missing commune: commune {code} does not exist"));
        }
        if let Some(first) = self.centred.get(code.as_str()) {
            return Err(format!("duplicate code, first seen at line {first}"));
        }
        Ok(CommuneCentre { code, lat, long })
    }
}

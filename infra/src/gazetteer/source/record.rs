//! One physical line is one CSV record: the grammar the gazetteer files are read with.
//!
//! A line ends at LF, CRLF or a lone CR; text after the last terminator is a last line
//! when it is not empty. Fields are separated by commas. A field is either plain (any text
//! without a double quote) or quoted: a double quote, any text with `""` for a quote
//! inside it, and a closing quote followed by a comma or the end of the line. Blanks
//! (spaces and tabs) around a quoted field are ignored, as every field is trimmed anyway.
//!
//! A quoted field never holds a line break. A gazetteer row has no reason to, and allowing
//! it let one quote left open swallow every following line into a single record; read line
//! by line, that quote spoils its own line only.

/// Spaces and tabs, ignored around a quoted field.
const BLANKS: [char; 2] = [' ', '\t'];

/// The physical lines of `bytes`, without their terminators.
pub(super) fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest
            .iter()
            .position(|b| matches!(b, b'\n' | b'\r'))
            .unwrap_or(rest.len());
        let (line, after) = rest.split_at(end);
        rest = after
            .strip_prefix(b"\r\n")
            .or_else(|| after.get(1..))
            .unwrap_or_default();
        Some(line)
    })
}

/// Why a line is not one well-formed record.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Malformed {
    /// The fields read before the fault, so that a defect can still name the row's code.
    pub(super) fields: Vec<String>,
    /// What is wrong, naming the field.
    pub(super) reason: String,
}

/// The fields of one line (which holds no line terminator), unquoted but not trimmed;
/// `names` are the file's column names, for messages.
pub(super) fn fields(line: &str, names: &[&str]) -> Result<Vec<String>, Malformed> {
    let mut fields = Vec::new();
    let mut rest = line;
    loop {
        let which = field_name(names, fields.len());
        let (field, after) = if let Some(quoted) = rest.trim_start_matches(BLANKS).strip_prefix('"') {
            let Some((field, after)) = quoted_field(quoted) else {
                let reason = format!("the quote opening {which} is not closed on this line (a row never spans lines)");
                return Err(Malformed { fields, reason });
            };
            let after = after.trim_start_matches(BLANKS);
            if !after.is_empty() && !after.starts_with(',') {
                let reason = format!("text after the closing quote of {which}");
                return Err(Malformed { fields, reason });
            }
            (field, after)
        } else {
            let (field, after) = rest.split_at(rest.find([',', '"']).unwrap_or(rest.len()));
            if after.starts_with('"') {
                let reason =
                    format!("a quote inside unquoted {which}: quote the whole field and write a quote in it as \"\"");
                return Err(Malformed { fields, reason });
            }
            (field.to_owned(), after)
        };
        fields.push(field);
        match after.strip_prefix(',') {
            Some(next) => rest = next,
            None => return Ok(fields),
        }
    }
}

/// The content of a quoted field whose opening quote is consumed, and the text after its
/// closing quote; `None` when the line ends before the field closes.
fn quoted_field(text: &str) -> Option<(String, &str)> {
    let mut field = String::new();
    let mut rest = text;
    loop {
        let (part, after) = rest.split_at(rest.find('"')?);
        field.push_str(part);
        let after = after.get(1..).unwrap_or_default();
        match after.strip_prefix('"') {
            Some(next) => {
                field.push('"');
                rest = next;
            }
            None => return Some((field, after)),
        }
    }
}

/// How messages name the field at 0-based `index` of a file with columns `names`, e.g.
/// `field 5 (name_en)`.
fn field_name(names: &[&str], index: usize) -> String {
    match names.get(index) {
        Some(name) => format!("field {} ({name})", index + 1),
        None => format!("field {}", index + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gazetteer::source::HEADER;

    /// The fields of a line of a file of units.
    fn fields(line: &str) -> Result<Vec<String>, Malformed> {
        super::fields(line, &HEADER)
    }

    fn lines_of(text: &str) -> Vec<&str> {
        lines(text.as_bytes())
            .map(|line| std::str::from_utf8(line).unwrap_or("not UTF-8"))
            .collect()
    }

    #[test]
    fn lines_end_at_lf_crlf_or_a_lone_cr_and_keep_blank_ones() {
        assert_eq!(lines_of("a\nb\r\nc\rd"), ["a", "b", "c", "d"]);
        assert_eq!(lines_of("a\n\nb\r\n\r\n"), ["a", "", "b", ""]);
        assert_eq!(lines_of("a\r\r\nb\n"), ["a", "", "b"]);
        assert_eq!(lines_of(""), Vec::<&str>::new());
        assert_eq!(lines_of("\n"), [""]);
    }

    #[test]
    fn plain_and_quoted_fields_are_split_at_commas() {
        assert_eq!(
            fields("a, b ,,c"),
            Ok(vec!["a".into(), " b ".into(), String::new(), "c".into()])
        );
        assert_eq!(fields(""), Ok(vec![String::new()]));
        assert_eq!(fields("a,"), Ok(vec!["a".into(), String::new()]));
        assert_eq!(
            fields("\"Kaoh Thum \"\"Ka \"\"\", \"a,b\" ,\"\""),
            Ok(vec!["Kaoh Thum \"Ka \"".into(), "a,b".into(), String::new()])
        );
    }

    #[test]
    fn a_quote_left_open_is_a_fault_of_its_field_keeping_the_fields_before_it() {
        let malformed = fields("12090101,120901,phum,ភូមិ,\"Phum").err();
        assert_eq!(
            malformed,
            Some(Malformed {
                fields: vec!["12090101".into(), "120901".into(), "phum".into(), "ភូមិ".into()],
                reason: "the quote opening field 5 (name_en) is not closed on this line (a row never spans lines)"
                    .into(),
            })
        );
        let reason = fields("\"a\"\"").err().map(|m| m.reason);
        assert_eq!(
            reason.as_deref(),
            Some("the quote opening field 1 (code) is not closed on this line (a row never spans lines)")
        );
    }

    #[test]
    fn stray_quotes_are_faults_rather_than_text() {
        let reason = |line: &str| fields(line).err().map(|m| m.reason);
        assert_eq!(
            reason("1,2,3,4,Phum\"").as_deref(),
            Some("a quote inside unquoted field 5 (name_en): quote the whole field and write a quote in it as \"\"")
        );
        assert_eq!(
            reason("1,2,\"phum\"x,4,5").as_deref(),
            Some("text after the closing quote of field 3 (type)")
        );
        assert_eq!(
            reason("1,2,3,4,5,a\"b").as_deref(),
            Some("a quote inside unquoted field 6: quote the whole field and write a quote in it as \"\"")
        );
    }
}

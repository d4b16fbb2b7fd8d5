//! One answer, two formats: a small tree that renders as the JSON and as the XML of
//! Open311's "JSON and XML conversion". A list is a bare JSON array and, in XML, an
//! element per item named for the item (`<services><service>…`); an object is a JSON
//! object and, in XML, an element per field; an absent value is JSON `null` and an empty
//! XML element. XML declares UTF-8 and escapes the five special characters; JSON numbers
//! and booleans stay numbers and booleans.

use std::fmt::Write;

/// A value in an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text.
    Text(String),
    /// A number (coordinates).
    Number(f64),
    /// A whole number (codes of errors, orders).
    Integer(i64),
    /// `true` or `false`.
    Bool(bool),
    /// Nothing known.
    Null,
    /// Named fields, in order.
    Object(Vec<(&'static str, Value)>),
    /// Items, each an element named `item` in XML.
    List {
        /// The XML element of one item.
        item: &'static str,
        /// The items.
        items: Vec<Value>,
    },
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Self {
        value.map_or(Self::Null, Into::into)
    }
}

/// A whole answer: its XML root element and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The root element in XML (`services`, `service_requests`, `discovery`, …).
    pub root: &'static str,
    /// The list or object it holds.
    pub value: Value,
}

impl Document {
    /// A list answer.
    pub fn list(root: &'static str, item: &'static str, items: Vec<Value>) -> Self {
        Self {
            root,
            value: Value::List { item, items },
        }
    }

    /// The JSON text.
    pub fn json(&self) -> String {
        json(&self.value).to_string()
    }

    /// The XML text, with its declaration.
    pub fn xml(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
        element(&mut out, self.root, &self.value);
        out.push('\n');
        out
    }
}

fn json(value: &Value) -> serde_json::Value {
    match value {
        Value::Text(text) => serde_json::Value::String(text.clone()),
        Value::Number(n) => serde_json::Number::from_f64(*n).map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::Integer(n) => serde_json::Value::from(*n),
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Null => serde_json::Value::Null,
        Value::Object(fields) => serde_json::Value::Object(
            fields
                .iter()
                .map(|(name, value)| ((*name).to_owned(), json(value)))
                .collect(),
        ),
        Value::List { items, .. } => serde_json::Value::Array(items.iter().map(json).collect()),
    }
}

fn element(out: &mut String, name: &str, value: &Value) {
    match value {
        Value::Null => {
            let _ = write!(out, "<{name}/>");
        }
        Value::Text(text) => {
            let _ = write!(out, "<{name}>");
            escape(out, text);
            let _ = write!(out, "</{name}>");
        }
        Value::Number(n) => {
            let _ = write!(out, "<{name}>{n}</{name}>");
        }
        Value::Integer(n) => {
            let _ = write!(out, "<{name}>{n}</{name}>");
        }
        Value::Bool(b) => {
            let _ = write!(out, "<{name}>{b}</{name}>");
        }
        Value::Object(fields) => {
            let _ = write!(out, "<{name}>");
            for (field, value) in fields {
                element(out, field, value);
            }
            let _ = write!(out, "</{name}>");
        }
        Value::List { item, items } => {
            let _ = write!(out, "<{name}>");
            for value in items {
                element(out, item, value);
            }
            let _ = write!(out, "</{name}>");
        }
    }
}

/// Escapes text for element content. Control characters other than tab and line breaks
/// cannot appear in XML 1.0 at all; Mati's texts never hold them (they are refused on
/// input), and any that would still arrive is dropped rather than break the document.
fn escape(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Document {
        Document::list(
            "services",
            "service",
            vec![Value::Object(vec![
                ("service_code", "LOCAL_ROADS".into()),
                ("service_name", "ផ្លូវ <roads> & \"drains\"".into()),
                ("description", Value::Null),
                ("metadata", true.into()),
                ("lat", Value::Number(11.55)),
                (
                    "keywords",
                    Value::List {
                        item: "keyword",
                        items: vec!["a".into()],
                    },
                ),
            ])],
        )
    }

    #[test]
    fn a_list_is_a_bare_array_with_real_booleans_numbers_and_nulls() {
        let json: serde_json::Value = serde_json::from_str(&sample().json()).unwrap_or_default();
        assert_eq!(json[0]["service_code"], "LOCAL_ROADS");
        assert_eq!(json[0]["metadata"], true);
        assert_eq!(json[0]["lat"], 11.55);
        assert!(json[0]["description"].is_null());
        assert_eq!(json[0]["keywords"][0], "a");
    }

    #[test]
    fn xml_declares_utf8_escapes_text_and_names_each_item() {
        let xml = sample().xml();
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<services><service>"));
        assert!(xml.contains("<service_name>ផ្លូវ &lt;roads&gt; &amp; &quot;drains&quot;</service_name>"));
        assert!(xml.contains("<description/><metadata>true</metadata><lat>11.55</lat>"));
        assert!(xml.contains("<keywords><keyword>a</keyword></keywords>"));
    }

    #[test]
    fn control_characters_never_reach_the_xml() {
        let mut out = String::new();
        escape(&mut out, "a\u{0}b\u{1b}c\td");
        assert_eq!(out, "abc\td");
    }
}

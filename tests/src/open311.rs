//! Open311 as its clients see it: answers in both formats, JSON checked against the
//! specification's JSON Schemas (`tests/schemas/open311`, with `date-time` and `uri`
//! formats checked), XML read the way FixMyStreet's client reads it (Perl's XML::Simple
//! with `ForceArray` and `GroupTags` for the list elements, `KeyAttr => {}`,
//! `SuppressEmpty => undef`), and the two compared.

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::TestApp;

/// The elements FixMyStreet's client always reads as lists, and the groups whose single
/// child element it lifts into its parent (`<attributes><attribute>…` becomes
/// `attributes: [...]`).
const FORCE_ARRAY: [&str; 7] = [
    "service",
    "attribute",
    "value",
    "request",
    "error",
    "request_update",
    "group",
];
const GROUP_TAGS: [(&str, &str); 7] = [
    ("services", "service"),
    ("attributes", "attribute"),
    ("values", "value"),
    ("service_requests", "request"),
    ("errors", "error"),
    ("service_request_updates", "request_update"),
    ("groups", "group"),
];

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas/open311")
}

fn read_schema(file: &str) -> Value {
    let path = schema_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Checks `answer` against the schema `file` (e.g. `services.json`,
/// `written/errors.json`), failing the test with every violation.
pub fn assert_schema(file: &str, answer: &Value) {
    const BASE: &str = "https://schemas.open311.invalid/georeport-v2/";
    let mut registry = jsonschema::Registry::new();
    for name in ["request.json", "service.json"] {
        registry = registry
            .add(format!("{BASE}{name}"), read_schema(name))
            .expect("a schema");
    }
    let registry = registry.prepare().expect("the schemas resolve");
    let validator = jsonschema::options()
        .with_registry(&registry)
        .with_base_uri(format!("{BASE}{file}"))
        .should_validate_formats(true)
        .build(&read_schema(file))
        .expect("a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(answer)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{file}: {errors:#?}\nin {answer:#}");
}

/// An XML answer as FixMyStreet's client reads it: the root's content as a map.
pub fn fixmystreet_xml(text: &str) -> Value {
    assert!(
        text.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"),
        "the XML declaration comes first: {text}"
    );
    let document = roxmltree::Document::parse(text).unwrap_or_else(|e| panic!("well-formed XML: {e}\n{text}"));
    simple(document.root_element())
}

fn simple(node: roxmltree::Node<'_, '_>) -> Value {
    let children: Vec<_> = node.children().filter(|c| c.is_element()).collect();
    if children.is_empty() {
        let text: String = node.children().filter_map(|c| c.text()).collect();
        return if text.trim().is_empty() {
            Value::Null
        } else {
            Value::String(text)
        };
    }
    let mut map = Map::new();
    for child in children {
        let name = child.tag_name().name();
        let mut value = simple(child);
        // GroupTags: `<attributes><attribute/>…</attributes>` is the list itself.
        if let Some((_, item)) = GROUP_TAGS.iter().find(|(group, _)| *group == name)
            && let Value::Object(inner) = &value
            && inner.len() == 1
            && let Some(items) = inner.get(*item)
        {
            value = items.clone();
        }
        match map.get_mut(name) {
            Some(Value::Array(items)) => items.push(value),
            Some(single) => *single = Value::Array(vec![single.take(), value]),
            None if FORCE_ARRAY.contains(&name) => {
                map.insert(name.to_owned(), Value::Array(vec![value]));
            }
            None => {
                map.insert(name.to_owned(), value);
            }
        }
    }
    Value::Object(map)
}

/// Whether the XML as FixMyStreet reads it says what the JSON says: the same fields,
/// texts, numbers (XML has only text) and lists, a list of one wrapped element aside.
pub fn assert_same_content(json: &Value, xml: &Value, path: &str) {
    match (json, xml) {
        (Value::Null, Value::Null) => {}
        (Value::String(j), Value::String(x)) => assert_eq!(j, x, "{path}"),
        // An empty string is an empty element.
        (Value::String(j), Value::Null) => assert!(j.is_empty(), "{path}: {j:?} is missing in XML"),
        (Value::Bool(j), Value::String(x)) => assert_eq!(&j.to_string(), x, "{path}"),
        (Value::Number(j), Value::String(x)) => {
            let x: f64 = x.parse().unwrap_or_else(|_| panic!("{path}: {x} is a number"));
            assert!((j.as_f64().unwrap_or_default() - x).abs() < 1e-9, "{path}: {j} <> {x}");
        }
        (Value::Array(j), Value::Array(x)) => {
            assert_eq!(j.len(), x.len(), "{path}: list lengths");
            for (n, (j, x)) in j.iter().zip(x).enumerate() {
                assert_same_content(j, x, &format!("{path}[{n}]"));
            }
        }
        // A list not named in GroupTags keeps its wrapper: `<formats><format>…`.
        (Value::Array(j), Value::Object(x)) if x.len() == 1 => {
            let inner = x.values().next().cloned().unwrap_or_default();
            let inner = match inner {
                Value::Array(items) => items,
                single => vec![single],
            };
            assert_same_content(&Value::Array(j.clone()), &Value::Array(inner), path);
        }
        (Value::Array(j), Value::Null) => assert!(j.is_empty(), "{path}: an empty list"),
        // ForceArray reads a forced element (`group`) as a list even where JSON has one.
        (j, Value::Array(x)) if x.len() == 1 && !j.is_array() => assert_same_content(j, &x[0], path),
        (Value::Object(j), Value::Object(x)) => {
            for (key, value) in j {
                let other = x.get(key).unwrap_or_else(|| panic!("{path}.{key} is missing in XML"));
                assert_same_content(value, other, &format!("{path}.{key}"));
            }
            for key in x.keys() {
                assert!(j.contains_key(key), "{path}.{key} is only in XML");
            }
        }
        (j, x) => panic!("{path}: JSON {j} but XML {x}"),
    }
}

/// One Open311 answer in both formats.
pub struct Both {
    /// The HTTP status (the same for both).
    pub status: u16,
    /// The JSON answer.
    pub json: Value,
    /// The XML answer as FixMyStreet reads it.
    pub xml: Value,
}

impl TestApp {
    /// `GET /open311/v2/{path}.{json,xml}?{query}`: both formats, their content types,
    /// statuses and contents checked against each other, the JSON against `schema`.
    pub async fn open311(&self, path: &str, query: &str, schema: &str) -> Both {
        let mut answers = Vec::new();
        for format in ["json", "xml"] {
            let response = self.get(&format!("/open311/v2/{path}.{format}?{query}")).await;
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let text = response.text().await.expect("a body");
            let expected = if format == "json" {
                "application/json; charset=utf-8"
            } else {
                "text/xml; charset=utf-8"
            };
            assert_eq!(content_type, expected, "{path}.{format}");
            answers.push((status, text));
        }
        let (status, json_text) = answers.remove(0);
        let (xml_status, xml_text) = answers.remove(0);
        assert_eq!(status, xml_status, "{path}: the same status in both formats");
        let json: Value = serde_json::from_str(&json_text).unwrap_or_else(|e| panic!("{path}.json: {e}: {json_text}"));
        let schema = if status == 200 { schema } else { "written/errors.json" };
        assert_schema(schema, &json);
        let xml = fixmystreet_xml(&xml_text);
        // The XML root holds the list under its item's name, or the object's fields.
        let listed = match (&json, &xml) {
            (Value::Array(_), Value::Object(fields)) if fields.len() == 1 => fields.values().next().cloned(),
            (Value::Array(items), Value::Null) if items.is_empty() => Some(Value::Array(Vec::new())),
            _ => Some(xml.clone()),
        };
        assert_same_content(&json, &listed.unwrap_or_default(), path);
        Both { status, json, xml }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn violations(file: &str, answer: &Value) -> bool {
        std::panic::catch_unwind(|| assert_schema(file, answer)).is_err()
    }

    #[test]
    fn the_schemas_catch_what_clients_would_trip_on() {
        let good = json!([{
            "service_request_id": "7", "status": "open", "service_code": "LOCAL_ROADS",
            "requested_datetime": "2026-11-29T14:05:00+07:00", "lat": 11.55, "long": 104.93
        }]);
        assert!(!violations("requests.json", &good));
        for (field, bad) in [
            ("requested_datetime", json!("29/11/2026")),
            ("service_request_id", json!(7)),
            ("lat", json!("11.55")),
            ("status", json!("pending")),
        ] {
            let mut wrong = good.clone();
            wrong[0][field] = bad;
            assert!(violations("requests.json", &wrong), "{field}");
        }
        assert!(violations(
            "services.json",
            &json!([{ "service_code": "A", "service_name": "A", "metadata": "true", "type": "batch" }])
        ));
    }

    #[test]
    fn xml_reads_as_fixmystreet_reads_it() {
        let xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<service_requests><request><token>T</token>\
                   <account_id/></request></service_requests>";
        assert_eq!(
            fixmystreet_xml(xml),
            json!({ "request": [{ "token": "T", "account_id": null }] })
        );
        let definition = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<service_definition><attributes>\
                          <attribute><code>a</code><values><value><key>k</key></value></values></attribute>\
                          </attributes></service_definition>";
        assert_eq!(
            fixmystreet_xml(definition),
            json!({ "attributes": [{ "code": "a", "values": [{ "key": "k" }] }] })
        );
    }
}

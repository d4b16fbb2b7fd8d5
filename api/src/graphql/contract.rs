//! Checks that a schema still holds the whole GraphQL contract: every type, field,
//! argument (with its default) and enum value, with the same types and nullability.

use std::collections::BTreeMap;

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};

/// One shape per type: field or value name → its signature.
type Shapes = BTreeMap<String, BTreeMap<String, String>>;

fn shapes(sdl: &str) -> Result<Shapes, String> {
    let document = parse_schema(sdl).map_err(|e| format!("unparsable SDL: {e}"))?;
    let mut shapes = Shapes::new();
    for definition in document.definitions {
        let TypeSystemDefinition::Type(ty) = definition else {
            continue;
        };
        let ty = ty.node;
        let mut members = BTreeMap::new();
        match ty.kind {
            TypeKind::Object(object) => {
                for field in object.fields {
                    let field = field.node;
                    let name = field.name.node.to_string();
                    members.insert(name.clone(), field.ty.node.to_string());
                    for arg in field.arguments {
                        let arg = arg.node;
                        let default = arg.default_value.map(|d| format!(" = {}", d.node)).unwrap_or_default();
                        members.insert(
                            format!("{name}({})", arg.name.node),
                            format!("{}{default}", arg.ty.node),
                        );
                    }
                }
            }
            TypeKind::InputObject(input) => {
                for field in input.fields {
                    let field = field.node;
                    let default = field
                        .default_value
                        .map(|d| format!(" = {}", d.node))
                        .unwrap_or_default();
                    members.insert(field.name.node.to_string(), format!("{}{default}", field.ty.node));
                }
            }
            TypeKind::Enum(values) => {
                for value in values.values {
                    members.insert(value.node.value.node.to_string(), "value".into());
                }
            }
            _ => {}
        }
        shapes.insert(ty.name.node.to_string(), members);
    }
    Ok(shapes)
}

/// Everything of `contract` that `schema` lacks or declares differently; empty when
/// the schema honours the contract.
pub fn violations(contract: &str, schema: &str) -> Result<Vec<String>, String> {
    let wanted = shapes(contract)?;
    let have = shapes(schema)?;
    let mut problems = Vec::new();
    for (ty, members) in &wanted {
        let Some(present) = have.get(ty) else {
            problems.push(format!("type {ty} is missing"));
            continue;
        };
        for (member, signature) in members {
            match present.get(member) {
                None => problems.push(format!("{ty}.{member} is missing")),
                Some(actual) if actual != signature => {
                    problems.push(format!("{ty}.{member} is `{actual}`, the contract says `{signature}`"));
                }
                Some(_) => {}
            }
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTRACT: &str = "type Query { comments(first: Int = 20): [String!]! }\nenum Role { ADMIN OFFICIAL }";

    #[test]
    fn an_identical_schema_honours_the_contract() {
        assert_eq!(violations(CONTRACT, CONTRACT), Ok(vec![]));
    }

    #[test]
    fn renamed_retyped_or_dropped_members_are_violations() {
        let broken = "type Query { comments(first: Int = 10): [String]! }\nenum Role { ADMIN }";
        let problems = violations(CONTRACT, broken).unwrap_or_default();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("Role.OFFICIAL is missing")));
    }

    #[test]
    fn additions_are_allowed() {
        let more =
            "type Query { comments(first: Int = 20): [String!]! extra: Int }\nenum Role { ADMIN OFFICIAL MONITOR }";
        assert_eq!(violations(CONTRACT, more), Ok(vec![]));
    }
}

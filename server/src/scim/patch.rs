//! SCIM PATCH (RFC 7644 §3.5.2), applied to the resource's current JSON: the result is then
//! read like a PUT body, so that PATCH and PUT share one set of rules. Written for what the
//! identity providers send: Entra ID capitalises `op` and sends booleans as "True"/"False";
//! Okta and Keycloak send `members[value eq "…"]` paths and path-less objects.

use super::{Result, ScimError};
use serde_json::{Map, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Add,
    Replace,
    Remove,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Operation {
    op: Op,
    path: Option<String>,
    value: Option<Value>,
}

/// `name` in `doc`, whatever its case (SCIM attribute names are case-insensitive).
pub fn get<'a>(doc: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    doc.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn key_of(doc: &Map<String, Value>, name: &str) -> String {
    doc.keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .unwrap_or_else(|| name.to_owned())
}

/// A boolean, or the strings "true"/"false" in any case.
pub fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// The operations of a PatchOp body.
pub fn operations(body: &Map<String, Value>) -> Result<Vec<Operation>> {
    let Some(Value::Array(items)) = get(body, "Operations") else {
        return Err(ScimError::bad(
            "invalidSyntax",
            "A PATCH body is a PatchOp with a list of Operations.",
        ));
    };
    items
        .iter()
        .map(|item| {
            let item = item.as_object().ok_or_else(|| {
                ScimError::bad("invalidSyntax", "Each operation is a JSON object.")
            })?;
            let op = match get(item, "op").and_then(Value::as_str) {
                Some(op) if op.eq_ignore_ascii_case("add") => Op::Add,
                Some(op) if op.eq_ignore_ascii_case("replace") => Op::Replace,
                Some(op) if op.eq_ignore_ascii_case("remove") => Op::Remove,
                _ => {
                    return Err(ScimError::bad(
                        "invalidSyntax",
                        "op must be add, replace or remove.",
                    ));
                }
            };
            let path = match get(item, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) => Some(p.trim().to_owned()),
                Some(_) => return Err(ScimError::bad("invalidPath", "path must be a string.")),
            };
            Ok(Operation {
                op,
                path,
                value: get(item, "value").cloned(),
            })
        })
        .collect()
}

/// Applies `operations` in order; nothing is stored until the result is read and saved.
pub fn apply(doc: &mut Map<String, Value>, operations: &[Operation]) -> Result<()> {
    for operation in operations {
        match (&operation.path, operation.op) {
            (None, Op::Remove) => {
                return Err(ScimError::bad("noTarget", "remove needs a path."));
            }
            (None, op) => {
                let Some(Value::Object(values)) = &operation.value else {
                    return Err(ScimError::bad(
                        "invalidValue",
                        "Without a path, the value is an object of attributes.",
                    ));
                };
                for (name, value) in values {
                    set(doc, name, op, Some(value))?;
                }
            }
            (Some(path), op) => set(doc, path, op, operation.value.as_ref())?,
        }
    }
    Ok(())
}

/// The attribute part of a path: a schema URN in front is the core schema's own.
fn strip_urn(path: &str) -> &str {
    if path.starts_with("urn:") {
        path.rsplit(':').next().unwrap_or(path)
    } else {
        path
    }
}

fn set(doc: &mut Map<String, Value>, path: &str, op: Op, value: Option<&Value>) -> Result<()> {
    let path = strip_urn(path);
    let (attribute, filter) = match path.split_once('[') {
        Some((a, rest)) => (
            a,
            Some(rest.trim_end_matches(|c| c != ']').trim_end_matches(']')),
        ),
        None => (path, None),
    };
    let (attribute, sub) = match attribute.split_once('.') {
        Some((a, s)) => (a, Some(s)),
        None => (attribute, None),
    };
    let lower = attribute.to_ascii_lowercase();
    match lower.as_str() {
        "id" | "meta" | "schemas" => Err(ScimError::bad(
            "mutability",
            format!("{attribute} is read-only."),
        )),
        "emails" => emails(doc, op, filter.is_some() || sub.is_some(), value),
        "members" => members(doc, op, filter, value),
        "username" | "displayname" | "externalid" | "active" | "name" if filter.is_none() => {
            let key = key_of(doc, attribute);
            match (sub, op) {
                (None, Op::Remove) => {
                    doc.remove(&key);
                }
                (None, _) => {
                    let value = value.cloned().unwrap_or(Value::Null);
                    if lower == "name" {
                        forget_display_name(doc);
                    }
                    doc.insert(key, value);
                }
                (Some(sub), op) if lower == "name" => {
                    let name = doc.entry(key).or_insert_with(|| Value::Object(Map::new()));
                    if !name.is_object() {
                        *name = Value::Object(Map::new());
                    }
                    let name = name.as_object_mut().expect("made an object above");
                    let sub_key = key_of(name, sub);
                    match op {
                        Op::Remove => {
                            name.remove(&sub_key);
                        }
                        _ => {
                            name.insert(sub_key, value.cloned().unwrap_or(Value::Null));
                        }
                    }
                    // A new given or family name makes the whole name: the old display
                    // name would hide it.
                    if !sub.eq_ignore_ascii_case("formatted") {
                        forget_display_name(doc);
                    }
                }
                (Some(_), _) => {
                    return Err(ScimError::bad(
                        "invalidPath",
                        format!("{attribute} has no sub-attributes."),
                    ));
                }
            }
            Ok(())
        }
        _ => Err(ScimError::bad(
            "invalidPath",
            format!("{path} is not an attribute this server keeps."),
        )),
    }
}

/// `emails`: a whole list, or (through a filter such as `[type eq "work"]` or `.value`) the one
/// work address. Removing leaves the list empty; the user keeps the email they sign in with
/// unless the result names another.
fn emails(doc: &mut Map<String, Value>, op: Op, one: bool, value: Option<&Value>) -> Result<()> {
    let key = key_of(doc, "emails");
    let list = match (op, one, value) {
        (Op::Remove, _, _) => Value::Array(Vec::new()),
        (_, true, Some(Value::String(address))) => {
            serde_json::json!([{ "value": address, "type": "work", "primary": true }])
        }
        (_, false, Some(list @ Value::Array(_))) => list.clone(),
        _ => {
            return Err(ScimError::bad(
                "invalidValue",
                "emails takes a list of {\"value\": address}, or one address for a filtered path.",
            ));
        }
    };
    doc.insert(key, list);
    Ok(())
}

fn forget_display_name(doc: &mut Map<String, Value>) {
    let key = key_of(doc, "displayName");
    doc.remove(&key);
    if let Some(Value::Object(name)) = doc.get_mut(&key_of(doc, "name")) {
        let formatted = key_of(name, "formatted");
        name.remove(&formatted);
    }
}

/// A member's user id: its `value`, or else the id at the end of its `$ref`
/// (`…/Users/{id}`), which some clients send alone.
pub fn member_id(member: &Value) -> Option<i64> {
    let value = member.get("value").and_then(|v| match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    });
    value.or_else(|| {
        member
            .get("$ref")?
            .as_str()?
            .rsplit_once("/Users/")?
            .1
            .parse()
            .ok()
    })
}

fn no_member_id() -> ScimError {
    ScimError::bad(
        "invalidValue",
        "Each member needs the value (or the $ref) of a user's id.",
    )
}

/// The ids of a list of members.
fn member_ids(value: Option<&Value>) -> Result<Vec<Value>> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .map(|m| {
                member_id(m)
                    .map(|id| Value::String(id.to_string()))
                    .ok_or_else(no_member_id)
            })
            .collect(),
        Some(m @ Value::Object(_)) => Ok(vec![Value::String(
            member_id(m).ok_or_else(no_member_id)?.to_string(),
        )]),
        _ => Err(ScimError::bad(
            "invalidValue",
            "members takes a list of {\"value\": id}.",
        )),
    }
}

fn same_id(a: &Value, b: &Value) -> bool {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    text(a) == text(b)
}

/// `members`: add (union), replace (set), remove (all, the listed ones, or those matching
/// `value eq "ID"`).
fn members(
    doc: &mut Map<String, Value>,
    op: Op,
    filter: Option<&str>,
    value: Option<&Value>,
) -> Result<()> {
    let key = key_of(doc, "members");
    let mut current: Vec<Value> = match doc.remove(&key) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|m| m.get("value").cloned())
            .collect(),
        _ => Vec::new(),
    };
    let only = match filter {
        None => None,
        Some(f) => {
            let (attr, rest) = f.trim().split_once(char::is_whitespace).unwrap_or(("", ""));
            let (eq, id) = rest
                .trim()
                .split_once(char::is_whitespace)
                .unwrap_or(("", ""));
            let id: Value = serde_json::from_str(id.trim())
                .ok()
                .filter(|_| attr.eq_ignore_ascii_case("value") && eq.eq_ignore_ascii_case("eq"))
                .ok_or_else(|| {
                    ScimError::bad("invalidFilter", "Members are picked by value eq \"id\".")
                })?;
            Some(id)
        }
    };
    match (op, only) {
        (Op::Remove, Some(id)) => current.retain(|m| !same_id(m, &id)),
        (Op::Remove, None) => match value {
            None | Some(Value::Null) => current.clear(),
            v => {
                let gone = member_ids(v)?;
                current.retain(|m| !gone.iter().any(|g| same_id(m, g)));
            }
        },
        (Op::Add, None) => {
            for id in member_ids(value)? {
                if !current.iter().any(|m| same_id(m, &id)) {
                    current.push(id);
                }
            }
        }
        (Op::Replace, None) => current = member_ids(value)?,
        (_, Some(_)) => {
            return Err(ScimError::bad(
                "invalidPath",
                "Only remove takes a members filter.",
            ));
        }
    }
    doc.insert(
        key,
        Value::Array(
            current
                .into_iter()
                .map(|id| serde_json::json!({ "value": id }))
                .collect(),
        ),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patched(doc: Value, body: Value) -> Result<Value> {
        let Value::Object(mut doc) = doc else {
            panic!()
        };
        let Value::Object(body) = body else { panic!() };
        apply(&mut doc, &operations(&body)?)?;
        Ok(Value::Object(doc))
    }

    #[test]
    fn entra_deactivates_with_a_capitalised_op_and_a_string() {
        let doc = patched(
            json!({ "userName": "a@b.c", "active": true }),
            json!({ "Operations": [{ "op": "Replace", "path": "active", "value": "False" }] }),
        )
        .unwrap();
        assert_eq!(boolean(&doc["active"]), Some(false));
    }

    #[test]
    fn a_path_less_replace_sets_each_attribute() {
        let doc = patched(
            json!({ "userName": "a@b.c", "displayName": "A", "name": { "formatted": "A" } }),
            json!({ "Operations": [{ "op": "replace", "value": { "active": false, "name.givenName": "Ada", "name.familyName": "Lovelace" } }] }),
        )
        .unwrap();
        assert_eq!(doc["active"], false);
        assert_eq!(
            doc["name"],
            json!({ "givenName": "Ada", "familyName": "Lovelace" })
        );
        assert!(doc.get("displayName").is_none());
    }

    #[test]
    fn members_are_added_removed_and_replaced() {
        let group =
            json!({ "displayName": "Ops", "members": [{ "value": "1" }, { "value": "2" }] });
        let doc = patched(
            group.clone(),
            json!({ "Operations": [
                { "op": "add", "path": "members", "value": [{ "value": "3" }, { "value": "1" }] },
                { "op": "remove", "path": "members[value eq \"2\"]" }
            ] }),
        )
        .unwrap();
        assert_eq!(doc["members"], json!([{ "value": "1" }, { "value": "3" }]));
        let doc = patched(
            group,
            json!({ "Operations": [{ "op": "remove", "path": "members" }] }),
        )
        .unwrap();
        assert_eq!(doc["members"], json!([]));
    }

    #[test]
    fn what_cannot_be_patched_is_refused_with_its_scim_type() {
        for (body, scim_type) in [
            (
                json!({ "Operations": [{ "op": "replace", "path": "id", "value": "9" }] }),
                "mutability",
            ),
            (
                json!({ "Operations": [{ "op": "replace", "path": "password", "value": "x" }] }),
                "invalidPath",
            ),
            (json!({ "Operations": [{ "op": "remove" }] }), "noTarget"),
            (
                json!({ "Operations": [{ "op": "move", "path": "active" }] }),
                "invalidSyntax",
            ),
            (json!({ "operations": "none" }), "invalidSyntax"),
            (
                json!({ "Operations": [{ "op": "remove", "path": "members[display eq \"x\"]" }] }),
                "invalidFilter",
            ),
        ] {
            let err = patched(json!({ "userName": "a@b.c" }), body).unwrap_err();
            assert_eq!(err.scim_type(), Some(scim_type));
        }
    }
}

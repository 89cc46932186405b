//! SCIM discovery (RFC 7643 §5–7, RFC 7644 §4): what this server supports, so that a client
//! can configure itself. Only the attributes Gatehouse keeps are described.

use super::{BASE, GROUP, Result, ScimError, USER, list_response, scim_json};
use axum::{extract::Path, http::StatusCode, response::Response};
use serde_json::{Value, json};

const CONFIG: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

pub async fn service_provider_config() -> Response {
    scim_json(
        StatusCode::OK,
        json!({
            "schemas": [CONFIG],
            "documentationUri": "https://www.rfc-editor.org/rfc/rfc7644",
            "patch": { "supported": true },
            "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
            "filter": { "supported": true, "maxResults": super::MAX_PAGE },
            "changePassword": { "supported": false },
            "sort": { "supported": false },
            "etag": { "supported": false },
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "Provisioning token",
                "description": "The token from the Users tab's Provisioning card, as Authorization: Bearer <token>",
                "primary": true
            }],
            "meta": { "resourceType": "ServiceProviderConfig", "location": format!("{BASE}/ServiceProviderConfig") }
        }),
    )
}

fn resource_type_json(name: &str) -> Option<Value> {
    let (endpoint, schema, description) = match name {
        "User" => ("/Users", USER, "A person who signs in by email"),
        "Group" => ("/Groups", GROUP, "Users whose role is at least the group's"),
        _ => return None,
    };
    Some(json!({
        "schemas": [RESOURCE_TYPE],
        "id": name,
        "name": name,
        "endpoint": endpoint,
        "description": description,
        "schema": schema,
        "meta": { "resourceType": "ResourceType", "location": format!("{BASE}/ResourceTypes/{name}") }
    }))
}

pub async fn resource_types() -> Response {
    let all: Vec<Value> = ["User", "Group"]
        .into_iter()
        .filter_map(resource_type_json)
        .collect();
    list_response(all.len() as i64, 1, all)
}

pub async fn resource_type(Path(name): Path<String>) -> Result<Response> {
    let found = resource_type_json(&name).ok_or_else(ScimError::not_found)?;
    Ok(scim_json(StatusCode::OK, found))
}

fn attribute(name: &str, kind: &str, required: bool, mutability: &str, description: &str) -> Value {
    json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "description": description,
        "required": required,
        "caseExact": false,
        "mutability": mutability,
        "returned": "default",
        "uniqueness": if name == "userName" { "server" } else { "none" }
    })
}

fn schema_json(id: &str) -> Option<Value> {
    let (name, attributes) = match id {
        USER => (
            "User",
            json!([
                attribute("userName", "string", true, "readWrite", "The user's email; they sign in with it"),
                attribute("displayName", "string", false, "readWrite", "The name shown on the Users tab"),
                {
                    "name": "name", "type": "complex", "multiValued": false, "required": false,
                    "mutability": "readWrite", "returned": "default", "uniqueness": "none",
                    "description": "Used for the display name when displayName is absent",
                    "subAttributes": [
                        attribute("formatted", "string", false, "readWrite", "The full name"),
                        attribute("givenName", "string", false, "readWrite", "Given name"),
                        attribute("familyName", "string", false, "readWrite", "Family name")
                    ]
                },
                attribute("active", "boolean", false, "readWrite", "False: kept, but cannot sign in; their sessions end"),
                attribute("externalId", "string", false, "readWrite", "The identity provider's id"),
                {
                    "name": "emails", "type": "complex", "multiValued": true, "required": false,
                    "mutability": "readWrite", "returned": "default", "uniqueness": "none",
                    "description": "The email the user signs in with: userName when it is an email, else the primary (or first) of these",
                    "subAttributes": [
                        attribute("value", "string", true, "readWrite", "An email"),
                        attribute("type", "string", false, "readWrite", "work"),
                        attribute("primary", "boolean", false, "readWrite", "The one to sign in with")
                    ]
                }
            ]),
        ),
        GROUP => (
            "Group",
            json!([
                attribute("displayName", "string", true, "readWrite", "The group's name, unique among groups"),
                attribute("externalId", "string", false, "readWrite", "The identity provider's id"),
                {
                    "name": "members", "type": "complex", "multiValued": true, "required": false,
                    "mutability": "readWrite", "returned": "default", "uniqueness": "none",
                    "description": "The group's users",
                    "subAttributes": [
                        attribute("value", "string", false, "immutable", "A user's id"),
                        {
                            "name": "$ref", "type": "reference", "referenceTypes": ["User"],
                            "multiValued": false, "required": false, "caseExact": true,
                            "mutability": "immutable", "returned": "default", "uniqueness": "none",
                            "description": "The user's URI: names the member when value is absent"
                        }
                    ]
                }
            ]),
        ),
        _ => return None,
    };
    Some(json!({
        "schemas": [SCHEMA],
        "id": id,
        "name": name,
        "attributes": attributes,
        "meta": { "resourceType": "Schema", "location": format!("{BASE}/Schemas/{id}") }
    }))
}

pub async fn schemas() -> Response {
    let all: Vec<Value> = [USER, GROUP].into_iter().filter_map(schema_json).collect();
    list_response(all.len() as i64, 1, all)
}

pub async fn schema(Path(id): Path<String>) -> Result<Response> {
    let found = schema_json(&id).ok_or_else(ScimError::not_found)?;
    Ok(scim_json(StatusCode::OK, found))
}

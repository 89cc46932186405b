//! The environment, the principals list and the audit chain's check: what any application
//! with a key, or an Admin-role application, reads.

use super::with;
use serde_json::{Value, json};

/// `GET /environment`.
pub(super) fn environment() -> Value {
    json!({
        "get": {
            "operationId": "getEnvironment",
            "summary": "The environment this key unlocks",
            "responses": {
                "200": {
                    "description": "The environment",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Environment" } } }
                },
                "401": with("Missing, malformed or wrong key"),
                "403": with("The API is disabled"),
                "429": with("Too many failed attempts from this address")
            }
        }
    })
}

/// `GET /principals`.
pub(super) fn principals() -> Value {
    json!({
        "get": {
            "operationId": "listPrincipals",
            "summary": "Who has access: users, groups and applications with their roles",
            "description": "The Users tab's list, 50 a page. Needs an application with the Admin role. Page with the cursors a page returns: after=next for the next page, before=previous for the previous one; the first page has neither.",
            "security": [{ "applicationSecret": [] }],
            "parameters": [
                { "$ref": "#/components/parameters/Search" },
                { "name": "sort", "in": "query", "description": "Column, with - in front for descending", "schema": { "type": "string", "enum": ["name", "-name", "email", "-email", "type", "-type", "role", "-role"], "default": "name" } },
                { "$ref": "#/components/parameters/After" },
                { "$ref": "#/components/parameters/Before" }
            ],
            "responses": {
                "200": {
                    "description": "One page of principals",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/PrincipalPage" } } }
                },
                "400": with("A parameter is malformed"),
                "401": with("Missing or wrong client secret"),
                "403": with("The application's role is below Admin, or the API is disabled"),
                "422": with("A cursor that is not one of this sort's"),
                "429": with("Too many failed attempts from this address")
            }
        }
    })
}

/// `GET /audit/verify`.
pub(super) fn audit_verify() -> Value {
    json!({
        "get": {
            "operationId": "verifyAuditLog",
            "summary": "Check the audit log's chain (tamper evidence)",
            "description": "Every audit entry carries its sequence number and an HMAC-SHA256 chained to the previous entry's, under a key derived from the master key. This recomputes the chain and answers whether it is intact, or the first entry that was changed, deleted, inserted or moved. Applications with the Admin role only.",
            "security": [{ "applicationSecret": [] }],
            "responses": {
                "200": {
                    "description": "The verdict",
                    "content": { "application/json": { "schema": {
                        "type": "object",
                        "required": ["state"],
                        "properties": {
                            "state": { "type": "string", "enum": ["intact", "broken"] },
                            "entries": { "type": "integer", "description": "Entries verified (intact)" },
                            "head": { "type": "string", "description": "The newest entry's MAC, hex (intact)" },
                            "entry": { "type": "integer", "description": "The first entry that does not verify (broken)" },
                            "reason": { "type": "string", "description": "Why it does not (broken)" }
                        }
                    } } }
                },
                "401": with("Missing or wrong client secret"),
                "403": with("The application's role is below Admin, or the API is disabled")
            }
        }
    })
}

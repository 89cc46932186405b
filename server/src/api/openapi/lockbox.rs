//! Customer Lockbox for support tooling: filing and following a request, the introspection
//! check, and the customer data a live request opens.

use super::with;
use serde_json::{Value, json};

/// `POST /lockbox/requests`.
pub(super) fn file_request() -> Value {
    json!({
        "post": {
            "operationId": "fileLockboxRequest",
            "summary": "File a Customer Lockbox request for support access to customer data",
            "description": "For support tooling: an application that an Admin marked Support application on the Users tab (any other application gets 403, whatever its role). While Customer Lockbox is on, the request waits for a Lockbox approver; while it is off, it is approved at once by policy, and such access ends when the policy is turned on. Unanswered requests expire; approved access ends after its access period.",
            "security": [{ "applicationSecret": [] }],
            "requestBody": {
                "required": true,
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewLockboxRequest" } } }
            },
            "responses": {
                "201": {
                    "description": "The request, with its id; Location names it",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/LockboxRequest" } } }
                },
                "400": with("The body is not the JSON described"),
                "401": with("Missing or wrong client secret"),
                "403": with("The application is not marked Support application, or the API is disabled"),
                "422": with("A field breaks a rule (empty, too long, not an email, period above the policy's)")
            }
        }
    })
}

/// `GET /lockbox/requests/{id}`.
pub(super) fn follow_request() -> Value {
    json!({
        "get": {
            "operationId": "getLockboxRequest",
            "summary": "Follow a request this application filed",
            "security": [{ "applicationSecret": [] }],
            "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "integer", "minimum": 1 } }],
            "responses": {
                "200": {
                    "description": "The request as it stands now",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/LockboxRequest" } } }
                },
                "400": with("The id is not a positive whole number"),
                "401": with("Missing or wrong client secret"),
                "403": with("Another application filed it, or the API is disabled"),
                "404": with("No such request")
            }
        }
    })
}

/// `POST /lockbox/check`.
pub(super) fn check() -> Value {
    json!({
        "post": {
            "operationId": "checkLockboxRequest",
            "summary": "Is a support application's request live? (RFC 7662-style introspection)",
            "description": "For services that hold customer data: ask before serving a support engineer. Only Admin-role applications, and the support application that filed the request (naming itself), may ask; anyone else gets 403, so request ids and tickets cannot be probed. An inactive answer carries nothing but active: false.",
            "security": [{ "applicationSecret": [] }],
            "requestBody": {
                "required": true,
                "content": { "application/json": { "schema": {
                    "type": "object",
                    "required": ["request", "application"],
                    "additionalProperties": false,
                    "properties": {
                        "request": { "type": "integer", "description": "The Lockbox request id" },
                        "application": { "type": "string", "description": "Client ID of the support application presenting it" }
                    }
                } } }
            },
            "responses": {
                "200": {
                    "description": "Whether access is live now",
                    "content": { "application/json": { "schema": {
                        "type": "object",
                        "required": ["active"],
                        "properties": {
                            "active": { "type": "boolean" },
                            "exp": { "type": "integer", "description": "When access ends, Unix seconds" },
                            "expiresAt": { "type": "string", "format": "date-time" },
                            "requestId": { "type": "integer" },
                            "ticket": { "type": "string" },
                            "application": { "type": "string" },
                            "access": { "type": "string", "enum": ["read"] }
                        }
                    } } }
                },
                "400": with("The body is not the JSON described"),
                "401": with("Missing or wrong client secret"),
                "403": with("Neither an Admin-role application nor the filing application, or the API is disabled")
            }
        }
    })
}

/// `GET /support/principals`.
pub(super) fn support_principals() -> Value {
    json!({
        "get": {
            "operationId": "supportListPrincipals",
            "summary": "Customer data for support: the principals list, within an approved Lockbox request",
            "security": [{ "applicationSecret": [] }],
            "parameters": [
                { "$ref": "#/components/parameters/LockboxRequest" },
                { "$ref": "#/components/parameters/Search" },
                { "name": "sort", "in": "query", "schema": { "type": "string" } },
                { "$ref": "#/components/parameters/After" },
                { "$ref": "#/components/parameters/Before" }
            ],
            "responses": {
                "200": {
                    "description": "One page of principals; the access is audited",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/PrincipalPage" } } }
                },
                "400": with("A parameter or the request id is malformed"),
                "401": with("Missing or wrong client secret"),
                "403": with("Not a Support application, or no live approved request: the message says why (pending, denied, expired, revoked, another application's)"),
                "422": with("A cursor that is not one of this sort's")
            }
        }
    })
}

/// `GET /support/audit`.
pub(super) fn support_audit() -> Value {
    json!({
        "get": {
            "operationId": "supportAuditLog",
            "summary": "Customer data for support: the audit log, newest first, within an approved Lockbox request",
            "security": [{ "applicationSecret": [] }],
            "parameters": [
                { "$ref": "#/components/parameters/LockboxRequest" },
                { "name": "page", "in": "query", "schema": { "type": "integer", "minimum": 1 } }
            ],
            "responses": {
                "200": { "description": "One page of the audit log (25 entries); the access is audited" },
                "400": with("A parameter or the request id is malformed"),
                "401": with("Missing or wrong client secret"),
                "403": with("Not a Support application, or no live approved request: the message says why")
            }
        }
    })
}

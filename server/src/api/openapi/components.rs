//! What the paths share: how a caller authenticates, the list's parameters, and the schemas.

use serde_json::{Value, json};

pub(super) fn all() -> Value {
    json!({
        "securitySchemes": {
            "subscriptionKey": { "type": "apiKey", "in": "header", "name": "Ocp-Apim-Subscription-Key" },
            "applicationSecret": { "type": "http", "scheme": "bearer", "description": "An application's client secret from the Users tab" }
        },
        "parameters": parameters(),
        "schemas": {
            "NewLockboxRequest": new_lockbox_request(),
            "LockboxRequest": lockbox_request(),
            "Environment": environment(),
            "Principal": principal(),
            "PrincipalPage": principal_page(),
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": { "error": { "type": "string" } }
            }
        }
    })
}

/// The Lockbox request header, and the list's search and cursors.
pub(super) fn parameters() -> Value {
    json!({
        "LockboxRequest": {
            "name": "Lockbox-Request",
            "in": "header",
            "required": true,
            "description": "The id of an approved Customer Lockbox request filed by this application",
            "schema": { "type": "integer", "minimum": 1 }
        },
        "Search": {
            "name": "q", "in": "query",
            "description": "Any part of a name or an email/ID, any case, from three characters on; one or two characters match the start",
            "schema": { "type": "string", "maxLength": 200 }
        },
        "After": {
            "name": "after", "in": "query",
            "description": "The page after this cursor: a page's next",
            "schema": { "type": "string", "pattern": "^[A-Za-z0-9_-]{1,2048}$" }
        },
        "Before": {
            "name": "before", "in": "query",
            "description": "The page before this cursor: a page's previous (not with after)",
            "schema": { "type": "string", "pattern": "^[A-Za-z0-9_-]{1,2048}$" }
        }
    })
}

/// `NewLockboxRequest`.
pub(super) fn new_lockbox_request() -> Value {
    json!({
        "type": "object",
        "required": ["ticket", "justification", "engineer"],
        "additionalProperties": false,
        "properties": {
            "ticket": { "type": "string", "maxLength": 64, "description": "Support ticket ID" },
            "justification": { "type": "string", "maxLength": 2000 },
            "engineer": {
                "type": "object",
                "required": ["name", "email"],
                "properties": { "name": { "type": "string", "maxLength": 200 }, "email": { "type": "string", "format": "email" } }
            },
            "access": { "type": "string", "enum": ["read"], "default": "read" },
            "accessPeriodSeconds": { "type": "integer", "minimum": 1, "description": "At most the policy's access period (its default)" }
        }
    })
}

/// `LockboxRequest`.
pub(super) fn lockbox_request() -> Value {
    json!({
        "type": "object",
        "required": ["id", "status", "ticket", "requestedAt", "requestExpiresAt", "accessPeriodSeconds", "approvals", "approvalsRequired", "byPolicy"],
        "properties": {
            "id": { "type": "integer" },
            "status": { "type": "string", "enum": ["pending", "approved", "denied", "expired", "revoked"] },
            "ticket": { "type": "string" },
            "justification": { "type": "string" },
            "engineer": { "type": "object", "properties": { "name": { "type": "string" }, "email": { "type": "string" } } },
            "access": { "type": "string" },
            "requestedAt": { "type": "string", "format": "date-time" },
            "requestExpiresAt": { "type": "string", "format": "date-time" },
            "accessPeriodSeconds": { "type": "integer" },
            "accessExpiresAt": { "type": "string", "format": "date-time", "description": "When approved access ends (or ended)" },
            "approvals": { "type": "integer" },
            "approvalsRequired": { "type": "integer", "enum": [1, 2] },
            "byPolicy": { "type": "boolean", "description": "Approved at once because Customer Lockbox was off" }
        }
    })
}

/// `Environment`.
pub(super) fn environment() -> Value {
    json!({
        "type": "object",
        "required": ["id", "name", "apiStatus", "created"],
        "properties": {
            "id": { "type": "string" },
            "name": { "type": "string" },
            "apiStatus": { "type": "string", "enum": ["enabled"] },
            "created": { "type": "string", "format": "date-time" }
        }
    })
}

/// `Principal`.
pub(super) fn principal() -> Value {
    json!({
        "type": "object",
        "required": ["id", "type", "name", "emailOrId", "role", "effectiveRole", "pending"],
        "properties": {
            "id": { "type": "integer" },
            "type": { "type": "string", "enum": ["user", "group", "application"] },
            "name": { "type": "string" },
            "emailOrId": { "type": "string" },
            "role": { "type": "string", "enum": ["viewer", "contributor", "admin"] },
            "effectiveRole": { "type": "string", "enum": ["viewer", "contributor", "admin"], "description": "The highest of the user's own role and their groups'" },
            "pending": { "type": "boolean", "description": "A user who has not accepted their invitation" },
            "members": { "type": "integer", "description": "A group's member count" },
            "lockboxApprover": { "type": "boolean", "description": "A user who may approve Customer Lockbox requests" },
            "approverWaiting": { "type": "boolean", "description": "A user made Lockbox approver while the two-person rule is on: it applies once a second Lockbox approver confirms it on the Customer Lockbox tab" },
            "supportApplication": { "type": "boolean", "description": "An application marked Support application: only these may file Lockbox requests and call /support/*" },
            "active": { "type": "boolean", "description": "False for a user that provisioning (SCIM) deactivated: they cannot sign in" }
        }
    })
}

/// `PrincipalPage`.
pub(super) fn principal_page() -> Value {
    json!({
        "type": "object",
        "required": ["principals", "pageSize", "total", "totalCapped", "next", "previous"],
        "properties": {
            "principals": { "type": "array", "items": { "$ref": "#/components/schemas/Principal" } },
            "pageSize": { "type": "integer" },
            "total": { "type": "integer", "description": "Principals matching q, on all pages; a lower bound when totalCapped" },
            "totalCapped": { "type": "boolean", "description": "A search matching more than 5,000 principals is not counted further: total is then 5000" },
            "next": { "type": ["string", "null"], "description": "The next page's cursor, for after" },
            "previous": { "type": ["string", "null"], "description": "The previous page's cursor, for before" }
        }
    })
}

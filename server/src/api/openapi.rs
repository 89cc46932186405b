//! The OpenAPI 3.1 description of `/api/v1`, linked from the APIs tab as "Explore our APIs".

use axum::Json;

pub async fn document() -> Json<serde_json::Value> {
    let mut doc = paths_and_schemas();
    // A path of its own: one json! literal for the whole document exceeds the macro's recursion limit.
    doc["paths"]["/connections/{name}/credential"] = connection_credential();
    Json(doc)
}

/// An error answer: the shared Error schema with `description`.
fn with(description: &str) -> serde_json::Value {
    serde_json::json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
    })
}

fn paths_and_schemas() -> serde_json::Value {
    serde_json::json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Gatehouse environment API",
            "version": "1.0.0",
            "description": "Send the primary or the secondary key of the APIs tab in the Ocp-Apim-Subscription-Key header, or an application's client secret (Users tab) as Authorization: Bearer. While the API is disabled on the APIs tab, every call is refused with 403."
        },
        "servers": [{ "url": "/api/v1" }],
        "security": [{ "subscriptionKey": [] }, { "applicationSecret": [] }],
        "paths": {
            "/environment": {
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
            },
            "/principals": {
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
            },
            "/audit/verify": {
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
            },
            "/lockbox/requests": {
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
            },
            "/lockbox/requests/{id}": {
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
            },
            "/lockbox/check": {
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
            },
            "/support/principals": {
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
            },
            "/support/audit": {
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
            }
        },
        "components": {
            "securitySchemes": {
                "subscriptionKey": { "type": "apiKey", "in": "header", "name": "Ocp-Apim-Subscription-Key" },
                "applicationSecret": { "type": "http", "scheme": "bearer", "description": "An application's client secret from the Users tab" }
            },
            "parameters": {
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
            },
            "schemas": {
                "NewLockboxRequest": {
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
                },
                "LockboxRequest": {
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
                },
                "Environment": {
                    "type": "object",
                    "required": ["id", "name", "apiStatus", "created"],
                    "properties": {
                        "id": { "type": "string" },
                        "name": { "type": "string" },
                        "apiStatus": { "type": "string", "enum": ["enabled"] },
                        "created": { "type": "string", "format": "date-time" }
                    }
                },
                "Principal": {
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
                },
                "PrincipalPage": {
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
                },
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": { "error": { "type": "string" } }
                }
            }
        }
    })
}

/// `GET /connections/{name}/credential`.
fn connection_credential() -> serde_json::Value {
    serde_json::json!({
        "get": {
            "operationId": "getConnectionCredential",
            "summary": "A connection's credential, for a platform service at run time",
            "description": "The connection's Who can use (Key Vault tab) must admit the application's role. A credential kept in the linked Key Vault is read from the vault now, or reused for up to 60 seconds (GATEHOUSE_KEY_VAULT_CACHE_SECONDS). Every use is audited as connection.use with the application and the secret's name, never the value. Do not store the credential: fetch it when needed, so that a rotation in the vault reaches every service.",
            "security": [{ "applicationSecret": [] }],
            "parameters": [{
                "name": "name", "in": "path", "required": true,
                "schema": { "type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{0,63}$" }
            }],
            "responses": {
                "200": {
                    "description": "The credential and the connection's settings",
                    "headers": { "Cache-Control": { "schema": { "type": "string", "const": "no-store" } } },
                    "content": { "application/json": { "schema": {
                        "type": "object",
                        "required": ["connection", "type", "settings", "source", "credential"],
                        "properties": {
                            "connection": { "type": "string" },
                            "type": { "type": "string", "enum": ["webhook", "smtp"] },
                            "settings": {
                                "description": "Where the connection points",
                                "oneOf": [
                                    {
                                        "title": "webhook",
                                        "type": "object",
                                        "required": ["url", "headerName"],
                                        "properties": {
                                            "url": { "type": "string", "format": "uri" },
                                            "headerName": { "type": "string", "description": "Where the HMAC-SHA256 signature goes (sha256=<hex>)" }
                                        }
                                    },
                                    {
                                        "title": "smtp",
                                        "type": "object",
                                        "required": ["host", "port", "tls", "username"],
                                        "properties": {
                                            "host": { "type": "string" },
                                            "port": { "type": "integer", "minimum": 1, "maximum": 65535 },
                                            "tls": { "type": "string", "enum": ["start_tls", "tls", "none"] },
                                            "username": { "type": "string" }
                                        }
                                    }
                                ]
                            },
                            "source": { "type": "string", "enum": ["key_vault", "stored"] },
                            "secretName": { "type": "string", "description": "The Key Vault secret, when source is key_vault" },
                            "credential": { "type": "string", "description": "The secret itself: the webhook's signing secret or the SMTP password" }
                        }
                    } } }
                },
                "401": with("Missing or wrong client secret"),
                "403": with("The connection's Who can use does not admit this application's role, or the API is disabled"),
                "404": with("No connection by that name"),
                "409": with("The connection uses the Key Vault, and none is linked"),
                "502": with("The Key Vault could not give the secret: unreachable, refused, secret missing or deleted")
            }
        }
    })
}

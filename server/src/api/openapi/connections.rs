//! A connection's credential, for platform services at run time.

use super::with;
use serde_json::{Value, json};

/// `GET /connections/{name}/credential`.
pub(super) fn credential() -> Value {
    json!({
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

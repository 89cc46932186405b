//! The OpenAPI 3.1 description of `/api/v1`, linked from the APIs tab as "Explore our APIs".

use axum::Json;

pub async fn document() -> Json<serde_json::Value> {
    let with = |description: &str| {
        serde_json::json!({
            "description": description,
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
        })
    };
    Json(serde_json::json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Gatehouse environment API",
            "version": "1.0.0",
            "description": "Send the primary or the secondary key of the APIs tab in the Ocp-Apim-Subscription-Key header."
        },
        "servers": [{ "url": "/api/v1" }],
        "security": [{ "subscriptionKey": [] }],
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
            }
        },
        "components": {
            "securitySchemes": {
                "subscriptionKey": { "type": "apiKey", "in": "header", "name": "Ocp-Apim-Subscription-Key" }
            },
            "schemas": {
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
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": { "error": { "type": "string" } }
                }
            }
        }
    }))
}

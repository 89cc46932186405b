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
                    "description": "The Users tab's list, 50 a page. Needs an application with the Admin role.",
                    "security": [{ "applicationSecret": [] }],
                    "parameters": [
                        { "name": "q", "in": "query", "description": "Prefix of a name or an email/ID, any case", "schema": { "type": "string", "maxLength": 200 } },
                        { "name": "sort", "in": "query", "description": "Column, with - in front for descending", "schema": { "type": "string", "enum": ["name", "-name", "email", "-email", "type", "-type", "role", "-role"], "default": "name" } },
                        { "name": "page", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 100000, "default": 1 } }
                    ],
                    "responses": {
                        "200": {
                            "description": "One page of principals",
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/PrincipalPage" } } }
                        },
                        "400": with("A parameter is malformed"),
                        "401": with("Missing or wrong client secret"),
                        "403": with("The application's role is below Admin, or the API is disabled"),
                        "429": with("Too many failed attempts from this address")
                    }
                }
            }
        },
        "components": {
            "securitySchemes": {
                "subscriptionKey": { "type": "apiKey", "in": "header", "name": "Ocp-Apim-Subscription-Key" },
                "applicationSecret": { "type": "http", "scheme": "bearer", "description": "An application's client secret from the Users tab" }
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
                        "members": { "type": "integer", "description": "A group's member count" }
                    }
                },
                "PrincipalPage": {
                    "type": "object",
                    "required": ["principals", "page", "pageSize", "total"],
                    "properties": {
                        "principals": { "type": "array", "items": { "$ref": "#/components/schemas/Principal" } },
                        "page": { "type": "integer" },
                        "pageSize": { "type": "integer" },
                        "total": { "type": "integer", "description": "Principals matching q, on all pages" }
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

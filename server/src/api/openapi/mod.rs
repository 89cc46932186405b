//! The OpenAPI 3.1 description of `/api/v1`, linked from the APIs tab as "Explore our APIs":
//! a function for each path (in the file of the part of the API it belongs to) and for each
//! shared schema (`components`), so that no one function holds the whole document.

mod components;
mod connections;
mod lockbox;
mod principals;

use axum::Json;
use serde_json::{Map, Value, json};

pub async fn document() -> Json<Value> {
    let paths: Map<String, Value> = [
        ("/environment", principals::environment()),
        ("/principals", principals::principals()),
        ("/audit/verify", principals::audit_verify()),
        ("/lockbox/requests", lockbox::file_request()),
        ("/lockbox/requests/{id}", lockbox::follow_request()),
        ("/lockbox/check", lockbox::check()),
        ("/support/principals", lockbox::support_principals()),
        ("/support/audit", lockbox::support_audit()),
        ("/connections/{name}/credential", connections::credential()),
    ]
    .into_iter()
    .map(|(path, item)| (path.to_owned(), item))
    .collect();
    Json(json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Gatehouse environment API",
            "version": "1.0.0",
            "description": "Send the primary or the secondary key of the APIs tab in the Ocp-Apim-Subscription-Key header, or an application's client secret (Users tab) as Authorization: Bearer. While the API is disabled on the APIs tab, every call is refused with 403."
        },
        "servers": [{ "url": "/api/v1" }],
        "security": [{ "subscriptionKey": [] }, { "applicationSecret": [] }],
        "paths": paths,
        "components": components::all()
    }))
}

/// An error answer: the shared Error schema with `description`.
fn with(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
    })
}

//! A FAKE of Azure Key Vault and Microsoft Entra ID, for the Azure client's tests: Azure cannot
//! run on this machine. It follows the request and response shapes Microsoft documents:
//!
//! - Entra client credentials: `POST /{tenant}/oauth2/v2.0/token` with a form body
//!   (`grant_type=client_credentials`, `client_id`, `client_secret`, `scope`), answering
//!   `{"token_type":"Bearer","expires_in":…,"access_token":…}` or 401
//!   `{"error":"invalid_client","error_description":"AADSTS7000215: …"}`.
//! - Key Vault `GET /secrets?api-version=7.4` (`{"value":[{"id","attributes"}],"nextLink"}`,
//!   paged) and `GET /secrets/{name}?api-version=7.4` (`{"value","id","attributes"}`); errors as
//!   `{"error":{"code","message"}}` (403 `Forbidden`, 404 `SecretNotFound`); a call without a
//!   valid bearer token gets 401 with `WWW-Authenticate: Bearer authorization="…/{tenant}",
//!   resource="https://vault.azure.net"`.

use axum::{
    Form, Json, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::json;
use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
};

pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub const CLIENT_ID: &str = "0b1f9a2e-6a5e-4c5b-9a43-1c2d3e4f5a6b";
pub const CLIENT_SECRET: &str = "fake-azure-client-secret~value";
const PAGE_SIZE: usize = 2;

#[derive(Default)]
pub struct World {
    pub secrets: BTreeMap<String, String>,
    /// Names the app may list but not get (403).
    pub forbidden: Vec<String>,
    /// Tokens issued and still accepted.
    pub live_tokens: Vec<String>,
    pub tokens_issued: usize,
    /// When set, every page's nextLink points to this host instead.
    pub next_link_host: Option<String>,
}

#[derive(Clone)]
pub struct FakeAzure {
    pub address: String,
    pub world: Arc<Mutex<World>>,
}

impl FakeAzure {
    pub async fn start(secrets: &[(&str, &str)]) -> Self {
        let world = Arc::new(Mutex::new(World {
            secrets: secrets
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..World::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let fake = Self { address, world };
        let router = Router::new()
            .route("/{tenant}/oauth2/v2.0/token", post(token))
            .route("/secrets", get(list))
            .route("/secrets/{name}", get(secret))
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        fake
    }

    /// Lapses every token, as an expiry or revocation would.
    pub fn revoke_tokens(&self) {
        self.world.lock().unwrap().live_tokens.clear();
    }

    pub fn tokens_issued(&self) -> usize {
        self.world.lock().unwrap().tokens_issued
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

async fn token(
    State(fake): State<FakeAzure>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if tenant != TENANT {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "invalid_tenant", "error_description": "AADSTS90002: Tenant not found.\r\nTrace ID: 1" })),
        )
            .into_response();
    }
    if field("grant_type") != "client_credentials"
        || field("scope") != "https://vault.azure.net/.default"
    {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "invalid_request", "error_description": "AADSTS900144: bad request" })),
        )
            .into_response();
    }
    if field("client_id") != CLIENT_ID || field("client_secret") != CLIENT_SECRET {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.\r\nTrace ID: 2",
            })),
        )
            .into_response();
    }
    let mut world = fake.world.lock().unwrap();
    world.tokens_issued += 1;
    let token = format!("fake-access-token-{}", world.tokens_issued);
    world.live_tokens.push(token.clone());
    Json(json!({ "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token }))
        .into_response()
}

/// The 401 challenge for a missing or lapsed token.
fn authorized(fake: &FakeAzure, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let live = token.is_some_and(|t| {
        fake.world
            .lock()
            .unwrap()
            .live_tokens
            .iter()
            .any(|l| l == t)
    });
    if live {
        return Ok(());
    }
    let challenge = format!(
        r#"Bearer authorization="https://login.microsoftonline.com/{TENANT}", resource="https://vault.azure.net""#
    );
    Err(Box::new((
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, challenge)],
        Json(json!({ "error": { "code": "Unauthorized", "message": "AKV10000: Request is missing a Bearer or PoP token." } })),
    )
        .into_response()))
}

fn api_version_ok(query: &HashMap<String, String>) -> bool {
    query
        .get("api-version")
        .and_then(|v| v.split('.').next()?.parse::<u32>().ok())
        .is_some_and(|major| major >= 7)
}

async fn list(
    State(fake): State<FakeAzure>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Err(challenge) = authorized(&fake, &headers) {
        return *challenge;
    }
    if !api_version_ok(&query) {
        return error(
            StatusCode::BAD_REQUEST,
            "BadParameter",
            "The api-version is missing or not supported.",
        );
    }
    let world = fake.world.lock().unwrap();
    let skip: usize = query
        .get("$skiptoken")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let names: Vec<&String> = world.secrets.keys().collect();
    let page: Vec<_> = names
        .iter()
        .skip(skip)
        .take(PAGE_SIZE)
        .map(|n| json!({ "id": format!("{}/secrets/{n}", fake.address), "attributes": { "enabled": true } }))
        .collect();
    let next = (skip + PAGE_SIZE < names.len()).then(|| {
        let host = world
            .next_link_host
            .clone()
            .unwrap_or_else(|| fake.address.clone());
        format!(
            "{host}/secrets?api-version=7.4&$skiptoken={}",
            skip + PAGE_SIZE
        )
    });
    Json(json!({ "value": page, "nextLink": next })).into_response()
}

async fn secret(
    State(fake): State<FakeAzure>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Err(challenge) = authorized(&fake, &headers) {
        return *challenge;
    }
    if !api_version_ok(&query) {
        return error(
            StatusCode::BAD_REQUEST,
            "BadParameter",
            "The api-version is missing or not supported.",
        );
    }
    let world = fake.world.lock().unwrap();
    if world.forbidden.contains(&name) {
        return error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "The user, group or application does not have secrets get permission on key vault.",
        );
    }
    match world.secrets.get(&name) {
        Some(value) => Json(json!({
            "value": value,
            "id": format!("{}/secrets/{name}/4387e9f3d6e14c459867679a90fd0f79", fake.address),
            "attributes": { "enabled": true },
        }))
        .into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "SecretNotFound",
            &format!("A secret with (name/id) {name} was not found in this key vault."),
        ),
    }
}

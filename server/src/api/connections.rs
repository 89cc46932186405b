//! `GET /api/v1/connections/{name}/credential`: platform services fetch a connection's
//! credential at run time with an application's client secret. The connection's Who can use
//! applies to the application's role; a Key Vault secret is read from the vault at that moment
//! (or within the cache's lifetime); every use is audited without the value.

use super::{ApiError, application};
use crate::AppState;
use app::connections::ssr as connections;
use axum::{
    Json, Router,
    extract::{ConnectInfo, Path, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
    routing::get,
};
use std::net::SocketAddr;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/connections/{name}/credential", get(credential))
}

async fn credential(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let app = application(&state, peer, &headers).await?;
    let client = peer.ip().to_string();
    let answer =
        connections::credential_for(&state.ctx, &app, &app.as_actor(), &name, Some(&client))
            .await?;
    Ok(Json(answer).into_response())
}

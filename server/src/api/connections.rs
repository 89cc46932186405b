//! `GET /api/v1/connections/{name}/credential`: platform services fetch a connection's
//! credential at run time with an application's client secret. The connection's Who can use
//! applies to the application's role; a Key Vault secret is read from the vault at that moment
//! (or within the cache's lifetime); every use is audited without the value.

use super::{ApiError, caller::ApplicationCaller};
use crate::AppState;
use app::connections::ssr as connections;
use axum::{
    Json, Router,
    extract::{Path, State},
    response::{IntoResponse, Response},
    routing::get,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/connections/{name}/credential", get(credential))
}

async fn credential(
    State(state): State<AppState>,
    ApplicationCaller { app, client }: ApplicationCaller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let client = client.to_string();
    let answer =
        connections::credential_for(&state.ctx, &app, &app.as_actor(), &name, Some(&client))
            .await?;
    Ok(Json(answer).into_response())
}

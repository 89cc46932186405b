//! The REST API under `/api/v1`, unlocked by the keys of the APIs tab.

mod caller;
mod connections;
mod lockbox;
mod openapi;

use crate::AppState;
use app::{
    error::AppError,
    users::{ListQuery, ssr::list},
};
use axum::{
    Json, Router,
    extract::{Query, State, rejection::QueryRejection},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use caller::{AdminApplication, ApiCaller};
use serde::Deserialize;
use std::borrow::Cow;

/// The REST layer's error: a status and a message for the caller, as JSON.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: Cow<'static, str>,
}

impl ApiError {
    const fn new(status: StatusCode, message: &'static str) -> Self {
        Self {
            status,
            message: Cow::Borrowed(message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response();
        if matches!(
            self.status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        ) {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from_static(app::error::RETRY_AFTER_SECS),
            );
        }
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 6750 and 7235: say which credentials would do.
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"gatehouse\""),
            );
        }
        response
    }
}

impl From<AppError> for ApiError {
    /// The same status and message a server function would answer with; an internal failure's
    /// cause was logged where it happened and is not sent.
    fn from(e: AppError) -> Self {
        ApiError {
            status: StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            message: Cow::Owned(e.to_string()),
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/environment", get(environment))
        .route("/api/v1/principals", get(principals))
        .route("/api/v1/audit/verify", get(verify_audit))
        .route("/api/v1/openapi.json", get(openapi::document))
        .merge(lockbox::router())
        .merge(connections::router())
}

/// `GET /api/v1/environment`: a subscription key or any application.
async fn environment(
    State(state): State<AppState>,
    _caller: ApiCaller,
) -> Result<Response, ApiError> {
    let body = state.ctx.api_keys.ring.snapshot().environment_json.clone();
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

#[derive(Deserialize)]
struct PrincipalsParams {
    #[serde(default)]
    q: String,
    sort: Option<String>,
    after: Option<String>,
    before: Option<String>,
}

/// `GET /api/v1/principals`: the Users tab's list for automation. Applications with the Admin
/// role only: who has access is itself sensitive.
async fn principals(
    State(state): State<AppState>,
    _admin: AdminApplication,
    params: Result<Query<PrincipalsParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let page = list::page(&state.ctx.pool, &state.ctx.principals, &list_query(params)?).await?;
    Ok(Json(page).into_response())
}

/// `GET /api/v1/audit/verify`: whether the audit log's chain is intact, or where it breaks.
/// Applications with the Admin role only.
async fn verify_audit(
    State(state): State<AppState>,
    _admin: AdminApplication,
) -> Result<Response, ApiError> {
    let mut conn = state.ctx.pool.acquire().await.map_err(AppError::from)?;
    let verdict = app::audit::chain::verify_here(&mut conn).await?;
    Ok(Json(verdict).into_response())
}

/// The list's parameters, strictly: an API says what it did not understand.
fn list_query(
    params: Result<Query<PrincipalsParams>, QueryRejection>,
) -> Result<ListQuery, ApiError> {
    let bad = |message| ApiError::new(StatusCode::BAD_REQUEST, message);
    let Ok(Query(params)) = params else {
        return Err(bad("The query string is malformed."));
    };
    let query = ListQuery::from_params(|k| match k {
        "q" => Some(params.q.clone()),
        "sort" => params.sort.clone(),
        _ => None,
    });
    if params
        .sort
        .as_deref()
        .is_some_and(|s| query.sort_param() != s)
    {
        return Err(bad(
            "sort must be name, email, type or role, with - in front for descending.",
        ));
    }
    // Cursors as given (the lenient reading drops a bad one): `validated` refuses what is not
    // shaped like one, and the list what does not decode to the sort's values.
    let query = ListQuery {
        q: params.q,
        after: params.after,
        before: params.before,
        ..query
    };
    query.validated().map_err(|e| ApiError {
        status: StatusCode::BAD_REQUEST,
        message: Cow::Owned(e.to_string()),
    })
}

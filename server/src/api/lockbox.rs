//! Customer Lockbox over REST: support tooling files and follows requests, reads customer data
//! only within an approved request's window, and other services ask whether a request is live.

use super::{
    ApiError, PrincipalsParams,
    caller::{ApplicationCaller, SupportGrant, request_id},
    list_query,
};
use crate::AppState;
use app::{
    audit::ssr as audit,
    lockbox::{
        LockboxRequestDetail,
        ssr::{self as lockbox, NewRequest},
    },
    roles::Role,
    time_fmt::rfc3339,
    users::ssr::{applications, list},
};
use axum::{
    Json, Router,
    extract::{
        DefaultBodyLimit, Path, Query, State,
        rejection::{JsonRejection, QueryRejection},
    },
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/lockbox/requests", post(file_request))
        .route("/api/v1/lockbox/requests/{id}", get(get_request))
        .route("/api/v1/lockbox/check", post(check))
        .route("/api/v1/support/principals", get(support_principals))
        .route("/api/v1/support/audit", get(support_audit))
        // A request is a few short fields.
        .layer(DefaultBodyLimit::max(16 * 1024))
}

fn bad_json(rejection: JsonRejection) -> ApiError {
    ApiError {
        status: StatusCode::BAD_REQUEST,
        message: Cow::Owned(format!(
            "The body must be JSON as the OpenAPI document describes: {}",
            rejection.body_text()
        )),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewRequestBody {
    ticket: String,
    justification: String,
    engineer: Engineer,
    #[serde(default = "read")]
    access: String,
    access_period_seconds: Option<i64>,
}

fn read() -> String {
    "read".into()
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Engineer {
    name: String,
    email: String,
}

/// A request as the REST API shows it. Times are RFC 3339, UTC.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RequestView {
    id: i64,
    status: &'static str,
    ticket: String,
    justification: String,
    engineer: Engineer,
    access: String,
    requested_at: String,
    request_expires_at: String,
    access_period_seconds: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_expires_at: Option<String>,
    approvals: u8,
    approvals_required: u8,
    by_policy: bool,
}

impl From<LockboxRequestDetail> for RequestView {
    fn from(d: LockboxRequestDetail) -> Self {
        RequestView {
            id: d.row.id,
            status: d.row.status.api_name(),
            ticket: d.row.ticket,
            justification: d.justification,
            engineer: Engineer {
                name: d.engineer_name,
                email: d.engineer_email,
            },
            access: d.access,
            requested_at: rfc3339(d.row.requested_at),
            request_expires_at: rfc3339(d.row.request_expires_at),
            access_period_seconds: d.row.access_period_secs,
            access_expires_at: d.row.access_ends_at.map(rfc3339),
            approvals: d.row.approvals,
            approvals_required: d.approvals_required,
            by_policy: d.by_policy,
        }
    }
}

/// `POST /api/v1/lockbox/requests`: 201 with the request; approved at once while the policy is
/// off, otherwise waiting for an approver.
async fn file_request(
    State(state): State<AppState>,
    ApplicationCaller { app, client }: ApplicationCaller,
    body: Result<Json<NewRequestBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(bad_json)?;
    let client = client.to_string();
    let detail = lockbox::file(
        &state.ctx,
        &app,
        Some(&client),
        NewRequest {
            ticket: body.ticket,
            justification: body.justification,
            engineer_name: body.engineer.name,
            engineer_email: body.engineer.email,
            access: body.access,
            access_period_secs: body.access_period_seconds,
        },
    )
    .await?;
    let location = format!("/api/v1/lockbox/requests/{}", detail.row.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(RequestView::from(detail)),
    )
        .into_response())
}

/// `GET /api/v1/lockbox/requests/{id}`: the filing application follows its request.
async fn get_request(
    State(state): State<AppState>,
    ApplicationCaller { app, .. }: ApplicationCaller,
    Path(id): Path<String>,
) -> Result<Json<RequestView>, ApiError> {
    let id = request_id(&id)?;
    Ok(Json(
        lockbox::for_application(&state.ctx, &app, id).await?.into(),
    ))
}

/// `GET /api/v1/support/principals`: the principals list, within an approved request's window.
async fn support_principals(
    State(state): State<AppState>,
    grant: SupportGrant,
    params: Result<Query<PrincipalsParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let query = list_query(params)?;
    let page = list::page(&state.ctx.pool, &state.ctx.principals, &query).await?;
    grant.record_use(&state, "principals").await?;
    Ok(Json(page).into_response())
}

#[derive(Deserialize)]
struct AuditParams {
    page: Option<String>,
}

/// `GET /api/v1/support/audit`: the audit log, newest first, within an approved request's window.
async fn support_audit(
    State(state): State<AppState>,
    grant: SupportGrant,
    params: Result<Query<AuditParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let bad = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "page must be a whole number from 1.",
        )
    };
    let page = match params.map_err(|_| bad())?.0.page {
        None => 1,
        Some(p) => p
            .parse::<u32>()
            .ok()
            .filter(|p| (1..=1_000_000).contains(p))
            .ok_or_else(bad)?,
    };
    let entries = audit::page(&state.ctx.pool, page).await?;
    grant.record_use(&state, "audit log").await?;
    Ok(Json(entries).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CheckBody {
    request: i64,
    /// The client ID of the support application that presents the request.
    application: String,
}

/// `POST /api/v1/lockbox/check`, shaped like OAuth 2.0 token introspection (RFC 7662): another
/// service asks, with its own client secret, whether a support application's request is live.
/// An inactive answer says only that, as RFC 7662 §2.2 advises.
///
/// Only Admin-role applications (the services that guard customer data) and the filing
/// application itself may ask, so that request ids and tickets cannot be probed (RFC 7662 §4:
/// the endpoint must be protected). Anyone else gets 403 before the request is looked at.
async fn check(
    State(state): State<AppState>,
    ApplicationCaller { app: caller, .. }: ApplicationCaller,
    body: Result<Json<CheckBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(bad_json)?;
    if caller.role != Role::Admin
        && !body
            .application
            .trim()
            .eq_ignore_ascii_case(&caller.client_id)
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Only Admin-role applications and the support application that filed a request may check it.",
        ));
    }
    let support_app = applications::find_id(&state.ctx.pool, body.application.trim()).await?;
    let live = match support_app {
        Some(app_id) if body.request > 0 => {
            lockbox::live_access(&state.ctx.pool, body.request, Some(app_id)).await?
        }
        _ => lockbox::LiveAccess::Refused(String::new()),
    };
    Ok(match live {
        lockbox::LiveAccess::Live { ticket, ends } => Json(serde_json::json!({
            "active": true,
            "exp": ends,
            "expiresAt": rfc3339(ends),
            "requestId": body.request,
            "ticket": ticket,
            "application": body.application.trim(),
            "access": "read",
        })),
        lockbox::LiveAccess::Refused(_) => Json(serde_json::json!({ "active": false })),
    }
    .into_response())
}

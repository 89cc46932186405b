//! `GET /admin/security/audit.csv`: the audit log as a download, for Admins.

use app::{
    audit::ssr as audit,
    auth::ssr::{AppContext, admit, authorize},
    error::AppError,
    roles::Role,
};
use axum::{
    extract::{ConnectInfo, State},
    http::header,
    response::{IntoResponse, Response},
};
use std::net::SocketAddr;
use tower_sessions::Session;

pub async fn export(
    State(ctx): State<AppContext>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: Session,
) -> Result<Response, AppError> {
    let admin = admit(authorize(&ctx, &session).await?, Role::Admin)?;
    let csv = audit::export_csv(&ctx.pool).await?;
    // Who took a copy of the log is itself worth knowing.
    let mut conn = ctx.pool.acquire().await?;
    audit::record(
        &mut conn,
        audit::Entry {
            actor: Some(&admin),
            action: "audit.export",
            target: None,
            detail: "",
            client_addr: Some(&peer.ip().to_string()),
        },
    )
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"gatehouse-audit.csv\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        csv,
    )
        .into_response())
}

//! `GET /admin/security/audit.csv`: the audit log as a download, for Admins.

use crate::auth::caller::Caller;
use app::db::Pool;
use app::{
    audit::ssr as audit, auth::ssr::admit, context::AppContext, error::AppError, roles::Role,
};
use axum::{
    body::Body,
    extract::{ConnectInfo, State},
    http::header,
    response::{IntoResponse, Response},
};
use futures::stream::{self, Stream, StreamExt};
use std::net::SocketAddr;

pub async fn export(
    State(ctx): State<AppContext>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    caller: Caller,
) -> Result<Response, AppError> {
    let admin = admit(caller.signed_in(), Role::Admin)?;
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
        Body::from_stream(csv_stream(ctx.pool.clone())),
    )
        .into_response())
}

/// Rows fetched per query while streaming the export.
const PAGE_ROWS: i64 = 1000;

/// The CSV, a page of rows at a time: memory stays bounded however long the log is. A failure
/// midway ends the download early (the cause is logged); the file is then visibly cut short.
fn csv_stream(pool: Pool) -> impl Stream<Item = Result<String, AppError>> {
    let header = stream::once(async { Ok(audit::CSV_HEADER.to_owned()) });
    let pages = stream::try_unfold(Some(0i64), move |after| {
        let pool = pool.clone();
        async move {
            let Some(after) = after else {
                return Ok(None);
            };
            let (chunk, last) = audit::csv_page(&pool, after, PAGE_ROWS).await?;
            Ok(last.map(|last| (chunk, Some(last))))
        }
    });
    header.chain(pages)
}

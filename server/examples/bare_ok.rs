//! The yardstick for `scripts/bench-api.sh` and `scripts/bench-lockbox-check.sh`: bare axum
//! handlers that answer at once, on the same runtime and framework as Gatehouse, with nothing
//! else in the way.

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3201".into());
    let app = axum::Router::new()
        .route("/api/v1/environment", axum::routing::get(|| async { "ok" }))
        .route(
            "/api/v1/lockbox/check",
            axum::routing::post(|| async { axum::Json(serde_json::json!({ "active": false })) }),
        );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app).await
}

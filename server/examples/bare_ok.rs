//! The yardstick for `scripts/bench-api.sh`: a bare axum handler that answers 200, on the same
//! runtime and framework as Gatehouse, with nothing else in the way.

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3201".into());
    let app =
        axum::Router::new().route("/api/v1/environment", axum::routing::get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app).await
}

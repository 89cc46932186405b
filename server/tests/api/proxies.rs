//! Behind a reverse proxy: a small HTTP proxy started by the test forwards to Gatehouse the way
//! nginx does (appending the client it saw to X-Forwarded-For, setting X-Forwarded-Host and
//! -Proto). Only when the proxy is trusted does Gatehouse take the client from those headers.

use crate::helpers::*;
use axum::{
    Router,
    body::{Body, to_bytes},
    extract::{Request, State},
    http::{HeaderValue, StatusCode},
    response::Response,
};
use reqwest::Client;

/// What the proxy says the client was: a public address the test machine does not have.
const CLIENT: &str = "203.0.113.7";

#[derive(Clone)]
struct Upstream {
    base: String,
    http: Client,
}

async fn forward(State(up): State<Upstream>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, 1 << 20).await.unwrap_or_default();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut headers = parts.headers.clone();
    let chain = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(earlier) => format!("{earlier}, {CLIENT}"),
        None => CLIENT.to_owned(),
    };
    headers.insert("x-forwarded-for", HeaderValue::from_str(&chain).unwrap());
    headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
    headers.insert(
        "x-forwarded-host",
        HeaderValue::from_static("gatehouse.example.com"),
    );
    headers.remove("host");
    let res = up
        .http
        .request(parts.method, format!("{}{path}", up.base))
        .headers(headers)
        .body(body)
        .send()
        .await
        .unwrap();
    let mut out = Response::builder().status(res.status());
    for (k, v) in res.headers() {
        out = out.header(k, v);
    }
    out.body(Body::from(res.bytes().await.unwrap())).unwrap()
}

async fn proxy_to(app: &TestApp) -> String {
    let up = Upstream {
        base: app.address.clone(),
        http: Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(crate::helpers::ANSWER_WITHIN)
            .build()
            .unwrap(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let router = Router::new().fallback(forward).with_state(up);
    tokio::spawn(async move { axum::serve(listener, router).await });
    address
}

async fn last_sign_in_address(app: &TestApp) -> Option<String> {
    sqlx::query_scalar("SELECT client_addr FROM audit_log WHERE action LIKE 'auth.sign_in%' ORDER BY id DESC LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn sign_in_through(base: &str) -> reqwest::Response {
    client()
        .post(format!("{base}/auth/login"))
        .header("x-forwarded-for", "6.6.6.6")
        .form(&[
            ("email", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
            ("next", ""),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxy_names_the_client_and_a_spoofed_hop_is_ignored() {
    let app = spawn_app_with(|c| {
        c.trusted_proxies = "127.0.0.1".into();
        c.login_attempts_per_minute = 2;
    })
    .await;
    let proxy = proxy_to(&app).await;
    let res = sign_in_through(&proxy).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // The client the proxy saw, not the proxy, nor what the client claimed.
    assert_eq!(last_sign_in_address(&app).await.as_deref(), Some(CLIENT));

    // The sign-in throttle counts that client: through the proxy it is used up...
    sign_in_through(&proxy).await;
    let third = sign_in_through(&proxy).await;
    assert!(
        location(&third).contains("error=throttled"),
        "{}",
        location(&third)
    );
    // ...while a direct client (the loopback address itself) still gets in, with another
    // account (the admin's own is used up too: sign-ins are counted per account as well).
    let other = app.add_user(app::roles::Role::Viewer).await;
    let direct = app.post_login(&client(), &other, PASSWORD, "").await;
    assert_eq!(location(&direct), "/admin/security/users");

    // The cross-site check compares the browser's Origin with the forwarded host.
    let res = client()
        .post(format!("{proxy}/auth/login"))
        .header("origin", "https://gatehouse.example.com")
        .form(&[("email", ADMIN_EMAIL), ("password", "wrong"), ("next", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "same origin through the proxy"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
    // Only a proxy on 10.0.0.0/8 is trusted: this test's loopback peer is not.
    let app = spawn_app_with(|c| c.trusted_proxies = "10.0.0.0/8".into()).await;
    let proxy = proxy_to(&app).await;
    sign_in_through(&proxy).await;
    assert_eq!(
        last_sign_in_address(&app).await.as_deref(),
        Some("127.0.0.1")
    );
    // And the forwarded host is not believed either: the portal's Origin is another site.
    let res = client()
        .post(format!("{proxy}/auth/login"))
        .header("origin", "https://gatehouse.example.com")
        .form(&[
            ("email", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
            ("next", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_trusted_proxies_setting_stops_the_start() {
    use gatehouse::{Application, config::Config};
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::defaults();
    config.addr = "127.0.0.1:0".into();
    config.database_url = format!("sqlite://{}", dir.path().join("g.db").display());
    config.trusted_proxies = "10.0.0.0/8, proxy.internal".into();
    let options = leptos::config::LeptosOptions::builder()
        .output_name("gatehouse")
        .build();
    let Err(err) = Application::build(&config, options).await else {
        panic!("the server started with a malformed GATEHOUSE_TRUSTED_PROXIES");
    };
    assert!(err.to_string().contains("proxy.internal"), "{err}");
}

//! Embedding in a portal: the allow-list and secret (APIs tab), embed tokens exchanged for
//! embed sessions at `/embed/session`, every refusal with its reason, the session header's
//! rules, and the framing headers.

use crate::helpers::*;
use app::roles::Role;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use reqwest::{Client, Response, StatusCode, header};
use serde_json::{Value, json};

pub(crate) const PORTAL: &str = "https://portal.example.com";
const SESSION: &str = "gatehouse-embed-session";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The claims a portal's backend signs for `sub`, valid for two minutes.
pub(crate) fn claims(sub: &str) -> Value {
    json!({
        "sub": sub, "aud": "gatehouse-embed", "origin": PORTAL,
        "iat": now(), "exp": now() + 120, "jti": rand_suffix().to_string(), "tab": "apis",
    })
}

pub(crate) fn sign(secret: &str, claims: &Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// The portal's origin, form-encoded for the server functions that name it.
const PORTAL_FORM: &str = "origin=https%3A%2F%2Fportal.example.com";

/// An Admin's client with `PORTAL` allowed, and the portal's own secret; returns both.
pub(crate) async fn set_up(app: &TestApp) -> (Client, String) {
    let admin = app.client_as(Some(Role::Admin)).await;
    app.rpc(
        &admin,
        "/rpc/embed_origin_add",
        "origin=https%3A%2F%2Fportal.example.com",
    )
    .await;
    let secret = portal_secret(app, &admin).await;
    assert!(secret.starts_with("gatehouse_embed_"));
    (admin, secret)
}

/// The portal's own secret, as Copy on its row gives it.
async fn portal_secret(app: &TestApp, admin: &Client) -> String {
    let secret = app
        .rpc(
            admin,
            "/rpc/embed_origin_secret_reveal",
            &format!("{PORTAL_FORM}&purpose=copy"),
        )
        .await;
    secret.as_str().unwrap().to_owned()
}

/// The frame's exchange: same origin (the frame is Gatehouse's page), no cookie.
pub(crate) async fn exchange(app: &TestApp, token: &str, parent: &str) -> Response {
    client()
        .post(app.url("/embed/session"))
        .json(&json!({ "token": token, "parent": parent }))
        .send()
        .await
        .unwrap()
}

pub(crate) async fn refused_with(app: &TestApp, token: &str, parent: &str, code: &str) {
    let res = exchange(app, token, parent).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{code}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    let message = body["error"].as_str().unwrap();
    assert!(
        !message.is_empty() && !message.contains("Error"),
        "{message}"
    );
}

/// A server-function call from the frame, with the session header and no cookie.
pub(crate) async fn frame_call(app: &TestApp, session: &str, path: &str, body: &str) -> Response {
    client()
        .post(app.url(path))
        .header(SESSION, session)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

pub(crate) async fn session_for(app: &TestApp, secret: &str, sub: &str) -> String {
    let res = exchange(app, &sign(secret, &claims(sub)), PORTAL).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers().get(header::SET_COOKIE).is_none(),
        "no cookie for the frame"
    );
    let body: Value = res.json().await.unwrap();
    body["session"].as_str().unwrap().to_owned()
}

async fn audit(app: &TestApp) -> Vec<(String, Option<String>, String)> {
    sqlx::query_as(
        "SELECT action, target, detail FROM audit_log WHERE action LIKE 'embed.%' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_token_opens_an_embed_session_that_acts_as_its_user() {
    let app = spawn_app().await;
    let (_admin, secret) = set_up(&app).await;

    let res = exchange(&app, &sign(&secret, &claims(ADMIN_EMAIL)), PORTAL).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get(header::SET_COOKIE).is_none());
    let body: Value = res.json().await.unwrap();
    let session = body["session"].as_str().unwrap();
    assert!(session.starts_with("gatehouse_es_"));
    assert_eq!(body["user"]["email"], ADMIN_EMAIL);
    assert_eq!(body["user"]["role"], "admin");
    assert_eq!(body["tab"], "apis");
    let expires = body["expiresAt"].as_i64().unwrap();
    assert!(
        expires > now() + 800 && expires <= now() + 900,
        "15 minutes"
    );

    let me = frame_call(&app, session, "/rpc/current_user", "").await;
    assert_eq!(me.status(), StatusCode::OK);
    assert!(me.headers().get(header::SET_COOKIE).is_none());
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["email"], ADMIN_EMAIL);
    let overview = frame_call(&app, session, "/rpc/api_overview", "").await;
    assert_eq!(overview.status(), StatusCode::OK);

    // What needs the cookie session is not for the frame.
    let refused = frame_call(&app, session, "/rpc/account_sign_out_everywhere", "").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // Only the session's digest is stored.
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT digest FROM embed_sessions")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert!(
        !stored[0]
            .windows(8)
            .any(|w| session.as_bytes().windows(8).any(|s| s == w))
    );

    let rows = audit(&app).await;
    let actions: Vec<&str> = rows.iter().map(|(a, _, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "embed.origin.add",
            "embed.origin.secret.copy",
            "embed.session"
        ]
    );
    assert_eq!(rows[2].1.as_deref(), Some(PORTAL));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_token_is_refused_with_its_reason() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    // Before the portal is listed, nothing can be right.
    refused_with(
        &app,
        &sign("anything", &claims(ADMIN_EMAIL)),
        PORTAL,
        "origin_not_allowed",
    )
    .await;
    let (_, secret) = set_up(&app).await;

    let other = sign("gatehouse_embed_another-secret", &claims(ADMIN_EMAIL));
    refused_with(&app, &other, PORTAL, "bad_signature").await;

    let mut expired = claims(ADMIN_EMAIL);
    expired["iat"] = json!(now() - 400);
    expired["exp"] = json!(now() - 200);
    refused_with(&app, &sign(&secret, &expired), PORTAL, "token_expired").await;

    let mut early = claims(ADMIN_EMAIL);
    early["iat"] = json!(now() + 120);
    early["exp"] = json!(now() + 240);
    refused_with(&app, &sign(&secret, &early), PORTAL, "token_not_yet_valid").await;

    let mut long = claims(ADMIN_EMAIL);
    long["exp"] = json!(now() + 3600);
    refused_with(
        &app,
        &sign(&secret, &long),
        PORTAL,
        "token_lifetime_too_long",
    )
    .await;

    let mut audience = claims(ADMIN_EMAIL);
    audience["aud"] = json!("grafana");
    refused_with(&app, &sign(&secret, &audience), PORTAL, "wrong_audience").await;

    refused_with(&app, "not-a-token", PORTAL, "invalid_token").await;

    let mut elsewhere = claims(ADMIN_EMAIL);
    elsewhere["origin"] = json!("https://attacker.example.net");
    let elsewhere = sign(&secret, &elsewhere);
    refused_with(
        &app,
        &elsewhere,
        "https://attacker.example.net",
        "origin_not_allowed",
    )
    .await;

    // A token for the portal, handed over by another page than the portal.
    let token = sign(&secret, &claims(ADMIN_EMAIL));
    refused_with(&app, &token, "https://other.example.com", "origin_mismatch").await;

    refused_with(
        &app,
        &sign(&secret, &claims("nobody@gatehouse.test")),
        PORTAL,
        "unknown_user",
    )
    .await;

    // Single use: the second exchange of one token is refused.
    let once = sign(&secret, &claims(ADMIN_EMAIL));
    assert_eq!(exchange(&app, &once, PORTAL).await.status(), StatusCode::OK);
    refused_with(&app, &once, PORTAL, "token_replayed").await;

    // A removed user.
    let viewer = app.add_user(Role::Viewer).await;
    let for_viewer = sign(&secret, &claims(&viewer));
    sqlx::query("DELETE FROM principals WHERE handle = $1")
        .bind(&viewer)
        .execute(&app.pool)
        .await
        .unwrap();
    refused_with(&app, &for_viewer, PORTAL, "unknown_user").await;

    // A regenerated secret: tokens signed with the old one stop working.
    let before = sign(&secret, &claims(ADMIN_EMAIL));
    app.rpc(&admin, "/rpc/embed_origin_secret_regenerate", PORTAL_FORM)
        .await;
    refused_with(&app, &before, PORTAL, "bad_signature").await;

    // A removed origin.
    let new_secret = portal_secret(&app, &admin).await;
    let fresh = sign(&new_secret, &claims(ADMIN_EMAIL));
    app.rpc(
        &admin,
        "/rpc/embed_origin_remove",
        "origin=https%3A%2F%2Fportal.example.com",
    )
    .await;
    refused_with(&app, &fresh, PORTAL, "origin_not_allowed").await;

    // Malformed requests are 400, not a refusal of a token.
    let res = client()
        .post(app.url("/embed/session"))
        .json(&json!({ "token": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // Each refusal is audited with its reason, never with the token.
    let refusals: Vec<String> = audit(&app)
        .await
        .into_iter()
        .filter(|(a, _, _)| a == "embed.refused")
        .map(|(_, _, detail)| detail)
        .collect();
    assert_eq!(refusals.len(), 14, "{refusals:?}");
    assert!(refusals.contains(&"reason=token_replayed".to_owned()));
    let all: Vec<String> =
        sqlx::query_scalar("SELECT detail || coalesce(target, '') FROM audit_log")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert!(
        all.iter()
            .all(|d| !d.contains(&once) && !d.contains(&secret))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_header_works_only_for_the_frames_server_functions() {
    let app = spawn_app().await;
    let (_, secret) = set_up(&app).await;
    let session = session_for(&app, &secret, ADMIN_EMAIL).await;

    // Not on pages, not on the audit export, not on sign-out.
    for path in [
        "/admin/security/users",
        "/admin/security/audit.csv",
        "/account",
    ] {
        let res = client()
            .get(app.url(path))
            .header(SESSION, &session)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    }
    // Not from another site, even to a server function.
    let res = script_client()
        .post(app.url("/rpc/api_overview"))
        .header(SESSION, &session)
        .header("sec-fetch-site", "cross-site")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = script_client()
        .post(app.url("/rpc/api_overview"))
        .header(SESSION, &session)
        .header(header::ORIGIN, PORTAL)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // A made-up session is nobody.
    let res = frame_call(&app, "gatehouse_es_made-up", "/rpc/api_overview", "").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = frame_call(&app, &session, "/rpc/api_overview", "").await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embed_sessions_end_on_time_and_with_their_secret_origin_or_user() {
    let app = spawn_app_with(|c| c.embed_session_seconds = 1).await;
    let (admin, secret) = set_up(&app).await;

    let short = session_for(&app, &secret, ADMIN_EMAIL).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let res = frame_call(&app, &short, "/rpc/api_overview", "").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "expired");
    let me: Value = frame_call(&app, &short, "/rpc/current_user", "")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me, Value::Null);

    let app = spawn_app().await;
    let (admin2, secret) = set_up(&app).await;
    drop(admin);
    // Regenerating the portal's secret ends its embed sessions.
    let s = session_for(&app, &secret, ADMIN_EMAIL).await;
    app.rpc(&admin2, "/rpc/embed_origin_secret_regenerate", PORTAL_FORM)
        .await;
    assert_eq!(
        frame_call(&app, &s, "/rpc/api_overview", "").await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Removing the portal's origin ends its sessions.
    let secret = portal_secret(&app, &admin2).await;
    let s = session_for(&app, &secret, ADMIN_EMAIL).await;
    app.rpc(
        &admin2,
        "/rpc/embed_origin_remove",
        "origin=https%3A%2F%2Fportal.example.com",
    )
    .await;
    assert_eq!(
        frame_call(&app, &s, "/rpc/api_overview", "").await.status(),
        StatusCode::UNAUTHORIZED
    );
    // A Viewer's session is a Viewer: refused what a Viewer is refused; a role change applies.
    app.rpc(
        &admin2,
        "/rpc/embed_origin_add",
        "origin=https%3A%2F%2Fportal.example.com",
    )
    .await;
    // Listed again, the portal has a new secret of its own.
    let secret = portal_secret(&app, &admin2).await;
    let viewer = app.add_user(Role::Viewer).await;
    let s = session_for(&app, &secret, &viewer).await;
    assert_eq!(
        frame_call(&app, &s, "/rpc/api_overview", "").await.status(),
        StatusCode::FORBIDDEN
    );
    sqlx::query("UPDATE principals SET role = 'admin' WHERE handle = $1")
        .bind(&viewer)
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        frame_call(&app, &s, "/rpc/api_overview", "").await.status(),
        StatusCode::OK
    );
    // Ending the user's sessions ends the embed session too.
    sqlx::query("UPDATE principals SET session_epoch = session_epoch + 1 WHERE handle = $1")
        .bind(&viewer)
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        frame_call(&app, &s, "/rpc/api_overview", "").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origins_are_validated_and_framing_follows_the_list() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let frame = |app: &TestApp| client().get(app.url("/embed/security/users")).send();
    let csp = |res: &Response| {
        res.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert!(csp(&frame(&app).await.unwrap()).contains("frame-ancestors 'none';"));
    for bad in [
        "portal.example.com",
        "https://*.example.com",
        "https://portal.example.com/x",
        "http://portal.example.com",
    ] {
        let body = format!("origin={}", urlencoding(bad));
        let err = app
            .rpc_fails(
                &admin,
                "/rpc/embed_origin_add",
                &body,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        assert!(err.to_string().contains("origin"), "{bad}: {err}");
    }
    app.rpc(
        &admin,
        "/rpc/embed_origin_add",
        "origin=HTTPS%3A%2F%2FPortal.Example.com%2F",
    )
    .await;
    app.rpc_fails(
        &admin,
        "/rpc/embed_origin_add",
        "origin=https%3A%2F%2Fportal.example.com",
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    app.rpc(
        &admin,
        "/rpc/embed_origin_add",
        "origin=http%3A%2F%2Flocalhost%3A5173",
    )
    .await;
    let settings = app.rpc(&admin, "/rpc/embed_settings", "").await;
    let origins: Vec<&str> = settings["origins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["origin"].as_str().unwrap())
        .collect();
    assert_eq!(
        origins,
        ["http://localhost:5173", "https://portal.example.com"]
    );
    assert_eq!(settings["fixed_by_config"], false);
    assert!(settings.to_string().find("gatehouse_embed_").is_none());

    let res = frame(&app).await.unwrap();
    assert!(
        csp(&res).contains("frame-ancestors http://localhost:5173 https://portal.example.com;"),
        "{}",
        csp(&res)
    );
    assert!(res.headers().get("x-frame-options").is_none());
    assert!(
        res.headers().get(header::SET_COOKIE).is_none(),
        "no cookie in the frame"
    );
    let policy = csp(&res);
    let html = res.text().await.unwrap();
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    assert!(html.contains(&format!("nonce=\"{nonce}\"")) && html.contains("gatehouse:ready"));
    assert!(html.contains("Connecting to the portal"));
    assert!(!html.contains("Sign out"), "chromeless");
    let page = client().get(app.url("/login")).send().await.unwrap();
    assert!(csp(&page).contains("frame-ancestors 'self';"));
    assert_eq!(page.headers()["x-frame-options"], "SAMEORIGIN");

    let script = client().get(app.url("/embed.js")).send().await.unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert!(
        script.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(script.text().await.unwrap().contains("gatehouse-security"));

    // With GATEHOUSE_FRAME_ANCESTORS the list is the server's, read-only.
    let fixed =
        spawn_app_with(|c| c.frame_ancestors = Some("https://portal.example.com".into())).await;
    let admin = fixed.client_as(Some(Role::Admin)).await;
    let settings = fixed.rpc(&admin, "/rpc/embed_settings", "").await;
    assert_eq!(settings["fixed_by_config"], true);
    fixed
        .rpc_fails(
            &admin,
            "/rpc/embed_origin_add",
            "origin=https%3A%2F%2Fother.example.com",
            StatusCode::CONFLICT,
        )
        .await;
    assert!(
        csp(&frame(&fixed).await.unwrap()).contains("frame-ancestors https://portal.example.com;")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_with_a_new_token_replaces_the_old_session() {
    let app = spawn_app().await;
    let (_, secret) = set_up(&app).await;
    let old = session_for(&app, &secret, ADMIN_EMAIL).await;
    let res = client()
        .post(app.url("/embed/session"))
        .header(SESSION, &old)
        .json(&json!({ "token": sign(&secret, &claims(ADMIN_EMAIL)), "parent": PORTAL }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let new: Value = res.json().await.unwrap();
    let new = new["session"].as_str().unwrap();
    assert_ne!(new, old);
    assert_eq!(
        frame_call(&app, &old, "/rpc/api_overview", "")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        frame_call(&app, new, "/rpc/api_overview", "")
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_keeps_sending_bad_tokens_is_throttled() {
    let app = spawn_app_with(|c| c.api_failures_per_minute = 3).await;
    let (_, secret) = set_up(&app).await;
    for _ in 0..4 {
        exchange(&app, "bad", PORTAL).await;
    }
    let res = exchange(&app, &sign(&secret, &claims(ADMIN_EMAIL)), PORTAL).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key(header::RETRY_AFTER));
}

fn urlencoding(s: &str) -> String {
    serde_urlencoded::to_string([("v", s)]).unwrap()[2..].to_owned()
}

/// Review item 14: each portal signs with its own secret; regenerating one leaves the others
/// working; a portal listed before portals had their own keeps the shared secret until its
/// own is made, which the card says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_portal_has_its_own_secret() {
    let app = spawn_app().await;
    let (admin, portal_secret) = set_up(&app).await;
    const OTHER: &str = "https://other-portal.example.org";
    app.rpc(
        &admin,
        "/rpc/embed_origin_add",
        "origin=https%3A%2F%2Fother-portal.example.org",
    )
    .await;
    let other_secret: String = app
        .rpc(
            &admin,
            "/rpc/embed_origin_secret_reveal",
            "origin=https%3A%2F%2Fother-portal.example.org&purpose=show",
        )
        .await
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(portal_secret, other_secret);
    let for_other = |sub: &str| {
        let mut c = claims(sub);
        c["origin"] = json!(OTHER);
        c
    };
    // A token verifies only with the secret of the origin it names.
    refused_with(
        &app,
        &sign(&other_secret, &claims(ADMIN_EMAIL)),
        PORTAL,
        "bad_signature",
    )
    .await;
    refused_with(
        &app,
        &sign(&portal_secret, &for_other(ADMIN_EMAIL)),
        OTHER,
        "bad_signature",
    )
    .await;
    let other_session = {
        let res = exchange(&app, &sign(&other_secret, &for_other(ADMIN_EMAIL)), OTHER).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        body["session"].as_str().unwrap().to_owned()
    };
    // Regenerating one portal's secret leaves the other's tokens and sessions working.
    app.rpc(&admin, "/rpc/embed_origin_secret_regenerate", PORTAL_FORM)
        .await;
    refused_with(
        &app,
        &sign(&portal_secret, &claims(ADMIN_EMAIL)),
        PORTAL,
        "bad_signature",
    )
    .await;
    let res = exchange(&app, &sign(&other_secret, &for_other(ADMIN_EMAIL)), OTHER).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        frame_call(&app, &other_session, "/rpc/api_overview", "")
            .await
            .status(),
        StatusCode::OK
    );

    // A portal listed before each had its own secret (no secret of its own) signs with the
    // shared one until its own is made; then the shared one no longer works for it.
    const OLD: &str = "https://old-portal.example.net";
    sqlx::query("INSERT INTO embed_origins (origin, added_at) VALUES ($1, unixepoch())")
        .bind(OLD)
        .execute(&app.pool)
        .await
        .unwrap();
    let settings = app.rpc(&admin, "/rpc/embed_settings", "").await;
    let old = settings["origins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["origin"] == OLD)
        .unwrap()
        .clone();
    assert!(old["secret_created_at"].is_null(), "{old}");
    let shared: String = app
        .rpc(&admin, "/rpc/embed_secret_reveal", "purpose=show")
        .await
        .as_str()
        .unwrap()
        .to_owned();
    let for_old = {
        let mut c = claims(ADMIN_EMAIL);
        c["origin"] = json!(OLD);
        c
    };
    assert_eq!(
        exchange(&app, &sign(&shared, &for_old), OLD).await.status(),
        StatusCode::OK
    );
    // The shared secret is not accepted for a portal with its own.
    refused_with(
        &app,
        &sign(&shared, &claims(ADMIN_EMAIL)),
        PORTAL,
        "bad_signature",
    )
    .await;
    app.rpc(
        &admin,
        "/rpc/embed_origin_secret_regenerate",
        "origin=https%3A%2F%2Fold-portal.example.net",
    )
    .await;
    let mut again = claims(ADMIN_EMAIL);
    again["origin"] = json!(OLD);
    refused_with(&app, &sign(&shared, &again), OLD, "bad_signature").await;
    let actions: Vec<String> = audit(&app).await.into_iter().map(|(a, _, _)| a).collect();
    assert!(
        actions
            .iter()
            .any(|a| a == "embed.origin.secret.regenerate")
    );
    assert!(actions.iter().any(|a| a == "embed.origin.secret.show"));
}

/// Review item 7: inside the embedded page, the account's password and "sign out everywhere"
/// are refused before anything is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_changes_are_refused_in_the_frame_before_any_write() {
    let app = spawn_app().await;
    let (_, secret) = set_up(&app).await;
    let session = session_for(&app, &secret, ADMIN_EMAIL).await;
    let epoch_and_hash = || async {
        sqlx::query_as::<_, (i64, String)>(
            "SELECT session_epoch, password_hash FROM principals WHERE handle = $1",
        )
        .bind(ADMIN_EMAIL)
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };
    let before = epoch_and_hash().await;
    let audit_before = audit(&app).await.len();
    let body = serde_urlencoded::to_string([
        ("current", ADMIN_PASSWORD),
        ("password", "a brand new password"),
        ("confirm", "a brand new password"),
    ])
    .unwrap();
    let res = frame_call(&app, &session, "/rpc/account_password", &body).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = frame_call(&app, &session, "/rpc/account_sign_out_everywhere", "").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(epoch_and_hash().await, before, "nothing changed");
    assert_eq!(audit(&app).await.len(), audit_before, "nothing recorded");
    // The embed session itself still works: nothing ended it.
    assert_eq!(
        frame_call(&app, &session, "/rpc/api_overview", "")
            .await
            .status(),
        StatusCode::OK
    );
}

/// Review item 10: an exchange racing the removal of its portal never leaves a session that
/// outlives the removal: each exchange reads the allow-list inside its write transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_exchange_racing_a_removal_leaves_no_session_behind() {
    let app = spawn_app().await;
    let (admin, secret) = set_up(&app).await;
    let tokens: Vec<String> = (0..40)
        .map(|_| sign(&secret, &claims(ADMIN_EMAIL)))
        .collect();
    let exchanges = tokens.iter().map(|t| exchange(&app, t, PORTAL));
    let remove = async {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        app.rpc(&admin, "/rpc/embed_origin_remove", PORTAL_FORM)
            .await;
    };
    let (_, answers) = tokio::join!(remove, futures::future::join_all(exchanges));
    assert!(
        answers
            .iter()
            .all(|r| r.status().is_success() || r.status() == StatusCode::UNAUTHORIZED)
    );
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM embed_sessions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "a session was opened for a removed portal");
}

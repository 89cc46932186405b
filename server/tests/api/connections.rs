//! Connections against a real OpenBao dev server and a real webhook receiver: the credential
//! comes from the vault at the moment of use (within the cache's lifetime), Verify signs a
//! test event, Who can use applies, every use is audited, and no value leaks.

use crate::{helpers::*, openbao::OpenBao, smtp_server::SmtpServer};
use app::{connections::ssr::signature, roles::Role};
use axum::{Router, extract::State, http::HeaderMap, routing::post};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

/// A webhook endpoint that keeps what it receives and answers `status`.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    status: Arc<Mutex<u16>>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    r.got.lock().unwrap().push((headers, body));
    StatusCode::from_u16(*r.status.lock().unwrap()).unwrap()
}

async fn receiver() -> (Receiver, String) {
    let r = Receiver {
        status: Arc::new(Mutex::new(204)),
        ..Receiver::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let router = Router::new()
        .route("/hook", post(receive))
        .with_state(r.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (r, url)
}

fn form(pairs: &[(&str, &str)]) -> String {
    let pairs: Vec<(String, &str)> = pairs
        .iter()
        .map(|(k, v)| (format!("form[{k}]"), *v))
        .collect();
    serde_urlencoded::to_string(pairs).unwrap()
}

struct World {
    bao: OpenBao,
    app: TestApp,
    admin: Client,
    contributor_app: String,
    viewer_app: String,
}

async fn world() -> World {
    captured_logs();
    let bao = OpenBao::start().await;
    bao.put_secret("crm/webhook", json!({ "value": "hook-secret-1" }))
        .await;
    let app = spawn_app_with(|c| c.key_vault_cache_seconds = 1).await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let link = serde_urlencoded::to_string([
        ("form[backend]", "open_bao"),
        ("form[address]", bao.address.as_str()),
        ("form[auth]", "token"),
        ("form[credential]", bao.root_token.as_str()),
    ])
    .unwrap();
    app.rpc(&admin, "/rpc/key_vault_save", &link).await;
    app.rpc(&admin, "/rpc/api_enable", "").await;
    let add = |name: &'static str, role: &'static str| {
        let body = serde_urlencoded::to_string([
            ("kind", "application"),
            ("principal", name),
            ("role", role),
        ])
        .unwrap();
        let (app, admin) = (&app, &admin);
        async move {
            app.rpc(admin, "/rpc/principals_add", &body).await["client_secret"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    World {
        contributor_app: add("Mailer", "contributor").await,
        viewer_app: add("Reporting", "viewer").await,
        bao,
        app,
        admin,
    }
}

impl World {
    async fn fetch(&self, secret: &str, name: &str) -> (StatusCode, Value) {
        let res = script_client()
            .get(
                self.app
                    .url(&format!("/api/v1/connections/{name}/credential")),
            )
            .bearer_auth(secret)
            .send()
            .await
            .unwrap();
        (res.status(), res.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn a_vault_backed_webhook_verifies_and_serves_the_value_the_vault_holds_now() {
    let w = world().await;
    let (hook, url) = receiver().await;
    let saved = w
        .app
        .rpc(
            &w.admin,
            "/rpc/connection_save",
            &form(&[
                ("name", "orders-hook"),
                ("kind", "webhook"),
                ("audience", "contributors"),
                ("url", &url),
                ("use_vault", "true"),
                ("vault_secret", "crm/webhook"),
            ]),
        )
        .await;
    assert_eq!(saved["credentials"], json!({ "key_vault": "crm/webhook" }));
    assert_eq!(
        saved["target"]["webhook"]["header_name"],
        "X-Gatehouse-Signature"
    );
    let id = saved["id"].as_i64().unwrap();

    // Verify sends a signed test event; the receiver can check it with the vault's secret.
    let result = w
        .app
        .rpc(&w.admin, "/rpc/connection_verify", &format!("id={id}"))
        .await;
    assert_eq!(result["ok"], true, "{result}");
    let (headers, body) = hook.got.lock().unwrap()[0].clone();
    assert_eq!(
        headers["x-gatehouse-signature"].to_str().unwrap(),
        signature("hook-secret-1", body.as_bytes())
    );
    assert!(body.contains("gatehouse.test"));

    // The endpoint refuses: Verify says so.
    *hook.status.lock().unwrap() = 401;
    let result = w
        .app
        .rpc(&w.admin, "/rpc/connection_verify", &format!("id={id}"))
        .await;
    assert_eq!(result["ok"], false);
    assert!(result["message"].as_str().unwrap().contains("HTTP 401"));

    // A Contributor application gets the vault's value; a Viewer application does not.
    let (status, answer) = w.fetch(&w.contributor_app, "orders-hook").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["credential"], "hook-secret-1");
    assert_eq!(answer["source"], "key_vault");
    assert_eq!(answer["secretName"], "crm/webhook");
    assert_eq!(answer["type"], "webhook");
    assert_eq!(answer["settings"]["url"], url.as_str());
    assert_eq!(answer["settings"]["headerName"], "X-Gatehouse-Signature");
    let (status, answer) = w.fetch(&w.viewer_app, "orders-hook").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(answer["error"].as_str().unwrap().contains("Contributor"));
    assert_eq!(
        w.fetch(&w.contributor_app, "no-such").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        w.fetch("gh_app_wrong", "orders-hook").await.0,
        StatusCode::UNAUTHORIZED
    );

    // Rotated in the vault: the API returns the new value once the cache (1 s) has passed.
    w.bao
        .put_secret("crm/webhook", json!({ "value": "hook-secret-2" }))
        .await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (_, answer) = w.fetch(&w.contributor_app, "orders-hook").await;
    assert_eq!(answer["credential"], "hook-secret-2");

    // Deleted in the vault: Verify and the API say so, without a 500.
    w.bao
        .api(Method::DELETE, "secret/data/crm/webhook", None)
        .await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    *hook.status.lock().unwrap() = 204;
    let result = w
        .app
        .rpc(&w.admin, "/rpc/connection_verify", &format!("id={id}"))
        .await;
    assert_eq!(result["ok"], false);
    assert!(
        result["message"].as_str().unwrap().contains("was deleted"),
        "{result}"
    );
    let (status, answer) = w.fetch(&w.contributor_app, "orders-hook").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(answer["error"].as_str().unwrap().contains("was deleted"));

    // Every use is in the audit log with the secret's name, never its value.
    let uses: Vec<(Option<String>, String, String)> = sqlx::query_as(
        "SELECT actor_email, target, detail FROM audit_log WHERE action = 'connection.use'",
    )
    .fetch_all(&w.app.pool)
    .await
    .unwrap();
    assert_eq!(uses.len(), 2);
    assert!(uses.iter().all(|(actor, target, detail)| actor.is_some()
        && target == "orders-hook"
        && detail == "Key Vault secret crm/webhook"));
    let audit: Vec<String> = sqlx::query_scalar("SELECT detail FROM audit_log")
        .fetch_all(&w.app.pool)
        .await
        .unwrap();
    let logs = captured_logs();
    for value in ["hook-secret-1", "hook-secret-2"] {
        assert!(audit.iter().all(|d| !d.contains(value)));
        assert!(!logs.contains(value), "{value} in the log");
    }
}

#[tokio::test]
async fn stored_secrets_stay_out_of_answers_and_unlink_waits_for_the_connections() {
    let w = world().await;
    let (_hook, url) = receiver().await;
    let stored = w
        .app
        .rpc(
            &w.admin,
            "/rpc/connection_save",
            &form(&[
                ("name", "stored-hook"),
                ("url", &url),
                ("secret", "stored-secret-value"),
            ]),
        )
        .await;
    assert_eq!(stored["credentials"], "stored");
    let vault = w
        .app
        .rpc(
            &w.admin,
            "/rpc/connection_save",
            &form(&[
                ("name", "vault-hook"),
                ("url", &url),
                ("use_vault", "true"),
                ("vault_secret", "crm/webhook"),
            ]),
        )
        .await;
    let list = w.app.rpc(&w.admin, "/rpc/connections", "").await;
    let page = w
        .admin
        .get(w.app.url("/admin/security/key-vault"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for text in [list.to_string(), stored.to_string(), page] {
        assert!(!text.contains("stored-secret-value"));
        assert!(!text.contains("hook-secret-1"));
    }
    // Admins only by default: the Contributor application is refused, an Admin one served.
    assert_eq!(
        w.fetch(&w.contributor_app, "stored-hook").await.0,
        StatusCode::FORBIDDEN
    );

    // An edit without a secret keeps the stored one.
    let id = stored["id"].as_i64().unwrap();
    w.app
        .rpc(
            &w.admin,
            "/rpc/connection_save",
            &format!(
                "form[id]={id}&{}",
                form(&[
                    ("name", "stored-hook"),
                    ("url", &url),
                    ("audience", "contributors")
                ])
            ),
        )
        .await;
    let (_, answer) = w.fetch(&w.contributor_app, "stored-hook").await;
    assert_eq!(answer["credential"], "stored-secret-value");
    assert_eq!(answer["source"], "stored");

    // Unlink is refused while a connection takes its secret from the vault, and names it.
    let err = w
        .app
        .rpc_fails(&w.admin, "/rpc/key_vault_unlink", "", StatusCode::CONFLICT)
        .await;
    assert!(err.to_string().contains("vault-hook"), "{err}");
    let overview = w.app.rpc(&w.admin, "/rpc/key_vault", "").await;
    assert_eq!(overview["used_by"], json!(["vault-hook"]));
    w.app
        .rpc(
            &w.admin,
            "/rpc/connection_remove",
            &format!("id={}", vault["id"]),
        )
        .await;
    w.app.rpc(&w.admin, "/rpc/key_vault_unlink", "").await;
    // With no vault, a connection cannot take its secret from one.
    let err = w
        .app
        .rpc_fails(
            &w.admin,
            "/rpc/connection_save",
            &form(&[
                ("name", "late-hook"),
                ("url", &url),
                ("use_vault", "true"),
                ("vault_secret", "crm/webhook"),
            ]),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(err["Invalid"]["field"], "use_vault");
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE action LIKE 'connection.%' OR action LIKE 'vault.%' ORDER BY id",
    )
    .fetch_all(&w.app.pool)
    .await
    .unwrap();
    assert_eq!(
        actions,
        [
            "vault.link",
            "connection.add",
            "connection.add",
            "connection.edit",
            "connection.use",
            "connection.remove",
            "vault.unlink"
        ]
    );
}

#[tokio::test]
async fn bad_connection_values_are_refused_by_field() {
    let w = world().await;
    let (_hook, url) = receiver().await;
    let long = "x".repeat(5000);
    for (pairs, field) in [
        (
            vec![
                ("name", "Orders Hook"),
                ("url", url.as_str()),
                ("secret", "s"),
            ],
            "name",
        ),
        (
            vec![("name", "a"), ("url", "hooks.example.com"), ("secret", "s")],
            "url",
        ),
        (
            vec![
                ("name", "a"),
                ("url", "http://hooks.example.com/x"),
                ("secret", "s"),
            ],
            "url",
        ),
        (
            vec![
                ("name", "a"),
                ("url", url.as_str()),
                ("header_name", "Host"),
                ("secret", "s"),
            ],
            "header_name",
        ),
        // Review item 11: headers that steer or authenticate a request are not the signature's.
        (
            vec![
                ("name", "a"),
                ("url", url.as_str()),
                ("header_name", "Authorization"),
                ("secret", "s"),
            ],
            "header_name",
        ),
        (
            vec![
                ("name", "a"),
                ("url", url.as_str()),
                ("header_name", "cookie"),
                ("secret", "s"),
            ],
            "header_name",
        ),
        (
            vec![
                ("name", "a"),
                ("url", url.as_str()),
                ("header_name", "X-Forwarded-For"),
                ("secret", "s"),
            ],
            "header_name",
        ),
        (vec![("name", "a"), ("url", url.as_str())], "secret"),
        (
            vec![
                ("name", "a"),
                ("url", url.as_str()),
                ("secret", long.as_str()),
            ],
            "secret",
        ),
        (
            vec![
                ("name", "a"),
                ("url", url.as_str()),
                ("use_vault", "true"),
                ("vault_secret", "../sys"),
            ],
            "vault_secret",
        ),
    ] {
        let err = w
            .app
            .rpc_fails(
                &w.admin,
                "/rpc/connection_save",
                &form(&pairs),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        assert_eq!(err["Invalid"]["field"], field, "{pairs:?}: {err}");
    }
    w.app
        .rpc(
            &w.admin,
            "/rpc/connection_save",
            &form(&[("name", "a"), ("url", &url), ("secret", "s")]),
        )
        .await;
    let err = w
        .app
        .rpc_fails(
            &w.admin,
            "/rpc/connection_save",
            &form(&[("name", "a"), ("url", &url), ("secret", "s")]),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(err["Invalid"]["field"], "name");
    w.app
        .rpc_fails(
            &w.admin,
            "/rpc/connection_verify",
            "id=999",
            StatusCode::NOT_FOUND,
        )
        .await;
    w.app
        .rpc_fails(
            &w.admin,
            "/rpc/connection_remove",
            "id=999",
            StatusCode::NOT_FOUND,
        )
        .await;
    let list = w.app.rpc(&w.admin, "/rpc/connections", "").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
}

fn verify_message(result: &Value) -> String {
    result["message"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn smtp_connections_sign_in_for_real_and_say_why_when_they_cannot() {
    let w = world().await;
    // The password lives in the vault under a key of its own: name#key.
    w.bao
        .put_secret(
            "mail/relay",
            json!({ "username": "mailer", "password": "smtp-pass-1" }),
        )
        .await;
    let smtp = SmtpServer::start("mailer", "smtp-pass-1", false).await;
    let port = smtp.port.to_string();
    let saved = w
        .app
        .rpc(
            &w.admin,
            "/rpc/connection_save",
            &form(&[
                ("name", "relay"),
                ("kind", "smtp"),
                ("audience", "contributors"),
                ("host", "127.0.0.1"),
                ("port", &port),
                ("tls", "none"),
                ("username", "mailer"),
                ("use_vault", "true"),
                ("vault_secret", "mail/relay#password"),
            ]),
        )
        .await;
    let id = saved["id"].as_i64().unwrap();
    let verify = |id: i64| {
        let w = &w;
        async move {
            w.app
                .rpc(&w.admin, "/rpc/connection_verify", &format!("id={id}"))
                .await
        }
    };
    let result = verify(id).await;
    assert_eq!(result["ok"], true, "{result}");
    assert!(verify_message(&result).contains("accepted the sign-in"));
    let (status, answer) = w.fetch(&w.contributor_app, "relay").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["type"], "smtp");
    assert_eq!(
        answer["settings"],
        json!({ "host": "127.0.0.1", "port": smtp.port, "tls": "none", "username": "mailer" })
    );
    assert_eq!(answer["credential"], "smtp-pass-1");

    // The password changes in the vault only: the server refuses the old one it still holds.
    w.bao
        .put_secret(
            "mail/relay",
            json!({ "username": "mailer", "password": "rotated-in-vault-only" }),
        )
        .await;
    let result = verify(id).await;
    assert_eq!(result["ok"], false);
    assert!(
        verify_message(&result).contains("refused the username or password (535)"),
        "{result}"
    );

    // STARTTLS demanded from a server that does not offer it; TLS spoken to a plain server.
    for (tls, expected) in [("start_tls", "does not offer"), ("tls", "TLS with")] {
        let stored = w
            .app
            .rpc(
                &w.admin,
                "/rpc/connection_save",
                &form(&[
                    ("name", &format!("relay-{tls}")),
                    ("kind", "smtp"),
                    ("host", "127.0.0.1"),
                    ("port", &port),
                    ("tls", tls),
                    ("username", "mailer"),
                    ("secret", "smtp-pass-1"),
                ]),
            )
            .await;
        let result = verify(stored["id"].as_i64().unwrap()).await;
        assert_eq!(result["ok"], false);
        assert!(
            verify_message(&result).contains(expected),
            "{tls}: {result}"
        );
    }

    // A server whose certificate nobody trusts: Verify refuses before sending the password.
    let untrusted = SmtpServer::start("mailer", "smtp-pass-1", true).await;
    let stored = w
        .app
        .rpc(
            &w.admin,
            "/rpc/connection_save",
            &form(&[
                ("name", "relay-untrusted"),
                ("kind", "smtp"),
                ("host", "127.0.0.1"),
                ("port", &untrusted.port.to_string()),
                ("tls", "start_tls"),
                ("username", "mailer"),
                ("secret", "smtp-pass-1"),
            ]),
        )
        .await;
    let result = verify(stored["id"].as_i64().unwrap()).await;
    assert_eq!(result["ok"], false);
    assert!(verify_message(&result).contains("not trusted"), "{result}");

    // Nothing listens any more.
    drop(smtp);
    let result = verify(id).await;
    assert_eq!(result["ok"], false);
    assert!(verify_message(&result).contains("127.0.0.1"), "{result}");

    // Bad values by field; the password never travels unencrypted to another machine.
    for (pairs, field) in [
        (vec![("host", "smtp.example.com"), ("tls", "none")], "tls"),
        (
            vec![("host", "smtp example.com"), ("tls", "start_tls")],
            "host",
        ),
        (
            vec![("host", "smtp.example.com"), ("port", "70000")],
            "port",
        ),
        (
            vec![("host", "smtp.example.com"), ("username", "")],
            "username",
        ),
    ] {
        let mut all = vec![
            ("name", "bad-relay"),
            ("kind", "smtp"),
            ("username", "mailer"),
            ("secret", "s"),
        ];
        for (k, v) in pairs {
            all.retain(|(key, _)| *key != k);
            all.push((k, v));
        }
        let err = w
            .app
            .rpc_fails(
                &w.admin,
                "/rpc/connection_save",
                &form(&all),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        assert_eq!(err["Invalid"]["field"], field, "{all:?}: {err}");
    }
    // A connection keeps its type.
    let err = w
        .app
        .rpc_fails(
            &w.admin,
            "/rpc/connection_save",
            &format!(
                "form[id]={id}&{}",
                form(&[
                    ("name", "relay"),
                    ("kind", "webhook"),
                    ("url", "https://hooks.example.com")
                ])
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(err["Invalid"]["field"], "kind");
    assert!(!captured_logs().contains("smtp-pass-1"));
}

/// Review item 8: an edit that sends the stored credential somewhere else needs it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_a_stored_credential_elsewhere_needs_it_again() {
    let w = world().await;
    let (_hook, url) = receiver().await;
    let (hook, other_url) = receiver().await;
    let stored = w
        .app
        .rpc(
            &w.admin,
            "/rpc/connection_save",
            &form(&[
                ("name", "moving-hook"),
                ("url", &url),
                ("secret", "the stored secret"),
            ]),
        )
        .await;
    let id = stored["id"].as_i64().unwrap();
    let edit = |pairs: &[(&str, &str)]| format!("form[id]={id}&{}", form(pairs));
    let err = w
        .app
        .rpc_fails(
            &w.admin,
            "/rpc/connection_save",
            &edit(&[("name", "moving-hook"), ("url", &other_url)]),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert!(err.to_string().contains("another destination"), "{err}");
    // Nothing moved: Verify still signs for the first endpoint.
    let list = w.app.rpc(&w.admin, "/rpc/connections", "").await;
    assert!(list.to_string().contains(&url), "{list}");
    // With the credential typed again, it moves.
    w.app
        .rpc(
            &w.admin,
            "/rpc/connection_save",
            &edit(&[
                ("name", "moving-hook"),
                ("url", &other_url),
                ("secret", "the stored secret"),
            ]),
        )
        .await;
    let result = w
        .app
        .rpc(&w.admin, "/rpc/connection_verify", &format!("id={id}"))
        .await;
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(hook.got.lock().unwrap().len(), 1);
}

/// Review item 11: outbound requests never reach link-local or cloud metadata addresses, nor
/// this machine unless the operator allows it; a vault answer over 1 MiB is cut off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_requests_stay_off_metadata_and_loopback_addresses() {
    let (_hook, url) = receiver().await;
    // Loopback refused: a server started without GATEHOUSE_ALLOW_LOOPBACK_TARGETS.
    let app = spawn_app_with(|c| c.allow_loopback_targets = false).await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let saved = app
        .rpc(
            &admin,
            "/rpc/connection_save",
            &form(&[("name", "local-hook"), ("url", &url), ("secret", "s")]),
        )
        .await;
    let result = app
        .rpc(
            &admin,
            "/rpc/connection_verify",
            &format!("id={}", saved["id"]),
        )
        .await;
    assert_eq!(result["ok"], false, "{result}");
    assert!(result.to_string().contains("Gatehouse"), "{result}");
    let localhost = url.replace("127.0.0.1", "localhost");
    let saved = app
        .rpc(
            &admin,
            "/rpc/connection_save",
            &form(&[
                ("name", "named-local-hook"),
                ("url", &localhost),
                ("secret", "s"),
            ]),
        )
        .await;
    let result = app
        .rpc(
            &admin,
            "/rpc/connection_verify",
            &format!("id={}", saved["id"]),
        )
        .await;
    assert_eq!(
        result["ok"], false,
        "a name resolving to loopback: {result}"
    );
    // A vault at a metadata address is refused even where loopback is allowed.
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let check = app
        .rpc(
            &admin,
            "/rpc/key_vault_check",
            "form[backend]=open_bao&form[address]=https%3A%2F%2F169.254.169.254&form[auth]=token&form[credential]=x",
        )
        .await;
    assert!(
        check
            .to_string()
            .contains("Gatehouse does not connect there"),
        "{check}"
    );
    // A vault that answers with more than 1 MiB is cut off with a clear reason.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let huge = Router::new().fallback(|| async { "x".repeat(2 * 1024 * 1024) });
    tokio::spawn(async move { axum::serve(listener, huge).await });
    let body = serde_urlencoded::to_string([
        ("form[backend]", "open_bao"),
        ("form[address]", address.as_str()),
        ("form[auth]", "token"),
        ("form[credential]", "x"),
    ])
    .unwrap();
    let check = app.rpc(&admin, "/rpc/key_vault_check", &body).await;
    assert!(check.to_string().contains("more than 1 MiB"), "{check}");
}

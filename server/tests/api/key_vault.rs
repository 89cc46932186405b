//! The Key Vault link against a real OpenBao dev server: the check's steps, saving only after
//! a passing check, the stored credential, the background status with its banner and audit
//! rows, and unlinking.

use crate::{helpers::*, openbao::OpenBao};
use app::roles::Role;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn vault_form(pairs: &[(&str, &str)]) -> String {
    let pairs: Vec<(String, &str)> = pairs
        .iter()
        .map(|(k, v)| (format!("form[{k}]"), *v))
        .collect();
    serde_urlencoded::to_string(pairs).unwrap()
}

fn token_form(address: &str, token: &str) -> String {
    vault_form(&[
        ("backend", "open_bao"),
        ("address", address),
        ("mount", "secret"),
        ("auth", "token"),
        ("credential", token),
    ])
}

/// Each step's kind and outcome, as the server reported them.
fn outcomes(report: &Value) -> Vec<(String, String)> {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["kind"].as_str().unwrap().to_owned(),
                s["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn outcome_of(report: &Value, kind: &str) -> (String, String) {
    let step = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == kind)
        .unwrap_or_else(|| panic!("no step {kind} in {report}"));
    (
        step["outcome"].as_str().unwrap().to_owned(),
        step["reason"].as_str().unwrap().to_owned(),
    )
}

async fn audit(app: &TestApp, prefix: &str) -> Vec<(String, Option<String>, String)> {
    sqlx::query_as(
        "SELECT action, actor_email, detail FROM audit_log WHERE action LIKE $1 ORDER BY id",
    )
    .bind(format!("{prefix}%"))
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_root_token_passes_with_the_write_warning_and_links_without_showing_the_token() {
    captured_logs();
    let bao = OpenBao::start().await;
    bao.put_secret("crm/smtp", json!({ "value": "smtp-password-1" }))
        .await;
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;

    let body = token_form(&bao.address, &bao.root_token);
    let report = app.rpc(&admin, "/rpc/key_vault_check", &body).await;
    assert_eq!(
        outcomes(&report),
        [
            ("reachable", "pass"),
            ("authenticated", "pass"),
            ("may_list", "pass"),
            ("may_read", "pass"),
            ("cannot_write", "warn"),
        ]
        .map(|(k, o)| (k.to_owned(), o.to_owned()))
    );
    assert!(outcome_of(&report, "cannot_write").1.contains("root"));
    // Checking saves nothing.
    let overview = app.rpc(&admin, "/rpc/key_vault", "").await;
    assert!(overview["link"].is_null());

    let saved = app.rpc(&admin, "/rpc/key_vault_save", &body).await;
    let link = &saved["link"];
    assert_eq!(link["backend"], "open_bao");
    assert_eq!(link["address"], bao.address);
    assert_eq!(link["mount"], "secret");
    assert_eq!(link["healthy"], true);
    assert!(link["last_checked_at"].is_i64());

    // The token is in no answer, no page and no log line; sealed in the database.
    let page = admin
        .get(app.url("/admin/security/key-vault"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for text in [saved.to_string(), report.to_string(), page] {
        assert!(!text.contains(&bao.root_token));
    }
    let stored: Vec<u8> =
        sqlx::query_scalar("SELECT credential_ciphertext FROM key_vault WHERE id = 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(!String::from_utf8_lossy(&stored).contains(&bao.root_token));
    assert!(!captured_logs().contains(&bao.root_token));

    let rows = audit(&app, "vault.").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, "vault.link");
    assert_eq!(rows[0].1.as_deref(), Some(ADMIN_EMAIL));
    assert!(rows[0].2.contains(&bao.address) && !rows[0].2.contains(&bao.root_token));
}

#[tokio::test]
async fn a_read_only_approle_passes_without_the_warning_and_keeps_reading_after_its_token_expires()
{
    let bao = OpenBao::start().await;
    bao.put_secret("crm/api", json!({ "value": "v1" })).await;
    let (role_id, secret_id) = bao.read_only_approle("3s").await;
    // No background check in the way: it logs in afresh each time.
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let body = vault_form(&[
        ("backend", "open_bao"),
        ("address", &bao.address),
        ("mount", "secret"),
        ("auth", "app_role"),
        ("principal_id", &role_id),
        ("credential", &secret_id),
    ]);
    let report = app.rpc(&admin, "/rpc/key_vault_check", &body).await;
    assert!(
        outcomes(&report).iter().all(|(_, o)| o == "pass"),
        "{report}"
    );
    assert!(
        outcome_of(&report, "authenticated")
            .1
            .contains("gatehouse-reader")
    );
    app.rpc(&admin, "/rpc/key_vault_save", &body).await;

    // Reads use the AppRole token the server keeps; it lives three seconds and is renewed
    // (or replaced by a new login) before it runs out, so reading goes on past its life.
    let names = app.rpc(&admin, "/rpc/key_vault_secrets", "").await;
    assert_eq!(names, json!(["crm/api"]));
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let names = app.rpc(&admin, "/rpc/key_vault_secrets", "").await;
        assert_eq!(names, json!(["crm/api"]));
    }
    let overview = app.rpc(&admin, "/rpc/key_vault", "").await;
    assert_eq!(overview["link"]["healthy"], true, "{overview}");
    assert!(audit(&app, "vault.unreachable").await.is_empty());

    // A wrong secret ID fails at sign-in, with the vault's reason.
    let wrong = vault_form(&[
        ("backend", "open_bao"),
        ("address", &bao.address),
        ("auth", "app_role"),
        ("principal_id", &role_id),
        ("credential", "not-the-secret-id"),
    ]);
    let report = app.rpc(&admin, "/rpc/key_vault_check", &wrong).await;
    let (outcome, reason) = outcome_of(&report, "authenticated");
    assert_eq!(outcome, "fail");
    assert!(reason.contains("role ID or secret ID"), "{reason}");
}

#[tokio::test]
async fn failing_checks_say_why_and_save_nothing() {
    let bao = OpenBao::start().await;
    bao.api(
        Method::POST,
        "sys/mounts/kv1",
        Some(json!({ "type": "kv", "options": { "version": "1" } })),
    )
    .await;
    let app = spawn_app_with(|c| c.key_vault_timeout_seconds = 1).await;
    let admin = app.client_as(Some(Role::Admin)).await;

    let wrong_token = token_form(&bao.address, "s.not-a-token");
    let report = app.rpc(&admin, "/rpc/key_vault_check", &wrong_token).await;
    assert_eq!(outcome_of(&report, "reachable").0, "pass");
    let (outcome, reason) = outcome_of(&report, "authenticated");
    assert_eq!(outcome, "fail");
    assert!(reason.contains("refused the token"), "{reason}");
    assert_eq!(outcome_of(&report, "may_list").0, "not_checked");
    let err = app
        .rpc_fails(
            &admin,
            "/rpc/key_vault_save",
            &wrong_token,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert!(err.to_string().contains("did not pass"), "{err}");

    // Nothing listens on a port just freed.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let report = app
        .rpc(&admin, "/rpc/key_vault_check", &token_form(&closed, "x"))
        .await;
    let (outcome, reason) = outcome_of(&report, "reachable");
    assert_eq!(outcome, "fail");
    assert!(reason.contains("Could not connect"), "{reason}");

    // A vault that accepts the connection and never answers runs into the time limit.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = format!("http://{}", silent.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let started = Instant::now();
    let report = app
        .rpc(
            &admin,
            "/rpc/key_vault_check",
            &token_form(&silent_addr, "x"),
        )
        .await;
    hold.abort();
    let (outcome, reason) = outcome_of(&report, "reachable");
    assert_eq!(outcome, "fail");
    assert!(
        reason.contains("did not answer within the time limit"),
        "{reason}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    // A KV version 1 mount is not what Gatehouse reads.
    let kv1 = vault_form(&[
        ("backend", "open_bao"),
        ("address", &bao.address),
        ("mount", "kv1"),
        ("auth", "token"),
        ("credential", &bao.root_token),
    ]);
    let report = app.rpc(&admin, "/rpc/key_vault_check", &kv1).await;
    let (outcome, reason) = outcome_of(&report, "may_list");
    assert_eq!(outcome, "fail");
    assert!(reason.contains("not a KV version 2"), "{reason}");
    let missing = kv1.replace("kv1", "nothing-here");
    let report = app.rpc(&admin, "/rpc/key_vault_check", &missing).await;
    assert_eq!(outcome_of(&report, "may_list").0, "fail");

    // Malformed values: 422 with the field, before anything is sent anywhere.
    for (form, field) in [
        (token_form("vault.example.com", "x"), "address"),
        (token_form("http://vault.example.com", "x"), "address"),
        (token_form("https://u:p@vault.example.com", "x"), "address"),
        (token_form(&bao.address, &"x".repeat(5000)), "credential"),
        (token_form(&bao.address, ""), "credential"),
        (
            vault_form(&[
                ("backend", "open_bao"),
                ("address", &bao.address),
                ("mount", "../sys"),
                ("auth", "token"),
                ("credential", "x"),
            ]),
            "mount",
        ),
        (
            vault_form(&[
                ("backend", "azure"),
                ("address", "https://example.com"),
                ("tenant_id", "contoso.onmicrosoft.com"),
                ("principal_id", "0b1f9a2e-6a5e-4c5b-9a43-1c2d3e4f5a6b"),
                ("credential", "x"),
            ]),
            "address",
        ),
    ] {
        for path in ["/rpc/key_vault_check", "/rpc/key_vault_save"] {
            let err = app
                .rpc_fails(&admin, path, &form, StatusCode::UNPROCESSABLE_ENTITY)
                .await;
            assert_eq!(err["Invalid"]["field"], field, "{path} {form}: {err}");
        }
    }
    // An unknown backend is a malformed request.
    app.rpc_fails(
        &admin,
        "/rpc/key_vault_check",
        "form[backend]=hashicorp&form[address]=x",
        StatusCode::BAD_REQUEST,
    )
    .await;
    let overview = app.rpc(&admin, "/rpc/key_vault", "").await;
    assert!(overview["link"].is_null());
    assert!(audit(&app, "vault.").await.is_empty());
}

#[tokio::test]
async fn the_stored_token_is_only_sent_to_the_vault_it_was_saved_for() {
    let bao = OpenBao::start().await;
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    app.rpc(
        &admin,
        "/rpc/key_vault_save",
        &token_form(&bao.address, &bao.root_token),
    )
    .await;
    // An edit that leaves the token empty keeps the stored one...
    let keep = token_form(&bao.address, "");
    let report = app.rpc(&admin, "/rpc/key_vault_check", &keep).await;
    assert_eq!(outcome_of(&report, "authenticated").0, "pass");
    app.rpc(&admin, "/rpc/key_vault_save", &keep).await;
    // ...but not when the address changes: the token would travel to another host.
    let elsewhere = token_form("http://127.0.0.2:8200", "");
    let err = app
        .rpc_fails(
            &admin,
            "/rpc/key_vault_check",
            &elsewhere,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(err["Invalid"]["field"], "credential");
    let actions: Vec<String> = audit(&app, "vault.")
        .await
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(actions, ["vault.link", "vault.edit"]);

    app.rpc(&admin, "/rpc/key_vault_unlink", "").await;
    let overview = app.rpc(&admin, "/rpc/key_vault", "").await;
    assert!(overview["link"].is_null());
    app.rpc_fails(&admin, "/rpc/key_vault_unlink", "", StatusCode::NOT_FOUND)
        .await;
    assert_eq!(audit(&app, "vault.unlink").await.len(), 1);
}

async fn page(app: &TestApp, admin: &Client, path: &str) -> String {
    admin
        .get(app.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_vault_that_stops_turns_unreachable_with_a_banner_on_every_tab_then_recovers() {
    let mut bao = OpenBao::start().await;
    let app = spawn_app_with(|c| c.key_vault_check_seconds = 1).await;
    let admin = app.client_as(Some(Role::Admin)).await;
    app.rpc(
        &admin,
        "/rpc/key_vault_save",
        &token_form(&bao.address, &bao.root_token),
    )
    .await;
    assert!(
        !page(&app, &admin, "/admin/security/users")
            .await
            .contains("Key Vault unreachable")
    );

    bao.stop();
    wait_for("the status to turn unreachable", async || {
        let o = app.rpc(&admin, "/rpc/key_vault", "").await;
        o["link"]["healthy"] == false
    })
    .await;
    let overview = app.rpc(&admin, "/rpc/key_vault", "").await;
    let link = &overview["link"];
    assert!(link["unreachable_since"].is_i64());
    assert!(
        link["last_error"]
            .as_str()
            .unwrap()
            .contains("Could not connect"),
        "{link}"
    );
    for tab in ["users", "apis", "key-vault", "lockbox"] {
        let html = page(&app, &admin, &format!("/admin/security/{tab}")).await;
        assert!(
            html.contains("Key Vault unreachable since"),
            "no banner on {tab}"
        );
    }
    // Viewers do not see the Security page, nor its banner.
    let viewer = app.client_as(Some(Role::Viewer)).await;
    assert!(
        !page(&app, &viewer, "/admin/security/users")
            .await
            .contains("Key Vault unreachable")
    );

    bao.restart().await;
    wait_for("the status to recover", async || {
        let o = app.rpc(&admin, "/rpc/key_vault", "").await;
        o["link"]["healthy"] == true
    })
    .await;
    assert!(
        !page(&app, &admin, "/admin/security/users")
            .await
            .contains("Key Vault unreachable")
    );
    let actions: Vec<(String, Option<String>)> = audit(&app, "vault.")
        .await
        .into_iter()
        .map(|r| (r.0, r.1))
        .collect();
    assert_eq!(
        actions,
        [
            ("vault.link".to_owned(), Some(ADMIN_EMAIL.to_owned())),
            ("vault.unreachable".to_owned(), None),
            ("vault.recovered".to_owned(), None),
        ]
    );
}

//! The APIs tab's server functions and the key-protected REST API.

use crate::helpers::*;
use app::roles::Role;
use reqwest::{Client, StatusCode};
use serde_json::Value;

const KEY_HEADER: &str = "Ocp-Apim-Subscription-Key";

impl TestApp {
    async fn admin(&self) -> Client {
        self.client_as(Some(Role::Admin)).await
    }

    async fn reveal(&self, admin: &Client, slot: &str) -> String {
        let key = self
            .rpc(
                admin,
                "/rpc/api_reveal",
                &format!("slot={slot}&purpose=show"),
            )
            .await;
        key.as_str().unwrap().to_owned()
    }

    async fn get_environment(&self, key: Option<&str>) -> reqwest::Response {
        let mut req = script_client().get(self.url("/api/v1/environment"));
        if let Some(key) = key {
            req = req.header(KEY_HEADER, key);
        }
        req.send().await.unwrap()
    }

    async fn status_with(&self, key: &str) -> StatusCode {
        self.get_environment(Some(key)).await.status()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_the_first_enable_there_are_no_keys() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let overview = app.rpc(&admin, "/rpc/api_overview", "").await;
    assert_eq!(overview["state"], "NeverEnabled");
    assert_eq!(overview["keys"], serde_json::json!([]));
    let res = app
        .call_server_fn(&admin, "/rpc/api_reveal", "slot=primary&purpose=show")
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enable_creates_two_keys_that_unlock_the_api() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let overview = app.rpc(&admin, "/rpc/api_enable", "").await;
    assert_eq!(overview["state"], "Enabled");
    assert_eq!(overview["keys"].as_array().unwrap().len(), 2);

    let primary = app.reveal(&admin, "primary").await;
    let secondary = app.reveal(&admin, "secondary").await;
    assert_ne!(primary, secondary);
    for key in [&primary, &secondary] {
        assert!(key.starts_with("gatehouse_") && key.len() == 59, "{key}");
        assert!(
            !overview.to_string().contains(&key[10..30]),
            "the overview must not carry keys"
        );
        let res = app.get_environment(Some(key)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let env: Value = res.json().await.unwrap();
        assert_eq!(env["apiStatus"], "enabled");
        assert_eq!(env["name"], "Default environment");
        assert_eq!(env["id"].as_str().unwrap().len(), 32);
        assert!(env["created"].as_str().unwrap().ends_with('Z'));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_malformed_and_wrong_keys_get_401_with_a_json_message() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.rpc(&admin, "/rpc/api_enable", "").await;
    let key = app.reveal(&admin, "primary").await;
    let mut typo = key.clone().into_bytes();
    typo[20] = if typo[20] == b'A' { b'B' } else { b'A' };
    let typo = String::from_utf8(typo).unwrap();
    let unknown = {
        let other = spawn_app().await;
        let admin = other.admin().await;
        other.rpc(&admin, "/rpc/api_enable", "").await;
        other.reveal(&admin, "primary").await
    };
    for (what, presented) in [
        ("missing", None),
        ("malformed", Some("not-a-key")),
        ("typo", Some(typo.as_str())),
        ("another environment's", Some(unknown.as_str())),
    ] {
        let res = app.get_environment(presented).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{what}");
        let body: Value = res.json().await.unwrap();
        assert!(
            body["error"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_blocks_with_403_and_enable_restores_the_same_keys() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.rpc(&admin, "/rpc/api_enable", "").await;
    let primary = app.reveal(&admin, "primary").await;
    let secondary = app.reveal(&admin, "secondary").await;

    let overview = app.rpc(&admin, "/rpc/api_disable", "").await;
    assert_eq!(overview["state"], "Disabled");
    assert_eq!(app.status_with(&primary).await, StatusCode::FORBIDDEN);
    assert_eq!(app.status_with(&secondary).await, StatusCode::FORBIDDEN);

    app.rpc(&admin, "/rpc/api_enable", "").await;
    assert_eq!(app.reveal(&admin, "primary").await, primary);
    assert_eq!(app.status_with(&primary).await, StatusCode::OK);
    assert_eq!(app.status_with(&secondary).await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regenerating_a_slot_retires_only_that_slot() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.rpc(&admin, "/rpc/api_enable", "").await;
    let old_primary = app.reveal(&admin, "primary").await;
    let secondary = app.reveal(&admin, "secondary").await;

    app.rpc(&admin, "/rpc/api_regenerate", "slot=primary&grace=now")
        .await;
    let new_primary = app.reveal(&admin, "primary").await;
    assert_ne!(new_primary, old_primary);
    assert_eq!(
        app.status_with(&old_primary).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.status_with(&new_primary).await, StatusCode::OK);
    assert_eq!(app.status_with(&secondary).await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grace_period_keeps_the_old_key_working_until_it_ends() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.rpc(&admin, "/rpc/api_enable", "").await;
    let old = app.reveal(&admin, "secondary").await;
    let overview = app
        .rpc(
            &admin,
            "/rpc/api_regenerate",
            "slot=secondary&grace=one_hour",
        )
        .await;
    let previous = &overview["keys"][1]["previous"];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let expires = previous["expires_at"]
        .as_i64()
        .expect("the retiring key and its expiry");
    assert!((now + 3590..=now + 3610).contains(&expires), "{previous}");
    assert_eq!(
        app.status_with(&old).await,
        StatusCode::OK,
        "works during the grace period"
    );

    // Let the hour pass, then any reload of the ring (here: a disable and enable) applies it.
    sqlx::query("UPDATE api_keys SET expires_at = unixepoch() - 1 WHERE expires_at IS NOT NULL")
        .execute(&app.pool)
        .await
        .unwrap();
    app.rpc(&admin, "/rpc/api_disable", "").await;
    app.rpc(&admin, "/rpc/api_enable", "").await;
    assert_eq!(app.status_with(&old).await, StatusCode::UNAUTHORIZED);
    let current = app.reveal(&admin, "secondary").await;
    assert_eq!(app.status_with(&current).await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_regenerations_end_with_one_consistent_pair() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.rpc(&admin, "/rpc/api_enable", "").await;
    let bodies: Vec<String> = (0..12)
        .map(|i| {
            format!(
                "slot={}&grace=now",
                if i % 2 == 0 { "primary" } else { "secondary" }
            )
        })
        .collect();
    // All in flight at once, as when two admins click at the same moment.
    let calls = bodies
        .iter()
        .map(|body| app.call_server_fn(&admin, "/rpc/api_regenerate", body));
    for res in futures::future::join_all(calls).await {
        assert_eq!(res.status(), StatusCode::OK);
    }
    let current: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_keys WHERE expires_at IS NULL")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let all: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_keys")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!((current, all), (2, 2));
    let primary = app.reveal(&admin, "primary").await;
    let secondary = app.reveal(&admin, "secondary").await;
    assert_eq!(app.status_with(&primary).await, StatusCode::OK);
    assert_eq!(app.status_with(&secondary).await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_survive_a_restart_and_are_encrypted_at_rest() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("g.db").display());
    let key = {
        let app = spawn_app_with(|c| c.database_url = url.clone()).await;
        let admin = app.admin().await;
        app.rpc(&admin, "/rpc/api_enable", "").await;
        let key = app.reveal(&admin, "primary").await;
        let stored: Vec<(Vec<u8>,)> = sqlx::query_as("SELECT ciphertext FROM api_keys")
            .fetch_all(&app.pool)
            .await
            .unwrap();
        for (ciphertext,) in stored {
            assert!(
                !String::from_utf8_lossy(&ciphertext).contains("gatehouse_"),
                "stored in the clear"
            );
        }
        key
    };
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("gatehouse.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let restarted = spawn_app_with(|c| c.database_url = url.clone()).await;
    assert_eq!(restarted.status_with(&key).await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_master_key_refuses_to_start_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("g.db").display());
    let key_a = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let key_b = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
    drop(
        spawn_app_with(|c| {
            c.database_url = url.clone();
            c.master_key = Some(key_a.to_owned().into());
        })
        .await,
    );
    let mut config = gatehouse::config::Config::defaults();
    config.addr = "127.0.0.1:0".into();
    config.database_url = url.clone();
    config.master_key = Some(key_b.to_owned().into());
    let options = leptos::config::LeptosOptions::builder()
        .output_name("gatehouse")
        .build();
    match gatehouse::Application::build(&config, options).await {
        Err(gatehouse::error::StartupError::Config(m)) => assert!(m.contains("master key"), "{m}"),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a different master key must not start"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_wrong_keys_are_rate_limited_per_address() {
    let app = spawn_app_with(|c| c.api_failures_per_minute = 3).await;
    let admin = app.admin().await;
    app.rpc(&admin, "/rpc/api_enable", "").await;
    let key = app.reveal(&admin, "primary").await;
    assert_eq!(app.status_with(&key).await, StatusCode::OK);
    for _ in 0..3 {
        assert_eq!(
            app.status_with("gatehouse_wrong").await,
            StatusCode::UNAUTHORIZED
        );
    }
    let throttled = script_client()
        .get(app.url("/api/v1/environment"))
        .header("Ocp-Apim-Subscription-Key", "gatehouse_wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.headers()["retry-after"], "5");
    // Once throttled, the address's requests are refused before any key is looked at: a
    // guess that happens to be right is refused too, so guessing gains nothing.
    assert_eq!(
        app.status_with(&key).await,
        StatusCode::TOO_MANY_REQUESTS,
        "no key is checked while the address is throttled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_is_counted_per_key() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.rpc(&admin, "/rpc/api_enable", "").await;
    let key = app.reveal(&admin, "secondary").await;
    for _ in 0..3 {
        assert_eq!(app.status_with(&key).await, StatusCode::OK);
    }
    let overview = app.rpc(&admin, "/rpc/api_overview", "").await;
    assert_eq!(overview["keys"][0]["request_count"], 0);
    assert!(overview["keys"][0]["last_used_at"].is_null());
    assert_eq!(overview["keys"][1]["request_count"], 3);
    assert!(overview["keys"][1]["last_used_at"].as_i64().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_and_reveal_is_audited_without_the_key() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.rpc(&admin, "/rpc/api_enable", "").await;
    let key = app.reveal(&admin, "primary").await;
    app.rpc(&admin, "/rpc/api_reveal", "slot=secondary&purpose=copy")
        .await;
    app.rpc(&admin, "/rpc/api_regenerate", "slot=primary&grace=one_day")
        .await;
    app.rpc(&admin, "/rpc/api_disable", "").await;
    let rows: Vec<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT action, detail, actor_email, client_addr FROM audit_log WHERE action LIKE 'api.%' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let actions: Vec<(&str, &str)> = rows
        .iter()
        .map(|(a, d, _, _)| (a.as_str(), d.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("api.enable", ""),
            ("api.show", "slot=primary"),
            ("api.copy", "slot=secondary"),
            ("api.regenerate", "slot=primary grace=one_day"),
            ("api.disable", ""),
        ]
    );
    for (_, detail, actor, client) in &rows {
        assert_eq!(actor.as_deref(), Some(ADMIN_EMAIL));
        assert_eq!(client.as_deref(), Some("127.0.0.1"));
        assert!(!detail.contains(&key[10..]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_slot_is_a_client_error() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.rpc(&admin, "/rpc/api_enable", "").await;
    for body in ["slot=tertiary&grace=now", "slot=primary&grace=forever", ""] {
        let res = app
            .call_server_fn(&admin, "/rpc/api_regenerate", body)
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_the_environment_endpoint() {
    let app = spawn_app().await;
    let doc: Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/environment"]["get"]["responses"]["401"].is_object());
    let credential = &doc["paths"]["/connections/{name}/credential"]["get"];
    assert!(credential["responses"]["502"].is_object());
    assert_eq!(
        credential["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["type"]
            ["enum"],
        serde_json::json!(["webhook", "smtp"])
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["subscriptionKey"]["name"],
        "Ocp-Apim-Subscription-Key"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_changed_through_one_server_stops_working_on_another_within_two_seconds() {
    let first = spawn_app().await;
    // A second server process on the same database file (and the same key file beside it).
    let second = spawn_app_with(|c| c.database_url = first.database_url.clone()).await;
    let admin = first.admin().await;
    first.rpc(&admin, "/rpc/api_enable", "").await;
    let key = first.reveal(&admin, "primary").await;
    let deadline = |secs| std::time::Instant::now() + std::time::Duration::from_secs(secs);
    // The second server learns of the new keys by itself...
    let until = deadline(2);
    while second.status_with(&key).await != StatusCode::OK {
        assert!(
            std::time::Instant::now() < until,
            "the new key did not reach the second server"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // ...and of a regeneration, which ends the old key there too.
    first
        .rpc(&admin, "/rpc/api_regenerate", "slot=primary&grace=now")
        .await;
    let changed = std::time::Instant::now();
    while second.status_with(&key).await != StatusCode::UNAUTHORIZED {
        assert!(
            changed.elapsed() < std::time::Duration::from_secs(2),
            "the regenerated key still works on the second server"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Disabling through the second server refuses the secondary key on the first.
    let secondary = first.reveal(&admin, "secondary").await;
    assert_eq!(first.status_with(&secondary).await, StatusCode::OK);
    let admin_two = second.admin().await;
    second.rpc(&admin_two, "/rpc/api_disable", "").await;
    let changed = std::time::Instant::now();
    while first.status_with(&secondary).await != StatusCode::FORBIDDEN {
        assert!(
            changed.elapsed() < std::time::Duration::from_secs(2),
            "the disabled API still answers on the first server"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

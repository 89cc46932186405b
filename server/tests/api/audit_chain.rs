//! The tamper-evident audit log: every entry chained by an HMAC under a key derived from the
//! master key. Altering the database file directly (as someone with access to it could) is
//! found by `gatehouse audit verify`, the REST API and the Users tab's Verify, with the entry.

use crate::helpers::*;
use app::{audit::ChainVerdict, roles::Role};
use gatehouse::{config::Config, ops};
use reqwest::StatusCode;
use serde_json::Value;

/// A server with some history: sign-ins, role changes, additions (about 12 entries).
async fn with_history() -> (TestApp, reqwest::Client) {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    for n in 0..5 {
        app.rpc(
            &admin,
            "/rpc/principals_add",
            &format!("kind=group&principal=Chain+group+{n}&role=viewer"),
        )
        .await;
    }
    app.add_user(Role::Viewer).await;
    app.client_as(Some(Role::Viewer)).await;
    (app, admin)
}

fn config_of(app: &TestApp) -> Config {
    app.config()
}

/// The verdict from all three places, which must agree.
async fn verdict(app: &TestApp, admin: &reqwest::Client) -> ChainVerdict {
    let from_tab: ChainVerdict =
        serde_json::from_value(app.rpc(admin, "/rpc/audit_verify", "").await).unwrap();
    let from_cli = ops::verify_audit(&config_of(app), None).await.unwrap();
    assert_eq!(from_tab, from_cli);
    from_cli
}

async fn seqs(app: &TestApp) -> Vec<i64> {
    sqlx::query_scalar("SELECT seq FROM audit_log ORDER BY seq")
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_log_verifies_everywhere() {
    let (app, admin) = with_history().await;
    let ChainVerdict::Intact { entries, head } = verdict(&app, &admin).await else {
        panic!("a clean log is intact");
    };
    assert_eq!(entries as usize, seqs(&app).await.len());
    assert_eq!(head.len(), 64);
    assert!(
        ops::verify_audit(&config_of(&app), None)
            .await
            .unwrap()
            .to_string()
            .starts_with(&format!("audit chain intact: {entries} entries, head "))
    );
    // The REST API answers Admin-role applications only.
    app.rpc(&admin, "/rpc/api_enable", "").await;
    let add = |role: &str| {
        let body = format!("kind=application&principal=Verifier+{role}&role={role}");
        let (app, admin) = (&app, &admin);
        async move { app.rpc(admin, "/rpc/principals_add", &body).await }
    };
    let admin_app = add("admin").await;
    let viewer_app = add("viewer").await;
    let ask = |secret: &Value| {
        let (url, secret) = (
            app.url("/api/v1/audit/verify"),
            secret.as_str().unwrap().to_owned(),
        );
        async move {
            script_client()
                .get(url)
                .bearer_auth(secret)
                .send()
                .await
                .unwrap()
        }
    };
    let res = ask(&admin_app["client_secret"]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["state"], "intact", "{body}");
    assert_eq!(
        ask(&viewer_app["client_secret"]).await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_column_is_found_with_its_entry() {
    for (column, value) in [
        ("detail", "'nothing happened'"),
        ("actor_email", "'someone@else.example'"),
        ("action", "'auth.sign_out'"),
        ("target", "NULL"),
        ("client_addr", "'203.0.113.9'"),
        ("at", "at + 1"),
        ("actor_id", "999"),
        ("mac", "(SELECT m.mac FROM audit_log m WHERE m.seq = 3)"),
    ] {
        let (app, admin) = with_history().await;
        assert!(matches!(
            verdict(&app, &admin).await,
            ChainVerdict::Intact { .. }
        ));
        sqlx::query(&format!(
            "UPDATE audit_log SET {column} = {value} WHERE seq = 4"
        ))
        .execute(&app.pool)
        .await
        .unwrap();
        match verdict(&app, &admin).await {
            ChainVerdict::Broken { entry, .. } => assert_eq!(entry, 4, "{column}"),
            other => panic!("a changed {column} went unnoticed: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_inserting_and_reordering_are_found() {
    // A middle entry deleted.
    let (app, admin) = with_history().await;
    sqlx::query("DELETE FROM audit_log WHERE seq = 5")
        .execute(&app.pool)
        .await
        .unwrap();
    let v = verdict(&app, &admin).await;
    assert!(
        matches!(&v, ChainVerdict::Broken { entry: 5, reason } if reason.contains("missing")),
        "{v:?}"
    );
    assert!(v.to_string().starts_with("audit chain broken at entry 5: "));

    // An entry inserted without the key: as a plain row, or with a made-up place in the chain.
    let (app, admin) = with_history().await;
    sqlx::query(
        "INSERT INTO audit_log (at, actor_email, action, detail) \
         VALUES (unixepoch(), 'x@example.com', 'principal.role', 'viewer -> admin')",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    assert!(matches!(
        verdict(&app, &admin).await,
        ChainVerdict::Broken { .. }
    ));
    let (app, admin) = with_history().await;
    // Room made at place 3 (through negative numbers: sequences are unique at every step).
    for sql in [
        "UPDATE audit_log SET seq = -seq WHERE seq >= 3",
        "UPDATE audit_log SET seq = 1 - seq WHERE seq < 0",
    ] {
        sqlx::query(sql).execute(&app.pool).await.unwrap();
    }
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor_email, action, detail, mac) \
         VALUES (3, unixepoch(), 'x@example.com', 'principal.role', 'viewer -> admin', (SELECT m.mac FROM audit_log m WHERE m.seq = 2))",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let v = verdict(&app, &admin).await;
    assert!(matches!(v, ChainVerdict::Broken { entry: 3, .. }), "{v:?}");

    // Two entries swapped (their places in the chain exchanged).
    let (app, admin) = with_history().await;
    let mut tx = app.pool.begin().await.unwrap();
    for (from, to) in [(6, -6), (7, 6), (-6, 7)] {
        sqlx::query("UPDATE audit_log SET seq = $1 WHERE seq = $2")
            .bind(to)
            .bind(from)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let v = verdict(&app, &admin).await;
    assert!(matches!(v, ChainVerdict::Broken { entry: 6, .. }), "{v:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_keeps_the_rest_verifiable() {
    let (app, admin) = with_history().await;
    let before = seqs(&app).await.len();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.rpc(
        &admin,
        "/rpc/principals_add",
        "kind=group&principal=After+the+cut&role=viewer",
    )
    .await;
    // Retention of zero days: everything before this second goes.
    let pruned = app::audit::ssr::prune(&app.pool, 0).await.unwrap();
    assert!(pruned as usize >= before, "{pruned} of {before}");
    let left = seqs(&app).await;
    assert!(!left.is_empty() && left[0] > 1, "{left:?}");
    let ChainVerdict::Intact { entries, .. } = verdict(&app, &admin).await else {
        panic!("what retention leaves still verifies");
    };
    assert!(entries >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_from_before_the_chain_are_chained_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("gatehouse.db").display());
    let configure = |url: String| move |c: &mut Config| c.database_url = url;
    let first = spawn_app_with(configure(url.clone())).await;
    // Rows as an older version wrote them: no place in the chain.
    for n in 0..3 {
        sqlx::query(
            "INSERT INTO audit_log (at, actor_email, action, target, detail) \
             VALUES (unixepoch(), 'old@example.com', 'principal.add', $1, '')",
        )
        .bind(format!("old-{n}"))
        .execute(&first.pool)
        .await
        .unwrap();
    }
    let admin = first.client_as(Some(Role::Admin)).await;
    assert!(matches!(
        verdict(&first, &admin).await,
        ChainVerdict::Broken { .. }
    ));
    drop((admin, first));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let second = spawn_app_with(configure(url)).await;
    let admin = second.client_as(Some(Role::Admin)).await;
    assert!(matches!(
        verdict(&second, &admin).await,
        ChainVerdict::Intact { .. }
    ));
    let unchained: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE seq IS NULL")
        .fetch_one(&second.pool)
        .await
        .unwrap();
    assert_eq!(unchained, 0);
}

/// Deleting the newest entries leaves a chain that verifies on its own; a checkpoint taken
/// before (as the SIEM received it) finds it, and names the entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncation_after_a_checkpoint_is_found() {
    let (app, admin) = with_history().await;
    let config = config_of(&app);
    let checkpoint = ops::checkpoint(&config).await.unwrap();
    let json = serde_json::to_string(&checkpoint).unwrap();
    // The checkpoint is itself an entry, which streams to the SIEM.
    let recorded: String = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'audit.checkpoint' ORDER BY seq DESC",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(recorded, json);
    app.rpc(
        &admin,
        "/rpc/principals_add",
        "kind=group&principal=After+the+checkpoint&role=viewer",
    )
    .await;
    let intact = ops::verify_audit(&config, Some(&json)).await.unwrap();
    assert!(matches!(intact, ChainVerdict::Intact { .. }), "{intact}");

    // The newest entries deleted, back to before the checkpoint's head.
    sqlx::query("DELETE FROM audit_log WHERE seq >= $1")
        .bind(checkpoint.seq - 1)
        .execute(&app.pool)
        .await
        .unwrap();
    assert!(matches!(
        verdict(&app, &admin).await,
        ChainVerdict::Intact { .. }
    ));
    let found = ops::verify_audit(&config, Some(&json)).await.unwrap();
    assert!(
        matches!(&found, ChainVerdict::Broken { entry, reason } if *entry == checkpoint.seq && reason.contains("deleted from its end")),
        "{found}"
    );
    // A forged checkpoint is refused.
    let mut forged = checkpoint.clone();
    forged.seq += 100;
    let refused = ops::verify_audit(&config, Some(&serde_json::to_string(&forged).unwrap()))
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("not signed"), "{refused}");
}

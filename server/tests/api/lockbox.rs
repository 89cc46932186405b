//! Customer Lockbox: requests filed over the REST API, decided on the tab's server functions,
//! and enforced on the support endpoints and the introspection check, with durations in
//! seconds (the server's configuration) so that whole lifecycles fit in a test.

use crate::helpers::*;
use app::roles::Role;
use reqwest::{Client, StatusCode, header};
use serde_json::{Value, json};
use std::time::Duration;

fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

/// A Lockbox test world: the API enabled, a support application, a second application for a
/// platform service, and an Admin client.
struct World {
    app: TestApp,
    admin: Client,
    support: String,
    support_id: String,
    service: String,
}

async fn world_with(expiry_secs: i64, access_secs: i64) -> World {
    let app = spawn_app_with(|c| {
        c.lockbox_request_expiry_seconds = Some(expiry_secs);
        c.lockbox_access_period_seconds = Some(access_secs);
    })
    .await;
    let admin = app.client_as(Some(Role::Admin)).await;
    app.rpc(&admin, "/rpc/api_enable", "").await;
    let add = |name: &'static str| {
        let body = form(&[
            ("kind", "application"),
            ("principal", name),
            ("role", "viewer"),
        ]);
        let (app, admin) = (&app, &admin);
        async move { app.rpc(admin, "/rpc/principals_add", &body).await }
    };
    let support = add("Support tooling").await;
    let service = add("Billing service").await;
    World {
        support: support["client_secret"].as_str().unwrap().to_owned(),
        support_id: support["principal"]["emailOrId"]
            .as_str()
            .unwrap()
            .to_owned(),
        service: service["client_secret"].as_str().unwrap().to_owned(),
        app,
        admin,
    }
}

async fn world() -> World {
    world_with(3600, 3600).await
}

fn request_body(ticket: &str) -> Value {
    json!({
        "ticket": ticket,
        "justification": "Customer reports missing users after an import.",
        "engineer": { "name": "Sam Support", "email": "sam@support.example" },
        "access": "read"
    })
}

impl World {
    async fn file(&self, body: &Value) -> reqwest::Response {
        Client::new()
            .post(self.app.url("/api/v1/lockbox/requests"))
            .bearer_auth(&self.support)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Files a request that must be accepted; returns its JSON.
    async fn filed(&self, ticket: &str) -> Value {
        let res = self.file(&request_body(ticket)).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let location = location(&res);
        let body: Value = res.json().await.unwrap();
        assert_eq!(location, format!("/api/v1/lockbox/requests/{}", body["id"]));
        body
    }

    async fn support_get(&self, path: &str, request: Option<&str>) -> reqwest::Response {
        let mut req = Client::new()
            .get(self.app.url(path))
            .bearer_auth(&self.support);
        if let Some(id) = request {
            req = req.header("Lockbox-Request", id);
        }
        req.send().await.unwrap()
    }

    async fn check(&self, request: i64) -> Value {
        let res = Client::new()
            .post(self.app.url("/api/v1/lockbox/check"))
            .bearer_auth(&self.service)
            .json(&json!({ "request": request, "application": self.support_id }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    async fn policy(&self, enabled: bool, approvals: u8) {
        let body = form(&[
            ("enabled", if enabled { "true" } else { "false" }),
            ("approvals_required", &approvals.to_string()),
        ]);
        self.app
            .rpc(&self.admin, "/rpc/lockbox_policy", &body)
            .await;
    }

    /// A signed-in Admin who is a Lockbox approver, made so through the Users tab's Edit.
    async fn approver(&self) -> (Client, String) {
        let email = self.app.add_user(Role::Admin).await;
        let id: i64 = sqlx::query_scalar("SELECT id FROM principals WHERE handle = ?")
            .bind(&email)
            .fetch_one(&self.app.pool)
            .await
            .unwrap();
        let body = form(&[
            ("id", &id.to_string()),
            ("role", "admin"),
            ("confirm_self", "false"),
            ("lockbox_approver", "true"),
        ]);
        let edited = self
            .app
            .rpc(&self.admin, "/rpc/principals_change_role", &body)
            .await;
        assert_eq!(edited["lockboxApprover"], true);
        let client = client();
        let res = self.app.post_login(&client, &email, PASSWORD, "").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        (client, email)
    }

    async fn approve(&self, approver: &Client, id: i64, password: &str) -> reqwest::Response {
        self.app
            .call_server_fn(
                approver,
                "/rpc/lockbox_approve",
                &form(&[("id", &id.to_string()), ("password", password)]),
            )
            .await
    }
}

fn id_of(request: &Value) -> i64 {
    request["id"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_policy_off_a_request_is_approved_at_once_by_policy() {
    let w = world().await;
    let filed = w.filed("TICKET-1").await;
    assert_eq!(filed["status"], "approved");
    assert_eq!(filed["byPolicy"], true);
    assert!(filed["accessExpiresAt"].is_string());
    let id = id_of(&filed).to_string();
    let res = w.support_get("/api/v1/support/principals", Some(&id)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page: Value = res.json().await.unwrap();
    assert!(page["total"].as_i64().unwrap() >= 3);
    let audit = w.app.rpc(&w.admin, "/rpc/audit_list", "page=1").await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"lockbox.request"), "{actions:?}");
    assert!(actions.contains(&"lockbox.approve"), "{actions:?}");
    assert!(actions.contains(&"lockbox.access"), "{actions:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_request_opens_customer_data_until_its_access_period_ends() {
    let w = world_with(3600, 2).await;
    w.policy(true, 1).await;
    let filed = w.filed("TICKET-2").await;
    assert_eq!(filed["status"], "pending");
    let id = id_of(&filed);
    let ids = id.to_string();

    // Pending: no customer data, and the check says inactive.
    let res = w
        .support_get("/api/v1/support/principals", Some(&ids))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("waiting for approval")
    );
    assert_eq!(w.check(id).await, json!({ "active": false }));
    let overview = w.app.rpc(&w.admin, "/rpc/security_overview", "").await;
    assert_eq!(overview["lockbox_pending"], 1);

    // An Admin who is not a Lockbox approver is refused with the reason.
    let other_admin = w.app.client_as(Some(Role::Contributor)).await;
    sqlx::query("UPDATE principals SET role = 'admin' WHERE role = 'contributor'")
        .execute(&w.app.pool)
        .await
        .unwrap();
    let refused = w
        .app
        .rpc_fails(
            &other_admin,
            "/rpc/lockbox_approve",
            &form(&[("id", &ids), ("password", PASSWORD)]),
            StatusCode::FORBIDDEN,
        )
        .await;
    assert!(
        refused.to_string().contains("Lockbox approvers"),
        "{refused}"
    );
    let overview = w.app.rpc(&other_admin, "/rpc/lockbox_overview", "").await;
    assert_eq!(overview["can_decide"], false);

    // The approver must give their password again.
    let (approver, _) = w.approver().await;
    assert_eq!(
        w.approve(&approver, id, "not my password").await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let res = w.approve(&approver, id, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    let detail: Value = res.json().await.unwrap();
    assert_eq!(detail["row"]["status"], "approved");

    let res = w
        .support_get("/api/v1/support/principals", Some(&ids))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = w.support_get("/api/v1/support/audit", Some(&ids)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let checked = w.check(id).await;
    assert_eq!(checked["active"], true);
    assert!(checked["exp"].as_i64().unwrap() > 0);

    // The window closes by itself, sweeper or not.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let res = w
        .support_get("/api/v1/support/principals", Some(&ids))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: Value = res.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("expired"));
    assert_eq!(w.check(id).await, json!({ "active": false }));
    let followed: Value = Client::new()
        .get(w.app.url(&format!("/api/v1/lockbox/requests/{id}")))
        .bearer_auth(&w.support)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(followed["status"], "expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_requests_expire_and_cannot_be_decided() {
    let w = world_with(1, 3600).await;
    w.policy(true, 1).await;
    let id = id_of(&w.filed("TICKET-3").await);
    let (approver, _) = w.approver().await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let res = w.approve(&approver, id, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body: Value = res.json().await.unwrap();
    assert!(body.to_string().contains("expired"), "{body}");
    let pending = w
        .app
        .rpc(&w.admin, "/rpc/lockbox_requests", "filter=pending")
        .await;
    assert_eq!(pending, json!([]));
    let recent = w
        .app
        .rpc(&w.admin, "/rpc/lockbox_requests", "filter=recent")
        .await;
    assert_eq!(recent[0]["status"], "expired");

    // The sweeper writes it down within a tick or so (every 5 seconds).
    let mut swept = false;
    for _ in 0..30 {
        let status: String = sqlx::query_scalar("SELECT status FROM lockbox_requests WHERE id = ?")
            .bind(id)
            .fetch_one(&w.app.pool)
            .await
            .unwrap();
        if status == "expired" {
            swept = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(swept, "the sweeper marks the request expired");
    let audit: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'lockbox.expire'")
            .fetch_one(&w.app.pool)
            .await
            .unwrap();
    assert_eq!(audit, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_two_person_rule_needs_two_different_approvers() {
    let w = world().await;
    w.policy(true, 2).await;
    let id = id_of(&w.filed("TICKET-4").await);
    let (first, _) = w.approver().await;
    let (second, _) = w.approver().await;
    let res = w.approve(&first, id, PASSWORD).await;
    let detail: Value = res.json().await.unwrap();
    assert_eq!(detail["row"]["status"], "actionNeeded");
    assert_eq!(detail["row"]["approvals"], 1);
    // The same approver twice does not count twice.
    let again = w.approve(&first, id, PASSWORD).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let ids = id.to_string();
    assert_eq!(
        w.support_get("/api/v1/support/principals", Some(&ids))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let res = w.approve(&second, id, PASSWORD).await;
    let detail: Value = res.json().await.unwrap();
    assert_eq!(detail["row"]["status"], "approved");
    assert_eq!(detail["approved_by"].as_array().unwrap().len(), 2);
    assert_eq!(
        w.support_get("/api/v1/support/principals", Some(&ids))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_approvers_deciding_at_once_one_wins() {
    let w = world().await;
    w.policy(true, 1).await;
    let id = id_of(&w.filed("TICKET-5").await);
    let (first, _) = w.approver().await;
    let (second, _) = w.approver().await;
    let body = format!("id={id}");
    let deny = w.app.call_server_fn(&second, "/rpc/lockbox_deny", &body);
    let approve = w.approve(&first, id, PASSWORD);
    let (deny, approve) = tokio::join!(deny, approve);
    let mut statuses = [deny.status(), approve.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    let history: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM lockbox_events WHERE request_id = ? AND event IN ('Approved', 'Denied')",
    )
    .bind(id)
    .fetch_one(&w.app.pool)
    .await
    .unwrap();
    assert_eq!(history, 1, "exactly one decision is recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_revoked_and_foreign_requests_say_why() {
    let w = world().await;
    w.policy(true, 1).await;
    let (approver, _) = w.approver().await;
    let denied = id_of(&w.filed("TICKET-6").await);
    let res = w
        .app
        .call_server_fn(&approver, "/rpc/lockbox_deny", &format!("id={denied}"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let revoked = id_of(&w.filed("TICKET-7").await);
    assert_eq!(
        w.approve(&approver, revoked, PASSWORD).await.status(),
        StatusCode::OK
    );
    let res = w
        .app
        .call_server_fn(&approver, "/rpc/lockbox_revoke", &format!("id={revoked}"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    for (id, reason) in [
        (denied, "was denied"),
        (revoked, "revoked"),
        (999, "no Lockbox request"),
    ] {
        let res = w
            .support_get("/api/v1/support/audit", Some(&id.to_string()))
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{id}");
        let body: Value = res.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains(reason), "{body}");
    }
    let res = w.support_get("/api/v1/support/audit", None).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = w.support_get("/api/v1/support/audit", Some("abc")).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // Another application's request is not this one's to use or read.
    let live = id_of(&w.filed("TICKET-8").await);
    w.approve(&approver, live, PASSWORD).await;
    let res = Client::new()
        .get(w.app.url("/api/v1/support/principals"))
        .bearer_auth(&w.service)
        .header("Lockbox-Request", live.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("another application")
    );
    let res = Client::new()
        .get(w.app.url(&format!("/api/v1/lockbox/requests/{live}")))
        .bearer_auth(&w.service)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Deciding again is a clear conflict.
    let res = w
        .app
        .call_server_fn(&approver, "/rpc/lockbox_deny", &format!("id={denied}"))
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_errors_and_write_nothing() {
    let w = world().await;
    let long_ticket = "T".repeat(65);
    let long_justification = "j".repeat(2001);
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            json!({ "ticket": "" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "engineer",
        ),
        (
            {
                let mut b = request_body("");
                b["ticket"] = json!("  ");
                b
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            "ticket ID is required",
        ),
        (
            {
                let mut b = request_body("x");
                b["ticket"] = json!(long_ticket);
                b
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            "at most 64",
        ),
        (
            {
                let mut b = request_body("x");
                b["justification"] = json!(long_justification);
                b
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            "at most 2000",
        ),
        (
            {
                let mut b = request_body("x");
                b["engineer"]["email"] = json!("not an email");
                b
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
        ),
        (
            {
                let mut b = request_body("x");
                b["access"] = json!("write");
                b
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            "read access",
        ),
        (
            {
                let mut b = request_body("x");
                b["accessPeriodSeconds"] = json!(999_999);
                b
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            "at most the policy",
        ),
        (
            {
                let mut b = request_body("x");
                b["surprise"] = json!(1);
                b
            },
            StatusCode::BAD_REQUEST,
            "JSON",
        ),
    ];
    for (body, status, says) in cases {
        let res = w.file(&body).await;
        let got = res.status();
        let text = res.text().await.unwrap();
        if got == StatusCode::BAD_REQUEST && status == StatusCode::UNPROCESSABLE_ENTITY {
            // A body missing required fields fails to decode: 400 says so as well.
            assert!(text.contains("JSON"), "{body}: {text}");
            continue;
        }
        assert_eq!(got, status, "{body}: {text}");
        assert!(text.contains(says), "{body}: {text}");
    }
    let res = Client::new()
        .post(w.app.url("/api/v1/lockbox/requests"))
        .bearer_auth(&w.support)
        .header(header::CONTENT_TYPE, "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // No credentials, or a subscription key: refused.
    let res = Client::new()
        .post(w.app.url("/api/v1/lockbox/requests"))
        .json(&request_body("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM lockbox_requests")
        .fetch_one(&w.app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0, "nothing was written");
    // Bad policy values are refused by field.
    for (body, field) in [
        ("enabled=true&approvals_required=3", "approvals_required"),
        (
            "enabled=true&approvals_required=1&request_expiry_secs=5",
            "request_expiry",
        ),
    ] {
        let err = w
            .app
            .rpc_fails(
                &w.admin,
                "/rpc/lockbox_policy",
                body,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        assert!(err.to_string().contains(field), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_window_survives_a_restart_and_still_ends_on_time() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("gatehouse.db").display());
    let configure = |url: String| {
        move |c: &mut gatehouse::config::Config| {
            c.database_url = url;
            // Long enough for a second server to start inside the window on a busy machine.
            c.lockbox_access_period_seconds = Some(5);
        }
    };
    let first = spawn_app_with(configure(url.clone())).await;
    let admin = first.client_as(Some(Role::Admin)).await;
    first.rpc(&admin, "/rpc/api_enable", "").await;
    let support = first
        .rpc(
            &admin,
            "/rpc/principals_add",
            &form(&[
                ("kind", "application"),
                ("principal", "Support"),
                ("role", "viewer"),
            ]),
        )
        .await;
    let secret = support["client_secret"].as_str().unwrap().to_owned();
    let filed: Value = Client::new()
        .post(first.url("/api/v1/lockbox/requests"))
        .bearer_auth(&secret)
        .json(&request_body("TICKET-9"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(filed["status"], "approved");
    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;

    let second = spawn_app_with(configure(url.clone())).await;
    let get = || {
        Client::new()
            .get(second.url("/api/v1/support/principals"))
            .bearer_auth(&secret)
            .header("Lockbox-Request", filed["id"].to_string())
            .send()
    };
    assert_eq!(get().await.unwrap().status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(5100)).await;
    assert_eq!(get().await.unwrap().status(), StatusCode::FORBIDDEN);
}

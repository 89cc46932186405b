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
    support_principal: i64,
    service: String,
    service_principal: i64,
}

async fn world_with(expiry_secs: i64, access_secs: i64) -> World {
    let app = spawn_app_with(|c| {
        c.lockbox_request_expiry_seconds = Some(expiry_secs);
        c.lockbox_access_period_seconds = Some(access_secs);
    })
    .await;
    world_on(app).await
}

/// The Lockbox world on a server started by the caller.
async fn world_on(app: TestApp) -> World {
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
    let w = World {
        support_principal: support["principal"]["id"].as_i64().unwrap(),
        service_principal: service["principal"]["id"].as_i64().unwrap(),
        support: support["client_secret"].as_str().unwrap().to_owned(),
        support_id: support["principal"]["emailOrId"]
            .as_str()
            .unwrap()
            .to_owned(),
        service: service["client_secret"].as_str().unwrap().to_owned(),
        app,
        admin,
    };
    // Support tooling is marked Support application; the billing service guards customer data
    // and asks the introspection check, which answers Admin-role applications.
    let marked = w.mark_support(w.support_principal, "viewer", true).await;
    assert_eq!(marked["supportApplication"], true);
    w.mark_support(w.service_principal, "admin", false).await;
    w
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
    async fn id_of(&self, handle: &str) -> i64 {
        sqlx::query_scalar("SELECT id FROM principals WHERE handle = $1")
            .bind(handle)
            .fetch_one(&self.app.pool)
            .await
            .unwrap()
    }

    /// The Edit pane refuses to turn `flag` on for principal `id` (as an Admin); the error.
    async fn edit_refused(&self, id: i64, flag: &str) -> Value {
        let body = form(&[
            ("id", &id.to_string()),
            ("role", "admin"),
            ("confirm_self", "false"),
            (flag, "true"),
        ]);
        self.app
            .rpc_fails(
                &self.admin,
                "/rpc/principals_change_role",
                &body,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
    }

    /// An application's role and Support application flag, set on the Users tab's Edit.
    async fn mark_support(&self, id: i64, role: &str, support: bool) -> Value {
        let body = form(&[
            ("id", &id.to_string()),
            ("role", role),
            ("confirm_self", "false"),
            (
                "support_application",
                if support { "true" } else { "false" },
            ),
        ]);
        self.app
            .rpc(&self.admin, "/rpc/principals_change_role", &body)
            .await
    }

    async fn file(&self, body: &Value) -> reqwest::Response {
        script_client()
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
        let mut req = script_client()
            .get(self.app.url(path))
            .bearer_auth(&self.support);
        if let Some(id) = request {
            req = req.header("Lockbox-Request", id);
        }
        req.send().await.unwrap()
    }

    async fn check(&self, request: i64) -> Value {
        let res = script_client()
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
        let (client, email, id) = self.user_who_chose_a_password(Role::Admin).await;
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
        (client, email)
    }

    /// A user with `role` who signed in and chose their own password (on the account page),
    /// as a Lockbox approver must have.
    async fn user_who_chose_a_password(&self, role: Role) -> (Client, String, i64) {
        let email = self.app.add_user(role).await;
        let client = client();
        let res = self.app.post_login(&client, &email, PASSWORD, "").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let body = form(&[
            ("current", PASSWORD),
            ("password", PASSWORD),
            ("confirm", PASSWORD),
        ]);
        self.app.rpc(&client, "/rpc/account_password", &body).await;
        let id: i64 = sqlx::query_scalar("SELECT id FROM principals WHERE handle = $1")
            .bind(&email)
            .fetch_one(&self.app.pool)
            .await
            .unwrap();
        (client, email, id)
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
    let followed: Value = script_client()
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
        let status: String =
            sqlx::query_scalar("SELECT status FROM lockbox_requests WHERE id = $1")
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
    // Approvers first: under the two-person rule a new approver waits for a second one.
    let (first, _) = w.approver().await;
    let (second, _) = w.approver().await;
    w.policy(true, 2).await;
    let id = id_of(&w.filed("TICKET-4").await);
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
        "SELECT count(*) FROM lockbox_events WHERE request_id = $1 AND event IN ('Approved', 'Denied')",
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

    // Another application's request is not this one's to use or read, even when that one is
    // a support application too.
    let live = id_of(&w.filed("TICKET-8").await);
    w.approve(&approver, live, PASSWORD).await;
    w.mark_support(w.service_principal, "admin", true).await;
    let res = script_client()
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
    let res = script_client()
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
    let res = script_client()
        .post(w.app.url("/api/v1/lockbox/requests"))
        .bearer_auth(&w.support)
        .header(header::CONTENT_TYPE, "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // No credentials, or a subscription key: refused.
    let res = script_client()
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
    let mark = form(&[
        ("id", &support["principal"]["id"].to_string()),
        ("role", "viewer"),
        ("confirm_self", "false"),
        ("support_application", "true"),
    ]);
    first
        .rpc(&admin, "/rpc/principals_change_role", &mark)
        .await;
    let filed: Value = script_client()
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
        script_client()
            .get(second.url("/api/v1/support/principals"))
            .bearer_auth(&secret)
            .header("Lockbox-Request", filed["id"].to_string())
            .send()
    };
    assert_eq!(get().await.unwrap().status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(5100)).await;
    assert_eq!(get().await.unwrap().status(), StatusCode::FORBIDDEN);
}

/// The actions of the audit log, newest first, with their client addresses.
async fn audit_rows(app: &TestApp) -> Vec<(String, Option<String>, Option<String>)> {
    sqlx::query_as("SELECT action, target, client_addr FROM audit_log ORDER BY id DESC")
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

/// Review item 1: only applications marked Support application file requests and read
/// customer data, whatever their role; the flag is shown and audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_support_applications_file_requests_and_read_customer_data() {
    let w = world().await;
    // Policy off (the default): the support application's request is approved by policy.
    let filed = w.filed("TICKET-S1").await;
    let id = id_of(&filed).to_string();
    // The billing service (an Admin-role application, not a support one) may not file, nor
    // read customer data with the support application's request.
    let res = script_client()
        .post(w.app.url("/api/v1/lockbox/requests"))
        .bearer_auth(&w.service)
        .json(&request_body("TICKET-S2"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("Support application"),
        "{body}"
    );
    for path in ["/api/v1/support/principals", "/api/v1/support/audit"] {
        let res = script_client()
            .get(w.app.url(path))
            .bearer_auth(&w.service)
            .header("Lockbox-Request", &id)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    }
    // Unmarked, the support application loses the support endpoints at once.
    w.mark_support(w.support_principal, "viewer", false).await;
    let res = w.support_get("/api/v1/support/principals", Some(&id)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        w.file(&request_body("TICKET-S3")).await.status(),
        StatusCode::FORBIDDEN
    );
    w.mark_support(w.support_principal, "viewer", true).await;
    assert_eq!(
        w.support_get("/api/v1/support/principals", Some(&id))
            .await
            .status(),
        StatusCode::OK
    );
    // The list shows the flag; the audit log has both changes.
    let page = w
        .app
        .rpc(&w.admin, "/rpc/principals_list", "query[q]=Support+tooling")
        .await;
    assert_eq!(page["principals"][0]["supportApplication"], true, "{page}");
    let flags = audit_rows(&w.app)
        .await
        .into_iter()
        .filter(|(a, _, _)| a == "principal.support_application")
        .count();
    assert_eq!(flags, 3);
    // Users cannot be support applications.
    let me = w.id_of(ADMIN_EMAIL).await;
    w.edit_refused(me, "support_application").await;
}

/// Review item 1: turning the policy on ends the access the policy approved while it was off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turning_the_policy_on_ends_access_approved_by_policy() {
    let w = world().await;
    let id = id_of(&w.filed("TICKET-P1").await);
    let ids = id.to_string();
    assert_eq!(
        w.support_get("/api/v1/support/audit", Some(&ids))
            .await
            .status(),
        StatusCode::OK
    );
    w.policy(true, 1).await;
    let res = w.support_get("/api/v1/support/audit", Some(&ids)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("revoked"),
        "{body}"
    );
    let detail = w
        .app
        .rpc(&w.admin, "/rpc/lockbox_request", &format!("id={id}"))
        .await;
    let history = detail["history"].as_array().unwrap();
    assert!(
        history.iter().any(|e| e["event"] == "Access revoked"
            && e["detail"].as_str().unwrap().contains("turned on")),
        "{detail}"
    );
    assert!(
        audit_rows(&w.app)
            .await
            .iter()
            .any(|(a, t, _)| a == "lockbox.revoke"
                && t.as_deref().unwrap_or("").contains("TICKET-P1"))
    );
}

/// Review item 1: the introspection check answers Admin-role applications and the filing
/// application; anyone else is refused before the request is looked at.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lockbox_check_cannot_be_probed_by_other_applications() {
    let w = world().await;
    let id = id_of(&w.filed("TICKET-C1").await);
    let other = w
        .app
        .rpc(
            &w.admin,
            "/rpc/principals_add",
            &form(&[
                ("kind", "application"),
                ("principal", "Curious service"),
                ("role", "contributor"),
            ]),
        )
        .await;
    let other = other["client_secret"].as_str().unwrap().to_owned();
    let ask = |secret: String, request: i64| {
        let (url, app_id) = (w.app.url("/api/v1/lockbox/check"), w.support_id.clone());
        async move {
            script_client()
                .post(url)
                .bearer_auth(secret)
                .json(&json!({ "request": request, "application": app_id }))
                .send()
                .await
                .unwrap()
        }
    };
    for request in [id, 999] {
        let res = ask(other.clone(), request).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "request {request}");
        let body: Value = res.json().await.unwrap();
        assert!(!body.to_string().contains("TICKET"), "{body}");
    }
    // The filing application may ask about its own request; the Admin-role service may ask.
    let own: Value = ask(w.support.clone(), id).await.json().await.unwrap();
    assert_eq!(own["active"], true);
    assert_eq!(w.check(id).await["ticket"], "TICKET-C1");
}

/// Review item 12: the Lockbox REST API's audit rows carry the client address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockbox_rest_audit_rows_carry_the_client_address() {
    let w = world().await;
    let id = id_of(&w.filed("TICKET-A1").await).to_string();
    w.support_get("/api/v1/support/audit", Some(&id)).await;
    let rows = audit_rows(&w.app).await;
    for action in ["lockbox.request", "lockbox.approve", "lockbox.access"] {
        let row = rows.iter().find(|(a, _, _)| a == action).unwrap();
        assert_eq!(row.2.as_deref(), Some("127.0.0.1"), "{action}");
    }
}

/// Review item 4: under the two-person rule one Admin cannot act as two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weakening_the_two_person_rule_waits_for_a_second_approver() {
    let w = world().await;
    // The bootstrap Admin (`w.admin`) is a Lockbox approver; a second one is made first.
    let (second, _) = w.approver().await;
    let (candidate, candidate_email, candidate_id) = w.user_who_chose_a_password(Role::Admin).await;
    drop(candidate);
    w.policy(true, 2).await;

    // Turning the policy off waits; the policy stays on.
    let saved = w
        .app
        .rpc(
            &w.admin,
            "/rpc/lockbox_policy",
            &form(&[("enabled", "false"), ("approvals_required", "2")]),
        )
        .await;
    assert_eq!(saved["waiting"], true);
    assert_eq!(saved["policy"]["enabled"], true);
    // Lowering approvals to 1 waits too, and so does granting Lockbox approver.
    w.app
        .rpc(
            &w.admin,
            "/rpc/lockbox_policy",
            &form(&[("enabled", "true"), ("approvals_required", "1")]),
        )
        .await;
    let granted = w
        .app
        .rpc(
            &w.admin,
            "/rpc/principals_change_role",
            &form(&[
                ("id", &candidate_id.to_string()),
                ("role", "admin"),
                ("confirm_self", "false"),
                ("lockbox_approver", "true"),
            ]),
        )
        .await;
    assert_eq!(granted["lockboxApprover"], false);
    assert_eq!(granted["approverWaiting"], true);
    // Resetting an approver's password waits: no link, and the password still works.
    let second_id: i64 = sqlx::query_scalar(
        "SELECT id FROM principals WHERE lockbox_approver = TRUE AND handle <> $1 ORDER BY id DESC",
    )
    .bind(ADMIN_EMAIL)
    .fetch_one(&w.app.pool)
    .await
    .unwrap();
    let reset = w
        .app
        .rpc(
            &w.admin,
            "/rpc/user_reset_password",
            &format!("id={second_id}"),
        )
        .await;
    assert_eq!(reset, Value::Null);
    let overview = w.app.rpc(&second, "/rpc/lockbox_overview", "").await;
    assert_eq!(overview["policy"]["enabled"], true);
    assert_eq!(overview["policy"]["approvals_required"], 2);
    let changes = overview["pending_changes"].as_array().unwrap().clone();
    assert_eq!(changes.len(), 4, "{changes:?}");
    assert!(changes.iter().all(|c| c["mine"] == false));

    // The proposer cannot confirm their own change.
    let id_of_change = |n: usize| changes[n]["id"].as_i64().unwrap().to_string();
    let confirm = |client: &Client, id: String, password: &str| {
        let body = form(&[("id", &id), ("password", password)]);
        let (app, client) = (&w.app, client.clone());
        async move {
            app.call_server_fn(&client, "/rpc/lockbox_change_confirm", &body)
                .await
        }
    };
    let own = confirm(&w.admin, id_of_change(0), ADMIN_PASSWORD).await;
    assert_eq!(own.status(), StatusCode::FORBIDDEN);
    // A second approver confirms with their password (a wrong one is refused).
    let wrong = confirm(&second, id_of_change(2), "not my password").await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let ok = confirm(&second, id_of_change(2), PASSWORD).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let app::db::Flag(approver) =
        sqlx::query_scalar("SELECT lockbox_approver FROM principals WHERE id = $1")
            .bind(candidate_id)
            .fetch_one(&w.app.pool)
            .await
            .unwrap();
    assert!(approver, "{candidate_email} is an approver once confirmed");
    // Confirmed twice: a conflict. Cancelled: nothing applies.
    assert_eq!(
        confirm(&second, id_of_change(2), PASSWORD).await.status(),
        StatusCode::CONFLICT
    );
    w.app
        .rpc(
            &second,
            "/rpc/lockbox_change_cancel",
            &format!("id={}", id_of_change(1)),
        )
        .await;
    // Turning the policy off, confirmed by the second approver, applies.
    let ok = confirm(&second, id_of_change(0), PASSWORD).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let policy = w.app.rpc(&w.admin, "/rpc/lockbox_overview", "").await;
    assert_eq!(policy["policy"]["enabled"], false);
    assert_eq!(policy["policy"]["approvals_required"], 2);
    // The password reset, confirmed, answers with the link to the confirming approver.
    let link = confirm(&second, id_of_change(3), PASSWORD).await;
    assert_eq!(link.status(), StatusCode::OK);
    let link: Value = link.json().await.unwrap();
    assert!(
        link.as_str().unwrap().starts_with("/invitation?token="),
        "{link}"
    );
    let actions: Vec<String> = audit_rows(&w.app).await.into_iter().map(|r| r.0).collect();
    for action in [
        "lockbox.change_proposed",
        "lockbox.change_confirmed",
        "lockbox.change_cancelled",
        "principal.lockbox_approver",
        "user.password_reset",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

/// Review item 4: Lockbox approver only for a user who signed in with a password they chose.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_users_who_chose_their_password_become_approvers() {
    let w = world().await;
    let invited = w
        .app
        .rpc(
            &w.admin,
            "/rpc/principals_add",
            &form(&[
                ("kind", "user"),
                ("principal", "newcomer@gatehouse.test"),
                ("role", "admin"),
            ]),
        )
        .await;
    let id = invited["principal"]["id"].as_i64().unwrap();
    let refused = w.edit_refused(id, "lockbox_approver").await;
    assert!(
        refused.to_string().contains("chose themselves"),
        "{refused}"
    );
    // A user whose password an Admin set (created with one) is refused too.
    let set_by_admin = w.app.add_user(Role::Admin).await;
    let set_id = w.id_of(&set_by_admin).await;
    w.edit_refused(set_id, "lockbox_approver").await;
    // Once they change it themselves, they can be one.
    w.approver().await;
}

/// Review item 6: a re-entered password is throttled like sign-in (10 a minute by default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_entered_passwords_are_throttled_like_sign_in() {
    let app = spawn_app_with(|c| c.login_attempts_per_minute = 10).await;
    let w = world_on(app).await;
    w.policy(true, 1).await;
    let id = id_of(&w.filed("TICKET-T1").await);
    let mut statuses = Vec::new();
    for _ in 0..25 {
        statuses.push(w.approve(&w.admin, id, "a wrong password").await.status());
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // The right password is refused as well while the account is over its limit.
    assert_eq!(
        w.approve(&w.admin, id, ADMIN_PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // The account page's current password counts the same way (a fresh server: this
    // client's address is over its limit on the first).
    let app = spawn_app_with(|c| c.login_attempts_per_minute = 10).await;
    let viewer = app.client_as(Some(Role::Viewer)).await;
    let body = form(&[
        ("current", "wrong"),
        ("password", "long enough password"),
        ("confirm", "long enough password"),
    ]);
    let mut statuses = Vec::new();
    for _ in 0..25 {
        statuses.push(
            app.call_server_fn(&viewer, "/rpc/account_password", &body)
                .await
                .status(),
        );
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revoke_or_an_expiry_ends_access_on_every_server_within_a_second() {
    let pg = Postgres::new().await;
    let on = |url: String| {
        spawn_app_with(move |c| {
            c.database_url = url;
            c.lockbox_request_expiry_seconds = Some(3600);
            c.lockbox_access_period_seconds = Some(2);
        })
    };
    let a = on(pg.url.clone()).await;
    let b = on(pg.url.clone()).await;
    let w = world_on(a).await;
    w.policy(true, 1).await;
    let (approver, _) = w.approver().await;
    // The support tool reads customer data through B.
    let through_b = |id: i64| {
        let request = script_client()
            .get(b.url("/api/v1/support/principals"))
            .bearer_auth(&w.support)
            .header("Lockbox-Request", id.to_string());
        async move { request.send().await.unwrap().status() }
    };

    let revoked = id_of(&w.filed("TICKET-R").await);
    assert_eq!(
        w.approve(&approver, revoked, PASSWORD).await.status(),
        StatusCode::OK
    );
    assert_eq!(through_b(revoked).await, StatusCode::OK);
    let res = w
        .app
        .call_server_fn(&approver, "/rpc/lockbox_revoke", &format!("id={revoked}"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    within(Duration::from_secs(1), "the revoke on B", async || {
        through_b(revoked).await == StatusCode::FORBIDDEN
    })
    .await;

    // Approved through A for two seconds: B stops serving within a second of the end.
    let expiring = id_of(&w.filed("TICKET-E").await);
    assert_eq!(
        w.approve(&approver, expiring, PASSWORD).await.status(),
        StatusCode::OK
    );
    let approved_at = std::time::Instant::now();
    assert_eq!(through_b(expiring).await, StatusCode::OK);
    tokio::time::sleep(Duration::from_secs(2).saturating_sub(approved_at.elapsed())).await;
    within(Duration::from_secs(1), "the expiry on B", async || {
        through_b(expiring).await == StatusCode::FORBIDDEN
    })
    .await;
}

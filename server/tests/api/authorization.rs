//! The authorization matrix: every server function and protected page, called as anonymous,
//! Viewer, Contributor and Admin.

use crate::helpers::*;
use app::roles::Role;
use reqwest::StatusCode;

/// Who may call a server function.
#[derive(Clone, Copy, Debug)]
enum Access {
    Public,
    AtLeast(Role),
    /// Callers with at least the role reach the function, which then answers with the status
    /// (a body it refuses, or a state the matrix does not set up): the guard ran first.
    Reaches(Role, u16),
    /// Anyone; a token in the body is the credential. The matrix sends a wrong one: every
    /// caller gets the same 422, whatever their role.
    Token,
}

/// Every server function, with who may call it and a valid request body. The matrix reads the
/// functions from Leptos's registry, so one missing here fails the test instead of going untested.
const SERVER_FUNCTIONS: &[(&str, Access, &str)] = &[
    ("/rpc/current_user", Access::Public, ""),
    ("/rpc/security_overview", Access::AtLeast(Role::Admin), ""),
    // In this order the Admin's calls succeed: keys exist before they are regenerated.
    ("/rpc/api_overview", Access::AtLeast(Role::Admin), ""),
    ("/rpc/api_enable", Access::AtLeast(Role::Admin), ""),
    (
        "/rpc/api_regenerate",
        Access::AtLeast(Role::Admin),
        "slot=primary&grace=now",
    ),
    (
        "/rpc/api_reveal",
        Access::AtLeast(Role::Admin),
        "slot=secondary&purpose=show",
    ),
    ("/rpc/api_disable", Access::AtLeast(Role::Admin), ""),
    // The fixtures (`add_fixtures`): group 100, application 101, invited user 102.
    (
        "/rpc/principals_list",
        Access::AtLeast(Role::Admin),
        "query[q]=a&query[sort]=role&query[descending]=true",
    ),
    (
        "/rpc/principals_add",
        Access::AtLeast(Role::Admin),
        "kind=group&principal=Matrix+group&role=viewer",
    ),
    (
        "/rpc/principals_change_role",
        Access::AtLeast(Role::Admin),
        "id=101&role=contributor&confirm_self=false&support_application=true",
    ),
    (
        "/rpc/group_members",
        Access::AtLeast(Role::Admin),
        "group_id=100",
    ),
    (
        "/rpc/group_member_add",
        Access::AtLeast(Role::Admin),
        "group_id=100&email=admin%40gatehouse.test",
    ),
    (
        "/rpc/group_member_remove",
        Access::AtLeast(Role::Admin),
        "group_id=100&user_id=1",
    ),
    (
        "/rpc/application_secret",
        Access::AtLeast(Role::Admin),
        "id=101",
    ),
    ("/rpc/user_invite", Access::AtLeast(Role::Admin), "id=102"),
    // The invited user 102 has no password to reset yet (422); ending sessions is for users
    // who signed in, so it is refused for them too.
    (
        "/rpc/user_reset_password",
        Access::Reaches(Role::Admin, 422),
        "id=102",
    ),
    (
        "/rpc/user_end_sessions",
        Access::Reaches(Role::Admin, 422),
        "id=102",
    ),
    (
        "/rpc/principals_remove",
        Access::AtLeast(Role::Admin),
        "id=102",
    ),
    ("/rpc/audit_list", Access::AtLeast(Role::Admin), "page=1"),
    ("/rpc/audit_verify", Access::AtLeast(Role::Admin), ""),
    ("/rpc/audit_streaming", Access::AtLeast(Role::Admin), ""),
    (
        "/rpc/audit_stream_webhooks",
        Access::AtLeast(Role::Admin),
        "",
    ),
    // Stopping a webhook stream that was never chosen changes nothing.
    (
        "/rpc/audit_stream_webhook",
        Access::AtLeast(Role::Admin),
        "connection=",
    ),
    ("/rpc/provisioning_status", Access::AtLeast(Role::Admin), ""),
    // Single sign-on (Users tab): nothing is set up, so the writes meet their rules.
    ("/rpc/sso_settings", Access::AtLeast(Role::Admin), ""),
    (
        "/rpc/sso_check",
        Access::AtLeast(Role::Admin),
        "issuer=http%3A%2F%2F127.0.0.1%3A9",
    ),
    (
        "/rpc/sso_save",
        Access::Reaches(Role::Admin, 422),
        "issuer=ftp%3A%2F%2Fx&client_id=a&client_secret=b&vault_secret=&name=",
    ),
    ("/rpc/sso_remove", Access::AtLeast(Role::Admin), ""),
    (
        "/rpc/sso_require",
        Access::Reaches(Role::Admin, 422),
        "on=true",
    ),
    (
        "/rpc/sso_break_glass",
        Access::Reaches(Role::Admin, 422),
        "email=nobody%40nowhere.test&on=true",
    ),
    // Portal embedding (APIs tab): in this order the Admin's calls succeed.
    ("/rpc/embed_settings", Access::AtLeast(Role::Admin), ""),
    (
        "/rpc/embed_origin_add",
        Access::AtLeast(Role::Admin),
        "origin=https%3A%2F%2Fportal.example.com",
    ),
    (
        "/rpc/embed_origin_secret_reveal",
        Access::AtLeast(Role::Admin),
        "origin=https%3A%2F%2Fportal.example.com&purpose=show",
    ),
    (
        "/rpc/embed_origin_secret_regenerate",
        Access::AtLeast(Role::Admin),
        "origin=https%3A%2F%2Fportal.example.com",
    ),
    (
        "/rpc/embed_secret_reveal",
        Access::AtLeast(Role::Admin),
        "purpose=show",
    ),
    (
        "/rpc/embed_secret_regenerate",
        Access::AtLeast(Role::Admin),
        "",
    ),
    (
        "/rpc/embed_origin_remove",
        Access::AtLeast(Role::Admin),
        "origin=https%3A%2F%2Fportal.example.com",
    ),
    ("/rpc/provisioning_token", Access::AtLeast(Role::Admin), ""),
    (
        "/rpc/provisioning_disable",
        Access::AtLeast(Role::Admin),
        "",
    ),
    // The fixture Lockbox requests are 200 and 201. Deciding also needs the Lockbox approver
    // flag, which the bootstrap Admin has (a non-approver Admin's 403 is in the Lockbox tests);
    // in this order the Admin's calls succeed.
    ("/rpc/lockbox_overview", Access::AtLeast(Role::Admin), ""),
    (
        "/rpc/lockbox_requests",
        Access::AtLeast(Role::Admin),
        "filter=recent",
    ),
    (
        "/rpc/lockbox_request",
        Access::AtLeast(Role::Admin),
        "id=200",
    ),
    (
        "/rpc/lockbox_policy",
        Access::AtLeast(Role::Admin),
        "enabled=true&approvals_required=1",
    ),
    (
        "/rpc/lockbox_approve",
        Access::AtLeast(Role::Admin),
        "id=200&password=correct+horse+battery+staple",
    ),
    (
        "/rpc/lockbox_revoke",
        Access::AtLeast(Role::Admin),
        "id=200",
    ),
    ("/rpc/lockbox_deny", Access::AtLeast(Role::Admin), "id=201"),
    // No change waits under the two-person rule: the guard ran, then 404.
    (
        "/rpc/lockbox_change_confirm",
        Access::Reaches(Role::Admin, 404),
        "id=999&password=correct+horse+battery+staple",
    ),
    (
        "/rpc/lockbox_change_cancel",
        Access::Reaches(Role::Admin, 404),
        "id=999",
    ),
    // Key Vault: the check reports on an address where nothing listens; saving what fails the
    // check is a 422; with no vault linked, listing is a 409 and unlinking a 404.
    ("/rpc/key_vault", Access::AtLeast(Role::Admin), ""),
    (
        "/rpc/key_vault_check",
        Access::AtLeast(Role::Admin),
        "form[backend]=open_bao&form[address]=http%3A%2F%2F127.0.0.1%3A9&form[auth]=token&form[credential]=x",
    ),
    (
        "/rpc/key_vault_save",
        Access::Reaches(Role::Admin, 422),
        "form[backend]=open_bao&form[address]=http%3A%2F%2F127.0.0.1%3A9&form[auth]=token&form[credential]=x",
    ),
    ("/rpc/key_vault_recheck", Access::AtLeast(Role::Admin), ""),
    (
        "/rpc/key_vault_secrets",
        Access::Reaches(Role::Admin, 409),
        "",
    ),
    (
        "/rpc/key_vault_unlink",
        Access::Reaches(Role::Admin, 404),
        "",
    ),
    // Connections: the matrix adds one (id 1) whose endpoint does not listen; Verify reports
    // that in a 200.
    ("/rpc/connections", Access::AtLeast(Role::Admin), ""),
    (
        "/rpc/connection_save",
        Access::AtLeast(Role::Admin),
        "form[name]=matrix-hook&form[url]=http%3A%2F%2F127.0.0.1%3A9%2Fhook&form[secret]=s",
    ),
    (
        "/rpc/connection_verify",
        Access::AtLeast(Role::Admin),
        "id=1",
    ),
    (
        "/rpc/connection_remove",
        Access::AtLeast(Role::Admin),
        "id=1",
    ),
    ("/rpc/invitation_check", Access::Token, "token=wrong"),
    (
        "/rpc/invitation_accept",
        Access::Token,
        "token=wrong&name=Eve&password=long+enough+password&confirm=long+enough+password",
    ),
    // Every signed-in user's own account: a wrong current password is a 422.
    (
        "/rpc/account_password",
        Access::Reaches(Role::Viewer, 422),
        "current=wrong&password=long+enough+password&confirm=long+enough+password",
    ),
    // Last: it ends the caller's sessions.
    (
        "/rpc/account_sign_out_everywhere",
        Access::AtLeast(Role::Viewer),
        "",
    ),
];

/// A group, an application and an invited user with known ids, for the matrix's bodies.
async fn add_fixtures(app: &TestApp) {
    for (id, kind, name, handle, password) in [
        (100, "group", "Fixture group", "fixture-group-id", None),
        (101, "application", "Fixture app", "fixture-app-id", None),
        (
            102,
            "user",
            "Invited",
            "invited@gatehouse.test",
            None::<&str>,
        ),
    ] {
        sqlx::query(
            "INSERT INTO principals (id, kind, name, handle, role, password_hash) \
             VALUES ($1, $2, $3, $4, 'viewer', $5)",
        )
        .bind(id)
        .bind(kind)
        .bind(name)
        .bind(handle)
        .bind(password)
        .execute(&app.pool)
        .await
        .expect("fixture");
    }
    for id in [200, 201] {
        sqlx::query(
            "INSERT INTO lockbox_requests (id, application_id, application_name, ticket, \
             justification, engineer_name, engineer_email, access, access_period_secs, \
             requested_at, request_expires_at) \
             VALUES ($1, 101, 'Fixture app', 'T-200', 'Matrix', 'Sam', 'sam@support.test', \
             'read', 3600, unixepoch(), unixepoch() + 3600)",
        )
        .bind(id)
        .execute(&app.pool)
        .await
        .expect("lockbox fixture");
    }
}

const CALLERS: [Option<Role>; 4] = [
    None,
    Some(Role::Viewer),
    Some(Role::Contributor),
    Some(Role::Admin),
];

fn expected(access: Access, caller: Option<Role>) -> StatusCode {
    match (access, caller) {
        (Access::Public, _) => StatusCode::OK,
        (Access::AtLeast(_), None) => StatusCode::UNAUTHORIZED,
        (Access::AtLeast(min), Some(role)) if role >= min => StatusCode::OK,
        (Access::AtLeast(_), Some(_)) => StatusCode::FORBIDDEN,
        (Access::Reaches(..), None) => StatusCode::UNAUTHORIZED,
        (Access::Reaches(min, status), Some(role)) if role >= min => {
            StatusCode::from_u16(status).unwrap()
        }
        (Access::Reaches(..), Some(_)) => StatusCode::FORBIDDEN,
        (Access::Token, _) => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_server_function_enforces_its_role() {
    let app = spawn_app().await;
    add_fixtures(&app).await;
    let registered: Vec<&str> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path)
        .collect();
    assert!(
        !registered.is_empty(),
        "the registry lists the app's server functions"
    );
    for path in &registered {
        assert!(
            SERVER_FUNCTIONS.iter().any(|(p, _, _)| p == path),
            "server function {path} is not in the authorization matrix: add it with its role"
        );
    }
    for caller in CALLERS {
        let client = app.client_as(caller).await;
        for (path, access, body) in SERVER_FUNCTIONS {
            assert!(
                registered.contains(path),
                "{path} is in the matrix but not registered"
            );
            let res = app.call_server_fn(&client, path, body).await;
            assert_eq!(
                res.status(),
                expected(*access, caller),
                "{path} as {caller:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_server_function_calls_say_why_without_internals() {
    let app = spawn_app().await;
    let anonymous = app
        .call_server_fn(&client(), "/rpc/security_overview", "")
        .await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.text().await.unwrap(), r#""Unauthorized""#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_current_user_is_reported_without_secrets() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let me: serde_json::Value = app
        .call_server_fn(&admin, "/rpc/current_user", "")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert_eq!(me["role"], "admin");
    assert!(
        !me.to_string().contains("argon2"),
        "no password hash in {me}"
    );

    let anonymous: serde_json::Value = app
        .call_server_fn(&client(), "/rpc/current_user", "")
        .await
        .json()
        .await
        .unwrap();
    assert!(anonymous.is_null());
}

const SECURITY_ROUTES: [&str; 5] = [
    "/admin/security",
    "/admin/security/users",
    "/admin/security/apis",
    "/admin/security/key-vault",
    "/admin/security/lockbox",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_visitors_are_sent_to_sign_in_and_back() {
    let app = spawn_app().await;
    for route in SECURITY_ROUTES {
        let res = client().get(app.url(route)).send().await.unwrap();
        assert!(res.status().is_redirection(), "{route}: {}", res.status());
        let expected = format!("/login?next={}", route.replace('/', "%2F"));
        assert_eq!(location(&res), expected, "{route}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_admins_get_403_and_no_tab_data() {
    let app = spawn_app().await;
    for role in [Role::Viewer, Role::Contributor] {
        let client = app.client_as(Some(role)).await;
        for route in &SECURITY_ROUTES[1..] {
            let res = client.get(app.url(route)).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{route} as {role}");
            let html = res.text().await.unwrap();
            assert!(html.contains("Only administrators can open the Security page."));
            assert!(
                !html.contains(r#"role="tablist""#),
                "{route} as {role} shows the tabs"
            );
            assert!(
                !html.contains("Users by role"),
                "{route} as {role} shows tab data"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_get_each_tab_selected_by_its_route() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let bare = admin.get(app.url("/admin/security")).send().await.unwrap();
    assert!(bare.status().is_redirection());
    assert_eq!(location(&bare), "/admin/security/users");

    for (route, tab) in [
        ("/admin/security/users", "tab-users"),
        ("/admin/security/apis", "tab-apis"),
        ("/admin/security/key-vault", "tab-key-vault"),
        ("/admin/security/lockbox", "tab-lockbox"),
    ] {
        let res = admin.get(app.url(route)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{route}");
        let html = res.text().await.unwrap();
        assert_eq!(html.matches(r#"role="tab""#).count(), 4, "{route}");
        assert_eq!(
            html.matches(r#"aria-selected="true""#).count(),
            1,
            "{route}"
        );
        let selected = format!(
            r#"id="{tab}" href="{route}" aria-controls="security-panel" aria-selected="true""#
        );
        assert!(html.contains(&selected), "{route} does not select {tab}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_change_applies_on_the_next_request() {
    let app = spawn_app().await;
    let client = app.client_as(Some(Role::Viewer)).await;
    let before = app
        .call_server_fn(&client, "/rpc/security_overview", "")
        .await;
    assert_eq!(before.status(), StatusCode::FORBIDDEN);

    sqlx::query("UPDATE principals SET role = 'admin' WHERE role = 'viewer'")
        .execute(&app.pool)
        .await
        .unwrap();
    let promoted = app
        .call_server_fn(&client, "/rpc/security_overview", "")
        .await;
    assert_eq!(promoted.status(), StatusCode::OK);

    sqlx::query("DELETE FROM principals WHERE handle <> $1")
        .bind(ADMIN_EMAIL)
        .execute(&app.pool)
        .await
        .unwrap();
    let removed = app
        .call_server_fn(&client, "/rpc/security_overview", "")
        .await;
    assert_eq!(removed.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_pages_are_404() {
    let app = spawn_app().await;
    let res = client().get(app.url("/no/such/page")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.text().await.unwrap().contains("Page not found"));
}

/// One caller per request: the REST API's and SCIM's credentials make nobody a signed-in user
/// of the page, a proxy's own `Authorization` header does not unseat the session's user, and a
/// session cookie opens neither the REST API nor SCIM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_surface_accepts_only_its_own_credentials() {
    use reqwest::header;
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let key = app.enabled_api_key(&admin).await;
    let added = app
        .rpc(
            &admin,
            "/rpc/principals_add",
            "kind=application&principal=Reviewer&role=admin",
        )
        .await;
    let secret = added["client_secret"].as_str().unwrap().to_owned();
    let scim_token = app.rpc(&admin, "/rpc/provisioning_token", "").await;
    let scim_token = scim_token.as_str().unwrap().to_owned();

    for (name, value) in [
        (header::AUTHORIZATION.as_str(), format!("Bearer {secret}")),
        (
            header::AUTHORIZATION.as_str(),
            format!("Bearer {scim_token}"),
        ),
        ("ocp-apim-subscription-key", key.clone()),
    ] {
        let res = client()
            .post(app.url("/rpc/current_user"))
            .header(header::ACCEPT, "application/json")
            .header(name, &value)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let me: serde_json::Value = res.json().await.unwrap();
        assert!(me.is_null(), "{name} made a signed-in user: {me}");
        let res = client()
            .post(app.url("/rpc/security_overview"))
            .header(header::ACCEPT, "application/json")
            .header(name, &value)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{name}");
    }

    let me: serde_json::Value = admin
        .post(app.url("/rpc/current_user"))
        .header(header::ACCEPT, "application/json")
        .header(header::AUTHORIZATION, "Basic cHJveHk6cGFzcw==")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], ADMIN_EMAIL);

    // The admin's cookie is no credential for the REST API or SCIM, and each credential only
    // works where it belongs.
    let anonymous = |path: &str| client().get(app.url(path));
    for (request, expected, what) in [
        (
            admin.get(app.url("/api/v1/environment")),
            401,
            "a cookie on the REST API",
        ),
        (
            admin.get(app.url("/scim/v2/Users")),
            401,
            "a cookie on SCIM",
        ),
        (
            anonymous("/scim/v2/Users").bearer_auth(&secret),
            401,
            "a client secret on SCIM",
        ),
        (
            anonymous("/api/v1/principals").bearer_auth(&scim_token),
            401,
            "the provisioning token on the REST API",
        ),
        (
            anonymous("/api/v1/environment").header("ocp-apim-subscription-key", &key),
            200,
            "a subscription key on the REST API",
        ),
        (
            anonymous("/api/v1/principals").bearer_auth(&secret),
            200,
            "a client secret on the REST API",
        ),
        (
            anonymous("/scim/v2/Users").bearer_auth(&scim_token),
            200,
            "the provisioning token on SCIM",
        ),
    ] {
        let res = request.send().await.unwrap();
        assert_eq!(res.status().as_u16(), expected, "{what}");
    }
}

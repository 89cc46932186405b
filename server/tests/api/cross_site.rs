use crate::helpers::*;
use app::roles::Role;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_posted_from_another_site_is_refused() {
    let app = spawn_app().await;
    for (name, value) in [
        ("origin", "http://evil.test"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let res = app
            .admin_login_request(&client())
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{name}: {value}");
        assert!(res.headers().get("set-cookie").is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_function_called_from_another_site_is_refused() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let res = admin
        .post(app.url("/rpc/security_overview"))
        .header("origin", "https://evil.test")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_origin_posts_pass() {
    let app = spawn_app().await;
    let res = app
        .admin_login_request(&client())
        .header("origin", app.address.as_str())
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/admin/security/users");
}

/// A client that keeps cookies but sends no Fetch Metadata: an old browser, or a script.
fn bare_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(crate::helpers::ANSWER_WITHIN)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_in_write_without_origin_or_fetch_metadata_is_refused() {
    let app = spawn_app().await;
    let bare = bare_client();
    // Signing in carries no session cookie yet: it passes.
    let res = app.admin_login_request(&bare).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // With the cookie and neither header, a server function that changes state is refused...
    let res = bare
        .post(app.url("/rpc/api_enable"))
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let app::db::Flag(enabled) = sqlx::query_scalar("SELECT count(*) > 0 FROM api_keys")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(!enabled, "nothing changed");
    // ...reading still works, and the same call with Origin passes.
    assert_eq!(
        bare.get(app.url("/admin/security/users"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let res = bare
        .post(app.url("/rpc/api_enable"))
        .header("origin", app.address.as_str())
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_plain_body_to_a_server_function_is_refused() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    // What a cross-site form with enctype=text/plain would send, even with same-origin labels.
    let res = admin
        .post(app.url("/rpc/api_enable"))
        .header("content-type", "text/plain")
        .header("origin", app.address.as_str())
        .body("x=y")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(
        body.to_string()
            .contains("did not come from a page of this site")
    );
}

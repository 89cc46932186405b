use crate::helpers::*;
use reqwest::{Response, header};

fn csp(res: &Response) -> String {
    res.headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .expect("a Content-Security-Policy")
        .to_owned()
}

fn assert_security_headers(res: &Response, what: &str) {
    let policy = csp(res);
    for directive in [
        "frame-ancestors 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "default-src 'self'",
    ] {
        assert!(
            policy.contains(directive),
            "{what}: {directive} missing from {policy}"
        );
    }
    assert_eq!(
        res.headers()[header::X_CONTENT_TYPE_OPTIONS],
        "nosniff",
        "{what}"
    );
    assert!(
        res.headers().contains_key(header::REFERRER_POLICY),
        "{what}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_response_carries_the_security_headers() {
    let app = spawn_app().await;
    let c = client();
    let page = c.get(app.url("/login")).send().await.unwrap();
    assert_security_headers(&page, "page");
    let missing = c.get(app.url("/nothing-here")).send().await.unwrap();
    assert_security_headers(&missing, "404");
    let health = c.get(app.url("/healthz")).send().await.unwrap();
    assert_security_headers(&health, "healthz");
    let refused = app.call_server_fn(&c, "/rpc/security_overview", "").await;
    assert_security_headers(&refused, "refused server function");
    let redirect = app.post_login(&c, ADMIN_EMAIL, "wrong", "").await;
    assert_security_headers(&redirect, "redirect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_scripts_carry_the_nonce_the_policy_allows() {
    let app = spawn_app().await;
    // The sign-in page loads no script (see `sign_in_page_loads_no_bundle`); this one does.
    let page = client().get(app.url("/logout")).send().await.unwrap();
    let policy = csp(&page);
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in the policy")
        .to_owned();
    assert!(nonce.len() >= 16);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!(r#"nonce="{nonce}""#)),
        "the hydration script lacks the nonce"
    );

    let again = client().get(app.url("/logout")).send().await.unwrap();
    assert!(
        !csp(&again).contains(&nonce),
        "each response gets a fresh nonce"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_page_loads_no_bundle() {
    let app = spawn_app().await;
    let bundle = |html: &str| html.contains(".wasm") || html.contains(".js");
    let page = client().get(app.url("/login")).send().await.unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("Sign in to Gatehouse"), "{html}");
    assert!(
        !bundle(&html),
        "the sign-in page refers to the bundle: {html}"
    );
    // Every other page hydrates.
    let other = client().get(app.url("/logout")).send().await.unwrap();
    assert!(bundle(&other.text().await.unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frame_ancestors_allow_configured_portals_on_the_embedded_page_only() {
    let app =
        spawn_app_with(|c| c.frame_ancestors = Some("'self' https://portal.example.com".into()))
            .await;
    let embedded = client()
        .get(app.url("/embed/security/users"))
        .send()
        .await
        .unwrap();
    assert!(csp(&embedded).contains("frame-ancestors 'self' https://portal.example.com;"));
    assert!(embedded.headers().get("x-frame-options").is_none());
    let page = client().get(app.url("/login")).send().await.unwrap();
    assert!(csp(&page).contains("frame-ancestors 'self';"));
    assert_eq!(page.headers()["x-frame-options"], "SAMEORIGIN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_answers_are_never_stored_by_caches() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(app::roles::Role::Admin)).await;
    let page = admin
        .get(app.url("/admin/security/users"))
        .send()
        .await
        .unwrap();
    let rpc = app.call_server_fn(&admin, "/rpc/current_user", "").await;
    let api = reqwest::get(app.url("/api/v1/environment")).await.unwrap();
    let missing = reqwest::get(app.url("/pkg/no-such-chunk.wasm"))
        .await
        .unwrap();
    for (what, res) in [
        ("page", &page),
        ("server function", &rpc),
        ("REST API", &api),
        ("missing bundle file", &missing),
    ] {
        assert_eq!(
            res.headers()
                .get(header::CACHE_CONTROL)
                .and_then(|v| v.to_str().ok()),
            Some("no-store"),
            "{what}"
        );
    }
    assert_eq!(missing.status(), reqwest::StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsts_is_sent_only_when_served_over_https() {
    let plain = spawn_app().await;
    let res = client().get(plain.url("/login")).send().await.unwrap();
    assert!(res.headers().get("strict-transport-security").is_none());
    let secure = spawn_app_with(|c| c.secure_cookies = true).await;
    let res = client().get(secure.url("/login")).send().await.unwrap();
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_frame_ancestors_stops_the_start_with_a_clear_message() {
    use gatehouse::{Application, config::Config};
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::defaults();
    config.addr = "127.0.0.1:0".into();
    config.database_url = format!("sqlite://{}", dir.path().join("g.db").display());
    config.frame_ancestors = Some("'self'; script-src *".into());
    let options = leptos::config::LeptosOptions::builder()
        .output_name("gatehouse")
        .build();
    let Err(err) = Application::build(&config, options).await else {
        panic!("the server started with a malformed GATEHOUSE_FRAME_ANCESTORS");
    };
    assert!(
        err.to_string().contains("GATEHOUSE_FRAME_ANCESTORS"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundle_files_carry_only_the_headers_that_apply_to_them() {
    let app = spawn_app().await;
    let chunk = reqwest::get(app.url("/pkg/no-such-chunk.wasm"))
        .await
        .unwrap();
    assert_eq!(chunk.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    for document_only in [
        header::CONTENT_SECURITY_POLICY,
        header::X_FRAME_OPTIONS,
        header::REFERRER_POLICY,
    ] {
        assert!(
            chunk.headers().get(&document_only).is_none(),
            "{document_only} on a bundle file"
        );
    }
    // Only the folder itself: a page whose path merely starts alike keeps them all.
    let page = client().get(app.url("/pkgs")).send().await.unwrap();
    assert_security_headers(&page, "page next to the bundle's folder");
}

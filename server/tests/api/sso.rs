//! Single sign-on against a real OpenID provider (`oidc_provider`): who gets in, and each
//! reason a sign-in is refused.

use crate::helpers::{TestApp, client, location, spawn_app_with};
use crate::oidc_provider::{
    CLIENT_ID, CLIENT_SECRET, OTHER_CLIENT_ID, Provider, ProviderOptions, sign_in_at_provider,
};
use app::roles::Role;
use reqwest::{Client, StatusCode, header};

async fn setup(options: ProviderOptions) -> (TestApp, Provider) {
    let provider = Provider::start(options).await;
    let issuer = provider.issuer.clone();
    setup_at(provider, issuer).await
}

/// Gatehouse configured with `issuer` for `provider`.
async fn setup_at(mut provider: Provider, issuer: String) -> (TestApp, Provider) {
    let app = spawn_app_with(|c| {
        c.oidc_issuer = Some(issuer);
        c.oidc_client_id = Some(CLIENT_ID.into());
        c.oidc_client_secret = Some(CLIENT_SECRET.to_owned().into());
        c.oidc_name = "Test IdP".into();
    })
    .await;
    provider.register(&app.url(app::sso::CALLBACK_PATH)).await;
    (app, provider)
}

/// The sign-in page's button: the provider's authorization URL and the flow cookie.
async fn start(app: &TestApp, browser: &Client) -> (String, String) {
    let res = browser
        .post(app.url(app::sso::START_PATH))
        .form(&[("next", "")])
        .send()
        .await
        .expect("start");
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "start redirects");
    let cookie = res.headers()[header::SET_COOKIE]
        .to_str()
        .expect("ASCII")
        .split(';')
        .next()
        .expect("a cookie")
        .to_owned();
    (location(&res), cookie)
}

/// Signs in at the provider as `login` and returns Gatehouse's answer to the callback.
async fn sign_in(app: &TestApp, browser: &Client, login: &str) -> reqwest::Response {
    let (authorize, _) = start(app, browser).await;
    let back = sign_in_at_provider(browser, &authorize, login).await;
    browser.get(back).send().await.expect("callback")
}

async fn last_audit(app: &TestApp) -> (String, Option<String>, String) {
    sqlx::query_as("SELECT action, target, detail FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .expect("an audit entry")
}

async fn assert_refused(res: reqwest::Response, status: StatusCode, says: &str) {
    assert_eq!(res.status(), status);
    let page = res.text().await.expect("page");
    assert!(page.contains(says), "the page says {says:?}: {page}");
}

const NOT_ADDED: &str = "Your account has not been added to Gatehouse. Ask an administrator.";

#[tokio::test]
async fn a_user_on_the_users_tab_signs_in_and_stays_bound_to_the_provider_identity() {
    let (app, provider) = setup(ProviderOptions::default()).await;
    let email = app.add_user(Role::Admin).await;

    let login = app.url("/login");
    let page = client().get(&login).send().await.expect("login page");
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("ASCII")
        .to_owned();
    assert!(
        csp.contains(&format!("form-action 'self' {}", provider.issuer)),
        "the sign-in page may post to the provider: {csp}"
    );
    assert!(
        page.text()
            .await
            .expect("page")
            .contains("Sign in with Test IdP")
    );

    let browser = client();
    let res = sign_in(&app, &browser, &format!("sub-1 {email}")).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/admin/security/users");
    let users = browser
        .get(app.url("/admin/security/users"))
        .send()
        .await
        .expect("page");
    assert_eq!(users.status(), StatusCode::OK, "signed in");
    assert_eq!(
        last_audit(&app).await,
        (
            "auth.sign_in".into(),
            Some(email.clone()),
            "single sign-on".into()
        )
    );

    // The address changes at the provider: the same subject still signs in as this user.
    let browser = client();
    let res = sign_in(&app, &browser, "sub-1 renamed@elsewhere.test").await;
    assert_eq!(
        location(&res),
        "/admin/security/users",
        "matched by subject"
    );

    // Another identity at the provider now claims the address: it gets no account.
    let res = sign_in(&app, &client(), &format!("sub-2 {email}")).await;
    assert_refused(res, StatusCode::FORBIDDEN, NOT_ADDED).await;
    let (action, target, detail) = last_audit(&app).await;
    assert_eq!((action.as_str(), target), ("auth.sso_refused", Some(email)));
    assert!(detail.contains("another identity"), "{detail}");
}

#[tokio::test]
async fn unknown_unverified_deactivated_and_removed_users_are_refused() {
    let (app, _provider) = setup(ProviderOptions::default()).await;
    let res = sign_in(&app, &client(), "stranger@nowhere.test").await;
    assert_refused(res, StatusCode::FORBIDDEN, NOT_ADDED).await;
    assert_eq!(
        last_audit(&app).await.0,
        "auth.sso_refused",
        "the refusal is audited"
    );

    let email = app.add_user(Role::Viewer).await;
    let res = sign_in(&app, &client(), &format!("{email} {email} unverified")).await;
    assert_refused(res, StatusCode::FORBIDDEN, NOT_ADDED).await;
    assert!(last_audit(&app).await.2.contains("not verified"));

    sqlx::query("UPDATE principals SET active = FALSE WHERE handle = $1")
        .bind(&email)
        .execute(&app.pool)
        .await
        .expect("deactivated");
    let res = sign_in(&app, &client(), &email).await;
    assert_refused(res, StatusCode::FORBIDDEN, NOT_ADDED).await;

    // Bound first, then removed: the binding goes with the user.
    let other = app.add_user(Role::Viewer).await;
    let res = sign_in(&app, &client(), &other).await;
    assert_eq!(location(&res), "/admin/security/users");
    sqlx::query("DELETE FROM principals WHERE handle = $1")
        .bind(&other)
        .execute(&app.pool)
        .await
        .expect("removed");
    let res = sign_in(&app, &client(), &other).await;
    assert_refused(res, StatusCode::FORBIDDEN, NOT_ADDED).await;
}

#[tokio::test]
async fn a_wrong_state_a_replayed_answer_and_a_foreign_issuer_are_refused() {
    let (app, _provider) = setup(ProviderOptions::default()).await;
    let email = app.add_user(Role::Viewer).await;
    let browser = client();
    let (authorize, cookie) = start(&app, &browser).await;
    let back = sign_in_at_provider(&browser, &authorize, &email).await;
    // A bare client: the cookie goes exactly as given.
    let bare = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(crate::helpers::ANSWER_WITHIN)
        .build()
        .expect("client");
    let callback = |url: String| bare.get(url).header(header::COOKIE, cookie.clone()).send();

    let wrong_state = back.replace("state=", "state=x");
    let res = callback(wrong_state).await.expect("callback");
    assert_refused(
        res,
        StatusCode::BAD_REQUEST,
        "expired or was started in another browser",
    )
    .await;
    let foreign = back.replace("iss=", "iss=http%3A%2F%2Fevil.test&was=");
    let res = callback(foreign).await.expect("callback");
    assert_refused(res, StatusCode::FORBIDDEN, "could not be accepted").await;
    assert!(last_audit(&app).await.2.contains("another issuer"));

    let res = callback(back.clone()).await.expect("callback");
    assert_eq!(
        location(&res),
        "/admin/security/users",
        "the real answer signs in"
    );
    let res = callback(back).await.expect("callback");
    assert_refused(
        res,
        StatusCode::BAD_REQUEST,
        "expired or was started in another browser",
    )
    .await;
    assert!(last_audit(&app).await.2.contains("used already"));

    // Without the flow cookie (another browser), even a fresh answer is refused.
    let (authorize, _) = start(&app, &browser).await;
    let back = sign_in_at_provider(&browser, &authorize, &email).await;
    let res = bare.get(back).send().await.expect("callback");
    assert_refused(
        res,
        StatusCode::BAD_REQUEST,
        "expired or was started in another browser",
    )
    .await;
}

#[tokio::test]
async fn a_token_for_another_nonce_or_client_is_refused() {
    let (app, _provider) = setup(ProviderOptions::default()).await;
    let email = app.add_user(Role::Viewer).await;

    // The provider is asked for another nonce than the flow holds.
    let browser = client();
    let (authorize, _) = start(&app, &browser).await;
    let tampered = authorize.replace("nonce=", "nonce=other");
    let back = sign_in_at_provider(&browser, &tampered, &email).await;
    let res = browser.get(back).send().await.expect("callback");
    assert_refused(res, StatusCode::FORBIDDEN, "could not be accepted").await;
    assert!(last_audit(&app).await.2.to_lowercase().contains("nonce"));

    // A code issued to another client of the provider.
    let browser = client();
    let (authorize, _) = start(&app, &browser).await;
    let tampered = authorize.replace(
        &format!("client_id={CLIENT_ID}"),
        &format!("client_id={OTHER_CLIENT_ID}"),
    );
    let back = sign_in_at_provider(&browser, &tampered, &email).await;
    let res = browser.get(back).send().await.expect("callback");
    assert_refused(res, StatusCode::FORBIDDEN, "could not be accepted").await;
    assert!(last_audit(&app).await.2.contains("token endpoint refused"));
}

#[tokio::test]
async fn an_expired_id_token_is_refused() {
    // The provider's clock is two minutes behind and its ID tokens last a second: past the
    // 60 s of skew allowed.
    let (app, _provider) = setup(ProviderOptions {
        clock_offset: -120,
        id_token_seconds: Some(1),
        ..ProviderOptions::default()
    })
    .await;
    let email = app.add_user(Role::Viewer).await;
    let res = sign_in(&app, &client(), &email).await;
    assert_refused(res, StatusCode::FORBIDDEN, "could not be accepted").await;
    assert!(last_audit(&app).await.2.contains("expired"));
}

#[tokio::test]
async fn sign_in_goes_on_after_the_provider_rotates_its_key() {
    let (app, provider) = setup(ProviderOptions::default()).await;
    let email = app.add_user(Role::Viewer).await;
    let res = sign_in(&app, &client(), &email).await;
    assert_eq!(location(&res), "/admin/security/users");

    // The same provider restarted: a new signing key under a new `kid`.
    let port = provider.port;
    provider.stop().await;
    let mut provider = Provider::start(ProviderOptions {
        port: Some(port),
        ..ProviderOptions::default()
    })
    .await;
    provider.register(&app.url(app::sso::CALLBACK_PATH)).await;
    let res = sign_in(&app, &client(), &email).await;
    assert_eq!(
        location(&res),
        "/admin/security/users",
        "the new key was fetched"
    );
}

#[tokio::test]
async fn a_provider_whose_discovery_names_another_issuer_is_not_used() {
    // The provider calls itself http://localhost:…; Gatehouse is told http://127.0.0.1:….
    let provider = Provider::start(ProviderOptions {
        issuer_host: Some("localhost".into()),
        ..ProviderOptions::default()
    })
    .await;
    let asked = format!("http://127.0.0.1:{}", provider.port);
    let (app, _provider) = setup_at(provider, asked.clone()).await;
    let res = client()
        .post(app.url(app::sso::START_PATH))
        .form(&[("next", "")])
        .send()
        .await
        .expect("start");
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    assert!(
        res.text()
            .await
            .expect("page")
            .contains("cannot be reached or is not set up correctly")
    );
    // The card's Check names the step and why.
    let admin = app.client_as(Some(Role::Admin)).await;
    let steps = app
        .rpc(&admin, "/rpc/sso_check", &form(&[("issuer", &asked)]))
        .await;
    assert_eq!(steps[0]["label"], "Discovery document");
    assert_eq!(steps[1]["label"], "Issuer");
    assert_eq!(steps[1]["passed"], false, "{steps}");
    assert!(
        steps[1]["reason"].as_str().unwrap().contains("issuer"),
        "{steps}"
    );
}

const INVALID: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;

fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

/// A provider and a Gatehouse that knows nothing of it until an Admin fills in the card.
async fn unconfigured() -> (TestApp, Provider) {
    let mut provider = Provider::start(ProviderOptions::default()).await;
    let app = spawn_app_with(|_| {}).await;
    provider.register(&app.url(app::sso::CALLBACK_PATH)).await;
    (app, provider)
}

#[tokio::test]
async fn an_admin_checks_and_saves_the_card_and_users_then_sign_in() {
    let (app, provider) = unconfigured().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let login = client().get(app.url("/login")).send().await.expect("page");
    assert!(!login.text().await.expect("page").contains("Sign in with"));

    // Check says why a wrong address is no provider.
    let steps = app
        .rpc(&admin, "/rpc/sso_check", &form(&[("issuer", &app.url(""))]))
        .await;
    assert_eq!(steps[0]["passed"], false, "{steps}");
    let steps = app
        .rpc(
            &admin,
            "/rpc/sso_check",
            &form(&[("issuer", &provider.issuer)]),
        )
        .await;
    let labels: Vec<&str> = steps
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["label"].as_str().expect("label"))
        .collect();
    assert_eq!(
        labels,
        [
            "Discovery document",
            "Issuer",
            "Signing keys",
            "Authorization code with PKCE",
            "Client authentication"
        ]
    );
    assert!(
        steps
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["passed"] == true),
        "{steps}"
    );

    // Save refuses what Check refuses, and a missing secret.
    let save = |issuer: &str, secret: &str| {
        form(&[
            ("issuer", issuer),
            ("client_id", CLIENT_ID),
            ("client_secret", secret),
            ("vault_secret", ""),
            ("name", "Test IdP"),
        ])
    };
    let err = app
        .rpc_fails(
            &admin,
            "/rpc/sso_save",
            &save("ftp://x", CLIENT_SECRET),
            INVALID,
        )
        .await;
    assert_eq!(err["Invalid"]["field"], "issuer");
    let err = app
        .rpc_fails(
            &admin,
            "/rpc/sso_save",
            &save(&provider.issuer, ""),
            INVALID,
        )
        .await;
    assert_eq!(err["Invalid"]["field"], "client_secret");
    let saved = app
        .rpc(
            &admin,
            "/rpc/sso_save",
            &save(&provider.issuer, CLIENT_SECRET),
        )
        .await;
    assert_eq!(saved["issuer"], provider.issuer.as_str());
    assert!(
        !saved.to_string().contains(CLIENT_SECRET),
        "the secret never comes back"
    );
    let secret_at_rest: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT secret_ciphertext FROM sso_settings")
            .fetch_one(&app.pool)
            .await
            .expect("row");
    assert!(
        !String::from_utf8_lossy(&secret_at_rest.expect("sealed")).contains(CLIENT_SECRET),
        "sealed at rest"
    );
    assert_eq!(last_audit(&app).await.0, "sso.configure");

    let email = app.add_user(Role::Viewer).await;
    let res = sign_in(&app, &client(), &email).await;
    assert_eq!(location(&res), "/admin/security/users", "signed in");

    // Saved again without a secret: the stored one stays.
    app.rpc(&admin, "/rpc/sso_save", &save(&provider.issuer, ""))
        .await;
    let res = sign_in(&app, &client(), &email).await;
    assert_eq!(location(&res), "/admin/security/users");

    app.rpc(&admin, "/rpc/sso_remove", "").await;
    let res = client()
        .post(app.url(app::sso::START_PATH))
        .form(&[("next", "")])
        .send()
        .await
        .expect("start");
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "no provider any more");
}

#[tokio::test]
async fn requiring_single_sign_on_needs_a_break_glass_admin_and_refuses_other_passwords() {
    let (app, provider) = unconfigured().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let on = form(&[("on", "true")]);
    let err = app
        .rpc_fails(&admin, "/rpc/sso_require", &on, INVALID)
        .await;
    assert_eq!(err["Invalid"]["field"], "require", "not set up yet");
    app.rpc(
        &admin,
        "/rpc/sso_save",
        &form(&[
            ("issuer", &provider.issuer),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("vault_secret", ""),
            ("name", ""),
        ]),
    )
    .await;
    let err = app
        .rpc_fails(&admin, "/rpc/sso_require", &on, INVALID)
        .await;
    assert!(
        err["Invalid"]["message"]
            .as_str()
            .unwrap()
            .contains("break-glass"),
        "{err}"
    );
    let glass = |email: &str, on: &str| form(&[("email", email), ("on", on)]);
    app.rpc(
        &admin,
        "/rpc/sso_break_glass",
        &glass(crate::helpers::ADMIN_EMAIL, "true"),
    )
    .await;
    app.rpc(&admin, "/rpc/sso_require", &on).await;
    assert_eq!(
        last_audit(&app).await,
        ("sso.require".into(), None, "on".into())
    );

    // The last break-glass Admin keeps it.
    let err = app
        .rpc_fails(
            &admin,
            "/rpc/sso_break_glass",
            &glass(crate::helpers::ADMIN_EMAIL, "false"),
            INVALID,
        )
        .await;
    assert!(
        err["Invalid"]["message"]
            .as_str()
            .unwrap()
            .contains("break-glass")
    );

    // A user's password no longer signs in; the break-glass Admin's does.
    let email = app.add_user(Role::Contributor).await;
    let res = app
        .post_login(&client(), &email, crate::helpers::PASSWORD, "")
        .await;
    assert_eq!(location(&res), "/login?error=sso_required");
    let page = client()
        .get(app.url("/login?error=sso_required"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    assert!(
        page.text()
            .await
            .expect("page")
            .contains("Sign in with single sign-on")
    );
    app.client_as(Some(Role::Admin)).await;
    // Single sign-on still lets the user in.
    let res = sign_in(&app, &client(), &email).await;
    assert_eq!(location(&res), "/admin/security/users");

    app.rpc(&admin, "/rpc/sso_require", &form(&[("on", "false")]))
        .await;
    let res = app
        .post_login(&client(), &email, crate::helpers::PASSWORD, "")
        .await;
    assert_eq!(location(&res), "/admin/security/users", "passwords again");
}

#[tokio::test]
async fn the_card_is_read_only_when_the_environment_sets_the_provider() {
    let (app, _provider) = setup(ProviderOptions::default()).await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let view = app.rpc(&admin, "/rpc/sso_settings", "").await;
    assert_eq!(view["from_env"], true);
    assert_eq!(view["name"], "Test IdP");
    assert_eq!(
        view["redirect_uri"],
        app.url(app::sso::CALLBACK_PATH).as_str()
    );
    let err = app
        .rpc_fails(&admin, "/rpc/sso_remove", "", StatusCode::FORBIDDEN)
        .await;
    assert!(err.to_string().contains("environment"), "{err}");
    let viewer = app.client_as(Some(Role::Viewer)).await;
    app.rpc_fails(&viewer, "/rpc/sso_settings", "", StatusCode::FORBIDDEN)
        .await;
}

#[tokio::test]
async fn signing_out_of_a_single_sign_on_session_offers_the_provider_s_sign_out() {
    let (app, provider) = setup(ProviderOptions::default()).await;
    let email = app.add_user(Role::Viewer).await;
    let browser = client();
    let res = sign_in(&app, &browser, &email).await;
    assert_eq!(location(&res), "/admin/security/users");
    let res = browser
        .post(app.url("/logout"))
        .send()
        .await
        .expect("sign out");
    assert_eq!(location(&res), "/login?signed_out=sso");
    let page = browser
        .get(app.url("/login?signed_out=sso"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("text");
    assert!(page.contains("Sign out of Test IdP too"), "{page}");
    assert!(
        page.contains(&format!(
            "{}/session/end?client_id={CLIENT_ID}",
            provider.issuer
        )),
        "{page}"
    );

    // A password session signs out to the plain sign-in page.
    let admin = app.client_as(Some(Role::Admin)).await;
    let res = admin
        .post(app.url("/logout"))
        .send()
        .await
        .expect("sign out");
    assert_eq!(location(&res), "/login");
}

#[tokio::test]
async fn the_client_secret_can_live_in_the_linked_key_vault() {
    let bao = crate::openbao::OpenBao::start().await;
    bao.put_secret("sso/client", serde_json::json!({ "value": CLIENT_SECRET }))
        .await;
    let (app, provider) = unconfigured().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let vault = serde_urlencoded::to_string([
        ("form[backend]", "open_bao"),
        ("form[address]", bao.address.as_str()),
        ("form[mount]", "secret"),
        ("form[auth]", "token"),
        ("form[credential]", bao.root_token.as_str()),
    ])
    .unwrap();
    app.rpc(&admin, "/rpc/key_vault_save", &vault).await;
    let card = |vault_secret: &str| {
        form(&[
            ("issuer", &provider.issuer),
            ("client_id", CLIENT_ID),
            ("client_secret", ""),
            ("vault_secret", vault_secret),
            ("name", ""),
        ])
    };
    // A name the vault does not hold is refused when saved, not at the next sign-in.
    let res = app
        .call_server_fn(&admin, "/rpc/sso_save", &card("sso/missing"))
        .await;
    assert!(res.status().is_client_error() || res.status() == StatusCode::BAD_GATEWAY);
    let saved = app.rpc(&admin, "/rpc/sso_save", &card("sso/client")).await;
    assert_eq!(saved["vault_secret"], "sso/client");
    let email = app.add_user(Role::Viewer).await;
    let res = sign_in(&app, &client(), &email).await;
    assert_eq!(
        location(&res),
        "/admin/security/users",
        "the vault's secret was used"
    );
}

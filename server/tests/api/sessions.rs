//! Ending sessions: a password change ends the user's other sessions, "Sign out everywhere"
//! ends all of them, and an Admin can reset a user's password (a one-time link) or end the
//! user's sessions. A session checks the user's epoch on every request.

use crate::helpers::*;
use app::roles::Role;
use reqwest::{Client, StatusCode};

fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

async fn signed_in(app: &TestApp, email: &str, password: &str) -> Client {
    let client = client();
    let res = app.post_login(&client, email, password, "").await;
    assert_eq!(
        location(&res),
        "/admin/security/users",
        "sign-in as {email}"
    );
    client
}

/// Whether `client` is still signed in: the public `current_user` names nobody otherwise.
async fn alive(app: &TestApp, client: &Client) -> bool {
    !app.rpc(client, "/rpc/current_user", "").await.is_null()
}

async fn audit_actions(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT action FROM audit_log ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_keeps_this_session_and_ends_the_others() {
    let app = spawn_app().await;
    let email = app.add_user(Role::Viewer).await;
    let here = signed_in(&app, &email, PASSWORD).await;
    let there = signed_in(&app, &email, PASSWORD).await;
    for (body, field) in [
        (
            form(&[
                ("current", "wrong"),
                ("password", "a new password of length"),
                ("confirm", "a new password of length"),
            ]),
            "current",
        ),
        (
            form(&[
                ("current", PASSWORD),
                ("password", "short"),
                ("confirm", "short"),
            ]),
            "password",
        ),
        (
            form(&[
                ("current", PASSWORD),
                ("password", "a new password of length"),
                ("confirm", "another one entirely"),
            ]),
            "confirm",
        ),
    ] {
        let err = app
            .rpc_fails(
                &here,
                "/rpc/account_password",
                &body,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        assert_eq!(err["Invalid"]["field"], field, "{body}");
    }
    let new = "a new password of length";
    app.rpc(
        &here,
        "/rpc/account_password",
        &form(&[("current", PASSWORD), ("password", new), ("confirm", new)]),
    )
    .await;
    assert!(
        alive(&app, &here).await,
        "the session that changed it stays"
    );
    assert!(!alive(&app, &there).await, "the other session ended");
    let res = app.post_login(&client(), &email, PASSWORD, "").await;
    assert!(location(&res).starts_with("/login?error=invalid"));
    signed_in(&app, &email, new).await;
    assert!(
        audit_actions(&app)
            .await
            .contains(&"user.password_changed".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_everywhere_ends_every_session_of_the_user_only() {
    let app = spawn_app().await;
    let email = app.add_user(Role::Contributor).await;
    let one = signed_in(&app, &email, PASSWORD).await;
    let two = signed_in(&app, &email, PASSWORD).await;
    let admin = app.client_as(Some(Role::Admin)).await;
    app.rpc(&one, "/rpc/account_sign_out_everywhere", "").await;
    assert!(!alive(&app, &one).await);
    assert!(!alive(&app, &two).await);
    assert!(alive(&app, &admin).await, "other users keep their sessions");
    // Signing in again works, under the new epoch.
    let again = signed_in(&app, &email, PASSWORD).await;
    assert!(alive(&app, &again).await);
    assert!(
        audit_actions(&app)
            .await
            .contains(&"auth.sign_out_everywhere".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_resets_a_password_with_a_one_time_link_and_ends_sessions() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let email = app.add_user(Role::Viewer).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM principals WHERE handle = $1")
        .bind(&email)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let user = signed_in(&app, &email, PASSWORD).await;

    app.rpc(&admin, "/rpc/user_end_sessions", &format!("id={id}"))
        .await;
    assert!(!alive(&app, &user).await);
    let user = signed_in(&app, &email, PASSWORD).await;

    let path = app
        .rpc(&admin, "/rpc/user_reset_password", &format!("id={id}"))
        .await;
    let path = path.as_str().unwrap();
    assert!(path.starts_with("/invitation?token="));
    assert!(
        !alive(&app, &user).await,
        "a reset ends the user's sessions"
    );
    let res = app.post_login(&client(), &email, PASSWORD, "").await;
    assert!(
        location(&res).starts_with("/login?error=invalid"),
        "the old password is retired"
    );
    // The link sets a new password and signs them in.
    let token = path.trim_start_matches("/invitation?token=");
    let new = "a password chosen after a reset";
    let invitee = client();
    app.rpc(
        &invitee,
        "/rpc/invitation_accept",
        &form(&[
            ("token", token),
            ("name", "Reset User"),
            ("password", new),
            ("confirm", new),
        ]),
    )
    .await;
    assert!(alive(&app, &invitee).await);
    signed_in(&app, &email, new).await;
    let actions = audit_actions(&app).await;
    assert!(actions.contains(&"user.password_reset".to_owned()));
    assert!(actions.contains(&"user.sessions_ended".to_owned()));

    // The only Admin cannot reset their own password: nobody could sign in as Admin after.
    let me: i64 = sqlx::query_scalar("SELECT id FROM principals WHERE handle = $1")
        .bind(ADMIN_EMAIL)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    app.rpc_fails(
        &admin,
        "/rpc/user_reset_password",
        &format!("id={me}"),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        alive(&app, &admin).await,
        "the refused reset changed nothing"
    );
    // Groups, applications and pending users have no password or sessions to end.
    app.rpc_fails(
        &admin,
        "/rpc/user_end_sessions",
        "id=999999",
        StatusCode::NOT_FOUND,
    )
    .await;
}

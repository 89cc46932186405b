//! The Users tab: principals, invitations, groups, applications, lockout guards and the audit
//! log, through the same server functions and REST API the browser and scripts use.

use crate::helpers::*;
use app::roles::Role;
use reqwest::{Client, StatusCode, header};
use serde_json::Value;

const INVALID: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;

fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

impl TestApp {
    async fn add(&self, admin: &Client, kind: &str, principal: &str, role: &str) -> Value {
        let body = form(&[("kind", kind), ("principal", principal), ("role", role)]);
        self.rpc(admin, "/rpc/principals_add", &body).await
    }

    async fn list(
        &self,
        admin: &Client,
        q: &str,
        sort: &str,
        descending: bool,
        cursor: Option<(&str, &str)>,
    ) -> Value {
        let mut pairs = vec![
            ("query[q]", q),
            ("query[sort]", sort),
            (
                "query[descending]",
                if descending { "true" } else { "false" },
            ),
        ];
        if let Some((after_or_before, cursor)) = cursor {
            pairs.push((
                if after_or_before == "after" {
                    "query[after]"
                } else {
                    "query[before]"
                },
                cursor,
            ));
        }
        self.rpc(admin, "/rpc/principals_list", &form(&pairs)).await
    }

    /// Invites `email` as `role`, accepts in a fresh client, returns that signed-in client.
    async fn invited(&self, admin: &Client, email: &str, role: &str) -> (Client, i64) {
        let added = self.add(admin, "user", email, role).await;
        let id = added["principal"]["id"].as_i64().unwrap();
        let token = token_of(&added);
        let invitee = client();
        let body = form(&[
            ("token", &token),
            ("name", "Invited Person"),
            ("password", PASSWORD),
            ("confirm", PASSWORD),
        ]);
        self.rpc(&invitee, "/rpc/invitation_accept", &body).await;
        (invitee, id)
    }

    async fn status_of(&self, client: &Client, path: &str) -> StatusCode {
        self.call_server_fn(client, path, "").await.status()
    }

    async fn audit_actions(&self) -> Vec<(String, Option<String>, Option<String>, String)> {
        sqlx::query_as("SELECT action, actor_email, target, detail FROM audit_log ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .unwrap()
    }
}

fn token_of(added: &Value) -> String {
    let path = added["invitation_path"]
        .as_str()
        .expect("an invitation path");
    path.strip_prefix("/invitation?token=").unwrap().to_owned()
}

fn field(err: &Value) -> &str {
    err["Invalid"]["field"].as_str().unwrap_or_default()
}

fn message(err: &Value) -> String {
    err["Invalid"]["message"]
        .as_str()
        .or_else(|| err["Gone"].as_str())
        .unwrap_or_default()
        .to_owned()
}

fn names(page: &Value) -> Vec<String> {
    page["principals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_searches_sorts_and_pages_on_the_server() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    app.add(&admin, "group", "Zeta analysts", "contributor")
        .await;
    app.add(&admin, "application", "Billing sync", "viewer")
        .await;
    app.add(&admin, "user", "ada@example.com", "viewer").await;
    for i in 0..55 {
        app.add(&admin, "group", &format!("Bulk {i:02}"), "viewer")
            .await;
    }

    let first = app.list(&admin, "", "name", false, None).await;
    assert_eq!(first["total"], 59);
    assert_eq!(first["principals"].as_array().unwrap().len(), 50);
    assert_eq!(names(&first)[..2], ["ada", "Administrator"]);
    assert_eq!(first["previous"], Value::Null);
    // Pages by cursor: the next page starts after the first page's last row…
    let next = first["next"].as_str().unwrap();
    let second = app
        .list(&admin, "", "name", false, Some(("after", next)))
        .await;
    assert_eq!(names(&second).len(), 9);
    assert_eq!(names(&second).last().unwrap(), "Zeta analysts");
    assert_eq!(second["next"], Value::Null);
    // …and Previous comes back to exactly the first page.
    let previous = second["previous"].as_str().unwrap();
    let back = app
        .list(&admin, "", "name", false, Some(("before", previous)))
        .await;
    assert_eq!(names(&back), names(&first));
    assert_eq!(back["previous"], Value::Null);
    assert_eq!(back["next"], first["next"]);
    // A link whose rows have all gone since shows the first page, not an empty list.
    app.rpc(
        &admin,
        "/rpc/principals_remove",
        &format!("id={}", second["principals"][8]["id"]),
    )
    .await;
    let stale = app
        .list(&admin, "", "name", false, Some(("before", previous)))
        .await;
    assert_eq!(names(&stale), names(&first));
    let last = second["principals"][7].clone();
    app.rpc(
        &admin,
        "/rpc/principals_remove",
        &format!("id={}", last["id"]),
    )
    .await;
    let past_the_end = app
        .list(&admin, "", "name", false, Some(("after", next)))
        .await;
    assert_eq!(names(&past_the_end).len(), 7);
    app.add(&admin, "group", "Zeta analysts", "contributor")
        .await;
    app.add(&admin, "group", "Bulk 54", "viewer").await;

    let by_name_desc = app.list(&admin, "", "name", true, None).await;
    assert_eq!(names(&by_name_desc)[0], "Zeta analysts");
    let by_type = app.list(&admin, "", "type", false, None).await;
    assert_eq!(by_type["principals"][0]["type"], "application");
    let by_type_desc = app.list(&admin, "", "type", true, None).await;
    assert_eq!(by_type_desc["principals"][0]["type"], "user");
    let by_role = app.list(&admin, "", "role", false, None).await;
    assert_eq!(by_role["principals"][0]["role"], "admin");
    assert_eq!(by_role["principals"][1]["role"], "contributor");
    let by_email = app.list(&admin, "", "email", false, None).await;
    let handles: Vec<&str> = by_email["principals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["emailOrId"].as_str().unwrap())
        .collect();
    let mut sorted = handles.clone();
    sorted.sort_by_key(|h| h.to_lowercase());
    assert_eq!(handles, sorted);

    // Any part of a name or of an email, in any case, from three characters on; shorter
    // searches match the start.
    let found = app.list(&admin, "ZETA", "name", false, None).await;
    assert_eq!(names(&found), ["Zeta analysts"]);
    let found = app.list(&admin, "ANALYST", "name", false, None).await;
    assert_eq!(names(&found), ["Zeta analysts"]);
    let found = app.list(&admin, "Example.COM", "name", false, None).await;
    assert_eq!(found["total"], 1);
    assert_eq!(found["principals"][0]["emailOrId"], "ada@example.com");
    let found = app.list(&admin, "ta", "name", false, None).await;
    assert_eq!(found["total"], 0);
    let found = app.list(&admin, "ze", "name", false, None).await;
    assert_eq!(names(&found), ["Zeta analysts"]);
    // A quote in a search is text, not query syntax.
    let found = app.list(&admin, "\"ada", "name", false, None).await;
    assert_eq!(found["total"], 0);
    let found = app.list(&admin, "ada@", "name", false, None).await;
    assert_eq!(found["principals"][0]["emailOrId"], "ada@example.com");
    assert_eq!(found["principals"][0]["pending"], true);
    let bulk = app.list(&admin, "bulk 5", "name", true, None).await;
    assert_eq!(
        names(&bulk),
        ["Bulk 54", "Bulk 53", "Bulk 52", "Bulk 51", "Bulk 50"]
    );
    let none = app.list(&admin, "nobody", "name", false, None).await;
    assert_eq!(none["total"], 0);

    let long = "x".repeat(201);
    let err = app
        .rpc_fails(
            &admin,
            "/rpc/principals_list",
            &form(&[("query[q]", &long)]),
            INVALID,
        )
        .await;
    assert_eq!(field(&err), "q");
    // Not shaped like a cursor; shaped like one but not this sort's (one value, not two).
    for (cursor, field_name) in [
        ("query[after]=not%20a%20cursor", "after"),
        ("query[before]=WyJhIl0", "before"),
    ] {
        let err = app
            .rpc_fails(&admin, "/rpc/principals_list", cursor, INVALID)
            .await;
        assert_eq!(field(&err), field_name);
    }
    app.rpc_fails(
        &admin,
        "/rpc/principals_list",
        "query[sort]=password",
        StatusCode::BAD_REQUEST,
    )
    .await;
}

/// Past 5,000 matches a search stops counting and walks the sort's index instead of sorting
/// its matches: the same rows in the same order, a count that says "more than".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_matching_thousands_pages_like_any_other() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5200) \
         INSERT INTO principals (kind, name, handle, role) \
         SELECT 'group', 'Dense ' || substr(CAST(10000 + i AS TEXT), 2), \
                'group-' || substr(CAST(10000 + i AS TEXT), 2), \
                CASE i % 3 WHEN 0 THEN 'admin' WHEN 1 THEN 'viewer' ELSE 'contributor' END \
         FROM n",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    // "ense 0" is inside Dense 0001–0999 only: few, counted exactly.
    let few = app.list(&admin, "ENSE 0", "name", true, None).await;
    assert_eq!(few["total"], 999);
    assert_eq!(few["totalCapped"], false);
    assert_eq!(names(&few)[0], "Dense 0999");
    for (q, sort) in [
        ("dense", "name"),
        ("DENSE", "role"),
        ("group-", "email"),
        ("d", "name"),
    ] {
        let first = app.list(&admin, q, sort, false, None).await;
        assert_eq!(first["totalCapped"], true, "{q}");
        assert_eq!(first["total"], 5000, "{q}");
        let next = first["next"].as_str().unwrap();
        let second = app
            .list(&admin, q, sort, false, Some(("after", next)))
            .await;
        let (a, b) = (names(&first), names(&second));
        assert_eq!((a.len(), b.len()), (50, 50), "{q}");
        assert!(a.iter().all(|n| !b.contains(n)), "{q}: pages overlap");
        let back = app
            .list(
                &admin,
                q,
                sort,
                false,
                Some(("before", second["previous"].as_str().unwrap())),
            )
            .await;
        assert_eq!(names(&back), a, "{q}");
    }
    let by_name = app.list(&admin, "dense", "name", false, None).await;
    assert_eq!(names(&by_name)[..2], ["Dense 0001", "Dense 0002"]);
    let by_role = app.list(&admin, "dense", "role", false, None).await;
    assert_eq!(by_role["principals"][0]["name"], "Dense 0003");
    assert_eq!(by_role["principals"][0]["role"], "admin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_field_by_field_and_nothing_is_written() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM principals")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    app.add(&admin, "group", "Analysts", "viewer").await;
    let long_name = "n".repeat(201);
    let long_email = format!("{}@example.com", "a".repeat(250));
    for (kind, principal, expected) in [
        (
            "user",
            "not an email",
            "Enter an email address like name@example.com.",
        ),
        (
            "user",
            long_email.as_str(),
            "An email address has at most 254 characters.",
        ),
        (
            "user",
            ADMIN_EMAIL,
            "A user with this email already exists.",
        ),
        (
            "user",
            "ADMIN@Gatehouse.test",
            "A user with this email already exists.",
        ),
        ("group", "   ", "Enter a name."),
        (
            "group",
            long_name.as_str(),
            "A name has at most 200 characters.",
        ),
        (
            "group",
            "analysts",
            "A group with this name already exists.",
        ),
        (
            "application",
            "tab\there",
            "A name cannot contain control characters.",
        ),
    ] {
        let body = form(&[("kind", kind), ("principal", principal), ("role", "viewer")]);
        let err = app
            .rpc_fails(&admin, "/rpc/principals_add", &body, INVALID)
            .await;
        assert_eq!(field(&err), "principal", "{principal:?}");
        assert_eq!(message(&err), expected, "{principal:?}");
    }
    for body in [
        "kind=user&principal=x%40example.com&role=root",
        "kind=robot&principal=x&role=viewer",
        "kind=user&role=viewer",
    ] {
        app.rpc_fails(&admin, "/rpc/principals_add", body, StatusCode::BAD_REQUEST)
            .await;
    }
    app.rpc_fails(
        &admin,
        "/rpc/principals_change_role",
        "id=99999&role=viewer&confirm_self=false",
        StatusCode::NOT_FOUND,
    )
    .await;
    let after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM principals")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(after, before + 1, "only the valid group was added");
    let adds: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'principal.add'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(adds, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_signs_the_invitee_in_once_and_expires() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let added = app.add(&admin, "user", "grace@example.com", "viewer").await;
    let token = token_of(&added);
    assert!(token.len() >= 43, "256 random bits");

    // Not signed in before accepting: there is no password yet.
    let res = app
        .post_login(&client(), "grace@example.com", PASSWORD, "")
        .await;
    assert!(location(&res).starts_with("/login?error=invalid"));

    let check = app
        .rpc(
            &client(),
            "/rpc/invitation_check",
            &form(&[("token", &token)]),
        )
        .await;
    assert_eq!(check["email"], "grace@example.com");
    let page = app.open_invitation(&token).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("grace@example.com"));
    assert!(!html.contains(&token), "the token is not in the page");

    let invitee = client();
    let accept = |password: &str, confirm: &str| {
        form(&[
            ("token", &token),
            ("name", "Grace Hopper"),
            ("password", password),
            ("confirm", confirm),
        ])
    };
    let err = app
        .rpc_fails(
            &invitee,
            "/rpc/invitation_accept",
            &accept("short", "short"),
            INVALID,
        )
        .await;
    assert_eq!(field(&err), "password");
    let err = app
        .rpc_fails(
            &invitee,
            "/rpc/invitation_accept",
            &accept(PASSWORD, "something else entirely"),
            INVALID,
        )
        .await;
    assert_eq!(field(&err), "confirm");
    app.rpc(
        &invitee,
        "/rpc/invitation_accept",
        &accept(PASSWORD, PASSWORD),
    )
    .await;
    // Signed in by accepting: a Viewer, so the Security page is refused, not redirected.
    let res = invitee
        .get(app.url("/admin/security/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Used once: the same link now says so, on the page and to the server function.
    let err = app
        .rpc_fails(
            &client(),
            "/rpc/invitation_accept",
            &accept(PASSWORD, PASSWORD),
            StatusCode::GONE,
        )
        .await;
    assert!(message(&err).contains("already been used"));
    let page = app.open_invitation(&token).await;
    assert_eq!(page.status(), StatusCode::GONE);
    let res = app
        .post_login(&client(), "grace@example.com", PASSWORD, "")
        .await;
    assert_eq!(location(&res), "/admin/security/users");

    // Expiry: a second invitation, aged past seven days.
    let added = app.add(&admin, "user", "late@example.com", "viewer").await;
    let late = token_of(&added);
    sqlx::query("UPDATE invitations SET expires_at = unixepoch() - 1 WHERE used_at IS NULL")
        .execute(&app.pool)
        .await
        .unwrap();
    let err = app
        .rpc_fails(
            &client(),
            "/rpc/invitation_check",
            &form(&[("token", &late)]),
            StatusCode::GONE,
        )
        .await;
    assert!(message(&err).contains("expired"));
    // A new link replaces it; the old one stays dead.
    let id = added["principal"]["id"].as_i64().unwrap();
    let again = app
        .rpc(&admin, "/rpc/user_invite", &format!("id={id}"))
        .await;
    let fresh = again
        .as_str()
        .unwrap()
        .strip_prefix("/invitation?token=")
        .unwrap();
    app.rpc(
        &client(),
        "/rpc/invitation_check",
        &form(&[("token", fresh)]),
    )
    .await;
    app.rpc_fails(
        &client(),
        "/rpc/invitation_check",
        &form(&[("token", &late)]),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let unknown = app
        .rpc_fails(
            &client(),
            "/rpc/invitation_check",
            "token=made-up",
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(field(&unknown), "token");

    // Only digests are stored.
    let digests: Vec<Vec<u8>> = sqlx::query_scalar("SELECT token_digest FROM invitations")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert!(digests.iter().all(|d| d.len() == 32));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_admin_can_be_neither_removed_nor_demoted() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let me = 1;
    // Lowering one's own role needs the explicit confirmation first.
    let err = app
        .rpc_fails(
            &admin,
            "/rpc/principals_change_role",
            &format!("id={me}&role=viewer&confirm_self=false"),
            INVALID,
        )
        .await;
    assert!(message(&err).contains("your own Admin role"));
    let err = app
        .rpc_fails(
            &admin,
            "/rpc/principals_change_role",
            &format!("id={me}&role=viewer&confirm_self=true"),
            INVALID,
        )
        .await;
    assert_eq!(
        message(&err),
        "At least one Admin must remain. Make another user an Admin first."
    );
    let err = app
        .rpc_fails(
            &admin,
            "/rpc/principals_remove",
            &format!("id={me}"),
            INVALID,
        )
        .await;
    assert!(message(&err).starts_with("At least one Admin must remain"));
    // An invited Admin who has not accepted cannot sign in, so does not count.
    app.add(&admin, "user", "pending-admin@example.com", "admin")
        .await;
    app.rpc_fails(
        &admin,
        "/rpc/principals_remove",
        &format!("id={me}"),
        INVALID,
    )
    .await;
    assert_eq!(
        app.status_of(&admin, "/rpc/security_overview").await,
        StatusCode::OK
    );

    // An Admin through a group counts; taking them out of the group is then the guarded step.
    let (other, other_id) = app.invited(&admin, "second@example.com", "viewer").await;
    let group = app.add(&admin, "group", "Admins", "admin").await;
    let group_id = group["principal"]["id"].as_i64().unwrap();
    app.rpc(
        &admin,
        "/rpc/group_member_add",
        &form(&[
            ("group_id", &group_id.to_string()),
            ("email", "second@example.com"),
        ]),
    )
    .await;
    app.rpc(
        &admin,
        "/rpc/principals_change_role",
        &format!("id={me}&role=viewer&confirm_self=true"),
    )
    .await;
    assert_eq!(
        app.status_of(&admin, "/rpc/security_overview").await,
        StatusCode::FORBIDDEN
    );
    let err = app
        .rpc_fails(
            &other,
            "/rpc/group_member_remove",
            &format!("group_id={group_id}&user_id={other_id}"),
            INVALID,
        )
        .await;
    assert!(message(&err).starts_with("At least one Admin must remain"));
    let err = app
        .rpc_fails(
            &other,
            "/rpc/principals_change_role",
            &format!("id={group_id}&role=contributor&confirm_self=false"),
            INVALID,
        )
        .await;
    assert!(message(&err).starts_with("At least one Admin must remain"));
    app.rpc_fails(
        &other,
        "/rpc/principals_remove",
        &format!("id={group_id}"),
        INVALID,
    )
    .await;
    // Nothing half-done: the group, its member and its role are all still there.
    let page = app.list(&other, "Admins", "name", false, None).await;
    assert_eq!(page["principals"][0]["role"], "admin");
    assert_eq!(page["principals"][0]["members"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_role_is_the_highest_of_their_own_and_their_groups() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let (user, user_id) = app.invited(&admin, "member@example.com", "viewer").await;
    // The name they chose on accepting is searchable at once (the trigram index follows
    // every change of a name), the one they were invited under is not.
    let found = app.list(&admin, "ted pers", "name", false, None).await;
    assert_eq!(found["principals"][0]["emailOrId"], "member@example.com");
    let found = app.list(&admin, "member@", "name", false, None).await;
    assert_eq!(found["principals"][0]["name"], "Invited Person");
    assert_eq!(
        app.status_of(&user, "/rpc/security_overview").await,
        StatusCode::FORBIDDEN
    );
    let group = app.add(&admin, "group", "Security team", "admin").await;
    let group_id = group["principal"]["id"].as_i64().unwrap();
    let members = app
        .rpc(
            &admin,
            "/rpc/group_member_add",
            &form(&[
                ("group_id", &group_id.to_string()),
                ("email", "MEMBER@example.com"),
            ]),
        )
        .await;
    assert_eq!(members[0]["email"], "member@example.com");
    assert_eq!(
        app.status_of(&user, "/rpc/security_overview").await,
        StatusCode::OK
    );
    let listed = app.list(&admin, "member@", "name", false, None).await;
    assert_eq!(listed["principals"][0]["role"], "viewer");
    assert_eq!(listed["principals"][0]["effectiveRole"], "admin");

    for (group, email, expected) in [
        (
            group_id,
            "member@example.com",
            "This user is already a member.",
        ),
        (
            group_id,
            "nobody@example.com",
            "No user has this email. Add them as a user first.",
        ),
        (user_id, "member@example.com", "Only groups have members."),
    ] {
        let body = form(&[("group_id", &group.to_string()), ("email", email)]);
        let err = app
            .rpc_fails(&admin, "/rpc/group_member_add", &body, INVALID)
            .await;
        assert_eq!((field(&err), message(&err).as_str()), ("member", expected));
    }

    app.rpc(
        &admin,
        "/rpc/principals_change_role",
        &format!("id={group_id}&role=contributor&confirm_self=false"),
    )
    .await;
    assert_eq!(
        app.status_of(&user, "/rpc/security_overview").await,
        StatusCode::FORBIDDEN
    );
    app.rpc(
        &admin,
        "/rpc/principals_change_role",
        &format!("id={group_id}&role=admin&confirm_self=false"),
    )
    .await;
    assert_eq!(
        app.status_of(&user, "/rpc/security_overview").await,
        StatusCode::OK
    );
    let left = app
        .rpc(
            &admin,
            "/rpc/group_member_remove",
            &format!("group_id={group_id}&user_id={user_id}"),
        )
        .await;
    assert_eq!(left, serde_json::json!([]));
    assert_eq!(
        app.status_of(&user, "/rpc/security_overview").await,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demotion_and_removal_apply_to_open_sessions_at_once() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let (other, other_id) = app.invited(&admin, "deputy@example.com", "admin").await;
    let page = |c: &Client| {
        let c = c.clone();
        let url = app.url("/admin/security/users");
        async move { c.get(url).send().await.unwrap() }
    };
    assert_eq!(page(&other).await.status(), StatusCode::OK);
    app.rpc(
        &admin,
        "/rpc/principals_change_role",
        &format!("id={other_id}&role=viewer&confirm_self=false"),
    )
    .await;
    assert_eq!(page(&other).await.status(), StatusCode::FORBIDDEN);
    let list = app
        .call_server_fn(&other, "/rpc/principals_list", "query[page]=1")
        .await;
    assert_eq!(list.status(), StatusCode::FORBIDDEN);

    app.rpc(&admin, "/rpc/principals_remove", &format!("id={other_id}"))
        .await;
    let res = page(&other).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert!(location(&res).starts_with("/login"));
    assert_eq!(
        app.status_of(&other, "/rpc/security_overview").await,
        StatusCode::UNAUTHORIZED
    );
    // A new user never inherits the removed one's id, so the old session stays dead.
    let (_, new_id) = app.invited(&admin, "newcomer@example.com", "admin").await;
    assert!(new_id > other_id);
    assert_eq!(
        app.status_of(&other, "/rpc/security_overview").await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applications_call_the_api_with_their_secret_and_role() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let auditor = app
        .add(&admin, "application", "Access review", "admin")
        .await;
    let secret = auditor["client_secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("gatehouse_app_"));
    let reader = app.add(&admin, "application", "Reader", "viewer").await;
    let reader_secret = reader["client_secret"].as_str().unwrap().to_owned();
    let get = |path: &'static str, bearer: Option<String>| {
        let url = app.url(path);
        async move {
            let mut req = script_client().get(url);
            if let Some(b) = bearer {
                req = req.header(header::AUTHORIZATION, format!("Bearer {b}"));
            }
            req.send().await.unwrap()
        }
    };
    // The API switch governs applications too.
    assert_eq!(
        get("/api/v1/principals", Some(secret.clone()))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    app.rpc(&admin, "/rpc/api_enable", "").await;

    let res = get("/api/v1/principals", Some(secret.clone())).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["total"], 3);
    assert_eq!(body["principals"][0]["name"], "Access review");
    assert_eq!(body["principals"][0]["type"], "application");
    let res = get("/api/v1/principals?q=read&sort=-role", Some(secret.clone())).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["principals"][0]["name"], "Reader");
    let res = get("/api/v1/principals?q=EVIE", Some(secret.clone())).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["principals"][0]["name"], "Access review");
    assert_eq!(body["next"], Value::Null);

    for (bearer, status) in [
        (None, StatusCode::UNAUTHORIZED),
        (
            Some("gatehouse_app_wrong".to_owned()),
            StatusCode::UNAUTHORIZED,
        ),
        (Some(reader_secret.clone()), StatusCode::FORBIDDEN),
    ] {
        let res = get("/api/v1/principals", bearer).await;
        assert_eq!(res.status(), status);
        if status == StatusCode::UNAUTHORIZED {
            assert!(res.headers().contains_key(header::WWW_AUTHENTICATE));
        }
        let body: Value = res.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().len() > 10);
    }
    for (bad, status) in [
        ("sort=password", StatusCode::BAD_REQUEST),
        ("after=not%20a%20cursor", StatusCode::BAD_REQUEST),
        ("after=x&before=y", StatusCode::BAD_REQUEST),
        // Shaped like a cursor, but not one of this sort (one value, where name needs two).
        ("before=WyJhIl0", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let res = script_client()
            .get(app.url(&format!("/api/v1/principals?{bad}")))
            .bearer_auth(&secret)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "{bad}");
    }
    // Any role reads the environment.
    assert_eq!(
        get("/api/v1/environment", Some(reader_secret.clone()))
            .await
            .status(),
        StatusCode::OK
    );

    // A new secret: the old one fails at once.
    let id = reader["principal"]["id"].as_i64().unwrap();
    let new_secret = app
        .rpc(&admin, "/rpc/application_secret", &format!("id={id}"))
        .await;
    let new_secret = new_secret.as_str().unwrap().to_owned();
    assert_eq!(
        get("/api/v1/environment", Some(reader_secret))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get("/api/v1/environment", Some(new_secret.clone()))
            .await
            .status(),
        StatusCode::OK
    );
    // Promoted, the same secret lists principals; removed, it is refused.
    app.rpc(
        &admin,
        "/rpc/principals_change_role",
        &format!("id={id}&role=admin&confirm_self=false"),
    )
    .await;
    assert_eq!(
        get("/api/v1/principals", Some(new_secret.clone()))
            .await
            .status(),
        StatusCode::OK
    );
    app.rpc(&admin, "/rpc/principals_remove", &format!("id={id}"))
        .await;
    assert_eq!(
        get("/api/v1/environment", Some(new_secret.clone()))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let stored: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT secret_digest FROM principals WHERE secret_digest IS NOT NULL")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored.len(), 1);
    assert!(
        !stored[0]
            .windows(8)
            .any(|w| secret.as_bytes().windows(8).any(|s| s == w))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_is_audited_without_secrets_and_admins_can_export_it() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let added = app.add(&admin, "user", "lin@example.com", "viewer").await;
    let token = token_of(&added);
    let (_, kay) = app.invited(&admin, "kay@example.com", "viewer").await;
    app.rpc(
        &admin,
        "/rpc/principals_change_role",
        &format!("id={kay}&role=contributor&confirm_self=false"),
    )
    .await;
    let application = app.add(&admin, "application", "Robot", "viewer").await;
    let secret = application["client_secret"].as_str().unwrap().to_owned();
    app.rpc(&admin, "/rpc/principals_remove", &format!("id={kay}"))
        .await;

    let rows = app.audit_actions().await;
    let actions: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    for expected in [
        "auth.sign_in",
        "user.invite",
        "principal.add",
        "user.invitation_accepted",
        "principal.role",
        "principal.remove",
    ] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    let role_change = rows.iter().find(|r| r.0 == "principal.role").unwrap();
    assert_eq!(role_change.1.as_deref(), Some(ADMIN_EMAIL));
    assert_eq!(role_change.2.as_deref(), Some("kay@example.com"));
    assert_eq!(role_change.3, "viewer -> contributor");
    let addresses: Vec<Option<String>> =
        sqlx::query_scalar("SELECT client_addr FROM audit_log WHERE action LIKE 'principal.%'")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert!(addresses.iter().all(|a| a.as_deref() == Some("127.0.0.1")));

    let shown = app.rpc(&admin, "/rpc/audit_list", "page=1").await;
    assert_eq!(shown["entries"][0]["action"], "principal.remove");

    let res = admin
        .get(app.url("/admin/security/audit.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = res.text().await.unwrap();
    assert!(csv.starts_with("time_utc,actor,action,target,detail,client_address\r\n"));
    assert!(csv.contains("\"principal.role\",\"kay@example.com\",\"viewer -> contributor\""));
    for secret in [token.as_str(), secret.as_str(), PASSWORD] {
        assert!(!csv.contains(secret), "the log holds a secret");
    }

    let viewer = app.client_as(Some(Role::Viewer)).await;
    for (client, status) in [
        (client(), StatusCode::UNAUTHORIZED),
        (viewer, StatusCode::FORBIDDEN),
    ] {
        let res = client
            .get(app.url("/admin/security/audit.csv"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status);
    }
}

impl TestApp {
    /// Opens an invitation link as a browser does: the server moves the token into the
    /// session and redirects to the bare path, which then shows the invitation.
    async fn open_invitation(&self, token: &str) -> reqwest::Response {
        let browser = client();
        let first = browser
            .get(self.url(&format!("/invitation?token={token}")))
            .send()
            .await
            .unwrap();
        assert_eq!(first.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&first), "/invitation");
        assert_eq!(first.headers()["referrer-policy"], "no-referrer");
        let page = browser.get(self.url("/invitation")).send().await.unwrap();
        assert_eq!(page.headers()["referrer-policy"], "no-referrer");
        page
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_is_accepted_with_the_token_the_session_holds() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let added = app.add(&admin, "user", "ada@example.com", "viewer").await;
    let token = token_of(&added);
    let browser = client();
    browser
        .get(app.url(&format!("/invitation?token={token}")))
        .send()
        .await
        .unwrap();
    // The page's form sends an empty token: the server uses the one it holds.
    let body = form(&[
        ("token", ""),
        ("name", "Ada Lovelace"),
        ("password", PASSWORD),
        ("confirm", PASSWORD),
    ]);
    app.rpc(&browser, "/rpc/invitation_accept", &body).await;
    let me = app.rpc(&browser, "/rpc/current_user", "").await;
    assert_eq!(me["email"], "ada@example.com");
    // Without a held token, an empty one is simply not valid.
    app.rpc_fails(
        &client(),
        "/rpc/invitation_accept",
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_export_streams_every_row_and_old_entries_are_pruned() {
    let app = spawn_app().await;
    // 2,500 entries: three of the export's pages, two of them a year and a half old.
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500) \
         INSERT INTO audit_log (at, actor_email, action, target, detail) \
         SELECT CASE WHEN i <= 2000 THEN unixepoch() - 550 * 86400 ELSE unixepoch() END, \
         'bulk@gatehouse.test', 'test.bulk', 'row ' || i, '' FROM n",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    // Chained as a server chains entries from before the chain existed.
    let mut tx = app.pool.begin().await.unwrap();
    app::audit::chain::chain_unchained_here(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let admin = app.client_as(Some(Role::Admin)).await;
    let csv = admin
        .get(app.url("/admin/security/audit.csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(csv.matches("time_utc,actor").count(), 1, "one header");
    assert_eq!(csv.matches("\"test.bulk\"").count(), 2500);
    assert!(csv.contains("\"row 1\"") && csv.contains("\"row 2500\""));

    // The retention (400 days by default) removes what is older, and nothing else.
    let pruned = app::audit::ssr::prune(&app.pool, 400).await.unwrap();
    assert_eq!(pruned, 2000);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'test.bulk'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, 500);
    let chain = app.rpc(&admin, "/rpc/audit_verify", "").await;
    assert_eq!(
        chain["state"], "intact",
        "what retention leaves still verifies: {chain}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_this_browser_s_own_form_errors_are_shown_from_a_url() {
    use base64::Engine;
    let app = spawn_app().await;
    // A crafted link that would put any text on the page.
    let crafted = base64::engine::general_purpose::URL_SAFE
        .encode(r#"{"BadRequest":"Your account is locked: call +1 555 0100 now"}"#);
    let res = client()
        .get(app.url(&format!(
            "/login?next=%2Fadmin&__path=%2Frpc%2Finvitation_accept&__err={crafted}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login?next=%2Fadmin");

    // A real no-JavaScript submission that fails comes back with its error, once.
    let browser = client();
    let res = browser
        .post(app.url("/rpc/invitation_accept"))
        .header("referer", app.url("/invitation"))
        .form(&[
            ("token", "not-a-token"),
            ("name", "Eve"),
            ("password", "a long enough password"),
            ("confirm", "a long enough password"),
        ])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());
    // Back to the page the form was on, as a path of this origin (never an absolute URL).
    let back = location(&res);
    assert!(back.starts_with("/invitation?"), "{back}");
    assert!(back.contains("__err="), "{back}");
    let back = app.url(&back);
    let page = browser.get(&back).send().await.unwrap();
    // (The invitation page itself answers 422 for the bad token it was given.)
    assert_ne!(
        page.status(),
        StatusCode::SEE_OTHER,
        "the browser's own error is shown"
    );
    let again = browser.get(&back).send().await.unwrap();
    assert_eq!(
        again.status(),
        StatusCode::SEE_OTHER,
        "a flash is shown once"
    );
    // Another browser opening the same address does not see it.
    let other = client().get(&back).send().await.unwrap();
    assert_eq!(other.status(), StatusCode::SEE_OTHER);
}

/// Every way a search is answered (few matches, counted and sorted; more than 5,000, read
/// along the sort's order; one or two characters, the start of a name or email/ID; non-ASCII
/// capitals; none) lists exactly the rows, in exactly the order, that filtering and sorting
/// everything would: first, middle and last pages, both directions, every sort.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_search_lists_what_filtering_everything_would() {
    use app::users::{
        ListQuery, Principal, PrincipalKind, SortKey,
        ssr::{index::Index, list},
    };
    let app = spawn_app().await;
    // An index loaded before the principals come: more changes than are worth applying one
    // by one, so that it reads them all again.
    let index = Index::default();
    let mut conn = app.pool.acquire().await.unwrap();
    index.update(&mut conn).await.unwrap();
    // 12,000 users, half of them named K… (a short search that matches many), 90 % at
    // example.org (a domain that matches many users and no group or application, and trigrams
    // so common that a search leaves them out and checks candidates); some whose
    // email starts otherwise than their name; groups and applications that sort first by type.
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12000) \
         INSERT INTO principals (kind, name, handle, role) \
         SELECT 'user', \
                CASE i % 10 WHEN 0 THEN 'Karl' WHEN 1 THEN 'kim' WHEN 2 THEN 'Kira' WHEN 3 THEN 'Kate' \
                  WHEN 4 THEN 'Ken' WHEN 5 THEN 'Anna' WHEN 6 THEN 'Bob' WHEN 7 THEN 'Zoë' \
                  WHEN 8 THEN 'Élodie' ELSE 'Mia' END || ' ' || \
                CASE i % 7 WHEN 0 THEN 'Lovelace' WHEN 1 THEN 'Hopper' WHEN 2 THEN 'kaur' \
                  WHEN 3 THEN 'Ng' WHEN 4 THEN 'Okafor' WHEN 5 THEN 'Kowalski' ELSE 'Ölberg' END, \
                CASE WHEN i % 97 = 0 THEN 'k' ELSE '' END || \
                lower(CASE i % 10 WHEN 0 THEN 'karl' WHEN 1 THEN 'kim' WHEN 2 THEN 'kira' WHEN 3 THEN 'kate' \
                  WHEN 4 THEN 'ken' WHEN 5 THEN 'anna' WHEN 6 THEN 'bob' WHEN 7 THEN 'zoe' \
                  WHEN 8 THEN 'elodie' ELSE 'mia' END) || '.' || i || '@' || \
                CASE WHEN i % 10 < 9 THEN 'example.org' ELSE 'contoso.com' END, \
                CASE i % 3 WHEN 0 THEN 'admin' WHEN 1 THEN 'viewer' ELSE 'contributor' END \
         FROM n \
         UNION ALL SELECT 'group', 'Team ' || i, 'group-' || i, 'viewer' FROM n WHERE i <= 400 \
         UNION ALL SELECT 'application', 'Kiosk sync ' || i, 'app-' || i, 'contributor' FROM n WHERE i <= 300",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let everyone: Vec<(i64, String, String, String, String)> =
        sqlx::query_as("SELECT id, kind, name, handle, role FROM principals")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let values = |sort: SortKey, p: &(i64, String, String, String, String)| {
        let texts = match sort {
            SortKey::Name => vec![p.2.clone(), p.3.clone()],
            SortKey::Email => vec![p.3.clone()],
            SortKey::Type => vec![p.1.clone(), p.2.clone(), p.3.clone()],
            SortKey::Role => vec![p.4.clone(), p.2.clone(), p.3.clone()],
        };
        let folded: Vec<String> = texts.iter().map(|t| t.to_lowercase()).collect();
        (folded, p.0)
    };
    let cursor = |sort: SortKey, p: &(i64, String, String, String, String)| {
        list::cursor(
            sort,
            &Principal {
                id: p.0,
                kind: PrincipalKind::parse(&p.1).unwrap(),
                name: p.2.clone(),
                email_or_id: p.3.clone(),
                role: Role::parse(&p.4).unwrap(),
                effective_role: Role::parse(&p.4).unwrap(),
                pending: false,
                members: None,
                lockbox_approver: false,
                active: true,
                support_application: false,
                approver_waiting: false,
            },
        )
    };
    index.update(&mut conn).await.unwrap();
    assert_eq!(index.footprint().unwrap().0, everyone.len());
    let ids =
        |page: &app::users::PrincipalPage| page.principals.iter().map(|p| p.id).collect::<Vec<_>>();
    let searches = [
        "example.org", // many, users only
        "7@example",   // few among many that hold most of it
        "kaur",        // few hundreds, inside names and addresses
        "KOWAL",       // any case
        "sync 1",      // applications only
        "k",           // many: names and the odd address that starts with k
        "ki",          // a short search that matches few
        "é",           // a short non-ASCII search
        "É",           // a short non-ASCII capital, matching many
        "ÉLODIE ÖL",   // non-ASCII capitals, any part
        "ölb",         // non-ASCII any part
        "nobody",
    ];
    for q in searches {
        let needle = q.to_lowercase();
        let mut expected: Vec<_> = everyone
            .iter()
            .filter(|p| {
                let (name, handle) = (p.2.to_lowercase(), p.3.to_lowercase());
                if q.chars().count() < 3 {
                    name.starts_with(&needle) || handle.starts_with(&needle)
                } else {
                    name.contains(&needle) || handle.contains(&needle)
                }
            })
            .collect();
        for sort in SortKey::ALL {
            expected.sort_by_key(|p| values(sort, p));
            for descending in [false, true] {
                let order: Vec<_> = if descending {
                    expected.iter().rev().copied().collect()
                } else {
                    expected.clone()
                };
                let want = |range: std::ops::Range<usize>| -> Vec<i64> {
                    order[range.start.min(order.len())..range.end.min(order.len())]
                        .iter()
                        .map(|p| p.0)
                        .collect()
                };
                let base = ListQuery {
                    q: q.into(),
                    sort,
                    descending,
                    after: None,
                    before: None,
                };
                let case = format!("{q:?} by {sort:?}, descending {descending}");
                let first = list::page(&app.pool, &index, &base).await.unwrap();
                assert_eq!(ids(&first), want(0..50), "first page of {case}");
                assert_eq!(first.total, (order.len() as i64).min(5000), "{case}");
                assert_eq!(first.total_capped, order.len() > 5000, "{case}");
                if order.len() < 2 {
                    continue;
                }
                let (middle, end) = (order.len() / 2, order.len() - 1);
                let at = |row: usize| Some(cursor(sort, order[row]));
                for (paged, range, what) in [
                    (
                        ListQuery {
                            after: at(middle),
                            ..base.clone()
                        },
                        middle + 1..middle + 51,
                        "after the middle",
                    ),
                    (
                        ListQuery {
                            before: at(middle),
                            ..base.clone()
                        },
                        middle.saturating_sub(50)..middle,
                        "before the middle",
                    ),
                    (
                        ListQuery {
                            before: at(end),
                            ..base.clone()
                        },
                        end.saturating_sub(50)..end,
                        "before the last row",
                    ),
                ] {
                    let page = list::page(&app.pool, &index, &paged).await.unwrap();
                    assert_eq!(ids(&page), want(range), "{what} of {case}");
                }
            }
        }
    }
}

/// The index that a server process keeps in memory follows every change written to the
/// database, also by another process (here: straight SQL): added, renamed, re-roled and
/// removed principals are found, ordered and forgotten as the database says.
#[tokio::test]
async fn the_index_follows_every_change() {
    use app::users::{
        ListQuery, SortKey,
        ssr::{index::Index, list},
    };
    let app = spawn_app().await;
    let add = |name: &'static str, handle: &'static str, role: &'static str| {
        sqlx::query("INSERT INTO principals (kind, name, handle, role) VALUES ('user', $1, $2, $3)")
            .bind(name)
            .bind(handle)
            .bind(role)
            .execute(&app.pool)
    };
    add("Zebra Stripe", "stripe@zoo.test", "viewer")
        .await
        .unwrap();
    add("Alpha One", "alpha@zoo.test", "viewer").await.unwrap();
    let index = Index::default();
    let names = |sort: SortKey| {
        let index = &index;
        let pool = &app.pool;
        async move {
            let query = ListQuery {
                q: "zebra".into(),
                sort,
                descending: false,
                after: None,
                before: None,
            };
            let page = list::page(pool, index, &query).await.unwrap();
            page.principals
                .into_iter()
                .map(|p| p.name)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(names(SortKey::Name).await, ["Zebra Stripe"]);

    add("Zebra Crossing", "crossing@zoo.test", "admin")
        .await
        .unwrap();
    sqlx::query("UPDATE principals SET name = 'Zebra Alpha' WHERE handle = 'alpha@zoo.test'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        names(SortKey::Name).await,
        ["Zebra Alpha", "Zebra Crossing", "Zebra Stripe"]
    );
    assert_eq!(
        names(SortKey::Role).await,
        ["Zebra Crossing", "Zebra Alpha", "Zebra Stripe"]
    );
    sqlx::query("UPDATE principals SET role = 'admin' WHERE handle = 'stripe@zoo.test'")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM principals WHERE handle = 'crossing@zoo.test'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(names(SortKey::Role).await, ["Zebra Stripe", "Zebra Alpha"]);
    assert_eq!(index.footprint().unwrap().0, 3);
}

/// A principal changed after the index was brought up to date and before the page's rows are
/// read (another server's write) is not listed where it was: the page is made again from the
/// changed index, as filtering everything now would make it.
#[tokio::test]
async fn a_principal_changed_during_a_query_is_listed_as_it_is_now() {
    use app::users::{
        ListQuery, SortKey,
        ssr::{index::Index, list},
    };
    let app = spawn_app().await;
    for (name, handle) in [
        ("Zebra Alpha", "alpha@zoo.test"),
        ("Zebra Beta", "beta@zoo.test"),
        ("Zebra Gamma", "gamma@zoo.test"),
    ] {
        sqlx::query(
            "INSERT INTO principals (kind, name, handle, role) VALUES ('user', $1, $2, 'viewer')",
        )
        .bind(name)
        .bind(handle)
        .execute(&app.pool)
        .await
        .unwrap();
    }
    let index = Index::default();
    let mut conn = app.pool.acquire().await.unwrap();
    index.update(&mut conn).await.unwrap();
    let query = |q: &str| ListQuery {
        q: q.into(),
        sort: SortKey::Name,
        descending: false,
        after: None,
        before: None,
    };
    for sql in [
        "UPDATE principals SET name = 'Aardvark' WHERE handle = 'beta@zoo.test'",
        "UPDATE principals SET name = 'ÉZEBRA Ω' WHERE handle = 'alpha@zoo.test'",
    ] {
        sqlx::query(sql).execute(&app.pool).await.unwrap();
    }
    let page = list::page_in(&mut conn, &index, &query("zebra"))
        .await
        .unwrap();
    let names: Vec<_> = page.principals.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Zebra Gamma", "ÉZEBRA Ω"]);
    assert_eq!(page.total, 2);
    let page = list::page_in(&mut conn, &index, &query("ézeb"))
        .await
        .unwrap();
    assert_eq!(page.principals[0].name, "ÉZEBRA Ω");
}

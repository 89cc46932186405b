//! SCIM 2.0 provisioning: the token an Admin manages on the Users tab, every operation an
//! identity provider uses on users and groups, and each refusal with its SCIM error body.

use crate::helpers::*;
use app::roles::Role;
use reqwest::{Client, Method, StatusCode, header};
use serde_json::{Value, json};

const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

struct Scim<'a> {
    app: &'a TestApp,
    token: String,
}

impl Scim<'_> {
    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = script_client()
            .request(method, self.app.url(&format!("/scim/v2{path}")))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req
                .header(header::CONTENT_TYPE, "application/scim+json")
                .body(body.to_string());
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        if status != StatusCode::NO_CONTENT {
            assert_eq!(
                res.headers()[header::CONTENT_TYPE],
                "application/scim+json",
                "{path}"
            );
        }
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, None).await
    }

    /// Expects a SCIM error with `status` (and `scim_type` where given).
    async fn refused(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        status: StatusCode,
        scim_type: Option<&str>,
    ) -> Value {
        let (got, body) = self.send(method, path, body).await;
        assert_eq!(got, status, "{path}: {body}");
        assert_eq!(body["schemas"][0], ERROR);
        assert_eq!(body["status"], status.as_u16().to_string());
        assert_eq!(body["scimType"].as_str(), scim_type, "{path}: {body}");
        assert!(body["detail"].as_str().unwrap().len() > 10);
        body
    }
}

async fn provisioned<'a>(app: &'a TestApp, admin: &Client) -> Scim<'a> {
    let token = app.rpc(admin, "/rpc/provisioning_token", "").await;
    Scim {
        app,
        token: token.as_str().unwrap().to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_is_shown_once_replaced_disabled_and_audited() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let status = app.rpc(&admin, "/rpc/provisioning_status", "").await;
    assert_eq!(status["exists"], false);

    let anonymous = Scim {
        app: &app,
        token: String::new(),
    };
    let body = anonymous
        .refused(Method::GET, "/Users", None, StatusCode::UNAUTHORIZED, None)
        .await;
    assert!(body["detail"].as_str().unwrap().contains("Bearer"));

    let first = provisioned(&app, &admin).await;
    assert!(first.token.starts_with("gatehouse_scim_"));
    assert_eq!(first.get("/Users").await.0, StatusCode::OK);
    let status = app.rpc(&admin, "/rpc/provisioning_status", "").await;
    assert_eq!(
        (status["enabled"].as_bool(), status["last_used_at"].is_i64()),
        (Some(true), true)
    );
    // Only the digest is stored.
    let stored: Vec<u8> = sqlx::query_scalar("SELECT digest FROM provisioning_token")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 32);

    // Regenerated: the old token stops at once.
    let second = provisioned(&app, &admin).await;
    first
        .refused(Method::GET, "/Users", None, StatusCode::UNAUTHORIZED, None)
        .await;
    assert_eq!(second.get("/Users").await.0, StatusCode::OK);
    app.rpc(&admin, "/rpc/provisioning_disable", "").await;
    second
        .refused(Method::GET, "/Users", None, StatusCode::UNAUTHORIZED, None)
        .await;
    app.rpc_fails(
        &admin,
        "/rpc/provisioning_disable",
        "",
        StatusCode::CONFLICT,
    )
    .await;
    // Viewers cannot see or make one.
    let viewer = app.client_as(Some(Role::Viewer)).await;
    app.rpc_fails(
        &viewer,
        "/rpc/provisioning_token",
        "",
        StatusCode::FORBIDDEN,
    )
    .await;

    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE action LIKE 'provisioning.%' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        actions,
        [
            "provisioning.token.create",
            "provisioning.token.regenerate",
            "provisioning.token.disable"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_describes_users_and_groups() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let scim = provisioned(&app, &admin).await;
    let (status, config) = scim.get("/ServiceProviderConfig").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(config["patch"]["supported"], true);
    assert_eq!(config["bulk"]["supported"], false);
    let (_, types) = scim.get("/ResourceTypes").await;
    assert_eq!(types["totalResults"], 2);
    assert_eq!(types["Resources"][0]["endpoint"], "/Users");
    let (_, schemas) = scim.get("/Schemas").await;
    assert_eq!(
        schemas["Resources"][1]["id"],
        "urn:ietf:params:scim:schemas:core:2.0:Group"
    );
    let (status, user) = scim
        .get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["attributes"][0]["name"], "userName");
    scim.refused(
        Method::GET,
        "/ResourceTypes/Device",
        None,
        StatusCode::NOT_FOUND,
        None,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_created_found_changed_deactivated_and_deleted() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let scim = provisioned(&app, &admin).await;

    let (status, ada) = scim
        .send(
            Method::POST,
            "/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "ada@example.com",
                "name": { "givenName": "Ada", "familyName": "Lovelace" },
                "externalId": "entra-1",
                "active": true
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ada}");
    let id = ada["id"].as_str().unwrap().to_owned();
    // Read back as sent: a name, no displayName.
    assert_eq!(ada["name"]["familyName"], "Lovelace");
    assert!(ada.get("displayName").is_none());
    assert_eq!(ada["meta"]["location"], format!("/scim/v2/Users/{id}"));
    // On the Users tab: a pending Viewer, found by any part of the new name.
    let list = app
        .rpc(&admin, "/rpc/principals_list", "query[q]=lovel")
        .await;
    assert_eq!(list["principals"][0]["emailOrId"], "ada@example.com");
    assert_eq!(list["principals"][0]["role"], "viewer");
    assert_eq!(list["principals"][0]["pending"], true);

    // Refusals, each with its scimType, and nothing written.
    scim.refused(
        Method::POST,
        "/Users",
        Some(json!({ "userName": "ADA@example.com" })),
        StatusCode::CONFLICT,
        Some("uniqueness"),
    )
    .await;
    scim.refused(
        Method::POST,
        "/Users",
        Some(json!({ "userName": "ab" })),
        StatusCode::BAD_REQUEST,
        Some("invalidValue"),
    )
    .await;
    scim.refused(
        Method::POST,
        "/Users",
        Some(json!({ "displayName": "No name" })),
        StatusCode::BAD_REQUEST,
        Some("invalidValue"),
    )
    .await;
    scim.refused(
        Method::POST,
        "/Users",
        Some(json!({ "userName": "b@example.com", "active": "maybe" })),
        StatusCode::BAD_REQUEST,
        Some("invalidValue"),
    )
    .await;
    scim.refused(
        Method::POST,
        "/Users",
        Some(json!(["not", "an", "object"])),
        StatusCode::BAD_REQUEST,
        Some("invalidSyntax"),
    )
    .await;
    scim.refused(
        Method::GET,
        "/Users?filter=userName%20co%20%22ada%22",
        None,
        StatusCode::BAD_REQUEST,
        Some("invalidFilter"),
    )
    .await;
    scim.refused(
        Method::GET,
        "/Users?count=many",
        None,
        StatusCode::BAD_REQUEST,
        Some("invalidValue"),
    )
    .await;
    scim.refused(
        Method::GET,
        "/Users/99999",
        None,
        StatusCode::NOT_FOUND,
        None,
    )
    .await;
    scim.refused(
        Method::GET,
        "/Users/not-a-number",
        None,
        StatusCode::NOT_FOUND,
        None,
    )
    .await;
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM principals WHERE kind = 'user'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(users, 2);

    // Keycloak's usernames are not emails: the user signs in with the one in emails.
    let (status, grace) = scim
        .send(Method::POST, "/Users", Some(json!({
            "userName": "ghopper",
            "emails": [{ "value": "not-one" }, { "value": "grace@example.com", "primary": true }]
        })))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{grace}");
    assert_eq!(grace["userName"], "ghopper");
    let list = app
        .rpc(&admin, "/rpc/principals_list", "query[q]=grace@")
        .await;
    assert_eq!(list["principals"][0]["emailOrId"], "grace@example.com");
    let (_, found) = scim
        .get("/Users?filter=userName%20eq%20%22GHOPPER%22")
        .await;
    assert_eq!(found["Resources"][0]["id"], grace["id"]);
    scim.refused(
        Method::POST,
        "/Users",
        Some(json!({ "userName": "grace@example.com" })),
        StatusCode::CONFLICT,
        Some("uniqueness"),
    )
    .await;
    let (status, _) = scim
        .send(
            Method::DELETE,
            &format!("/Users/{}", grace["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // Found the way identity providers look before they create.
    for filter in [
        "userName%20eq%20%22ADA@example.com%22",
        "externalId%20eq%20%22entra-1%22",
        "displayName%20eq%20%22Ada%20Lovelace%22",
    ] {
        let (_, found) = scim.get(&format!("/Users?filter={filter}")).await;
        assert_eq!(found["totalResults"], 1, "{filter}");
        assert_eq!(found["Resources"][0]["id"], id.as_str());
    }
    let (_, none) = scim
        .get("/Users?filter=externalId%20eq%20%22ENTRA-1%22")
        .await;
    assert_eq!(none["totalResults"], 0);
    let (_, page) = scim.get("/Users?startIndex=2&count=1").await;
    assert_eq!(
        (
            page["totalResults"].as_i64(),
            page["itemsPerPage"].as_i64(),
            page["startIndex"].as_i64()
        ),
        (Some(2), Some(1), Some(2))
    );
    assert_eq!(page["Resources"][0]["userName"], "ada@example.com");

    // PUT replaces; PATCH as Entra sends it.
    let (status, put) = scim
        .send(Method::PUT, &format!("/Users/{id}"), Some(json!({ "userName": "ada@example.com", "displayName": "Countess Lovelace", "externalId": "entra-1" })))
        .await;
    assert_eq!(status, StatusCode::OK, "{put}");
    assert_eq!(put["displayName"], "Countess Lovelace");
    let (status, patched) = scim
        .send(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{ "op": "Replace", "path": "active", "value": "False" }]
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["active"], false);
    let list = app
        .rpc(&admin, "/rpc/principals_list", "query[q]=ada@")
        .await;
    assert_eq!(list["principals"][0]["active"], false);
    scim.refused(
        Method::PATCH,
        &format!("/Users/{id}"),
        Some(json!({ "Operations": [{ "op": "replace", "path": "id", "value": "1" }] })),
        StatusCode::BAD_REQUEST,
        Some("mutability"),
    )
    .await;

    let (status, _) = scim
        .send(Method::DELETE, &format!("/Users/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    scim.refused(
        Method::GET,
        &format!("/Users/{id}"),
        None,
        StatusCode::NOT_FOUND,
        None,
    )
    .await;
    scim.refused(
        Method::DELETE,
        &format!("/Users/{id}"),
        None,
        StatusCode::NOT_FOUND,
        None,
    )
    .await;

    // Every change in the audit log, with the provisioning token as the actor.
    let audit: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT action, actor_email, target FROM audit_log \
         WHERE action LIKE 'scim.%' AND target = 'ada@example.com' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let actions: Vec<&str> = audit.iter().map(|(a, _, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "scim.create",
            "scim.update",
            "scim.deactivate",
            "scim.delete"
        ]
    );
    assert!(
        audit
            .iter()
            .all(|(_, actor, target)| actor == "provisioning token" && target == "ada@example.com")
    );
}

/// A user the identity provider created, invited from the Users tab and signed in with the
/// password they chose; returns their signed-in client and SCIM id.
async fn provisioned_user_signed_in(
    app: &TestApp,
    admin: &Client,
    scim: &Scim<'_>,
    email: &str,
) -> (Client, String) {
    let (status, user) = scim
        .send(Method::POST, "/Users", Some(json!({ "userName": email })))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let id = user["id"].as_str().unwrap().to_owned();
    let link = app
        .rpc(admin, "/rpc/user_invite", &format!("id={id}"))
        .await;
    let token = link
        .as_str()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_owned();
    let signed_in = client();
    let body = serde_urlencoded::to_string([
        ("token", token.as_str()),
        ("name", "Provisioned Person"),
        ("password", PASSWORD),
        ("confirm", PASSWORD),
    ])
    .unwrap();
    app.rpc(&signed_in, "/rpc/invitation_accept", &body).await;
    (signed_in, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_user_is_signed_out_at_once_and_the_last_admin_stays() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let scim = provisioned(&app, &admin).await;
    let email = "ada@example.com";
    let (user, id) = provisioned_user_signed_in(&app, &admin, &scim, email).await;
    assert_eq!(
        app.call_server_fn(&user, "/rpc/current_user", "")
            .await
            .status(),
        StatusCode::OK
    );

    let (status, _) = scim
        .send(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(json!({ "Operations": [{ "op": "replace", "value": { "active": false } }] })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Their session is over, and signing in again is refused like a wrong password.
    let me = app.call_server_fn(&user, "/rpc/current_user", "").await;
    assert_eq!(me.json::<Value>().await.unwrap(), Value::Null);
    let again = client();
    let res = app.post_login(&again, email, PASSWORD, "").await;
    assert!(location(&res).starts_with("/login"), "{}", location(&res));
    // Reactivated: they sign in again.
    scim.send(
        Method::PATCH,
        &format!("/Users/{id}"),
        Some(json!({ "Operations": [{ "op": "replace", "path": "active", "value": true }] })),
    )
    .await;
    let res = app.post_login(&again, email, PASSWORD, "").await;
    assert_eq!(location(&res), "/admin/security/users");

    // Made the only Admin on the Users tab, the provisioned user can be neither deactivated
    // nor deleted by SCIM.
    app.rpc(
        &admin,
        "/rpc/principals_change_role",
        &format!("id={id}&role=admin&confirm_self=false"),
    )
    .await;
    let bootstrap: i64 = sqlx::query_scalar("SELECT id FROM principals WHERE handle = $1")
        .bind(ADMIN_EMAIL)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    app.rpc(&again, "/rpc/principals_remove", &format!("id={bootstrap}"))
        .await;
    let body = scim
        .refused(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(json!({ "Operations": [{ "op": "replace", "path": "active", "value": false }] })),
            StatusCode::BAD_REQUEST,
            Some("invalidValue"),
        )
        .await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("At least one Admin must remain")
    );
    scim.refused(
        Method::DELETE,
        &format!("/Users/{id}"),
        None,
        StatusCode::BAD_REQUEST,
        Some("invalidValue"),
    )
    .await;
    assert_eq!(
        app.call_server_fn(&again, "/rpc/security_overview", "")
            .await
            .status(),
        StatusCode::OK
    );
}

/// Review item 3: SCIM changes only what SCIM created. Users and groups added on the Users tab
/// are read-only to it, and no SCIM request reaches their sign-in address, state or members.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_changes_only_what_it_created() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let scim = provisioned(&app, &admin).await;
    let viewer = app.add_user(Role::Viewer).await;
    let find = |email: String| {
        let scim = &scim;
        async move {
            let (_, found) = scim
                .get(&format!("/Users?filter=userName%20eq%20%22{email}%22"))
                .await;
            found["Resources"][0]["id"].as_str().unwrap().to_owned()
        }
    };
    let admin_id = find(ADMIN_EMAIL.to_owned()).await;
    let viewer_id = find(viewer.clone()).await;
    // Repointing the Admin's sign-in address, renaming or deactivating a Users-tab user, or
    // deleting them: all refused, and nothing changed.
    for (method, body) in [
        (
            Method::PATCH,
            Some(
                json!({ "Operations": [{ "op": "replace", "path": "userName", "value": "attacker@evil.example" }] }),
            ),
        ),
        (
            Method::PUT,
            Some(json!({ "userName": "attacker@evil.example", "active": true })),
        ),
        (
            Method::PATCH,
            Some(json!({ "Operations": [{ "op": "replace", "path": "active", "value": false }] })),
        ),
        (Method::DELETE, None),
    ] {
        for id in [&admin_id, &viewer_id] {
            let body = scim
                .refused(
                    method.clone(),
                    &format!("/Users/{id}"),
                    body.clone(),
                    StatusCode::FORBIDDEN,
                    None,
                )
                .await;
            assert!(
                body["detail"].as_str().unwrap().contains("Users tab"),
                "{body}"
            );
        }
    }
    let handles: Vec<String> =
        sqlx::query_scalar("SELECT handle FROM principals WHERE kind = 'user' ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(handles, vec![ADMIN_EMAIL.to_owned(), viewer.clone()]);

    // A group made on the Users tab and given the Admin role: SCIM may not fill it.
    let group = app
        .rpc(
            &admin,
            "/rpc/principals_add",
            "kind=group&principal=Administrators&role=admin",
        )
        .await;
    let group_id = group["principal"]["id"].as_i64().unwrap();
    let (_, mallory) = scim
        .send(
            Method::POST,
            "/Users",
            Some(json!({ "userName": "mallory@example.com" })),
        )
        .await;
    let mallory = mallory["id"].as_str().unwrap().to_owned();
    scim.refused(
        Method::PATCH,
        &format!("/Groups/{group_id}"),
        Some(json!({ "Operations": [{ "op": "add", "path": "members", "value": [{ "value": mallory }] }] })),
        StatusCode::FORBIDDEN,
        None,
    )
    .await;
    scim.refused(
        Method::DELETE,
        &format!("/Groups/{group_id}"),
        None,
        StatusCode::FORBIDDEN,
        None,
    )
    .await;
    // Its own group may not take in a Users-tab user either, even once an Admin raised it.
    let (status, own) = scim
        .send(
            Method::POST,
            "/Groups",
            Some(json!({ "displayName": "Synced admins", "members": [{ "value": mallory }] })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{own}");
    let own_id = own["id"].as_str().unwrap().to_owned();
    let role: String = sqlx::query_scalar("SELECT role FROM principals WHERE id = $1")
        .bind(own_id.parse::<i64>().unwrap())
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(role, "viewer", "a provisioned group starts as a Viewer");
    scim.refused(
        Method::PATCH,
        &format!("/Groups/{own_id}"),
        Some(json!({ "Operations": [{ "op": "add", "path": "members", "value": [{ "value": viewer_id }] }] })),
        StatusCode::FORBIDDEN,
        None,
    )
    .await;
    let members: i64 = sqlx::query_scalar("SELECT count(*) FROM group_members")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(members, 1, "only mallory, in SCIM's own group");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_and_their_members_are_provisioned() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let scim = provisioned(&app, &admin).await;
    let mut ids = Vec::new();
    for name in ["grace", "alan", "edsger"] {
        let (_, u) = scim
            .send(
                Method::POST,
                "/Users",
                Some(json!({ "userName": format!("{name}@example.com") })),
            )
            .await;
        ids.push(u["id"].as_str().unwrap().to_owned());
    }
    let (status, group) = scim
        .send(
            Method::POST,
            "/Groups",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Ops",
                "externalId": "g-1",
                "members": [{ "value": ids[0] }, { "value": ids[1] }]
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let gid = group["id"].as_str().unwrap().to_owned();
    assert_eq!(group["members"].as_array().unwrap().len(), 2);
    assert_eq!(
        group["members"][0]["$ref"],
        format!("/scim/v2/Users/{}", ids[0])
    );

    scim.refused(
        Method::POST,
        "/Groups",
        Some(json!({ "displayName": "Ops" })),
        StatusCode::CONFLICT,
        Some("uniqueness"),
    )
    .await;
    scim.refused(
        Method::POST,
        "/Groups",
        Some(json!({ "displayName": "Ghosts", "members": [{ "value": "99999" }] })),
        StatusCode::BAD_REQUEST,
        Some("invalidValue"),
    )
    .await;
    scim.refused(
        Method::POST,
        "/Groups",
        Some(json!({ "members": [] })),
        StatusCode::BAD_REQUEST,
        Some("invalidValue"),
    )
    .await;

    // Okta's and Keycloak's membership PATCHes.
    let (status, patched) = scim
        .send(
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [
                    { "op": "add", "path": "members", "value": [{ "value": ids[2] }] },
                    { "op": "remove", "path": format!("members[value eq \"{}\"]", ids[0]) }
                ]
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    let members: Vec<&str> = patched["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(members, [ids[1].as_str(), ids[2].as_str()]);
    let shown = app
        .rpc(&admin, "/rpc/group_members", &format!("group_id={gid}"))
        .await;
    assert_eq!(shown.as_array().unwrap().len(), 2);

    let (_, found) = scim
        .get("/Groups?filter=displayName%20eq%20%22Ops%22&excludedAttributes=members")
        .await;
    assert_eq!(found["totalResults"], 1);
    assert!(found["Resources"][0].get("members").is_none());
    let (_, found) = scim.get("/Groups?filter=externalId%20eq%20%22g-1%22").await;
    assert_eq!(found["Resources"][0]["id"], gid.as_str());

    let (status, put) = scim
        .send(
            Method::PUT,
            &format!("/Groups/{gid}"),
            Some(json!({ "displayName": "Operations", "members": [] })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{put}");
    assert_eq!(put["members"], json!([]));
    let (status, _) = scim
        .send(Method::DELETE, &format!("/Groups/{gid}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    scim.refused(
        Method::GET,
        &format!("/Groups/{gid}"),
        None,
        StatusCode::NOT_FOUND,
        None,
    )
    .await;
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE action LIKE 'scim.%' AND detail LIKE 'type=group%' OR action = 'scim.update' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        actions,
        ["scim.create", "scim.update", "scim.update", "scim.delete"]
    );
}

/// The SCIM protocol test suite of the python-scim project (scim2-tester, from PyPI, installed
/// by `scripts/setup.sh test`) against the real server: discovery, then create, read, replace
/// and delete of users and groups with the values it makes up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scim_compliance_client_finds_no_violation() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let scim = provisioned(&app, &admin).await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let (url, token) = (app.url("/scim/v2"), scim.token.clone());
    // Blocking, beside the server's own threads.
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg(root.join("scripts/scim_compliance.py"))
            .arg(url)
            .arg(token)
            .output()
    })
    .await
    .unwrap()
    .expect("python3 runs");
    let report = String::from_utf8_lossy(&out.stdout);
    println!("{report}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "scim2-tester found violations:\n{report}"
    );
    assert!(report.contains("SUCCESS"));
}

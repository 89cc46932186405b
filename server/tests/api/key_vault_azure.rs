//! The Azure Key Vault client against the fake of Azure (`fake_azure`): the Entra token
//! request, the 401 challenge, listing with `nextLink`, get, and 401, 403 and 404 answers.

use crate::{fake_azure::*, helpers::*};
use app::{
    key_vault::{
        Backend, VaultAuth,
        runtime::{KeyVaultSettings, VaultRuntime},
        ssr::{
            azure::Azure,
            config::{Credential, VaultConfig, VaultTarget},
            error::VaultError,
        },
    },
    roles::Role,
};
use reqwest::{StatusCode, Url};
use serde_json::{Value, json};
use std::time::Duration;

const SECRETS: [(&str, &str); 5] = [
    ("crm-api-key", "v-crm"),
    ("smtp-password", "v-smtp"),
    ("sftp-password", "v-sftp"),
    ("webhook-signing", "v-hook"),
    ("warehouse-dsn", "v-dsn"),
];

fn form(fake: &FakeAzure, tenant: &str, secret: &str) -> String {
    serde_urlencoded::to_string([
        ("form[backend]", "azure"),
        ("form[address]", fake.address.as_str()),
        ("form[tenant_id]", tenant),
        ("form[principal_id]", CLIENT_ID),
        ("form[authority_host]", fake.address.as_str()),
        ("form[credential]", secret),
    ])
    .unwrap()
}

fn step(report: &Value, kind: &str) -> (String, String) {
    let s = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == kind)
        .unwrap();
    (
        s["outcome"].as_str().unwrap().to_owned(),
        s["reason"].as_str().unwrap().to_owned(),
    )
}

fn client_for(fake: &FakeAzure, secret: &str) -> (VaultRuntime, VaultConfig) {
    let rt = VaultRuntime::new(KeyVaultSettings {
        check_every: Duration::from_secs(300),
        request_timeout: Duration::from_secs(5),
        secret_cache: Duration::ZERO,
        allow_loopback: true,
    })
    .unwrap();
    let address = Url::parse(&fake.address).unwrap();
    let cfg = VaultConfig {
        target: VaultTarget {
            backend: Backend::Azure,
            address: address.clone(),
            mount: String::new(),
            path_prefix: String::new(),
            namespace: String::new(),
            auth: VaultAuth::ClientSecret,
            principal_id: CLIENT_ID.into(),
            tenant_id: TENANT.into(),
            authority_host: address,
        },
        credential: Credential(secret.into()),
        cache_key: Some(b"test".to_vec()),
    };
    (rt, cfg)
}

#[tokio::test]
async fn an_azure_vault_is_checked_linked_and_listed_across_pages() {
    let fake = FakeAzure::start(&SECRETS).await;
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let body = form(&fake, TENANT, CLIENT_SECRET);
    let report = app.rpc(&admin, "/rpc/key_vault_check", &body).await;
    for kind in ["reachable", "authenticated", "may_list", "may_read"] {
        assert_eq!(step(&report, kind).0, "pass", "{kind}: {report}");
    }
    // Azure cannot say whether the app could write: the step says what was tried.
    let (outcome, reason) = step(&report, "cannot_write");
    assert_eq!(outcome, "not_checked");
    assert!(
        reason.contains("tried listing and reading only"),
        "{reason}"
    );

    let saved = app.rpc(&admin, "/rpc/key_vault_save", &body).await;
    assert_eq!(saved["link"]["backend"], "azure");
    assert_eq!(saved["link"]["tenant_id"], TENANT);
    assert!(!saved.to_string().contains(CLIENT_SECRET));
    // Five secrets, two per page: three pages through nextLink.
    let names = app.rpc(&admin, "/rpc/key_vault_secrets", "").await;
    let mut expected: Vec<&str> = SECRETS.iter().map(|(n, _)| *n).collect();
    expected.sort();
    assert_eq!(names, json!(expected));
}

#[tokio::test]
async fn wrong_client_secret_and_wrong_tenant_fail_with_their_reasons() {
    let fake = FakeAzure::start(&SECRETS).await;
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;

    let report = app
        .rpc(
            &admin,
            "/rpc/key_vault_check",
            &form(&fake, TENANT, "wrong"),
        )
        .await;
    assert_eq!(step(&report, "reachable").0, "pass");
    let (outcome, reason) = step(&report, "authenticated");
    assert_eq!(outcome, "fail");
    assert!(reason.contains("invalid_client"), "{reason}");
    assert!(
        !reason.contains("Trace ID"),
        "only the first line: {reason}"
    );

    // The challenge names the vault's tenant; another tenant's GUID is refused before any
    // credential is sent.
    let other = "11111111-2222-3333-4444-555555555555";
    let report = app
        .rpc(
            &admin,
            "/rpc/key_vault_check",
            &form(&fake, other, CLIENT_SECRET),
        )
        .await;
    let (outcome, reason) = step(&report, "reachable");
    assert_eq!(outcome, "fail");
    assert!(reason.contains(TENANT), "{reason}");
    assert_eq!(fake.tokens_issued(), 0);

    app.rpc_fails(
        &admin,
        "/rpc/key_vault_save",
        &form(&fake, TENANT, "wrong"),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

#[tokio::test]
async fn the_client_reads_caches_its_token_and_retries_once_after_a_401() {
    let fake = FakeAzure::start(&SECRETS).await;
    fake.world
        .lock()
        .unwrap()
        .forbidden
        .push("sftp-password".into());
    let (rt, cfg) = client_for(&fake, CLIENT_SECRET);
    let azure = Azure::new(&rt, &cfg);

    assert_eq!(azure.read("smtp-password").await.unwrap(), "v-smtp");
    assert_eq!(azure.read("crm-api-key").await.unwrap(), "v-crm");
    assert_eq!(fake.tokens_issued(), 1, "one token for both reads");

    // The token lapses: the vault answers 401, the client gets a new token and tries again.
    fake.revoke_tokens();
    assert_eq!(azure.read("warehouse-dsn").await.unwrap(), "v-dsn");
    assert_eq!(fake.tokens_issued(), 2);

    assert!(matches!(
        azure.read("no-such-secret").await,
        Err(VaultError::NotFound(_))
    ));
    match azure.read("sftp-password").await {
        Err(VaultError::Denied(reason)) => assert!(reason.contains("get permission"), "{reason}"),
        other => panic!("expected 403, got {other:?}"),
    }
    // Names Key Vault cannot hold are never sent.
    assert!(matches!(
        azure.read("../keys").await,
        Err(VaultError::NotFound(_))
    ));

    let (rt, cfg) = client_for(&fake, "wrong");
    assert!(matches!(
        Azure::new(&rt, &cfg).read("smtp-password").await,
        Err(VaultError::Refused(_))
    ));
}

#[tokio::test]
async fn a_next_link_to_another_host_is_not_followed() {
    let fake = FakeAzure::start(&SECRETS).await;
    fake.world.lock().unwrap().next_link_host = Some("http://127.0.0.2:9".into());
    let (rt, cfg) = client_for(&fake, CLIENT_SECRET);
    match Azure::new(&rt, &cfg).list().await {
        Err(VaultError::Unexpected(reason)) => assert!(reason.contains("another host")),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

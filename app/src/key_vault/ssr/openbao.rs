//! HashiCorp Vault / OpenBao over its HTTP API (KV version 2): sign in with a token or AppRole,
//! list and read secrets, and ask the vault which capabilities the credentials hold.
//! <https://openbao.org/api-docs/>

use super::{
    config::VaultConfig,
    error::{VaultError, outbound_send, read_answer},
    steps::{Steps, sentence},
};
use crate::key_vault::{
    CheckStep, CheckStepKind, Outcome, VaultAuth,
    runtime::{CachedToken, VaultRuntime},
};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use std::{collections::BTreeMap, time::Instant};

/// A name under the prefix that nobody uses: the write probe asks about it, never writes it.
const PROBE_NAME: &str = "gatehouse-capability-probe";
/// Capabilities that change or remove secrets.
const WRITE_CAPABILITIES: [&str; 6] = ["create", "update", "patch", "delete", "sudo", "root"];
/// Enough names for any picker; a larger vault is searched by typing.
pub const MAX_LISTED: usize = 1000;

pub struct OpenBao<'a> {
    rt: &'a VaultRuntime,
    cfg: &'a VaultConfig,
}

/// An answer: its status and JSON body (`Null` when there is none).
struct Answer {
    status: StatusCode,
    body: Value,
}

impl Answer {
    /// The vault's own explanation (`{"errors": [...]}`), shortened.
    fn reason(&self) -> String {
        let text = self.body["errors"]
            .as_array()
            .and_then(|e| e.iter().filter_map(Value::as_str).next())
            .unwrap_or_default();
        let short: String = text.chars().take(200).collect();
        if short.is_empty() {
            format!("HTTP {}", self.status.as_u16())
        } else {
            short
        }
    }
}

impl<'a> OpenBao<'a> {
    pub fn new(rt: &'a VaultRuntime, cfg: &'a VaultConfig) -> Self {
        Self { rt, cfg }
    }

    /// The address as messages name it.
    fn host(&self) -> String {
        self.cfg
            .target
            .address
            .as_str()
            .trim_end_matches('/')
            .to_owned()
    }

    fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let url = format!("{}/v1/{path}", self.host());
        let mut req = self.rt.http.request(method, url);
        if !self.cfg.target.namespace.is_empty() {
            req = req.header("X-Vault-Namespace", &self.cfg.target.namespace);
        }
        if let Some(token) = token {
            req = req.header("X-Vault-Token", token);
        }
        req
    }

    async fn send(&self, req: RequestBuilder) -> Result<Answer, VaultError> {
        let host = self.host();
        let res = outbound_send(&self.rt.http, req, self.rt.settings.allow_loopback, &host).await?;
        let status = res.status();
        let bytes = read_answer(res, &host).await?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|_| {
                VaultError::Unexpected(format!(
                    "{host} answered HTTP {}, but not with the vault's JSON: is this the vault's address?",
                    status.as_u16()
                ))
            })?
        };
        Ok(Answer { status, body })
    }

    fn kv_path(&self, kind: &str, name: &str) -> String {
        format!(
            "{}/{kind}/{}{name}",
            self.cfg.target.mount, self.cfg.target.path_prefix
        )
    }

    /// `sys/health`: whether a vault answers, and whether it can serve.
    pub async fn health(&self) -> Result<String, VaultError> {
        let answer = self
            .send(self.request(
                Method::GET,
                "sys/health?standbyok=true&perfstandbyok=true",
                None,
            ))
            .await?;
        if answer.body["sealed"].as_bool() == Some(true) {
            return Err(VaultError::Sealed);
        }
        if answer.body["initialized"].as_bool() == Some(false) {
            return Err(VaultError::Unexpected(
                "the vault is not initialised yet".into(),
            ));
        }
        if !answer.body.is_object() || answer.body.get("initialized").is_none() {
            return Err(VaultError::Unexpected(format!(
                "{} answered HTTP {}, but not like HashiCorp Vault or OpenBao",
                self.host(),
                answer.status.as_u16()
            )));
        }
        let version = answer.body["version"].as_str().unwrap_or("unknown version");
        let transport = if self.cfg.target.address.scheme() == "https" {
            "over HTTPS, certificate verified"
        } else {
            "over plain HTTP (this machine only)"
        };
        Ok(format!("Version {version} answered {transport}."))
    }

    /// Signs in: checks the token, or logs in with AppRole. Returns the token and what the
    /// vault said about it (its policies).
    async fn sign_in(&self) -> Result<(String, String), VaultError> {
        match self.cfg.target.auth {
            VaultAuth::AppRole => {
                let (token, policies) = self.approle_login().await?;
                Ok((
                    token,
                    format!("Logged in with AppRole; policies: {policies}."),
                ))
            }
            _ => {
                let token = self.cfg.credential.0.clone();
                let answer = self
                    .send(self.request(Method::GET, "auth/token/lookup-self", Some(&token)))
                    .await?;
                match answer.status {
                    StatusCode::OK => Ok((
                        token,
                        format!(
                            "The vault accepted the token; policies: {}.",
                            policies(&answer.body["data"]["policies"])
                        ),
                    )),
                    StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED => Err(VaultError::Refused(
                        "the vault refused the token (wrong, expired or revoked)".into(),
                    )),
                    _ => Err(VaultError::Unexpected(answer.reason())),
                }
            }
        }
    }

    async fn approle_login(&self) -> Result<(String, String), VaultError> {
        let answer = self
            .send(
                self.request(Method::POST, "auth/approle/login", None)
                    .json(&json!({
                        "role_id": self.cfg.target.principal_id,
                        "secret_id": self.cfg.credential.0,
                    })),
            )
            .await?;
        match answer.status {
            StatusCode::OK => {}
            StatusCode::BAD_REQUEST | StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED => {
                return Err(VaultError::Refused(format!(
                    "the vault refused the role ID or secret ID ({})",
                    answer.reason()
                )));
            }
            StatusCode::NOT_FOUND => {
                return Err(VaultError::Refused(
                    "AppRole is not enabled at auth/approle on this vault".into(),
                ));
            }
            _ => return Err(VaultError::Unexpected(answer.reason())),
        }
        let auth = &answer.body["auth"];
        let token = auth["client_token"]
            .as_str()
            .ok_or_else(|| VaultError::Unexpected("the AppRole login returned no token".into()))?
            .to_owned();
        self.keep(&token, auth);
        Ok((token, policies(&auth["token_policies"])))
    }

    fn keep(&self, token: &str, auth: &Value) {
        if let Some(key) = &self.cfg.cache_key {
            self.rt.keep_token(
                key,
                CachedToken {
                    token: token.to_owned(),
                    issued_at: Instant::now(),
                    ttl: std::time::Duration::from_secs(
                        auth["lease_duration"].as_u64().unwrap_or(0),
                    ),
                    renewable: auth["renewable"].as_bool().unwrap_or(false),
                },
            );
        }
    }

    /// A token for reading: the configured one, or an AppRole token that is renewed once two
    /// thirds of its life have passed and replaced by a new login when renewal fails.
    pub async fn token(&self) -> Result<String, VaultError> {
        if self.cfg.target.auth != VaultAuth::AppRole {
            return Ok(self.cfg.credential.0.clone());
        }
        let now = Instant::now();
        let cached = self.cfg.cache_key.as_ref().and_then(|k| self.rt.token(k));
        match cached {
            Some(t) if t.fresh(now) => return Ok(t.token),
            Some(t) if t.renewable && !t.expired(now) => {
                let answer = self
                    .send(self.request(Method::POST, "auth/token/renew-self", Some(&t.token)))
                    .await;
                if let Ok(answer) = answer
                    && answer.status == StatusCode::OK
                    // A renewal capped by the token's max TTL that returns almost nothing left
                    // is as good as a failure: log in again.
                    && answer.body["auth"]["lease_duration"].as_u64().unwrap_or(0) > 1
                {
                    self.keep(&t.token, &answer.body["auth"]);
                    return Ok(t.token);
                }
            }
            _ => {}
        }
        Ok(self.approle_login().await?.0)
    }

    /// That the mount is a KV version 2 engine the token can see.
    async fn mount_is_kv2(&self, token: &str) -> Result<(), VaultError> {
        let mount = &self.cfg.target.mount;
        let answer = self
            .send(self.request(
                Method::GET,
                &format!("sys/internal/ui/mounts/{mount}"),
                Some(token),
            ))
            .await?;
        match answer.status {
            StatusCode::OK => {}
            StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => {
                return Err(VaultError::Denied(format!(
                    "there is no mount {mount:?} that these credentials may use"
                )));
            }
            _ => return Err(VaultError::Unexpected(answer.reason())),
        }
        let data = &answer.body["data"];
        let kind = data["type"].as_str().unwrap_or_default();
        let version = data["options"]["version"].as_str().unwrap_or("1");
        if kind != "kv" || version != "2" {
            return Err(VaultError::Denied(format!(
                "the mount {mount:?} is not a KV version 2 secrets engine (it is {} {})",
                if kind.is_empty() { "unknown" } else { kind },
                if kind == "kv" {
                    format!("version {version}")
                } else {
                    String::new()
                }
            )));
        }
        Ok(())
    }

    /// One folder's entries (`sub/` for a folder), relative to the prefix.
    async fn list_folder(&self, token: &str, folder: &str) -> Result<Vec<String>, VaultError> {
        let path = self.kv_path("metadata", folder);
        let answer = self
            .send(self.request(
                Method::from_bytes(b"LIST").expect("a valid method"),
                &path,
                Some(token),
            ))
            .await?;
        match answer.status {
            StatusCode::OK => Ok(answer.body["data"]["keys"]
                .as_array()
                .map(|keys| {
                    keys.iter()
                        .filter_map(Value::as_str)
                        .map(|k| format!("{folder}{k}"))
                        .collect()
                })
                .unwrap_or_default()),
            // KV v2 answers 404 for a folder with nothing in it.
            StatusCode::NOT_FOUND => Ok(Vec::new()),
            StatusCode::FORBIDDEN => Err(VaultError::Denied(format!(
                "the policy does not allow listing {}",
                path
            ))),
            _ => Err(VaultError::Unexpected(answer.reason())),
        }
    }

    /// Every secret's name under the prefix (folders walked breadth first), at most
    /// [`MAX_LISTED`].
    pub async fn list(&self) -> Result<Vec<String>, VaultError> {
        let token = self.token().await?;
        self.list_with(&token, MAX_LISTED).await
    }

    async fn list_with(&self, token: &str, max: usize) -> Result<Vec<String>, VaultError> {
        let mut names = Vec::new();
        let mut folders = std::collections::VecDeque::from([String::new()]);
        while let Some(folder) = folders.pop_front() {
            for entry in self.list_folder(token, &folder).await? {
                if entry.ends_with('/') {
                    folders.push_back(entry);
                } else if names.len() < max {
                    names.push(entry);
                }
            }
            if names.len() >= max {
                break;
            }
        }
        names.sort();
        Ok(names)
    }

    /// A secret's current version: its keys and values.
    pub async fn read(&self, name: &str) -> Result<BTreeMap<String, String>, VaultError> {
        let token = self.token().await?;
        self.read_with(&token, name).await
    }

    async fn read_with(
        &self,
        token: &str,
        name: &str,
    ) -> Result<BTreeMap<String, String>, VaultError> {
        let path = self.kv_path("data", name);
        let answer = self
            .send(self.request(Method::GET, &path, Some(token)))
            .await?;
        match answer.status {
            StatusCode::OK => Ok(answer.body["data"]["data"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| {
                            let value = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                            (k.clone(), value)
                        })
                        .collect()
                })
                .unwrap_or_default()),
            StatusCode::NOT_FOUND => {
                let deleted = answer.body["data"]["metadata"]["deletion_time"]
                    .as_str()
                    .is_some_and(|t| !t.is_empty())
                    || answer.body["data"]["metadata"]["destroyed"].as_bool() == Some(true);
                Err(if deleted {
                    VaultError::Deleted(name.to_owned())
                } else {
                    VaultError::NotFound(name.to_owned())
                })
            }
            StatusCode::FORBIDDEN => Err(VaultError::Denied(format!(
                "the policy does not allow reading {path}"
            ))),
            _ => Err(VaultError::Unexpected(answer.reason())),
        }
    }

    /// What the token may do on each path (`sys/capabilities-self`).
    async fn capabilities(
        &self,
        token: &str,
        paths: &[String],
    ) -> Result<BTreeMap<String, Vec<String>>, VaultError> {
        let answer = self
            .send(
                self.request(Method::POST, "sys/capabilities-self", Some(token))
                    .json(&json!({ "paths": paths })),
            )
            .await?;
        if answer.status != StatusCode::OK {
            return Err(VaultError::Unexpected(answer.reason()));
        }
        Ok(paths
            .iter()
            .map(|p| {
                let caps = answer.body[p.as_str()]
                    .as_array()
                    .map(|c| {
                        c.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                (p.clone(), caps)
            })
            .collect())
    }

    /// The set-up check: reachable, authenticated, may list, may read, cannot write.
    pub async fn check(&self) -> Vec<CheckStep> {
        let mut steps = Steps::default();
        match self.health().await {
            Ok(reason) => steps.pass(CheckStepKind::Reachable, reason),
            Err(e) => return steps.fail(CheckStepKind::Reachable, &e),
        }
        let token = match self.sign_in().await {
            Ok((token, reason)) => {
                steps.pass(CheckStepKind::Authenticated, reason);
                token
            }
            Err(e) => return steps.fail(CheckStepKind::Authenticated, &e),
        };
        if let Err(e) = self.mount_is_kv2(&token).await {
            return steps.fail(CheckStepKind::MayList, &e);
        }
        let where_ = format!("{}/{}", self.cfg.target.mount, self.cfg.target.path_prefix);
        let names = match self.list_with(&token, 1).await {
            Ok(names) => {
                steps.pass(
                    CheckStepKind::MayList,
                    if names.is_empty() {
                        format!("Listed {where_}: no secrets there yet.")
                    } else {
                        format!("Listed {where_}.")
                    },
                );
                names
            }
            Err(e) => return steps.fail(CheckStepKind::MayList, &e),
        };
        let probe = |kind: &str| self.kv_path(kind, PROBE_NAME);
        let paths = [
            probe("data"),
            probe("metadata"),
            probe("delete"),
            probe("destroy"),
        ];
        let caps = match self.capabilities(&token, &paths).await {
            Ok(caps) => caps,
            Err(e) => return steps.fail(CheckStepKind::MayRead, &e),
        };
        match names.first() {
            Some(name) => match self.read_with(&token, name).await {
                // A deleted secret still proves the policy lets Gatehouse read.
                Ok(_) | Err(VaultError::Deleted(_)) => {
                    steps.pass(CheckStepKind::MayRead, format!("Read the secret {name:?}."))
                }
                Err(e) => return steps.fail(CheckStepKind::MayRead, &e),
            },
            None => {
                let data = &caps[&paths[0]];
                if data.iter().any(|c| c == "read" || c == "root") {
                    steps.pass(
                        CheckStepKind::MayRead,
                        "No secret to read yet; the policy allows reading under the prefix.",
                    );
                } else {
                    let e = VaultError::Denied(format!(
                        "the policy does not allow reading {}",
                        self.kv_path("data", "")
                    ));
                    return steps.fail(CheckStepKind::MayRead, &e);
                }
            }
        }
        let mut writes: Vec<&str> = caps
            .values()
            .flatten()
            .map(String::as_str)
            .filter(|c| WRITE_CAPABILITIES.contains(c))
            .collect();
        writes.sort_unstable();
        writes.dedup();
        if writes.is_empty() {
            steps.pass(
                CheckStepKind::CannotWrite,
                "The credentials can list and read only.",
            );
        } else {
            steps.add(
                CheckStepKind::CannotWrite,
                Outcome::Warn,
                sentence(&format!(
                    "these credentials could also create, change or delete secrets under {where_} (capabilities: {}). Gatehouse never writes, but a read-and-list policy limits the harm if they leak",
                    writes.join(", ")
                )),
            );
        }
        steps.finish()
    }
}

fn policies(value: &Value) -> String {
    let names: Vec<&str> = value
        .as_array()
        .map(|p| p.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

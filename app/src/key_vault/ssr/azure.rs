//! Azure Key Vault over its REST API, signed in with Microsoft Entra client credentials.
//!
//! - Token: `POST {authority}/{tenant}/oauth2/v2.0/token` (client credentials, scope
//!   `https://vault.azure.net/.default`).
//! - Secrets: `GET {vault}/secrets?api-version=7.4` (paged by `nextLink`) and
//!   `GET {vault}/secrets/{name}?api-version=7.4`.
//! - An unauthenticated call answers 401 with a `WWW-Authenticate: Bearer authorization="…"`
//!   challenge naming the vault's tenant; an authenticated call whose token has lapsed answers
//!   401 too, and is retried once with a new token.

use super::{
    config::VaultConfig,
    error::{VaultError, outbound_send, read_answer},
    steps::Steps,
};
use crate::key_vault::{
    CheckStep, CheckStepKind, Outcome,
    runtime::{CachedToken, VaultRuntime},
};
use reqwest::{StatusCode, Url, header};
use serde_json::Value;
use std::time::{Duration, Instant};

pub const API_VERSION: &str = "7.4";
const SCOPE: &str = "https://vault.azure.net/.default";
/// Pages followed at most; 25 names each by default.
const MAX_PAGES: usize = 40;

pub struct Azure<'a> {
    rt: &'a VaultRuntime,
    cfg: &'a VaultConfig,
}

struct Answer {
    status: StatusCode,
    challenge: Option<String>,
    body: Value,
}

impl Answer {
    /// Key Vault's `{"error": {"code", "message"}}` or Entra's `{"error", "error_description"}`.
    fn reason(&self) -> String {
        let error = &self.body["error"];
        let (code, message) = if error.is_object() {
            (error["code"].as_str(), error["message"].as_str())
        } else {
            (error.as_str(), self.body["error_description"].as_str())
        };
        // Entra's descriptions run to several lines with trace IDs: the first line says it.
        let message: String = message
            .and_then(|m| m.lines().next())
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect();
        match (code, message.is_empty()) {
            (Some(code), false) => format!("{code}: {message}"),
            (Some(code), true) => code.to_owned(),
            (None, false) => message,
            (None, true) => format!("HTTP {}", self.status.as_u16()),
        }
    }
}

/// A secret name as Key Vault allows it: 1 to 127 letters, digits and dashes.
pub fn valid_secret_name(name: &str) -> bool {
    (1..=127).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The tenant a `WWW-Authenticate` challenge names (`authorization="https://login…/{tenant}"`).
pub fn challenge_tenant(challenge: &str) -> Option<String> {
    let start = challenge
        .find("authorization=\"")
        .map(|i| i + "authorization=\"".len())
        .or_else(|| {
            challenge
                .find("authorization_uri=\"")
                .map(|i| i + "authorization_uri=\"".len())
        })?;
    let uri = challenge[start..].split('"').next()?;
    uri.trim_end_matches('/')
        .rsplit('/')
        .next()
        .map(str::to_ascii_lowercase)
}

impl<'a> Azure<'a> {
    pub fn new(rt: &'a VaultRuntime, cfg: &'a VaultConfig) -> Self {
        Self { rt, cfg }
    }

    fn vault(&self) -> String {
        self.cfg
            .target
            .address
            .as_str()
            .trim_end_matches('/')
            .to_owned()
    }

    async fn send(&self, req: reqwest::RequestBuilder, host: &str) -> Result<Answer, VaultError> {
        let res = outbound_send(&self.rt.http, req, self.rt.settings.allow_loopback, host).await?;
        let status = res.status();
        let challenge = res
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = read_answer(res, host).await?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Answer {
            status,
            challenge,
            body,
        })
    }

    /// A new token from Microsoft Entra.
    async fn sign_in(&self) -> Result<String, VaultError> {
        let authority = self
            .cfg
            .target
            .authority_host
            .as_str()
            .trim_end_matches('/');
        let url = format!(
            "{authority}/{}/oauth2/v2.0/token",
            self.cfg.target.tenant_id
        );
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.cfg.target.principal_id.as_str()),
            ("client_secret", self.cfg.credential.0.as_str()),
            ("scope", SCOPE),
        ];
        let answer = self
            .send(self.rt.http.post(url).form(&form), authority)
            .await?;
        match answer.status {
            StatusCode::OK => {}
            StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED => {
                return Err(VaultError::Refused(format!(
                    "Microsoft Entra refused the client credentials ({})",
                    answer.reason()
                )));
            }
            _ => return Err(VaultError::Unexpected(answer.reason())),
        }
        let token = answer.body["access_token"]
            .as_str()
            .ok_or_else(|| VaultError::Unexpected("Microsoft Entra returned no token".into()))?
            .to_owned();
        if let Some(key) = &self.cfg.cache_key {
            self.rt.keep_token(
                key,
                CachedToken {
                    token: token.clone(),
                    issued_at: Instant::now(),
                    ttl: Duration::from_secs(answer.body["expires_in"].as_u64().unwrap_or(0)),
                    renewable: false,
                },
            );
        }
        Ok(token)
    }

    async fn token(&self) -> Result<String, VaultError> {
        let cached = self.cfg.cache_key.as_ref().and_then(|k| self.rt.token(k));
        match cached {
            Some(t) if t.fresh(Instant::now()) => Ok(t.token),
            _ => self.sign_in().await,
        }
    }

    /// A GET on the vault with a bearer token; on a 401 (the token lapsed or was revoked) once
    /// more with a new one.
    async fn get(&self, url: &str) -> Result<Answer, VaultError> {
        let vault = self.vault();
        let mut token = self.token().await?;
        for attempt in 0..2 {
            let answer = self
                .send(self.rt.http.get(url).bearer_auth(&token), &vault)
                .await?;
            if answer.status == StatusCode::UNAUTHORIZED && attempt == 0 {
                self.rt.forget_tokens();
                token = self.sign_in().await?;
                continue;
            }
            return Ok(answer);
        }
        unreachable!("the loop returns on its second attempt")
    }

    /// Every enabled secret's name, following `nextLink` (only to this vault).
    pub async fn list(&self) -> Result<Vec<String>, VaultError> {
        self.list_up_to(super::openbao::MAX_LISTED).await
    }

    async fn list_up_to(&self, max: usize) -> Result<Vec<String>, VaultError> {
        let vault = self.vault();
        let origin = self.cfg.target.address.origin();
        let mut url = format!("{vault}/secrets?api-version={API_VERSION}");
        let mut names = Vec::new();
        for _ in 0..MAX_PAGES {
            let answer = self.get(&url).await?;
            match answer.status {
                StatusCode::OK => {}
                StatusCode::FORBIDDEN => {
                    return Err(VaultError::Denied(format!(
                        "the app may not list secrets ({})",
                        answer.reason()
                    )));
                }
                _ => return Err(VaultError::Unexpected(answer.reason())),
            }
            for item in answer.body["value"].as_array().into_iter().flatten() {
                let enabled = item["attributes"]["enabled"].as_bool().unwrap_or(true);
                let name = item["id"]
                    .as_str()
                    .and_then(|id| id.trim_end_matches('/').rsplit('/').next());
                if let (true, Some(name)) = (enabled, name)
                    && names.len() < max
                {
                    names.push(name.to_owned());
                }
            }
            let next = answer.body["nextLink"].as_str().filter(|n| !n.is_empty());
            match next {
                Some(next) if names.len() < max => {
                    // The token goes wherever nextLink points: only ever to this vault.
                    let same_vault = Url::parse(next).is_ok_and(|u| u.origin() == origin);
                    if !same_vault {
                        return Err(VaultError::Unexpected(
                            "the vault's next page points to another host".into(),
                        ));
                    }
                    url = next.to_owned();
                }
                _ => break,
            }
        }
        names.sort();
        Ok(names)
    }

    /// A secret's current value.
    pub async fn read(&self, name: &str) -> Result<String, VaultError> {
        if !valid_secret_name(name) {
            return Err(VaultError::NotFound(name.to_owned()));
        }
        let url = format!("{}/secrets/{name}?api-version={API_VERSION}", self.vault());
        let answer = self.get(&url).await?;
        match answer.status {
            StatusCode::OK => answer.body["value"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| VaultError::Unexpected("the secret has no value".into())),
            StatusCode::NOT_FOUND => Err(VaultError::NotFound(name.to_owned())),
            StatusCode::FORBIDDEN => Err(VaultError::Denied(format!(
                "the app may not read the secret {name:?} ({})",
                answer.reason()
            ))),
            _ => Err(VaultError::Unexpected(answer.reason())),
        }
    }

    /// The set-up check. Azure has no way to ask for permissions without trying them, so the
    /// write step says what was tried instead.
    pub async fn check(&self) -> Vec<CheckStep> {
        let mut steps = Steps::default();
        let vault = self.vault();
        let probe = format!("{vault}/secrets?api-version={API_VERSION}");
        let answer = match self.send(self.rt.http.get(&probe), &vault).await {
            Ok(a) => a,
            Err(e) => return steps.fail(CheckStepKind::Reachable, &e),
        };
        let challenge = answer
            .challenge
            .filter(|c| answer.status == StatusCode::UNAUTHORIZED && c.starts_with("Bearer"));
        let Some(challenge) = challenge else {
            let e = VaultError::Unexpected(format!(
                "{vault} answered HTTP {}, but not like Azure Key Vault (no sign-in challenge)",
                answer.status.as_u16()
            ));
            return steps.fail(CheckStepKind::Reachable, &e);
        };
        let tenant = &self.cfg.target.tenant_id;
        match challenge_tenant(&challenge) {
            // A GUID can be compared; a domain name stands for a GUID the challenge shows.
            Some(t) if tenant.contains('-') && !tenant.contains('.') && &t != tenant => {
                let e = VaultError::Refused(format!(
                    "this vault belongs to the tenant {t}, not to {tenant}"
                ));
                return steps.fail(CheckStepKind::Reachable, &e);
            }
            _ => steps.pass(
                CheckStepKind::Reachable,
                if self.cfg.target.address.scheme() == "https" {
                    "Key Vault answered over HTTPS, certificate verified."
                } else {
                    "Key Vault answered over plain HTTP (this machine only)."
                },
            ),
        }
        match self.sign_in().await {
            Ok(_) => steps.pass(
                CheckStepKind::Authenticated,
                "Microsoft Entra issued a token for the app.",
            ),
            Err(e) => return steps.fail(CheckStepKind::Authenticated, &e),
        }
        let names = match self.list_up_to(1).await {
            Ok(names) => {
                steps.pass(
                    CheckStepKind::MayList,
                    if names.is_empty() {
                        "Listed the vault's secrets: there are none yet."
                    } else {
                        "Listed the vault's secrets."
                    },
                );
                names
            }
            Err(e) => return steps.fail(CheckStepKind::MayList, &e),
        };
        match names.first() {
            Some(name) => match self.read(name).await {
                Ok(_) => steps.pass(CheckStepKind::MayRead, format!("Read the secret {name:?}.")),
                Err(e) => return steps.fail(CheckStepKind::MayRead, &e),
            },
            None => steps.add(
                CheckStepKind::MayRead,
                Outcome::Warn,
                "No secret to try reading yet: reading is tried again with the first connection's Verify.",
            ),
        }
        steps.add(
            CheckStepKind::CannotWrite,
            Outcome::NotChecked,
            "Azure Key Vault cannot say which permissions a caller holds without trying them, and Gatehouse never writes to find out: it tried listing and reading only. Give the app the Key Vault Secrets User role (get and list), not Secrets Officer.",
        );
        steps.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_from_challenge() {
        let c = r#"Bearer authorization="https://login.microsoftonline.com/72F988BF-86F1-41AF-91AB-2D7CD011DB47", resource="https://vault.azure.net""#;
        assert_eq!(
            challenge_tenant(c).as_deref(),
            Some("72f988bf-86f1-41af-91ab-2d7cd011db47")
        );
        assert_eq!(challenge_tenant("Bearer realm=\"x\""), None);
    }

    #[test]
    fn secret_names() {
        assert!(valid_secret_name("smtp-password-2"));
        assert!(!valid_secret_name("../keys"));
        assert!(!valid_secret_name(""));
        assert!(!valid_secret_name(&"a".repeat(128)));
    }
}

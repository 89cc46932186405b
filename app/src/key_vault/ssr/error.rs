//! What can go wrong talking to a vault, in words an admin can act on. The Key Vault layer's
//! one error type; server functions see it as check steps or as `AppError`.

use std::error::Error as _;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("could not connect to {0}")]
    Unreachable(String),
    #[error("the TLS certificate of {0} is not trusted (or does not name that host)")]
    Tls(String),
    #[error("{0} did not answer within the time limit")]
    Timeout(String),
    /// The vault refused the credentials (wrong token, role ID, secret ID or client secret).
    #[error("{0}")]
    Refused(String),
    /// Signed in, but the policy does not allow this.
    #[error("{0}")]
    Denied(String),
    #[error("the secret {0:?} does not exist")]
    NotFound(String),
    #[error("the secret {0:?} was deleted")]
    Deleted(String),
    #[error("the vault is sealed")]
    Sealed,
    /// An answer that does not fit the API (a proxy's error page, another service).
    #[error("{0}")]
    Unexpected(String),
}

impl VaultError {
    /// Sorts a transport failure by cause; `host` names the peer without any credential.
    pub fn from_transport(e: reqwest::Error, host: &str) -> Self {
        if e.is_timeout() {
            return Self::Timeout(host.to_owned());
        }
        // rustls reports certificate problems deep in the chain, as io errors of the connector;
        // the outbound resolver's refusal (`crate::outbound`) arrives the same way.
        let mut source = e.source();
        while let Some(cause) = source {
            let text = cause.to_string().to_ascii_lowercase();
            if text.contains("gatehouse may connect to") {
                return Self::Unexpected(format!(
                    "{host} resolves to no address Gatehouse may connect to (link-local, cloud metadata, or this machine's own)"
                ));
            }
            if text.contains("certificate") || text.contains("invalid peer") {
                return Self::Tls(host.to_owned());
            }
            source = cause.source();
        }
        if e.is_connect() {
            return Self::Unreachable(host.to_owned());
        }
        Self::Unexpected(format!("the exchange with {host} failed"))
    }
}

/// Sends a request to a vault or to Entra: an address literal that may not be connected to is
/// refused before anything is sent (names are filtered where they resolve).
pub async fn outbound_send(
    http: &reqwest::Client,
    req: reqwest::RequestBuilder,
    allow_loopback: bool,
    host: &str,
) -> Result<reqwest::Response, VaultError> {
    let req = req
        .build()
        .map_err(|_| VaultError::Unexpected(format!("the request to {host} could not be made")))?;
    if let Some(h) = req.url().host_str() {
        crate::outbound::check_host(h, allow_loopback).map_err(VaultError::Unexpected)?;
    }
    http.execute(req)
        .await
        .map_err(|e| VaultError::from_transport(e, host))
}

/// An answer's body, cut off with an error past `outbound::MAX_ANSWER_BYTES`.
pub async fn read_answer(res: reqwest::Response, host: &str) -> Result<Vec<u8>, VaultError> {
    use crate::outbound::{ReadError, read_capped};
    read_capped(res).await.map_err(|e| match e {
        ReadError::Transport(e) => VaultError::from_transport(e, host),
        ReadError::TooLarge => VaultError::Unexpected(format!(
            "{host} answered with more than 1 MiB: that is not a vault's answer, so it was cut off"
        )),
    })
}

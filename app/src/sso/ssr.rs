//! The OpenID Connect relying party: the authorization code flow with PKCE (S256), `state` and
//! `nonce`, bound to the browser by a short-lived sealed cookie; the ID token checked by the
//! `openidconnect` crate (issuer, audience, signature with the provider's advertised asymmetric
//! algorithms, expiry with 60 s of skew, nonce), plus `azp` and `iat` here.
//!
//! Who gets in: the verified email of a user already on the Users tab. The first sign-in binds
//! the user to the provider's `iss` + `sub`; later ones match by that pair, so an address
//! changed at the provider cannot take over another account. Nobody is created here.

use crate::{
    api_keys::ssr::sealing::Sealer,
    db::{Conn, Flag, Pool},
    email::Email,
    error::AppError,
    time_fmt::unix_now,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use openidconnect::{
    AdditionalProviderMetadata, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    ProviderMetadata, RedirectUrl, Scope, SignatureVerificationError, TokenResponse,
    core::{
        CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient,
        CoreClientAuthMethod, CoreGrantType, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm,
        CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType,
        CoreSubjectIdentifierType, CoreUserInfoClaims,
    },
};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

/// How long a sign-in may stay at the provider before its flow is refused.
pub const FLOW_SECS: i64 = 600;
/// Clock difference allowed between the provider and this server (`exp`, `iat`).
const SKEW_SECS: i64 = 60;
/// The discovery document and signing keys are read again at least this often.
const METADATA_MAX_AGE: Duration = Duration::from_secs(3600);
/// An ID token signed with a key the cached set lacks reads the keys again, at most this often.
const REFETCH_EVERY: Duration = Duration::from_secs(60);
/// Associated data of the sealed flow cookie: a value sealed for anything else does not open.
const FLOW_AAD: &[u8] = b"gatehouse sso flow";

/// The discovery document's fields beyond the crate's own.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Extra {
    /// RFC 9207: the provider names itself in every authorization response.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// RP-initiated logout, offered after a local sign-out.
    pub end_session_endpoint: Option<String>,
    /// PKCE methods; absent means the provider does not say.
    pub code_challenge_methods_supported: Option<Vec<String>>,
}
impl AdditionalProviderMetadata for Extra {}

type Metadata = ProviderMetadata<
    Extra,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// The relying party, once discovery set its endpoints (authorization; token and userinfo
/// where the provider has them).
type Rp = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// The relying party's registration at the provider.
#[derive(Clone)]
pub struct SsoSettings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// The button's provider name.
    pub name: String,
    /// `{public URL}/auth/oidc/callback`, as registered at the provider.
    pub redirect_uri: String,
}

impl std::fmt::Debug for SsoSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A discovered provider: its metadata and signing keys, and when they were read.
struct Discovered {
    /// The issuer it was read for: settings saved with another one read it again.
    issuer: String,
    metadata: Metadata,
    read_at: Instant,
    /// When an unknown signing key last made it read them again.
    refetched_at: Option<Instant>,
}

/// Single sign-on as configured, with the provider's metadata cached.
pub struct Sso {
    /// The environment's settings, which take the card's place.
    env: Option<SsoSettings>,
    /// `{public URL}/auth/oidc/callback`.
    redirect_uri: String,
    http: reqwest::Client,
    provider: RwLock<Option<Discovered>>,
}

impl std::fmt::Debug for Sso {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sso")
            .field("env", &self.env)
            .finish_non_exhaustive()
    }
}

/// A sign-in in progress, sealed into the browser's cookie between the two redirects.
#[derive(Serialize, Deserialize)]
struct Flow {
    state: String,
    nonce: String,
    verifier: String,
    next: Option<String>,
    at: i64,
}

/// The provider's redirect back, as its query string has it.
#[derive(Debug, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
}

/// Why a single sign-on was refused. The page says what the person can do; the audit log
/// keeps [`Refusal::reason`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No flow cookie, an expired one, or a `state` that is not this browser's.
    Flow,
    /// This sign-in's answer came back a second time.
    Replayed,
    /// The provider said no, or answered something that does not verify.
    Provider(String),
    /// The provider does not vouch for the address.
    Unverified,
    /// No active user on the Users tab has this address (or the provider gave none).
    NotAdded,
    /// The address's user is bound to another identity at this provider.
    BoundElsewhere,
}

impl Refusal {
    /// What the refusal page tells the person.
    pub fn message(&self) -> &'static str {
        match self {
            Self::Flow | Self::Replayed => {
                "This sign-in has expired or was started in another browser. Start again from the sign-in page."
            }
            Self::Provider(_) => {
                "The identity provider's answer could not be accepted. Try again, or ask an administrator to check single sign-on."
            }
            Self::Unverified | Self::NotAdded | Self::BoundElsewhere => {
                "Your account has not been added to Gatehouse. Ask an administrator."
            }
        }
    }

    /// The audit log's detail: why, without a token or a secret.
    pub fn reason(&self) -> String {
        match self {
            Self::Flow => "no sign-in in progress in this browser, or state mismatch".into(),
            Self::Replayed => "the answer was used already".into(),
            Self::Provider(why) => format!("provider: {why}"),
            Self::Unverified => "the provider has not verified the address".into(),
            Self::NotAdded => "no active user with this address".into(),
            Self::BoundElsewhere => "the user is bound to another identity".into(),
        }
    }
}

/// How a callback ended.
#[derive(Debug)]
pub enum Outcome {
    SignedIn {
        user_id: i64,
        email: String,
        next: Option<String>,
    },
    Refused {
        refusal: Refusal,
        /// The address the provider gave, when it gave one.
        email: Option<String>,
    },
}

/// How a start ended: the redirect to the provider with the sealed flow for the cookie, or why
/// the provider cannot be used.
#[derive(Debug)]
pub enum Start {
    ToProvider { url: String, cookie: String },
    Refused(Refusal),
}

impl Outcome {
    fn refused(refusal: Refusal) -> Self {
        Self::Refused {
            refusal,
            email: None,
        }
    }
}

fn provider_error(e: impl std::fmt::Display) -> Refusal {
    // The crate's messages name endpoints and claims, never the client secret.
    Refusal::Provider(e.to_string().chars().take(300).collect())
}

impl Sso {
    pub fn new(
        env: Option<SsoSettings>,
        redirect_uri: String,
        allow_loopback: bool,
    ) -> Result<Self, AppError> {
        let http = crate::outbound::client(
            allow_loopback,
            Duration::from_secs(5),
            Duration::from_secs(10),
        )
        .map_err(AppError::internal)?;
        Ok(Self {
            env,
            redirect_uri,
            http,
            provider: RwLock::new(None),
        })
    }

    /// The environment's settings, when it sets an issuer.
    pub fn from_env(&self) -> Option<&SsoSettings> {
        self.env.as_ref()
    }

    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The origins a sign-in at `issuer` leaves to: the issuer's, and its authorization
    /// endpoint's once discovered (for the sign-in page's `form-action`).
    pub fn origins(&self, issuer: &str) -> Vec<String> {
        let mut urls = vec![issuer.to_owned()];
        if let Ok(cached) = self.provider.try_read()
            && let Some(d) = cached.as_ref().filter(|d| d.issuer == issuer)
        {
            urls.push(d.metadata.authorization_endpoint().as_str().to_owned());
        }
        let mut origins: Vec<String> = urls
            .iter()
            .filter_map(|u| openidconnect::url::Url::parse(u).ok())
            .map(|u| u.origin().ascii_serialization())
            .filter(|o| o != "null")
            .collect();
        origins.dedup();
        origins
    }

    /// The provider's metadata, read again when older than an hour, or for `refetch` (an
    /// unknown signing key) unless that happened less than a minute ago: a flood of tokens
    /// with made-up keys cannot make Gatehouse hammer the provider.
    async fn metadata(&self, issuer: &str, refetch: bool) -> Result<Metadata, Refusal> {
        let mut refetched_at = None;
        {
            let cached = self.provider.read().await;
            if let Some(d) = cached.as_ref().filter(|d| d.issuer == issuer) {
                let recent = d
                    .refetched_at
                    .is_some_and(|at| at.elapsed() < REFETCH_EVERY);
                if d.read_at.elapsed() < METADATA_MAX_AGE && (!refetch || recent) {
                    return Ok(d.metadata.clone());
                }
                refetched_at = d.refetched_at;
            }
        }
        if refetch {
            refetched_at = Some(Instant::now());
        }
        let metadata = self.discover(issuer).await?;
        *self.provider.write().await = Some(Discovered {
            issuer: issuer.to_owned(),
            metadata: metadata.clone(),
            read_at: Instant::now(),
            refetched_at,
        });
        Ok(metadata)
    }

    async fn discover(&self, issuer: &str) -> Result<Metadata, Refusal> {
        let issuer = IssuerUrl::new(issuer.to_owned()).map_err(provider_error)?;
        Metadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| provider_error(discovery_error(&e)))
    }

    fn client(settings: &SsoSettings, metadata: Metadata) -> Result<Rp, Refusal> {
        let redirect = RedirectUrl::new(settings.redirect_uri.clone()).map_err(provider_error)?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(settings.client_id.clone()),
            Some(ClientSecret::new(settings.client_secret.clone())),
        )
        .set_redirect_uri(redirect))
    }

    /// Starts a sign-in: the provider's authorization URL, and the sealed flow for the cookie.
    pub async fn begin(
        &self,
        settings: &SsoSettings,
        sealer: &Sealer,
        next: Option<&str>,
    ) -> Result<Start, AppError> {
        let client = match self.metadata(&settings.issuer, false).await {
            Ok(metadata) => Self::client(settings, metadata),
            Err(refusal) => Err(refusal),
        };
        let client = match client {
            Ok(c) => c,
            Err(refusal) => return Ok(Start::Refused(refusal)),
        };
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .set_pkce_challenge(challenge)
            .url();
        let flow = Flow {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
            next: next.map(str::to_owned),
            at: unix_now(),
        };
        let plain = serde_json::to_vec(&flow).map_err(AppError::internal)?;
        let sealed = sealer.seal(&plain, FLOW_AAD);
        let cookie = URL_SAFE_NO_PAD.encode([sealed.nonce, sealed.ciphertext].concat());
        Ok(Start::ToProvider {
            url: url.to_string(),
            cookie,
        })
    }

    fn open_flow(sealer: &Sealer, cookie: Option<&str>) -> Option<Flow> {
        let bytes = URL_SAFE_NO_PAD.decode(cookie?).ok()?;
        if bytes.len() < 12 {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let plain = sealer.open(nonce, ciphertext, FLOW_AAD).ok()?;
        let flow: Flow = serde_json::from_slice(&plain).ok()?;
        let age = unix_now() - flow.at;
        (0..=FLOW_SECS).contains(&age).then_some(flow)
    }

    /// Finishes a sign-in from the provider's redirect back and the browser's flow cookie.
    pub async fn finish(
        &self,
        settings: &SsoSettings,
        (pool, sealer): (&Pool, &Sealer),
        cookie: Option<&str>,
        callback: Callback,
    ) -> Result<Outcome, AppError> {
        let Some(flow) = Self::open_flow(sealer, cookie) else {
            return Ok(Outcome::refused(Refusal::Flow));
        };
        let same_state = callback.state.as_deref().is_some_and(|s| {
            subtle::ConstantTimeEq::ct_eq(s.as_bytes(), flow.state.as_bytes()).into()
        });
        if !same_state {
            return Ok(Outcome::refused(Refusal::Flow));
        }
        let metadata = match self.metadata(&settings.issuer, false).await {
            Ok(m) => m,
            Err(refusal) => return Ok(Outcome::refused(refusal)),
        };
        // RFC 9207: the answer names its provider (a mix-up attack hands one provider's code
        // to another's flow).
        let expected_iss = metadata.issuer().as_str();
        match callback.iss.as_deref() {
            Some(iss) if iss != expected_iss => {
                return Ok(Outcome::refused(Refusal::Provider(
                    "the answer came from another issuer".into(),
                )));
            }
            None if metadata
                .additional_metadata()
                .authorization_response_iss_parameter_supported =>
            {
                return Ok(Outcome::refused(Refusal::Provider(
                    "the answer does not name its issuer".into(),
                )));
            }
            _ => {}
        }
        if let Some(error) = callback.error {
            let error: String = error.chars().take(100).collect();
            return Ok(Outcome::refused(Refusal::Provider(format!(
                "the provider answered {error}"
            ))));
        }
        let Some(code) = callback.code else {
            return Ok(Outcome::refused(Refusal::Provider("no code".into())));
        };
        // Each flow's answer counts once, whichever server it reaches.
        if !use_state(pool, &flow.state).await? {
            return Ok(Outcome::refused(Refusal::Replayed));
        }
        match self.verify(settings, metadata, &flow, code).await {
            Ok((issuer, subject, email)) => {
                let mut tx = crate::db::begin_write(pool).await?;
                let outcome = match_user(&mut tx, (&issuer, &subject), email, flow.next).await?;
                tx.commit().await?;
                Ok(outcome)
            }
            Err((refusal, email)) => Ok(Outcome::Refused { refusal, email }),
        }
    }

    /// Exchanges the code and verifies the ID token: the provider's issuer and subject, and
    /// the address it vouches for.
    async fn verify(
        &self,
        settings: &SsoSettings,
        metadata: Metadata,
        flow: &Flow,
        code: String,
    ) -> Result<(String, String, VerifiedEmail), (Refusal, Option<String>)> {
        let no_email = |r: Refusal| (r, None);
        let client = Self::client(settings, metadata.clone()).map_err(no_email)?;
        let response = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| no_email(provider_error(e)))?
            .set_pkce_verifier(PkceCodeVerifier::new(flow.verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| no_email(provider_error(token_error(&e))))?;
        let id_token = response
            .id_token()
            .ok_or_else(|| no_email(Refusal::Provider("no ID token".into())))?;
        let nonce = Nonce::new(flow.nonce.clone());
        let (mut client, mut metadata) = (client, metadata);
        let mut refetched = false;
        let claims = loop {
            let checked = id_token
                .claims(&verifier(&client, &metadata), &nonce)
                .cloned();
            match checked {
                Ok(claims) => break claims,
                Err(ClaimsVerificationError::SignatureVerification(
                    SignatureVerificationError::NoMatchingKey,
                )) if !refetched => {
                    // The provider rotated its keys: read them again (at most once a minute).
                    refetched = true;
                    metadata = self
                        .metadata(&settings.issuer, true)
                        .await
                        .map_err(no_email)?;
                    client = Self::client(settings, metadata.clone()).map_err(no_email)?;
                }
                Err(e) => return Err(no_email(provider_error(e))),
            }
        };
        // `azp`, which the crate leaves to the client: when present it is this client, and a
        // token for several audiences must carry it.
        let azp = claims.authorized_party().map(|a| a.as_str());
        if azp.is_some_and(|a| a != settings.client_id)
            || (claims.audiences().len() > 1 && azp.is_none())
        {
            return Err(no_email(Refusal::Provider(
                "the ID token was issued to another client".into(),
            )));
        }
        let issuer = claims.issuer().as_str().to_owned();
        let subject = claims.subject().as_str().to_owned();
        let (mut email, mut verified) = (
            claims.email().map(|e| e.as_str().to_owned()),
            claims.email_verified(),
        );
        if email.is_none() {
            // Some providers keep the address for the userinfo endpoint.
            if let Ok(request) = client.user_info(response.access_token().clone(), None) {
                let info: Result<CoreUserInfoClaims, _> = request.request_async(&self.http).await;
                if let Some(info) = info.ok().filter(|i| i.subject().as_str() == subject) {
                    email = info.email().map(|e| e.as_str().to_owned());
                    verified = info.email_verified();
                }
            }
        }
        let Some(email) = email else {
            return Err(no_email(Refusal::NotAdded));
        };
        if verified != Some(true) {
            return Err((Refusal::Unverified, Some(email)));
        }
        Ok((issuer, subject, VerifiedEmail(email)))
    }

    /// The provider's own sign-out for this client, when its discovery document (as read for
    /// a sign-in) names one.
    pub fn end_session(&self, issuer: &str, client_id: &str) -> Option<String> {
        let cached = self.provider.try_read().ok()?;
        let d = cached.as_ref().filter(|d| d.issuer == issuer)?;
        let endpoint = d
            .metadata
            .additional_metadata()
            .end_session_endpoint
            .as_ref()?;
        let mut url = openidconnect::url::Url::parse(endpoint).ok()?;
        url.query_pairs_mut().append_pair("client_id", client_id);
        Some(url.to_string())
    }
}

/// The card's **Check**: what Gatehouse needs from a provider, step by step, before Save.
pub async fn check(sso: &Sso, issuer: &str) -> Vec<crate::sso::CheckStep> {
    use crate::sso::CheckStep;
    let step = |label: &str, passed: bool, reason: String| CheckStep {
        label: label.into(),
        passed,
        reason,
    };
    let metadata = match sso.discover(issuer).await {
        Ok(m) => m,
        Err(Refusal::Provider(why)) if why.contains("issuer") => {
            return vec![
                step("Discovery document", true, "read".into()),
                step("Issuer", false, why),
            ];
        }
        Err(refusal) => return vec![step("Discovery document", false, refusal.reason())],
    };
    let mut steps = vec![
        step(
            "Discovery document",
            true,
            format!("read from {issuer}/.well-known/openid-configuration"),
        ),
        step("Issuer", true, "the document names this issuer".into()),
    ];
    let algs: Vec<_> = metadata
        .id_token_signing_alg_values_supported()
        .iter()
        .filter(|a| asymmetric(a))
        .collect();
    let keys = match openidconnect::JsonWebKeySet::<CoreJsonWebKey>::fetch_async(
        metadata.jwks_uri(),
        &sso.http,
    )
    .await
    {
        Ok(set) => set.keys().len(),
        Err(_) => 0,
    };
    steps.push(if algs.is_empty() {
        step(
            "Signing keys",
            false,
            "the provider signs ID tokens with no asymmetric algorithm".into(),
        )
    } else if keys == 0 {
        step(
            "Signing keys",
            false,
            "its key set cannot be read or is empty".into(),
        )
    } else {
        step("Signing keys", true, format!("{keys} key(s) read"))
    });
    let code = metadata
        .response_types_supported()
        .iter()
        .any(|r| r.as_ref() == [CoreResponseType::Code]);
    let s256 = metadata
        .additional_metadata()
        .code_challenge_methods_supported
        .as_ref()
        .is_none_or(|m| m.iter().any(|m| m == "S256"));
    steps.push(step(
        "Authorization code with PKCE",
        code && s256 && metadata.token_endpoint().is_some(),
        if code && s256 && metadata.token_endpoint().is_some() {
            "supported".into()
        } else {
            "the provider lacks the code flow, PKCE S256 or a token endpoint".into()
        },
    ));
    let basic = metadata
        .token_endpoint_auth_methods_supported()
        .is_none_or(|m| m.contains(&CoreClientAuthMethod::ClientSecretBasic));
    steps.push(step(
        "Client authentication",
        basic,
        if basic {
            "client_secret_basic".into()
        } else {
            "the token endpoint does not take client_secret_basic".into()
        },
    ));
    steps
}

/// An address the provider vouches for (`email_verified`).
struct VerifiedEmail(String);

/// The ID token verifier: the provider's asymmetric algorithms only (never `none` nor an HMAC
/// keyed with a public key), 60 s of clock skew on `exp`, and `iat` not in the future.
fn verifier<'a>(
    client: &'a Rp,
    metadata: &Metadata,
) -> openidconnect::core::CoreIdTokenVerifier<'a> {
    let algs = metadata
        .id_token_signing_alg_values_supported()
        .iter()
        .filter(|a| asymmetric(a))
        .cloned()
        .collect::<Vec<_>>();
    client
        .id_token_verifier()
        .set_allowed_algs(algs)
        .set_time_fn(|| chrono::Utc::now() - chrono::Duration::seconds(SKEW_SECS))
        .set_issue_time_verifier_fn(|iat| {
            if iat > chrono::Utc::now() + chrono::Duration::seconds(SKEW_SECS) {
                Err("the ID token was issued in the future".into())
            } else {
                Ok(())
            }
        })
}

fn asymmetric(alg: &CoreJwsSigningAlgorithm) -> bool {
    use CoreJwsSigningAlgorithm as A;
    matches!(
        alg,
        A::RsaSsaPkcs1V15Sha256
            | A::RsaSsaPkcs1V15Sha384
            | A::RsaSsaPkcs1V15Sha512
            | A::RsaSsaPssSha256
            | A::RsaSsaPssSha384
            | A::RsaSsaPssSha512
            | A::EcdsaP256Sha256
            | A::EcdsaP384Sha384
            | A::EdDsa
    )
}

/// Discovery's failure, said plainly (the crate's own names the Rust types involved).
fn discovery_error<E: std::error::Error>(e: &openidconnect::DiscoveryError<E>) -> String {
    use openidconnect::DiscoveryError as D;
    match e {
        D::Validation(why) => format!("the discovery document does not hold: {why}"),
        D::Response(status, _, _) => format!("the discovery document answered {status}"),
        D::Parse(_) => "the discovery document is not valid OpenID metadata".into(),
        D::Request(_) => "the provider cannot be reached".into(),
        other => other.to_string(),
    }
}

fn token_error<RE: std::error::Error + 'static, T: openidconnect::ErrorResponse + 'static>(
    e: &openidconnect::RequestTokenError<RE, T>,
) -> String {
    use openidconnect::RequestTokenError as R;
    match e {
        R::ServerResponse(answer) => format!("the token endpoint refused the code: {answer}"),
        R::Request(_) => "the token endpoint cannot be reached".into(),
        R::Parse(..) => "the token endpoint's answer is not valid".into(),
        R::Other(why) => why.chars().take(200).collect(),
    }
}

/// Records a flow's `state` as answered; `false` when it was answered before.
async fn use_state(pool: &Pool, state: &str) -> Result<bool, AppError> {
    let digest = crate::api_keys::ssr::sealing::digest(state);
    let mut conn = pool.acquire().await?;
    let inserted = sqlx::query(
        "INSERT INTO sso_answered (state_digest, at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(URL_SAFE_NO_PAD.encode(digest))
    .bind(unix_now())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Forgets answered flows once their cookies cannot open any more.
pub async fn prune(pool: &Pool) -> Result<(), AppError> {
    sqlx::query("DELETE FROM sso_answered WHERE at < $1")
        .bind(unix_now() - FLOW_SECS - SKEW_SECS)
        .execute(pool)
        .await?;
    Ok(())
}

/// The user this identity signs in as: bound by `iss` + `sub`, or (the first time at this
/// provider) the active user with the verified address, who is then bound to it.
async fn match_user(
    conn: &mut Conn,
    (issuer, subject): (&str, &str),
    email: VerifiedEmail,
    next: Option<String>,
) -> Result<Outcome, AppError> {
    let refused = |refusal: Refusal, email: &VerifiedEmail| Outcome::Refused {
        refusal,
        email: Some(email.0.clone()),
    };
    let bound: Option<(i64, String, Flag)> = sqlx::query_as(
        "SELECT id, handle, active FROM principals \
         WHERE kind = 'user' AND oidc_issuer = $1 AND oidc_subject = $2",
    )
    .bind(issuer)
    .bind(subject)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((user_id, handle, active)) = bound {
        return Ok(if active.0 {
            Outcome::SignedIn {
                user_id,
                email: handle,
                next,
            }
        } else {
            refused(Refusal::NotAdded, &email)
        });
    }
    let Ok(address) = Email::parse(&email.0) else {
        return Ok(refused(Refusal::NotAdded, &email));
    };
    let by_address: Option<(i64, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT id, oidc_issuer, oidc_subject FROM principals \
         WHERE kind = 'user' AND handle = $1 AND active = TRUE",
    )
    .bind(address.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id, bound_issuer, bound_subject)) = by_address else {
        return Ok(refused(Refusal::NotAdded, &email));
    };
    // Bound at this provider to someone else: the address moved there, the account does not.
    if bound_issuer.as_deref() == Some(issuer) && bound_subject.is_some() {
        return Ok(refused(Refusal::BoundElsewhere, &email));
    }
    let bound = sqlx::query(
        "UPDATE principals SET oidc_issuer = $1, oidc_subject = $2 \
         WHERE id = $3 AND (oidc_issuer IS NULL OR oidc_issuer <> $1)",
    )
    .bind(issuer)
    .bind(subject)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    if bound.rows_affected() != 1 {
        return Ok(refused(Refusal::BoundElsewhere, &email));
    }
    Ok(Outcome::SignedIn {
        user_id: id,
        email: address.as_str().to_owned(),
        next,
    })
}

//! Embed tokens: JWTs (RFC 7519) signed HS256 with the embed secret by a portal's backend.
//!
//! Claims: `sub` (the email of an existing user), `aud` `"gatehouse-embed"`, `origin` (the
//! portal's exact origin), `iat`, `exp` (at most 5 minutes after `iat`), `jti` (single use),
//! optional `nbf` and `tab`. The signature and audience are checked by `jsonwebtoken`; the times
//! here, against the caller's clock, with a little leeway for clocks that differ.

use crate::embed::{AUDIENCE, MAX_TOKEN_SECONDS};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde::Deserialize;

/// Clocks of the portal and Gatehouse may differ by this much, in seconds.
pub const LEEWAY: i64 = 30;

/// Why a token (or its exchange) was refused: a code for programs and a sentence for people.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    NotConfigured,
    Malformed,
    BadSignature,
    WrongAudience,
    Expired,
    NotYetValid,
    TooLong,
    Replayed,
    OriginNotAllowed,
    OriginMismatch,
    UnknownUser,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::NotConfigured => "embedding_not_set_up",
            Self::Malformed => "invalid_token",
            Self::BadSignature => "bad_signature",
            Self::WrongAudience => "wrong_audience",
            Self::Expired => "token_expired",
            Self::NotYetValid => "token_not_yet_valid",
            Self::TooLong => "token_lifetime_too_long",
            Self::Replayed => "token_replayed",
            Self::OriginNotAllowed => "origin_not_allowed",
            Self::OriginMismatch => "origin_mismatch",
            Self::UnknownUser => "unknown_user",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::NotConfigured => {
                "Embedding is not set up: an administrator creates the embed secret on the APIs tab."
            }
            Self::Malformed => {
                "The embed token is not a valid HS256 JWT with the claims sub, aud, origin, iat, exp and jti."
            }
            Self::BadSignature => {
                "The embed token is not signed with this environment's embed secret (was it regenerated?)."
            }
            Self::WrongAudience => {
                "The embed token is not meant for Gatehouse (aud must be \"gatehouse-embed\")."
            }
            Self::Expired => "The embed token has expired: the portal needs to sign a new one.",
            Self::NotYetValid => "The embed token is not valid yet: check the portal's clock.",
            Self::TooLong => "The embed token lives longer than 5 minutes (exp - iat).",
            Self::Replayed => "This embed token was used already: each token works once.",
            Self::OriginNotAllowed => {
                "The token's portal origin is not allowed to embed this page."
            }
            Self::OriginMismatch => {
                "The token was made for another portal than the page that embeds the frame."
            }
            Self::UnknownUser => "The token's user cannot sign in to this environment.",
        }
    }
}

/// The claims of a token that passed every check here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claims {
    pub sub: String,
    pub origin: String,
    pub exp: i64,
    pub jti: String,
    pub tab: Option<String>,
}

#[derive(Deserialize)]
struct Raw {
    sub: Option<String>,
    origin: Option<String>,
    iat: Option<i64>,
    exp: Option<i64>,
    nbf: Option<i64>,
    jti: Option<String>,
    tab: Option<String>,
}

/// Checks `token` against `secret` at Unix time `now`.
pub fn validate(secret: &[u8], token: &str, now: i64) -> Result<Claims, Refusal> {
    if token.len() > 4096 {
        return Err(Refusal::Malformed);
    }
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["aud"]);
    // Times are checked below against `now`, with their own refusal each.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    let raw = jsonwebtoken::decode::<Raw>(token, &DecodingKey::from_secret(secret), &validation)
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => Refusal::BadSignature,
            ErrorKind::InvalidAudience => Refusal::WrongAudience,
            ErrorKind::MissingRequiredClaim(c) if c == "aud" => Refusal::WrongAudience,
            _ => Refusal::Malformed,
        })?
        .claims;
    let (Some(sub), Some(origin), Some(iat), Some(exp), Some(jti)) =
        (raw.sub, raw.origin, raw.iat, raw.exp, raw.jti)
    else {
        return Err(Refusal::Malformed);
    };
    if sub.is_empty() || sub.len() > 254 || jti.is_empty() || jti.len() > 128 {
        return Err(Refusal::Malformed);
    }
    // Claims are the portal's numbers: every sum and difference is checked, so that extreme
    // values (`iat = i64::MIN`) are refused instead of wrapping past a check.
    if exp.checked_add(LEEWAY).is_none_or(|end| now > end) {
        return Err(Refusal::Expired);
    }
    let latest_start = now.saturating_add(LEEWAY);
    if iat > latest_start || raw.nbf.is_some_and(|nbf| nbf > latest_start) {
        return Err(Refusal::NotYetValid);
    }
    if exp
        .checked_sub(iat)
        .is_none_or(|lifetime| !(0..=MAX_TOKEN_SECONDS).contains(&lifetime))
    {
        return Err(Refusal::TooLong);
    }
    Ok(Claims {
        sub,
        origin,
        exp,
        jti,
        tab: raw.tab.filter(|t| t.len() <= 32),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

    const SECRET: &[u8] = b"gatehouse_embed_test-secret";
    const NOW: i64 = 1_800_000_000;

    fn sign(claims: serde_json::Value) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap()
    }

    fn claims() -> serde_json::Value {
        json!({
            "sub": "ada@example.com", "aud": AUDIENCE, "origin": "https://portal.example.com",
            "iat": NOW, "exp": NOW + 120, "jti": "one", "tab": "users"
        })
    }

    fn with(key: &str, value: serde_json::Value) -> String {
        let mut c = claims();
        c[key] = value;
        sign(c)
    }

    #[test]
    fn a_good_token_passes() {
        let c = validate(SECRET, &sign(claims()), NOW).unwrap();
        assert_eq!(c.sub, "ada@example.com");
        assert_eq!(c.origin, "https://portal.example.com");
        assert_eq!(c.tab.as_deref(), Some("users"));
    }

    #[test]
    fn each_defect_has_its_refusal() {
        let other = encode(
            &Header::new(Algorithm::HS256),
            &claims(),
            &EncodingKey::from_secret(b"another secret"),
        )
        .unwrap();
        assert_eq!(validate(SECRET, &other, NOW), Err(Refusal::BadSignature));
        assert_eq!(
            validate(SECRET, &with("aud", json!("someone-else")), NOW),
            Err(Refusal::WrongAudience)
        );
        let mut no_aud = claims();
        no_aud.as_object_mut().unwrap().remove("aud");
        assert_eq!(
            validate(SECRET, &sign(no_aud), NOW),
            Err(Refusal::WrongAudience)
        );
        assert_eq!(
            validate(SECRET, &sign(claims()), NOW + 121 + LEEWAY),
            Err(Refusal::Expired)
        );
        assert_eq!(
            validate(SECRET, &sign(claims()), NOW - LEEWAY - 1),
            Err(Refusal::NotYetValid)
        );
        assert_eq!(
            validate(SECRET, &with("nbf", json!(NOW + 100)), NOW),
            Err(Refusal::NotYetValid)
        );
        assert_eq!(
            validate(SECRET, &with("exp", json!(NOW + 301)), NOW),
            Err(Refusal::TooLong)
        );
        let mut no_jti = claims();
        no_jti.as_object_mut().unwrap().remove("jti");
        assert_eq!(
            validate(SECRET, &sign(no_jti), NOW),
            Err(Refusal::Malformed)
        );
        assert_eq!(validate(SECRET, "not.a.jwt", NOW), Err(Refusal::Malformed));
        assert_eq!(validate(SECRET, "", NOW), Err(Refusal::Malformed));
    }

    #[test]
    fn extreme_times_are_refused_without_overflow() {
        assert_eq!(
            validate(SECRET, &with("iat", json!(i64::MIN)), NOW),
            Err(Refusal::TooLong)
        );
        let mut c = claims();
        c["iat"] = json!(i64::MIN);
        c["exp"] = json!(i64::MAX);
        assert_eq!(validate(SECRET, &sign(c), NOW), Err(Refusal::Expired));
        let mut c = claims();
        c["iat"] = json!(i64::MAX - 10);
        c["exp"] = json!(i64::MAX - 5);
        assert_eq!(
            validate(SECRET, &sign(c), i64::MAX - 1),
            Err(Refusal::Expired)
        );
        assert_eq!(
            validate(SECRET, &with("nbf", json!(i64::MAX)), NOW),
            Err(Refusal::NotYetValid)
        );
        assert_eq!(
            validate(SECRET, &with("exp", json!(i64::MIN)), NOW),
            Err(Refusal::Expired)
        );
    }

    #[test]
    fn only_hs256_is_accepted() {
        let hs512 = encode(
            &Header::new(Algorithm::HS512),
            &claims(),
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert_eq!(validate(SECRET, &hs512, NOW), Err(Refusal::Malformed));
        // alg "none": a header and claims with an empty signature.
        use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(claims().to_string())
        );
        assert_eq!(validate(SECRET, &none, NOW), Err(Refusal::Malformed));
    }
}

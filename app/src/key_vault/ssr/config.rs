//! The set-up pane's values, checked and normalised: what a vault client needs to talk to one
//! vault. Every rule names the field it is about, so the pane shows the message beside it.

use crate::{
    error::AppError,
    key_vault::{
        Backend, DEFAULT_AUTHORITY_HOST, DEFAULT_MOUNT, MAX_ADDRESS_CHARS, MAX_CREDENTIAL_CHARS,
        MAX_NAME_CHARS, VaultAuth, VaultForm,
    },
};
use reqwest::Url;
use std::{fmt, net::IpAddr};

/// Where the vault is and who Gatehouse signs in as: everything but the credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VaultTarget {
    pub backend: Backend,
    /// Without a trailing slash.
    pub address: Url,
    pub mount: String,
    /// Empty, or ending in `/`.
    pub path_prefix: String,
    pub namespace: String,
    pub auth: VaultAuth,
    pub principal_id: String,
    pub tenant_id: String,
    pub authority_host: Url,
}

/// A vault credential. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential(pub String);

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credential(..)")
    }
}

#[derive(Clone, Debug)]
pub struct VaultConfig {
    pub target: VaultTarget,
    pub credential: Credential,
    /// Where this link's sign-in tokens are cached; `None` (values not saved yet): not cached.
    pub cache_key: Option<Vec<u8>>,
}

/// Azure Key Vault's DNS suffixes (public cloud, China, US Government, Germany).
const AZURE_VAULT_SUFFIXES: [&str; 4] = [
    ".vault.azure.net",
    ".vault.azure.cn",
    ".vault.usgovcloudapi.net",
    ".vault.microsoftazure.de",
];

/// `localhost` or a loopback address (`[::1]` with or without brackets): this machine.
pub fn is_loopback_host(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Loopback hosts may be spoken to over plain HTTP (a vault on the same machine, a test).
pub fn is_loopback(url: &Url) -> bool {
    url.host_str().is_some_and(is_loopback_host)
}

/// An `https://` address (or `http://` to this machine), without credentials, query or fragment.
pub fn parse_address(field: &str, raw: &str, example: &str) -> Result<Url, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(AppError::invalid(
            field,
            format!("Enter an address such as {example}."),
        ));
    }
    if raw.chars().count() > MAX_ADDRESS_CHARS {
        return Err(AppError::invalid(field, "This address is too long."));
    }
    let mut url = Url::parse(raw).map_err(|_| {
        AppError::invalid(field, format!("Enter a full address such as {example}."))
    })?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(AppError::invalid(
            field,
            format!("Enter a full address such as {example}."),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(AppError::invalid(
            field,
            "Leave credentials out of the address; they have fields of their own.",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(AppError::invalid(
            field,
            "The address takes no query (?) or fragment (#).",
        ));
    }
    if url.scheme() == "http" && !is_loopback(&url) {
        return Err(AppError::invalid(
            field,
            "Use an https:// address: credentials must not travel unencrypted. Plain http:// is accepted for this machine's own addresses only.",
        ));
    }
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&path);
    Ok(url)
}

/// A mount, prefix or namespace: path segments of letters, digits, `.`, `_` and `-`.
fn parse_path(field: &str, raw: &str, what: &str) -> Result<String, AppError> {
    let value = raw.trim().trim_matches('/');
    if value.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::invalid(field, format!("The {what} is too long.")));
    }
    let segments_ok = value.is_empty()
        || value.split('/').all(|s| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        });
    if !segments_ok {
        return Err(AppError::invalid(
            field,
            format!("The {what} may use letters, digits, '.', '_', '-' and '/' between parts."),
        ));
    }
    Ok(value.to_owned())
}

fn is_guid(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A tenant is a GUID or a verified domain (`contoso.onmicrosoft.com`).
fn is_tenant(value: &str) -> bool {
    is_guid(value)
        || (value.contains('.')
            && value.len() <= 253
            && value
                .split('.')
                .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')))
}

/// Checks the pane's values. The credential is checked by [`parse_credential`].
pub fn parse_target(form: &VaultForm) -> Result<VaultTarget, AppError> {
    let backend = form.backend;
    let address = match backend {
        Backend::OpenBao => {
            parse_address("address", &form.address, "https://vault.example.com:8200")?
        }
        Backend::Azure => {
            let url = parse_address("address", &form.address, "https://NAME.vault.azure.net")?;
            let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
            let azure_host = AZURE_VAULT_SUFFIXES
                .iter()
                .any(|s| host.len() > s.len() && host.ends_with(s));
            if !(azure_host || is_loopback(&url)) || !matches!(url.path(), "" | "/") {
                return Err(AppError::invalid(
                    "address",
                    "An Azure Key Vault address looks like https://NAME.vault.azure.net.",
                ));
            }
            url
        }
    };
    let (auth, mount, path_prefix, namespace, principal_id, tenant_id, authority_host) =
        match backend {
            Backend::OpenBao => {
                let mount = parse_path("mount", &form.mount, "mount")?;
                let prefix = parse_path("path_prefix", &form.path_prefix, "path prefix")?;
                let namespace = parse_path("namespace", &form.namespace, "namespace")?;
                let principal = match form.auth {
                    VaultAuth::Token => String::new(),
                    VaultAuth::AppRole => {
                        let id = form.principal_id.trim();
                        if id.is_empty() {
                            return Err(AppError::invalid("principal_id", "Enter the role ID."));
                        }
                        if id.chars().count() > MAX_NAME_CHARS || id.chars().any(char::is_control) {
                            return Err(AppError::invalid(
                                "principal_id",
                                "This role ID is not valid.",
                            ));
                        }
                        id.to_owned()
                    }
                    VaultAuth::ClientSecret => {
                        return Err(AppError::invalid(
                            "auth",
                            "Sign in to HashiCorp Vault or OpenBao with a token or AppRole.",
                        ));
                    }
                };
                (
                    form.auth,
                    if mount.is_empty() {
                        DEFAULT_MOUNT.to_owned()
                    } else {
                        mount
                    },
                    if prefix.is_empty() {
                        prefix
                    } else {
                        format!("{prefix}/")
                    },
                    namespace,
                    principal,
                    String::new(),
                    Url::parse(DEFAULT_AUTHORITY_HOST).expect("a valid constant"),
                )
            }
            Backend::Azure => {
                let tenant = form.tenant_id.trim();
                if !is_tenant(tenant) {
                    return Err(AppError::invalid(
                        "tenant_id",
                        "Enter the directory (tenant) ID: a GUID or a domain such as contoso.onmicrosoft.com.",
                    ));
                }
                let client = form.principal_id.trim();
                if !is_guid(client) {
                    return Err(AppError::invalid(
                        "principal_id",
                        "Enter the application (client) ID: a GUID such as 00000000-0000-0000-0000-000000000000.",
                    ));
                }
                let authority = if form.authority_host.trim().is_empty() {
                    Url::parse(DEFAULT_AUTHORITY_HOST).expect("a valid constant")
                } else {
                    parse_address(
                        "authority_host",
                        &form.authority_host,
                        DEFAULT_AUTHORITY_HOST,
                    )?
                };
                (
                    VaultAuth::ClientSecret,
                    String::new(),
                    String::new(),
                    String::new(),
                    client.to_ascii_lowercase(),
                    tenant.to_ascii_lowercase(),
                    authority,
                )
            }
        };
    Ok(VaultTarget {
        backend,
        address,
        mount,
        path_prefix,
        namespace,
        auth,
        principal_id,
        tenant_id,
        authority_host,
    })
}

/// A credential as typed: `None` when left empty.
pub fn parse_credential(auth: VaultAuth, raw: &str) -> Result<Option<Credential>, AppError> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let name = auth.credential_label();
    if value.chars().count() > MAX_CREDENTIAL_CHARS {
        return Err(AppError::invalid(
            "credential",
            format!("This {} is too long.", name.to_lowercase()),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "credential",
            format!(
                "The {} contains a control character; paste it again.",
                name.to_lowercase()
            ),
        ));
    }
    Ok(Some(Credential(value.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(address: &str) -> VaultForm {
        VaultForm {
            address: address.into(),
            ..VaultForm::default()
        }
    }

    fn field_of(result: Result<VaultTarget, AppError>) -> String {
        match result {
            Err(AppError::Invalid { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn addresses_need_https_except_on_this_machine() {
        let t = parse_target(&form("https://vault.example.com:8200/")).unwrap();
        assert_eq!(t.address.as_str(), "https://vault.example.com:8200/");
        assert_eq!(t.mount, "secret");
        assert!(parse_target(&form("http://127.0.0.1:8200")).is_ok());
        assert!(parse_target(&form("http://[::1]:8200")).is_ok());
        assert!(parse_target(&form("http://localhost:8200")).is_ok());
        for bad in [
            "http://vault.example.com",
            "vault.example.com",
            "ftp://vault.example.com",
            "https://user:pw@vault.example.com",
            "https://vault.example.com/?token=x",
            "",
        ] {
            assert_eq!(field_of(parse_target(&form(bad))), "address", "{bad}");
        }
        let long = format!("https://{}.example.com", "a".repeat(MAX_ADDRESS_CHARS));
        assert_eq!(field_of(parse_target(&form(&long))), "address");
    }

    #[test]
    fn paths_are_normalised_and_checked() {
        let mut f = form("https://vault.example.com");
        f.mount = "/kv/".into();
        f.path_prefix = "gatehouse/prod".into();
        let t = parse_target(&f).unwrap();
        assert_eq!(
            (t.mount.as_str(), t.path_prefix.as_str()),
            ("kv", "gatehouse/prod/")
        );
        f.path_prefix = "../sys".into();
        assert_eq!(field_of(parse_target(&f)), "path_prefix");
        f.path_prefix = String::new();
        f.mount = "a b".into();
        assert_eq!(field_of(parse_target(&f)), "mount");
    }

    #[test]
    fn azure_needs_its_own_address_and_ids() {
        let mut f = form("https://contoso.vault.azure.net");
        f.backend = Backend::Azure;
        f.tenant_id = "contoso.onmicrosoft.com".into();
        f.principal_id = "0b1f9a2e-6a5e-4c5b-9a43-1c2d3e4f5a6b".into();
        let t = parse_target(&f).unwrap();
        assert_eq!(t.auth, VaultAuth::ClientSecret);
        assert_eq!(
            t.authority_host.as_str(),
            "https://login.microsoftonline.com/"
        );
        f.principal_id = "not-a-guid".into();
        assert_eq!(field_of(parse_target(&f)), "principal_id");
        f.principal_id = "0b1f9a2e-6a5e-4c5b-9a43-1c2d3e4f5a6b".into();
        f.address = "https://vault.example.com".into();
        assert_eq!(field_of(parse_target(&f)), "address");
        f.address = "https://contoso.vault.azure.net/secrets".into();
        assert_eq!(field_of(parse_target(&f)), "address");
    }

    #[test]
    fn approle_needs_a_role_id_and_credentials_are_bounded() {
        let mut f = form("https://vault.example.com");
        f.auth = VaultAuth::AppRole;
        assert_eq!(field_of(parse_target(&f)), "principal_id");
        assert!(parse_credential(VaultAuth::Token, "  ").unwrap().is_none());
        assert!(
            parse_credential(VaultAuth::Token, "s.abc")
                .unwrap()
                .is_some()
        );
        assert!(parse_credential(VaultAuth::Token, "a\u{7}b").is_err());
        assert!(parse_credential(VaultAuth::Token, &"x".repeat(MAX_CREDENTIAL_CHARS + 1)).is_err());
    }
}

//! A real OpenID provider for the single sign-on tests: the npm package `oidc-provider`
//! (`end2end/oidc/provider.mjs`) on a loopback port, driven through its development login page.

use reqwest::{Client, StatusCode, header};
use std::process::Stdio;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines},
    process::{Child, ChildStdout, Command},
};

pub const CLIENT_ID: &str = "gatehouse";
pub const CLIENT_SECRET: &str = "a client secret of the test provider, long enough";
/// A second client registered at the same provider, with the same redirect URI.
pub const OTHER_CLIENT_ID: &str = "another-app";

pub struct Provider {
    pub issuer: String,
    pub port: u16,
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

/// How the provider is started.
#[derive(Default, Clone)]
pub struct ProviderOptions {
    /// Listen on this port (a restart keeps the issuer); `None`: a free one.
    pub port: Option<u16>,
    /// Write this host into the issuer instead of 127.0.0.1.
    pub issuer_host: Option<String>,
    /// Seconds added to the provider's clock.
    pub clock_offset: i64,
    /// How long its ID tokens last (default an hour).
    pub id_token_seconds: Option<u32>,
}

impl Provider {
    /// Starts the provider; it waits for [`Provider::register`] before answering.
    pub async fn start(options: ProviderOptions) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../end2end/oidc/provider.mjs");
        let mut child = Command::new("node")
            .arg(script)
            .env("OIDC_PORT", options.port.unwrap_or(0).to_string())
            .env("OIDC_CLOCK_OFFSET", options.clock_offset.to_string())
            .env(
                "OIDC_ID_TOKEN_TTL",
                options.id_token_seconds.unwrap_or(3600).to_string(),
            )
            .env(
                "OIDC_ISSUER_HOST",
                options.issuer_host.as_deref().unwrap_or("127.0.0.1"),
            )
            .env_remove("OIDC_CLIENTS")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs end2end/oidc/provider.mjs (run scripts/setup.sh test)");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = next_line(&mut lines)
            .await
            .expect("the provider prints its issuer");
        let said: serde_json::Value = serde_json::from_str(&first).expect("JSON");
        Self {
            issuer: said["issuer"].as_str().expect("issuer").to_owned(),
            port: said["port"].as_u64().expect("port") as u16,
            child,
            lines,
        }
    }

    /// Registers Gatehouse (and [`OTHER_CLIENT_ID`]) with `redirect_uri`.
    pub async fn register(&mut self, redirect_uri: &str) {
        let clients = serde_json::json!([
            { "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [redirect_uri] },
            { "client_id": OTHER_CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [redirect_uri] },
        ]);
        let stdin = self.child.stdin.as_mut().expect("stdin");
        stdin
            .write_all(format!("{clients}\n").as_bytes())
            .await
            .expect("registration written");
        let ready = next_line(&mut self.lines).await;
        assert!(
            ready.is_some_and(|l| l.contains("ready")),
            "the provider starts"
        );
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// The provider's next line of output (`None`: it ended), failing the test when none comes
/// within a minute rather than waiting for ever.
async fn next_line(lines: &mut Lines<BufReader<ChildStdout>>) -> Option<String> {
    tokio::time::timeout(crate::helpers::ANSWER_WITHIN, lines.next_line())
        .await
        .expect("the provider answers within a minute")
        .expect("the provider's output")
}

/// Goes through the provider's pages from `authorize_url` as a person signing in as `login`
/// would, and returns where the provider sends the browser back (Gatehouse's callback URL).
pub async fn sign_in_at_provider(client: &Client, authorize_url: &str, login: &str) -> String {
    let mut url = authorize_url.to_owned();
    let origin = {
        let parsed = reqwest::Url::parse(authorize_url).expect("an absolute URL");
        parsed.origin().ascii_serialization()
    };
    for _ in 0..10 {
        let res = client.get(&url).send().await.expect("provider request");
        if res.status().is_redirection() {
            let location = res.headers()[header::LOCATION]
                .to_str()
                .expect("ASCII")
                .to_owned();
            if location.contains(app::sso::CALLBACK_PATH) {
                return location;
            }
            url = if location.starts_with('/') {
                format!("{origin}{location}")
            } else {
                location
            };
            continue;
        }
        assert_eq!(res.status(), StatusCode::OK, "the provider's page at {url}");
        let page = res.text().await.expect("page");
        assert!(page.contains("name=\"login\""), "a login page: {page}");
        let action = page
            .split("action=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the form's action")
            .to_owned();
        let action = if action.starts_with('/') {
            format!("{origin}{action}")
        } else {
            action
        };
        let res = client
            .post(action)
            .form(&[("login", login), ("password", "anything")])
            .send()
            .await
            .expect("login post");
        assert!(res.status().is_redirection(), "the login is accepted");
        let location = res.headers()[header::LOCATION].to_str().expect("ASCII");
        url = if location.starts_with('/') {
            format!("{origin}{location}")
        } else {
            location.to_owned()
        };
    }
    panic!("the provider did not send the browser back");
}

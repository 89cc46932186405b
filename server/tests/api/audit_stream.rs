//! Audit streaming against a real RFC 5424 receiver over TCP (octet counting, RFC 6587) and
//! over TLS (RFC 5425): every entry arrives in order; while the receiver is down entries wait,
//! and when it is back the missed ones arrive; a restart of Gatehouse loses nothing; a receiver
//! whose certificate is not trusted receives nothing.

use crate::helpers::*;
use app::roles::Role;
use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use tokio::{
    io::{AsyncRead, AsyncReadExt},
    net::TcpSocket,
    task::JoinHandle,
};

/// A syslog receiver on a fixed loopback port that keeps the sequence number of every message,
/// in arrival order. Stopped (and its connections cut) when dropped.
struct Receiver {
    frames: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The structured data's `seq="N"`.
fn seq_of(message: &str) -> Option<i64> {
    let start = message.find("seq=\"")? + 5;
    message[start..].split('"').next()?.parse().ok()
}

async fn receiver(address: SocketAddr, seqs: Arc<Mutex<Vec<i64>>>) -> Receiver {
    receiver_with(address, seqs, None).await
}

/// The receiver; with `tls`, it speaks TLS first (RFC 5425) with that server configuration.
async fn receiver_with(
    address: SocketAddr,
    seqs: Arc<Mutex<Vec<i64>>>,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> Receiver {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_reuseaddr(true).unwrap();
    socket.bind(address).unwrap();
    let listener = socket.listen(16).unwrap();
    let frames = Arc::new(Mutex::new(Vec::new()));
    let (kept_seqs, kept_frames) = (seqs, frames.clone());
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (seqs, frames) = (kept_seqs.clone(), kept_frames.clone());
            let tls = tls.clone();
            connections.spawn(async move {
                match tls {
                    None => read_frames(stream, seqs, frames).await,
                    Some(config) => {
                        // A handshake the client refuses (an untrusted certificate) ends here.
                        let acceptor = tokio_rustls::TlsAcceptor::from(config);
                        if let Ok(stream) = acceptor.accept(stream).await {
                            read_frames(stream, seqs, frames).await;
                        }
                    }
                }
            });
        }
    });
    Receiver { frames, task }
}

/// Octet counting: "LEN SP MSG", again and again.
async fn read_frames(
    mut stream: impl AsyncRead + Unpin,
    seqs: Arc<Mutex<Vec<i64>>>,
    frames: Arc<Mutex<Vec<String>>>,
) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let Ok(n) = stream.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buffer.extend_from_slice(&chunk[..n]);
        while let Some(space) = buffer.iter().position(|b| *b == b' ') {
            let len: usize = std::str::from_utf8(&buffer[..space])
                .unwrap()
                .parse()
                .expect("an octet count");
            if buffer.len() < space + 1 + len {
                break;
            }
            let message = String::from_utf8(buffer[space + 1..space + 1 + len].to_vec()).unwrap();
            buffer.drain(..space + 1 + len);
            seqs.lock().unwrap().push(seq_of(&message).expect("a seq"));
            frames.lock().unwrap().push(message);
        }
    }
}

/// A certificate authority made for one test, and a receiver certificate for `localhost` that
/// it signed: the CA's PEM (what Gatehouse is told to trust) and the receiver's configuration.
fn test_pki() -> (String, Arc<rustls::ServerConfig>) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![leaf.der().clone()], key)
    .unwrap();
    (ca.pem(), Arc::new(config))
}

fn free_address() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// The highest sequence in the log now.
async fn head(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM audit_log")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Waits until the receiver holds every sequence up to `to`; then checks that they came in
/// order (a repeat of a batch after a reconnect is allowed: receivers drop duplicates by seq).
async fn all_arrive(seqs: &Arc<Mutex<Vec<i64>>>, from: i64, to: i64, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let got = seqs.lock().unwrap().clone();
        let mut distinct = got.clone();
        distinct.sort();
        distinct.dedup();
        let wanted: Vec<i64> = (from..=to).collect();
        if wanted.iter().all(|s| distinct.binary_search(s).is_ok()) {
            // In order: each first arrival comes after the one before it.
            let mut seen = std::collections::HashSet::new();
            let firsts: Vec<i64> = got.into_iter().filter(|s| seen.insert(*s)).collect();
            let ours: Vec<i64> = firsts
                .into_iter()
                .filter(|s| *s >= from && *s <= to)
                .collect();
            assert_eq!(ours, wanted, "in order, no gaps");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "entries {from}..={to} did not all arrive: missing {:?}",
            wanted
                .iter()
                .filter(|s| distinct.binary_search(s).is_err())
                .take(10)
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_entry_reaches_the_siem_in_order_even_across_its_downtime() {
    let address = free_address();
    let seqs = Arc::new(Mutex::new(Vec::new()));
    let up = receiver(address, seqs.clone()).await;
    let app = spawn_app_with(|c| c.audit_syslog = Some(format!("tcp://{address}"))).await;
    let admin = app.client_as(Some(Role::Admin)).await;
    // A new destination receives the whole log: the server's first entries too.
    let start = 1;
    for n in 0..20 {
        app.rpc(
            &admin,
            "/rpc/principals_add",
            &format!("kind=group&principal=Streamed+{n}&role=viewer"),
        )
        .await;
    }
    let first = head(&app).await;
    all_arrive(&seqs, start, first, Duration::from_secs(20)).await;
    let frame = up.frames.lock().unwrap().last().cloned().unwrap();
    assert!(frame.starts_with("<109>1 "), "{frame}");
    assert!(frame.contains("action=\"principal.add\""), "{frame}");
    assert!(frame.contains("actor=\"admin@gatehouse.test\""), "{frame}");
    assert!(frame.contains(" mac=\""), "{frame}");

    // The receiver goes down; 500 changes wait; it comes back and gets every one.
    drop(up);
    for n in 0..500 {
        app.rpc(
            &admin,
            "/rpc/principals_add",
            &format!("kind=group&principal=While+down+{n}&role=viewer"),
        )
        .await;
    }
    let card = app.rpc(&admin, "/rpc/audit_streaming", "").await;
    assert!(card[0]["behindBy"].as_i64().unwrap() > 0, "{card}");
    let last = head(&app).await;
    let _back = receiver(address, seqs.clone()).await;
    all_arrive(&seqs, first + 1, last, Duration::from_secs(60)).await;
    let card = app.rpc(&admin, "/rpc/audit_streaming", "").await;
    assert_eq!(card[0]["deliveredThrough"], last, "{card}");
    assert!(
        card[0]["lastError"].is_string(),
        "the downtime is on the card: {card}"
    );
}

/// A server killed while entries wait (its sender stops mid-delivery) loses nothing: the next
/// one on the same database delivers them from the stored cursor.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restart_loses_nothing() {
    let address = free_address();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("gatehouse.db").display());
    let configure = |url: String| {
        move |c: &mut gatehouse::config::Config| {
            c.database_url = url;
            c.audit_syslog = Some(format!("tcp://{address}"));
        }
    };
    let seqs = Arc::new(Mutex::new(Vec::new()));
    let up = receiver(address, seqs.clone()).await;
    let first = spawn_app_with(configure(url.clone())).await;
    let admin = first.client_as(Some(Role::Admin)).await;
    let start = head(&first).await;
    all_arrive(&seqs, 1, start, Duration::from_secs(20)).await;
    drop(up);
    for n in 0..100 {
        first
            .rpc(
                &admin,
                "/rpc/principals_add",
                &format!("kind=group&principal=Before+the+crash+{n}&role=viewer"),
            )
            .await;
    }
    let last = head(&first).await;
    // The server goes away with its sender; the receiver comes back; a new server starts.
    drop((admin, first));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _back = receiver(address, seqs.clone()).await;
    let second = spawn_app_with(configure(url)).await;
    all_arrive(&seqs, start + 1, last, Duration::from_secs(60)).await;
    drop(second);
}

/// A destination behind for more than 15 minutes raises a banner on every tab, as an
/// unreachable Key Vault does; once it has caught up, the banner goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_long_behind_raises_the_banner() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let page = |path: &'static str| {
        let (app, admin) = (&app, &admin);
        async move {
            admin
                .get(app.url(path))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    assert!(!page("/admin/security/apis").await.contains("stream-banner"));
    // A destination (as a server streaming elsewhere left it) that received nothing, and an
    // entry written 20 minutes ago.
    sqlx::query(
        "INSERT INTO audit_destinations (name, address, delivered_seq) \
         VALUES ('syslog', 'tcp://siem.example.com:514', 0)",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query("UPDATE audit_log SET at = at - 1200 WHERE seq = 1")
        .execute(&app.pool)
        .await
        .unwrap();
    let html = page("/admin/security/apis").await;
    assert!(
        html.contains("Audit streaming has been behind since"),
        "no banner"
    );
    assert!(html.contains("entries wait for the SIEM"), "{html}");
    let behind = head(&app).await;
    sqlx::query("UPDATE audit_destinations SET delivered_seq = $1")
        .bind(behind + 10)
        .execute(&app.pool)
        .await
        .unwrap();
    assert!(!page("/admin/security/apis").await.contains("stream-banner"));
}

/// RFC 5425: over TLS to a receiver whose certificate chains to the CA Gatehouse was told to
/// trust (`GATEHOUSE_AUDIT_SYSLOG_CA`), every entry arrives; a receiver with a certificate from
/// another CA receives nothing, and the card says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn syslog_over_tls_reaches_a_trusted_receiver_only() {
    let (ca_pem, trusted) = test_pki();
    let (_, untrusted) = test_pki();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("siem-ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let seqs = Arc::new(Mutex::new(Vec::new()));
    let address = free_address();
    let up = receiver_with(address, seqs.clone(), Some(trusted)).await;
    let app = spawn_app_with(|c| {
        c.audit_syslog = Some(format!("tls://localhost:{}", address.port()));
        c.audit_syslog_ca = Some(ca_file.clone());
    })
    .await;
    let admin = app.client_as(Some(Role::Admin)).await;
    for n in 0..10 {
        app.rpc(
            &admin,
            "/rpc/principals_add",
            &format!("kind=group&principal=Over+TLS+{n}&role=viewer"),
        )
        .await;
    }
    let last = head(&app).await;
    all_arrive(&seqs, 1, last, Duration::from_secs(20)).await;
    let frame = up.frames.lock().unwrap().last().cloned().unwrap();
    assert!(frame.contains("action=\"principal.add\""), "{frame}");
    let card = app.rpc(&admin, "/rpc/audit_streaming", "").await;
    assert_eq!(
        card[0]["address"],
        format!("tls://localhost:{}", address.port())
    );

    // The same CA trusted, a receiver whose certificate another CA signed.
    let elsewhere = free_address();
    let refused = Arc::new(Mutex::new(Vec::new()));
    let _impostor = receiver_with(elsewhere, refused.clone(), Some(untrusted)).await;
    let other = spawn_app_with(|c| {
        c.audit_syslog = Some(format!("tls://localhost:{}", elsewhere.port()));
        c.audit_syslog_ca = Some(ca_file.clone());
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let other_admin = other.client_as(Some(Role::Admin)).await;
    let card = loop {
        let card = other.rpc(&other_admin, "/rpc/audit_streaming", "").await;
        if card[0]["lastError"].is_string() || Instant::now() > deadline {
            break card;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let error = card[0]["lastError"].as_str().unwrap_or_default();
    assert!(error.contains("certificate"), "{card}");
    assert_eq!(card[0]["deliveredThrough"], 0, "{card}");
    assert!(refused.lock().unwrap().is_empty());
}

/// A CA file that cannot be read, or holds no certificate, stops the start with a message that
/// names the setting; so does TLS settings without TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_syslog_ca_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    for (target, ca) in [
        (
            "tls://siem.example.com:6514",
            dir.path().join("missing.pem"),
        ),
        ("tls://siem.example.com:6514", empty.clone()),
        ("tcp://siem.example.com:514", empty.clone()),
    ] {
        let mut config = gatehouse::config::Config::defaults();
        config.addr = "127.0.0.1:0".into();
        config.database_url = format!("sqlite://{}", dir.path().join("g.db").display());
        config.audit_syslog = Some(target.to_owned());
        config.audit_syslog_ca = Some(ca);
        let options = leptos::prelude::LeptosOptions::builder()
            .output_name("gatehouse")
            .build();
        match gatehouse::Application::build(&config, options).await {
            Err(gatehouse::error::StartupError::Config(m)) => {
                assert!(m.contains("GATEHOUSE_AUDIT_SYSLOG_CA"), "{m}")
            }
            Err(other) => panic!("unexpected error: {other}"),
            Ok(_) => panic!("{target} with a bad CA file must not start"),
        }
    }
}

/// A webhook endpoint that keeps each delivery (its headers and body) and answers `status`.
#[derive(Clone)]
struct Hook {
    got: Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>>,
    status: Arc<Mutex<u16>>,
}

impl Hook {
    async fn start() -> (Self, String) {
        use axum::{Router, extract::State, http::StatusCode, routing::post};
        async fn receive(
            State(hook): State<Hook>,
            headers: axum::http::HeaderMap,
            body: String,
        ) -> StatusCode {
            let status = *hook.status.lock().unwrap();
            if status < 300 {
                hook.got.lock().unwrap().push((headers, body));
            }
            StatusCode::from_u16(status).unwrap()
        }
        let hook = Hook {
            got: Arc::default(),
            status: Arc::new(Mutex::new(202)),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/siem", listener.local_addr().unwrap());
        let router = Router::new()
            .route("/siem", post(receive))
            .with_state(hook.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        (hook, url)
    }

    /// Every event's sequence, in arrival order, after checking each delivery's signature.
    fn sequences(&self, secret: &str) -> Vec<i64> {
        let got = self.got.lock().unwrap();
        let mut seqs = Vec::new();
        for (headers, body) in got.iter() {
            assert_eq!(
                headers["content-type"], "application/cloudevents-batch+json",
                "{headers:?}"
            );
            assert_eq!(
                headers["x-gatehouse-signature"],
                app::connections::ssr::signature(secret, body.as_bytes()).as_str(),
                "signed with the connection's secret"
            );
            let events: serde_json::Value = serde_json::from_str(body).unwrap();
            for event in events.as_array().expect("a CloudEvents batch is an array") {
                let seq = event["data"]["seq"].as_i64().expect("data.seq");
                assert_eq!(event["specversion"], "1.0", "{event}");
                assert_eq!(event["id"], seq.to_string(), "{event}");
                assert_eq!(event["sequence"], format!("{seq:020}"), "{event}");
                assert!(
                    event["type"]
                        .as_str()
                        .unwrap()
                        .starts_with("gatehouse.audit.")
                );
                assert!(event["time"].as_str().unwrap().ends_with('Z'), "{event}");
                assert!(
                    event["data"]["mac"].as_str().unwrap().len() == 64,
                    "{event}"
                );
                seqs.push(seq);
            }
        }
        seqs
    }
}

/// A Webhook connection chosen on the Audit streaming card receives every entry as signed
/// CloudEvents batches, in order; while it refuses (503) entries wait and the card says why;
/// when it accepts again everything missed arrives. The connection cannot be removed while it
/// streams; after streaming stops it can.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_webhook_connection_receives_every_entry_as_signed_cloudevents() {
    let (hook, url) = Hook::start().await;
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let secret = "siem-stream-secret";
    let saved = app
        .rpc(
            &admin,
            "/rpc/connection_save",
            &serde_urlencoded::to_string([
                ("form[name]", "siem-hook"),
                ("form[url]", url.as_str()),
                ("form[secret]", secret),
            ])
            .unwrap(),
        )
        .await;
    let id = saved["id"].as_i64().unwrap();
    let choices = app.rpc(&admin, "/rpc/audit_stream_webhooks", "").await;
    assert_eq!(choices["webhooks"][0]["id"], id, "{choices}");
    assert!(choices["current"].is_null(), "{choices}");
    // Only a Webhook connection, and only an Admin, may be chosen.
    app.rpc_fails(
        &admin,
        "/rpc/audit_stream_webhook",
        "connection=not-a-number",
        reqwest::StatusCode::BAD_REQUEST,
    )
    .await;
    app.rpc_fails(
        &admin,
        "/rpc/audit_stream_webhook",
        "connection=987654",
        reqwest::StatusCode::NOT_FOUND,
    )
    .await;
    let contributor = app.client_as(Some(Role::Contributor)).await;
    app.rpc_fails(
        &contributor,
        "/rpc/audit_stream_webhook",
        &format!("connection={id}"),
        reqwest::StatusCode::FORBIDDEN,
    )
    .await;
    app.rpc(
        &admin,
        "/rpc/audit_stream_webhook",
        &format!("connection={id}"),
    )
    .await;

    let arrived = |from: i64, to: i64| {
        let hook = hook.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let seqs = hook.sequences(secret);
                let mut seen = std::collections::HashSet::new();
                let firsts: Vec<i64> = seqs
                    .into_iter()
                    .filter(|s| seen.insert(*s) && *s >= from && *s <= to)
                    .collect();
                if firsts.len() as i64 == to - from + 1 {
                    assert_eq!(firsts, (from..=to).collect::<Vec<_>>(), "in order, no gaps");
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "{from}..={to}: {} arrived",
                    firsts.len()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    for n in 0..20 {
        app.rpc(
            &admin,
            "/rpc/principals_add",
            &format!("kind=group&principal=Hooked+{n}&role=viewer"),
        )
        .await;
    }
    let first = head(&app).await;
    // A new destination receives the whole log, the choice of it included.
    arrived(1, first).await;

    // The endpoint refuses for a while: entries wait, and the card says why.
    *hook.status.lock().unwrap() = 503;
    for n in 0..300 {
        app.rpc(
            &admin,
            "/rpc/principals_add",
            &format!("kind=group&principal=Refused+{n}&role=viewer"),
        )
        .await;
    }
    let last = head(&app).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let card = loop {
        let card = app.rpc(&admin, "/rpc/audit_streaming", "").await;
        let webhook = card
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == "webhook")
            .cloned()
            .unwrap();
        if webhook["lastError"].is_string() || Instant::now() > deadline {
            break webhook;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        card["lastError"].as_str().unwrap().contains("503"),
        "{card}"
    );
    assert!(card["behindBy"].as_i64().unwrap() > 0, "{card}");
    assert_eq!(card["address"], "siem-hook", "{card}");
    let refused = app
        .rpc_fails(
            &admin,
            "/rpc/connection_remove",
            &format!("id={id}"),
            reqwest::StatusCode::CONFLICT,
        )
        .await;
    assert!(refused.to_string().contains("Audit streaming"), "{refused}");
    *hook.status.lock().unwrap() = 202;
    arrived(first + 1, last).await;

    // Stopped: the connection can go.
    app.rpc(&admin, "/rpc/audit_stream_webhook", "connection=")
        .await;
    let card = app.rpc(&admin, "/rpc/audit_streaming", "").await;
    assert!(
        card.as_array()
            .unwrap()
            .iter()
            .all(|d| d["name"] != "webhook"),
        "{card}"
    );
    app.rpc(&admin, "/rpc/connection_remove", &format!("id={id}"))
        .await;
}

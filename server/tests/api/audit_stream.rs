//! Audit streaming against a real RFC 5424 receiver over TCP (octet counting, RFC 6587): every
//! entry arrives in order; while the receiver is down entries wait, and when it is back the
//! missed ones arrive; a restart of Gatehouse loses nothing.

use crate::helpers::*;
use app::roles::Role;
use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use tokio::{io::AsyncReadExt, net::TcpSocket, task::JoinHandle};

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
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_reuseaddr(true).unwrap();
    socket.bind(address).unwrap();
    let listener = socket.listen(16).unwrap();
    let frames = Arc::new(Mutex::new(Vec::new()));
    let (kept_seqs, kept_frames) = (seqs, frames.clone());
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let (seqs, frames) = (kept_seqs.clone(), kept_frames.clone());
            // Octet counting: "LEN SP MSG", again and again.
            connections.spawn(async move {
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
                        let message =
                            String::from_utf8(buffer[space + 1..space + 1 + len].to_vec()).unwrap();
                        buffer.drain(..space + 1 + len);
                        seqs.lock().unwrap().push(seq_of(&message).expect("a seq"));
                        frames.lock().unwrap().push(message);
                    }
                }
            });
        }
    });
    Receiver { frames, task }
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

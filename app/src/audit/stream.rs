//! Audit streaming to a SIEM over syslog: every chained entry, in order and at least once, as
//! RFC 5424 messages with octet counting (RFC 6587 §3.4.1) over TCP or over TLS (RFC 5425).
//!
//! The sending loop (`run`) is shared with the webhook destination (`super::webhook`): an
//! outbox cursor per destination (`audit_destinations.delivered_seq`) moves only after a
//! batch was written and flushed to the receiver (or, for a webhook, accepted). While it is down, entries wait and the
//! sender tries again with a growing pause (never more than 30 s). TCP gives no
//! application-level acknowledgement, so after a broken connection the last batch is sent again:
//! each message carries its sequence number, with which a receiver drops duplicates.

use super::chain::{STORED_COLUMNS, Stored};
use crate::db::Pool;
use crate::{error::AppError, time_fmt::rfc3339};
use std::{path::Path, sync::Arc, time::Duration};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpStream,
};

/// Entries sent in one write.
const BATCH: i64 = 200;
/// The longest pause between two tries while the receiver is down.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long the sender waits for new entries before it looks again.
const IDLE: Duration = Duration::from_millis(500);
/// RFC 5424 PRI: facility 13 (log audit) × 8 + severity 5 (notice).
const PRI: u8 = 13 * 8 + 5;
/// The structured data's ID: name@private-enterprise-number (RFC 5424 §6.3.2; 32473 is the
/// number RFC 5612 reserves for documentation and examples).
const SD_ID: &str = "gatehouse@32473";

/// Where the audit log streams to: `GATEHOUSE_AUDIT_SYSLOG=tcp://host:port` or `tls://host:port`.
#[derive(Clone, Debug)]
pub struct SyslogTarget {
    pub host: String,
    pub port: u16,
    /// TLS (RFC 5425): the client configuration, with the authorities the receiver's
    /// certificate must chain to.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl SyslogTarget {
    /// `ca`: `GATEHOUSE_AUDIT_SYSLOG_CA`, a PEM file of authorities for `tls://`.
    pub fn parse(raw: &str, ca: Option<&Path>) -> Result<Self, String> {
        let bad =
            || format!("GATEHOUSE_AUDIT_SYSLOG: {raw:?} is not tcp://host:port or tls://host:port");
        let raw_trimmed = raw.trim();
        let (tls, rest) = if let Some(rest) = raw_trimmed.strip_prefix("tls://") {
            (true, rest)
        } else {
            (false, raw_trimmed.strip_prefix("tcp://").ok_or_else(bad)?)
        };
        let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(bad)?;
        if host.is_empty() || host.contains(['/', ' ']) {
            return Err(bad());
        }
        let tls = match (tls, ca) {
            (true, ca) => Some(Arc::new(tls_config(ca)?)),
            (false, None) => None,
            (false, Some(_)) => {
                return Err(
                    "GATEHOUSE_AUDIT_SYSLOG_CA is set, but GATEHOUSE_AUDIT_SYSLOG is not tls://host:port"
                        .to_owned(),
                );
            }
        };
        Ok(Self {
            host: host.to_owned(),
            port,
            tls,
        })
    }

    pub fn address(&self) -> String {
        let scheme = if self.tls.is_some() { "tls" } else { "tcp" };
        format!("{scheme}://{}:{}", self.host, self.port)
    }
}

/// TLS 1.2 or 1.3 with certificate and host name checks, trusting the authorities in `ca`, or
/// else the system's.
fn tls_config(ca: Option<&Path>) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some(path) => {
            let unreadable = |e: &dyn std::fmt::Display| {
                format!(
                    "GATEHOUSE_AUDIT_SYSLOG_CA: cannot read {}: {e}",
                    path.display()
                )
            };
            let certificates = CertificateDer::pem_file_iter(path)
                .map_err(|e| unreadable(&e))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| unreadable(&e))?;
            let (added, _) = roots.add_parsable_certificates(certificates);
            if added == 0 {
                return Err(format!(
                    "GATEHOUSE_AUDIT_SYSLOG_CA: {} holds no certificate (PEM, BEGIN CERTIFICATE)",
                    path.display()
                ));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
        }
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS for the audit stream: {e}"))
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
}

/// A connection to the receiver, plain or TLS.
trait Link: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Link for T {}
type Connection = Box<dyn Link>;

/// RFC 5424 §6.3.3: `"`, `\` and `]` are escaped inside a parameter value.
fn sd_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A header field: printable US-ASCII, at most `max` characters, `-` when empty.
fn header_field(value: &str, max: usize) -> String {
    let kept: String = value
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if kept.is_empty() { "-".into() } else { kept }
}

/// The message as one octet-counted frame: `LEN SP SYSLOG-MSG`.
fn frame(e: &Stored, hostname: &str) -> Vec<u8> {
    let mac = e.mac_hex();
    let mut sd = format!(
        "[{SD_ID} seq=\"{}\" action=\"{}\" actor=\"{}\"",
        e.seq.unwrap_or_default(),
        sd_value(&e.action),
        sd_value(e.actor_email.as_deref().unwrap_or("-"))
    );
    if let Some(target) = &e.target {
        sd.push_str(&format!(" target=\"{}\"", sd_value(target)));
    }
    if let Some(client) = &e.client_addr {
        sd.push_str(&format!(" client=\"{}\"", sd_value(client)));
    }
    sd.push_str(&format!(" mac=\"{mac}\"]"));
    let text = match (&e.target, e.detail.is_empty()) {
        (Some(t), false) => format!("{} on {t}: {}", e.action, e.detail),
        (Some(t), true) => format!("{} on {t}", e.action),
        (None, false) => format!("{}: {}", e.action, e.detail),
        (None, true) => e.action.clone(),
    };
    let message = format!(
        "<{PRI}>1 {} {} gatehouse - {} {sd} \u{feff}{text}",
        rfc3339(e.at),
        header_field(hostname, 255),
        header_field(&e.action, 32),
    );
    let mut out = format!("{} ", message.len()).into_bytes();
    out.extend_from_slice(message.as_bytes());
    out
}

async fn batch(pool: &Pool, after: i64) -> Result<Vec<Stored>, AppError> {
    Ok(sqlx::query_as(&format!(
        "{STORED_COLUMNS} WHERE seq > $1 AND mac IS NOT NULL ORDER BY seq LIMIT $2"
    ))
    .bind(after)
    .bind(BATCH)
    .fetch_all(pool)
    .await?)
}

async fn delivered(pool: &Pool, name: &str, seq: i64) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE audit_destinations SET delivered_seq = CASE WHEN delivered_seq > $1 THEN delivered_seq ELSE $1 END, \
         last_delivered_at = unixepoch() WHERE name = $2",
    )
    .bind(seq)
    .bind(name)
    .execute(pool)
    .await?;
    Ok(())
}

async fn failed(pool: &Pool, name: &str, error: &str) {
    let recorded = sqlx::query(
        "UPDATE audit_destinations SET last_error = $1, last_error_at = unixepoch() \
         WHERE name = $2",
    )
    .bind(error)
    .bind(name)
    .execute(pool)
    .await;
    if let Err(e) = recorded {
        tracing::warn!(error = %e, "could not record the audit stream's failure");
    }
}

/// Every destination and how far it is behind the chain's head.
pub async fn status(pool: &Pool) -> Result<Vec<super::StreamStatus>, AppError> {
    type Row = (
        String,
        String,
        i64,
        Option<i64>,
        Option<String>,
        Option<i64>,
    );
    let head: i64 = sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM audit_log")
        .fetch_one(pool)
        .await?;
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT name, address, delivered_seq, last_delivered_at, last_error, last_error_at \
         FROM audit_destinations ORDER BY name",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(name, address, delivered, last_delivered_at, last_error, last_error_at)| {
                super::StreamStatus {
                    name,
                    address,
                    delivered_through: delivered,
                    behind_by: (head - delivered).max(0),
                    last_delivered_at,
                    last_error,
                    last_error_at,
                }
            },
        )
        .collect())
}

/// How long a destination may be behind before every tab says so.
const ALERT_AFTER_SECS: i64 = 15 * 60;

/// The oldest entry that a destination has still not received, when it was written more than
/// 15 minutes ago: since when, and how many entries wait (the worst destination).
pub async fn alert(pool: &Pool) -> Result<Option<(i64, i64)>, AppError> {
    let row: Option<(Option<i64>, i64)> = sqlx::query_as(
        "SELECT (SELECT min(l.at) FROM audit_log l WHERE l.seq > d.delivered_seq), \
         (SELECT coalesce(max(seq), 0) FROM audit_log) - d.delivered_seq \
         FROM audit_destinations d ORDER BY d.delivered_seq LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    let now = crate::time_fmt::unix_now();
    Ok(row.and_then(|(since, behind)| {
        since
            .filter(|since| now - since > ALERT_AFTER_SECS)
            .map(|since| (since, behind))
    }))
}

/// Whether the receiver closed the connection (it sends nothing, so a read that finds the end
/// of the stream says so): a write to it could still succeed once and reach nobody. The read
/// is polled once and not waited for; with TLS, records such as session tickets are taken in
/// by the TLS layer and give nothing to read.
async fn closed_by_peer(connection: &mut Connection) -> bool {
    let mut probe = [0u8; 256];
    // A zero timeout still polls the read once before it gives up.
    match tokio::time::timeout(Duration::ZERO, connection.read(&mut probe)).await {
        Ok(Ok(0)) | Ok(Err(_)) => true,
        Ok(Ok(_)) | Err(_) => false,
    }
}

async fn connect(target: &SyslogTarget) -> Result<Connection, String> {
    let address = (target.host.as_str(), target.port);
    let within = Duration::from_secs(5);
    let tcp = tokio::time::timeout(within, TcpStream::connect(address))
        .await
        .map_err(|_| "the connection timed out".to_owned())?
        .map_err(|e| format!("could not connect: {e}"))?;
    let Some(config) = &target.tls else {
        return Ok(Box::new(tcp));
    };
    let name = rustls::pki_types::ServerName::try_from(target.host.clone())
        .map_err(|_| format!("{} is not a host name for TLS", target.host))?;
    let tls = tokio::time::timeout(
        within,
        tokio_rustls::TlsConnector::from(config.clone()).connect(name, tcp),
    )
    .await
    .map_err(|_| "the TLS handshake timed out".to_owned())?
    .map_err(|e| tls_failure(&e))?;
    Ok(Box::new(tls))
}

/// The handshake's failure in words, naming the certificate when it is the cause.
fn tls_failure(e: &std::io::Error) -> String {
    let cause = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match cause {
        Some(rustls::Error::InvalidCertificate(why)) => {
            format!("TLS failed: the receiver's certificate is not trusted ({why:?})")
        }
        Some(other) => format!("TLS failed: {other}"),
        None => format!("TLS failed: {e}"),
    }
}

/// How a batch travels to one destination: what differs between syslog and a webhook.
pub trait Destination: Send {
    /// Its row in `audit_destinations`.
    const NAME: &'static str;
    /// Whether a batch sent without error is known to have arrived (HTTP answers for it; TCP
    /// does not, so after a broken connection the last batch goes again).
    const ACKNOWLEDGES: bool;
    /// The delivered-through cursor, `None` while the destination is not set up.
    fn cursor(&mut self, pool: &Pool)
    -> impl Future<Output = Result<Option<i64>, AppError>> + Send;
    fn send(&mut self, entries: &[Stored]) -> impl Future<Output = Result<(), String>> + Send;
    /// Whether the connection broke since the last batch (which may then not have arrived).
    fn lost_last(&mut self) -> impl Future<Output = bool> + Send;
    /// Another server took over: let go of the connection.
    fn disconnect(&mut self);
    /// Where it is, for the log.
    fn address(&self) -> String;
}

/// Syslog over TCP or TLS (`GATEHOUSE_AUDIT_SYSLOG`).
pub struct Syslog {
    target: SyslogTarget,
    hostname: String,
    connection: Option<Connection>,
}

impl Syslog {
    /// `hostname`: the frames' HOSTNAME field.
    pub fn new(target: SyslogTarget, hostname: String) -> Self {
        Self {
            target,
            hostname,
            connection: None,
        }
    }
}

impl Destination for Syslog {
    const NAME: &'static str = "syslog";
    const ACKNOWLEDGES: bool = false;

    /// The row is made on first use and keeps its cursor across restarts: a new destination
    /// receives the whole log (what retention kept), then every new entry.
    async fn cursor(&mut self, pool: &Pool) -> Result<Option<i64>, AppError> {
        sqlx::query(
            "INSERT INTO audit_destinations (name, address, delivered_seq) VALUES ('syslog', $1, 0) \
             ON CONFLICT (name) DO UPDATE SET address = excluded.address",
        )
        .bind(self.target.address())
        .execute(pool)
        .await?;
        Ok(Some(
            sqlx::query_scalar(
                "SELECT delivered_seq FROM audit_destinations WHERE name = 'syslog'",
            )
            .fetch_one(pool)
            .await?,
        ))
    }

    async fn send(&mut self, entries: &[Stored]) -> Result<(), String> {
        let bytes: Vec<u8> = entries
            .iter()
            .flat_map(|e| frame(e, &self.hostname))
            .collect();
        if self.connection.is_none() {
            self.connection = Some(connect(&self.target).await?);
        }
        let stream = self.connection.as_mut().ok_or("no connection")?;
        let written = async {
            stream.write_all(&bytes).await?;
            stream.flush().await
        }
        .await;
        written.map_err(|e| {
            self.connection = None;
            format!("the connection broke: {e}")
        })
    }

    async fn lost_last(&mut self) -> bool {
        let Some(open) = self.connection.as_mut() else {
            return false;
        };
        let lost = closed_by_peer(open).await;
        if lost {
            self.connection = None;
        }
        lost
    }

    fn disconnect(&mut self) {
        self.connection = None;
    }

    fn address(&self) -> String {
        self.target.address()
    }
}

/// Sends the audit log to `destination` for as long as the server runs.
pub async fn run<D: Destination>(
    pool: Pool,
    mut destination: D,
    singleton: std::sync::Arc<crate::db::Singleton>,
) {
    // Where the last batch written started: after a broken connection it is sent again, as
    // what the kernel took may not have reached the receiver.
    let mut last_start: Option<i64> = None;
    let mut resend_from: Option<i64> = None;
    let mut backoff = Duration::from_millis(250);
    loop {
        // One server of those on the database streams; another takes over from the cursor
        // (stored in the database) when it stops.
        if !singleton.holds().await {
            destination.disconnect();
            resend_from = None;
            tokio::time::sleep(IDLE).await;
            continue;
        }
        if destination.lost_last().await {
            resend_from = resend_from.or(last_start);
        }
        let after = match destination.cursor(&pool).await {
            Ok(Some(cursor)) => resend_from.map_or(cursor, |r| r.min(cursor)),
            Ok(None) => {
                (last_start, resend_from) = (None, None);
                tokio::time::sleep(IDLE).await;
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not read the audit stream's cursor");
                tokio::time::sleep(IDLE).await;
                continue;
            }
        };
        let entries = match batch(&pool, after).await {
            Ok(entries) if entries.is_empty() => {
                tokio::time::sleep(IDLE).await;
                continue;
            }
            Ok(entries) => entries,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the audit log to stream it");
                tokio::time::sleep(IDLE).await;
                continue;
            }
        };
        let last = entries.last().and_then(|e| e.seq).unwrap_or(after);
        match destination.send(&entries).await {
            Ok(()) => {
                if let Err(e) = delivered(&pool, D::NAME, last).await {
                    tracing::warn!(error = %e, "could not move the audit stream's cursor");
                }
                last_start = (!D::ACKNOWLEDGES).then_some(after);
                resend_from = None;
                backoff = Duration::from_millis(250);
            }
            Err(error) => {
                if !D::ACKNOWLEDGES {
                    resend_from = Some(last_start.map_or(after, |s| s.min(after)));
                }
                let address = destination.address();
                failed(&pool, D::NAME, &format!("{address}: {error}")).await;
                tracing::warn!(destination = %address, %error, "audit streaming waits");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_tcp_or_tls_host_and_port() {
        let tcp = SyslogTarget::parse("tcp://siem.example.com:6514", None).unwrap();
        assert_eq!((tcp.host.as_str(), tcp.port), ("siem.example.com", 6514));
        assert!(tcp.tls.is_none());
        assert_eq!(tcp.address(), "tcp://siem.example.com:6514");
        let tls = SyslogTarget::parse("tls://siem.example.com:6514", None).unwrap();
        assert!(tls.tls.is_some());
        assert_eq!(tls.address(), "tls://siem.example.com:6514");
        assert_eq!(
            SyslogTarget::parse("tcp://[::1]:514", None).unwrap().host,
            "::1"
        );
        for bad in [
            "udp://x:514",
            "tcp://x",
            "tcp://:514",
            "tcp://x:0",
            "x:514",
            "tls://x",
        ] {
            assert!(SyslogTarget::parse(bad, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn frames_are_octet_counted_rfc_5424_with_escaped_values() {
        let e = Stored {
            id: 7,
            seq: Some(7),
            at: 1_800_000_000,
            actor_id: Some(1),
            actor_email: Some("ada@example.com".into()),
            action: "principal.role".into(),
            target: Some("b]o\"b".into()),
            detail: "viewer -> admin".into(),
            client_addr: Some("192.0.2.1".into()),
            mac: Some(vec![0xab; 32]),
        };
        let f = String::from_utf8(frame(&e, "gate house")).unwrap();
        let (len, msg) = f.split_once(' ').unwrap();
        assert_eq!(len.parse::<usize>().unwrap(), msg.len());
        assert!(msg.starts_with("<109>1 2027-01-15T08:00:00Z gatehouse gatehouse - principal.role [gatehouse@32473 seq=\"7\""), "{msg}");
        assert!(msg.contains(r#"target="b\]o\"b""#), "{msg}");
        assert!(
            msg.contains(&format!("mac=\"{}\"]", "ab".repeat(32))),
            "{msg}"
        );
        assert!(
            msg.ends_with("principal.role on b]o\"b: viewer -> admin"),
            "{msg}"
        );
    }
}

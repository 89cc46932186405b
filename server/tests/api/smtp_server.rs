//! A real SMTP server for the SMTP connection tests: `aiosmtpd` (PyPI, installed by
//! `scripts/setup.sh test`) on a free loopback port, with AUTH PLAIN/LOGIN checked against one
//! username and password; optionally STARTTLS with a self-signed certificate (made by openssl),
//! which Gatehouse must refuse to trust. Stopped when dropped.

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};
use tempfile::TempDir;

const SERVER: &str = r#"
import ssl, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, user, password, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

def authenticate(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword)
          and auth_data.login == user.encode() and auth_data.password == password.encode())
    return AuthResult(success=ok, handled=False)

class Handler:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"

options = dict(hostname="127.0.0.1", port=port, authenticator=authenticate, auth_require_tls=False)
if mode == "starttls":
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(sys.argv[5], sys.argv[6])
    options.update(tls_context=context, require_starttls=True, auth_require_tls=True)
controller = Controller(Handler(), **options)
controller.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
"#;

pub struct SmtpServer {
    pub port: u16,
    child: Child,
    _dir: TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl SmtpServer {
    /// A server that accepts `user`/`password` without TLS (loopback only), or, with
    /// `starttls`, demands STARTTLS with a certificate nobody trusts.
    pub async fn start(user: &str, password: &str, starttls: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let mut args = vec![
            "-c".to_owned(),
            SERVER.to_owned(),
            port.to_string(),
            user.to_owned(),
            password.to_owned(),
            if starttls { "starttls" } else { "plain" }.to_owned(),
        ];
        if starttls {
            let made = Command::new("openssl")
                .args([
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                ])
                .args(["-subj", "/CN=127.0.0.1", "-keyout"])
                .arg(&key)
                .arg("-out")
                .arg(&cert)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("openssl makes a self-signed certificate");
            assert!(made.success());
            args.push(cert.display().to_string());
            args.push(key.display().to_string());
        }
        let child = Command::new("python3")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs aiosmtpd: run `bash scripts/setup.sh test`");
        let server = Self {
            port,
            child,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not start (is it installed? `bash scripts/setup.sh test`)"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        server
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! Slow clients and stuck requests: headers must arrive in time, idle connections close, a
//! whole request has a time limit, and a crowd of slow sockets does not stop other clients.

use crate::helpers::*;
use reqwest::StatusCode;
use std::time::{Duration, Instant};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_slowloris_sockets_neither_stop_the_health_check_nor_stay_open() {
    let app = spawn_app_with(|c| c.header_timeout_seconds = 2).await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    let mut slow = Vec::new();
    for _ in 0..1000 {
        let mut socket = TcpStream::connect(&addr).await.unwrap();
        // Half a request: the headers never end.
        socket
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: gatehouse\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(socket);
    }
    let started = Instant::now();
    let res = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "healthz took {:?} beside 1,000 slow sockets",
        started.elapsed()
    );
    // After the header time limit the server has closed them all.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut closed = 0;
    for socket in &mut slow {
        let mut buf = [0u8; 512];
        match tokio::time::timeout(Duration::from_millis(200), socket.read(&mut buf)).await {
            // 0 bytes: closed; or the 408 hyper may send first, then closed.
            Ok(Ok(_)) | Ok(Err(_)) => closed += 1,
            Err(_) => {}
        }
    }
    assert_eq!(
        closed, 1000,
        "slow sockets still open after the header time limit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed() {
    let app = spawn_app_with(|c| c.header_timeout_seconds = 1).await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    let mut socket = TcpStream::connect(&addr).await.unwrap();
    socket
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: gatehouse\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = socket.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Keep-alive, then nothing: the server closes within the time limit (plus slack).
    let closed = tokio::time::timeout(Duration::from_secs(4), async {
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the idle connection stayed open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_body_never_finishes_gets_408() {
    let app = spawn_app_with(|c| c.request_timeout_seconds = 1).await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    let mut socket = TcpStream::connect(&addr).await.unwrap();
    socket
        .write_all(
            b"POST /auth/login HTTP/1.1\r\nHost: gatehouse\r\n\
              Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nemail=a",
        )
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf))
        .await
        .expect("an answer within the time limit")
        .unwrap();
    let head = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
}

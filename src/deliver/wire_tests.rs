//! What goes over the wire for `http://` targets, against a raw TCP server in the test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use super::{Deliverer, DeliveryConfig, Target};
use crate::event::Event;

/// Reads one request (head and `content-length` body) and returns its head.
fn read_request(reader: &mut BufReader<TcpStream>) -> String {
    let mut head = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "closed mid-request"
        );
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap();
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    reader.read_exact(&mut vec![0; length]).unwrap();
    head
}

/// Answers each connection's first request with the next status and reports its head. Then
/// it closes the connection without having said so (no `connection: close`), the way a server
/// drops an idle keep-alive connection, once told to by the test (`close`), and says when.
struct Server {
    url: String,
    heads: mpsc::Receiver<String>,
    close: mpsc::Sender<()>,
    closed: mpsc::Receiver<()>,
}

fn server(statuses: Vec<u16>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (heads_tx, heads) = mpsc::channel();
    let (close, close_rx) = mpsc::channel::<()>();
    let (closed_tx, closed) = mpsc::channel();
    std::thread::spawn(move || {
        for status in statuses {
            let (mut stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let head = read_request(&mut reader);
            write!(stream, "HTTP/1.1 {status} X\r\ncontent-length: 2\r\n\r\nok").unwrap();
            heads_tx.send(head).unwrap();
            if close_rx.recv_timeout(Duration::from_secs(5)).is_ok() {
                stream.shutdown(std::net::Shutdown::Both).unwrap();
                closed_tx.send(()).unwrap();
            }
        }
    });
    Server {
        url,
        heads,
        close,
        closed,
    }
}

fn event(path: &str, query: Option<&str>, headers: &[(&str, &str)]) -> Event {
    Event::from_parts(
        "POST",
        path,
        query.map(str::to_owned),
        headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        Bytes::from_static(b"{}"),
        SystemTime::now(),
    )
}

#[tokio::test]
async fn the_target_and_headers_go_out_as_captured_and_a_dropped_connection_is_replaced() {
    let server = server(vec![200, 201]);
    let url = &server.url;
    let target = Target::parse(url).unwrap();
    let config = DeliveryConfig {
        timeout: Duration::from_secs(5),
        ..DeliveryConfig::default()
    };
    let stop = tokio::sync::watch::channel(false).1;
    let deliverer = Deliverer::new(config, target, None, stop).unwrap();
    let wait = Duration::from_secs(5);

    let first = event(
        "/p{q}'|^",
        Some("x='1'&z={}|^`"),
        &[
            ("X-Only", "1"),
            ("x-dup", "a"),
            ("X-Dup", "b"),
            ("Host", "old"),
        ],
    );
    let outcome = deliverer.deliver(&first).await;
    assert_eq!(outcome.status, Some(200), "{:?}", outcome.error);
    assert_eq!(outcome.body, "ok");
    let head = server.heads.recv_timeout(wait).unwrap();
    let lines: Vec<&str> = head.lines().collect();
    assert_eq!(lines[0], "POST /p{q}'|^?x='1'&z={}|^` HTTP/1.1");
    let host = format!("host: {}", url.trim_start_matches("http://"));
    let mut headers = lines[1..].to_vec();
    headers.retain(|l| !l.is_empty());
    assert_eq!(
        headers,
        [
            host.as_str(),
            "x-only: 1",
            "x-dup: a",
            "x-dup: b",
            "content-length: 2"
        ]
    );

    // The server drops the kept-alive connection while it is idle in the pool: the next event
    // goes out on a new one, without costing an attempt. (Waiting off the runtime lets the
    // connection see the close, as it would between events.)
    server.close.send(()).unwrap();
    let closed = server.closed;
    tokio::task::spawn_blocking(move || closed.recv_timeout(wait))
        .await
        .unwrap()
        .unwrap();
    // The close is on the socket; give the connection's task the turns it needs to see it
    // (bounded), so the next event cannot race it onto the dead connection.
    let since = std::time::Instant::now();
    while deliverer.idle_open() > 0 {
        assert!(since.elapsed() < wait, "the pool never saw the close");
        tokio::task::yield_now().await;
    }
    let outcome = deliverer.deliver(&event("/", None, &[])).await;
    assert_eq!(outcome.status, Some(201), "{:?}", outcome.error);
    assert_eq!(outcome.attempts, 1);
    let head = server.heads.recv_timeout(wait).unwrap();
    assert!(head.starts_with("POST / HTTP/1.1\r\n"), "{head}");
    server.close.send(()).unwrap();
}

//! Issue 21, hardening: slow and stalled clients, connection caps.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::support::{authority, raw_request, read_head, Listen, WAIT};

/// Connects to a listen and sets a bounded read timeout.
fn connect(listen: &Listen, read_timeout: Duration) -> TcpStream {
    let stream = TcpStream::connect(authority(&listen.url)).expect("connect");
    stream.set_read_timeout(Some(read_timeout)).unwrap();
    stream
}

#[test]
fn a_stalled_body_gets_408_after_the_body_timeout() {
    let mut listen = Listen::start(&["--quiet", "--body-timeout", "200ms"]);
    let mut stream = connect(&listen, WAIT);
    stream
        .write_all(b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b")
        .unwrap();
    let head = read_head(&mut stream);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    listen.stderr.wait_for("the refusal", |l| {
        l.contains("refused POST /slow") && l.contains("--body-timeout (200ms); answered 408")
    });
    assert!(listen.interrupt().success());
}

#[test]
fn stalled_headers_are_dropped_after_the_header_timeout() {
    let mut listen = Listen::start(&["--quiet", "--header-timeout", "200ms"]);
    let mut stream = connect(&listen, WAIT);
    stream
        .write_all(b"POST /slow HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let mut rest = Vec::new();
    // The server closes the connection: the read ends (with or without a 408 first).
    let _ = stream.read_to_end(&mut rest);
    let text = String::from_utf8_lossy(&rest);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
    assert!(listen.interrupt().success());
}

#[test]
fn past_max_connections_new_clients_wait_for_a_free_slot() {
    let mut listen = Listen::start(&["--quiet", "--max-connections", "2"]);
    let first = connect(&listen, WAIT);
    let second = connect(&listen, WAIT);
    // Both slots are held by idle connections: the third is connected by the kernel, but
    // listen does not take it, so its request gets no answer while the two stay open.
    let mut third = connect(&listen, Duration::from_millis(300));
    third
        .write_all(b"POST /third HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        .unwrap();
    let mut byte = [0u8; 1];
    let err = third
        .read(&mut byte)
        .expect_err("no answer while at the cap");
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err}"
    );
    // One slot frees up: the waiting client is served.
    drop(first);
    third.set_read_timeout(Some(WAIT)).unwrap();
    let head = read_head(&mut third);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    drop(second);
    assert!(raw_request(
        &listen.url,
        b"GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .starts_with("HTTP/1.1 200"));
    assert!(listen.interrupt().success());
}

#[test]
fn limits_are_range_checked() {
    for (flag, value) in [
        ("--max-connections", "0"),
        ("--max-connections", "-1"),
        ("--max-connections", "1e308"),
        ("--header-timeout", "1e30"),
        ("--body-timeout", "NaN"),
    ] {
        let out = crate::support::hookctl()
            .args(["listen", "--port", "0", &format!("{flag}={value}")])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag) && err.lines().count() <= 6, "{err}");
    }
}

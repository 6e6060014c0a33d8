//! Subscriptions are served two ways: as a connection's first request without hyper (lean,
//! no per-connection buffers), and after other requests on a keep-alive connection by hyper.
//! Both must answer alike.

use std::io::{Read, Write};
use std::net::TcpStream;

use super::harness::*;
use crate::support::*;

/// Reads from `stream` until `needle` has arrived; everything read so far.
fn read_until(stream: &mut TcpStream, needle: &str) -> String {
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut seen = Vec::new();
    let mut buf = [0; 4096];
    while !String::from_utf8_lossy(&seen).contains(needle) {
        let n = stream
            .read(&mut buf)
            .unwrap_or_else(|e| panic!("waiting for {needle:?}: {e}; got {seen:?}"));
        assert!(
            n > 0,
            "closed before {needle:?}: {:?}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

fn subscribe_head(serve: &Serve, id: &str, token: &str) -> String {
    format!(
        "GET /{id}/events?since=0&format=capture HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {token}\r\n\r\n",
        authority(&serve.url)
    )
}

#[test]
fn a_subscription_after_other_requests_on_one_connection_works_the_same() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::spawn(data.path(), &[]);
    let (id, token) = serve.channel();
    serve.post(&id, &[], b"{\"n\":1}");
    let mut first = TcpStream::connect(authority(&serve.url)).unwrap();
    first
        .write_all(subscribe_head(&serve, &id, &token).as_bytes())
        .unwrap();
    let lean = read_until(&mut first, "\"n\\\":1");
    let mut later = TcpStream::connect(authority(&serve.url)).unwrap();
    write!(
        later,
        "GET /_hookctl/health HTTP/1.1\r\nhost: {}\r\n\r\n",
        authority(&serve.url)
    )
    .unwrap();
    read_until(&mut later, "{\"status\":\"ok\"}");
    later
        .write_all(subscribe_head(&serve, &id, &token).as_bytes())
        .unwrap();
    let hyper = read_until(&mut later, "\"n\\\":1");
    for text in [&lean, &hyper] {
        let head = text.split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
        for line in [
            "content-type: text/event-stream",
            "cache-control: no-cache",
            "x-accel-buffering: no",
            "transfer-encoding: chunked",
        ] {
            assert!(head.contains(line), "{line} missing in {head}");
        }
        assert!(
            text.contains("event: ready\ndata: {\"channel\":\""),
            "{text}"
        );
        // The frame's head and its capture line are chunks of their own.
        assert!(text.contains("id: 1\nevent: capture\ndata: "), "{text}");
        assert!(text.contains("{\"v\":1,\"seq\":1,"), "{text}");
    }
    assert!(lean.starts_with("HTTP/1.1 200 OK\r\n"), "{lean}");
}

#[test]
fn refusals_of_a_first_request_subscription_are_whole_answers() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::spawn(data.path(), &[]);
    let (id, _) = serve.channel();
    let wrong = request(
        &serve.url,
        "GET",
        &format!("/{id}/events?since=x"),
        &[("authorization", "Bearer nope")],
        b"",
    );
    assert_eq!(wrong.status, 401);
    assert_eq!(
        wrong.header("www-authenticate"),
        Some("Bearer realm=\"hookctl\"")
    );
    assert_eq!(
        wrong.header("content-length"),
        Some(wrong.body.len().to_string().as_str())
    );
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&wrong.body).unwrap()["error"],
        "wrong token for this channel"
    );
    // HTTP/1.0 is left to hyper, and answered all the same.
    let mut old = TcpStream::connect(authority(&serve.url)).unwrap();
    write!(old, "GET /{id}/events HTTP/1.0\r\n\r\n").unwrap();
    let text = read_until(&mut old, "needs the channel's token");
    assert!(
        text.starts_with("HTTP/1.0 401") || text.starts_with("HTTP/1.1 401"),
        "{text}"
    );
}

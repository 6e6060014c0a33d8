//! Subscriptions served without hyper. A subscriber holds its connection for hours, mostly
//! idle; served by hyper, each kept 16 KiB of read and write buffers (hyper's minimum) for
//! nothing. Here a new connection's first request head is read into a buffer freed right
//! after; a subscription is then answered and streamed (chunked SSE) with no buffer of its
//! own, and anything else goes on to hyper with the bytes read ([`Rewind`]).
//!
//! The same [`admit`] decides as for a subscription made through hyper (a keep-alive
//! connection's later request), so both paths answer alike.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::{FutureExt as _, StreamExt as _};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response};
use http_body_util::BodyExt as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::routes::{admit, subscribe_target, Body, SSE_HEADERS};
use super::subscribe::{Subscriber, Subscription};
use super::Server;
use crate::listen::stall::Stalled;
use crate::listen::takeover::{BoxIo, Rewind, Takeover};

/// The first read's size; a subscribe request's head fits.
const FIRST_READ: usize = 2048;
/// Past this without a whole head, the request is hyper's.
const MAX_HEAD: usize = 16 << 10;
/// Frames gathered into one write up to this size.
const BATCH: usize = 64 << 10;
/// Headers parsed at most; more, and the request is hyper's.
const MAX_HEADERS: usize = 64;

/// Takes subscriptions made as a connection's first request.
pub struct LeanSubscriptions {
    pub server: Arc<Server>,
    pub header_timeout: Duration,
}

impl Takeover for LeanSubscriptions {
    fn take(
        &self,
        io: BoxIo,
        peer: SocketAddr,
        stalled: Stalled,
    ) -> Pin<Box<dyn Future<Output = Option<Rewind>> + Send>> {
        let server = self.server.clone();
        let header_timeout = self.header_timeout;
        Box::pin(async move {
            let mut io = io;
            let head = tokio::time::timeout(header_timeout, read_head(&mut io))
                .await
                .ok()?
                .ok()?;
            let request = match parse(&head) {
                Some(request) => request,
                None => return Some(Rewind::new(head, io)),
            };
            let Some(id) = subscribe_target(&request.method, request.path(), &request.headers)
            else {
                return Some(Rewind::new(head, io));
            };
            let subscriber = Subscriber {
                peer,
                stalled,
                log: server.log.clone(),
            };
            let admitted = admit(&server, id, &request.headers, request.query(), subscriber);
            drop(request);
            drop(head);
            match admitted {
                Ok(subscription) => stream(io, subscription).await,
                Err(refused) => answer(io, *refused).await,
            }
            None
        })
    }
}

/// Reads until the end of a request head (or [`MAX_HEAD`] bytes, or the end of the
/// stream); returns what was read.
async fn read_head(io: &mut BoxIo) -> std::io::Result<Bytes> {
    let mut buf = Vec::with_capacity(FIRST_READ);
    loop {
        if buf.len() == buf.capacity() {
            buf.reserve(buf.len());
        }
        let n = io.read_buf(&mut buf).await?;
        let end = n == 0 || buf.len() >= MAX_HEAD;
        if end || memchr::memmem::find(&buf, b"\r\n\r\n").is_some() {
            return Ok(Bytes::from(buf));
        }
    }
}

/// A request head, parsed.
struct Head {
    method: Method,
    target: String,
    headers: HeaderMap,
}

impl Head {
    fn path(&self) -> &str {
        self.target.split_once('?').map_or(&self.target, |(p, _)| p)
    }

    fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }
}

/// An HTTP/1.1 request head with no body; anything else (HTTP/1.0, a body, a head that
/// does not parse) is `None`, for hyper to answer.
fn parse(bytes: &[u8]) -> Option<Head> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(len) = request.parse(bytes).ok()? else {
        return None;
    };
    if request.version != Some(1) || len != bytes.len() {
        return None;
    }
    let target = request.path?;
    if !target.starts_with('/') {
        return None;
    }
    let mut map = HeaderMap::with_capacity(request.headers.len());
    for header in request.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes()).ok()?;
        if name == http::header::CONTENT_LENGTH || name == http::header::TRANSFER_ENCODING {
            return None;
        }
        map.append(name, HeaderValue::from_bytes(header.value).ok()?);
    }
    Some(Head {
        method: Method::from_bytes(request.method?.as_bytes()).ok()?,
        target: target.to_owned(),
        headers: map,
    })
}

/// `HTTP/1.1 STATUS REASON`, `headers` and the date, ending in the blank line.
fn head_bytes(status: http::StatusCode, headers: &HeaderMap, framing: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(framing.as_bytes());
    out.extend_from_slice(b"date: ");
    out.extend_from_slice(httpdate::fmt_http_date(SystemTime::now()).as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
    out
}

/// Streams the subscription as a chunked body until it ends or the connection fails
/// (closed, or stalled past --stall-timeout).
async fn stream(mut io: BoxIo, subscription: Subscription) {
    let mut headers = HeaderMap::new();
    for (name, value) in SSE_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    let head = head_bytes(
        http::StatusCode::OK,
        &headers,
        "transfer-encoding: chunked\r\n",
    );
    drop(headers);
    if io.write_all(&head).await.is_err() || io.flush().await.is_err() {
        return;
    }
    drop(head);
    let frames = subscription.into_stream();
    tokio::pin!(frames);
    while let Some(frame) = frames.next().await {
        // Every frame ready now goes out in one write, as chunks, like hyper's buffer did.
        let mut out = Vec::with_capacity(frame.len() + 16);
        put_chunk(&mut out, &frame);
        while out.len() < BATCH {
            match frames.next().now_or_never() {
                Some(Some(frame)) => put_chunk(&mut out, &frame),
                _ => break,
            }
        }
        let written = async {
            io.write_all(&out).await?;
            io.flush().await
        };
        if written.await.is_err() {
            return;
        }
    }
    // The server stops, or the log cannot be read: the body ends properly.
    let _ = io.write_all(b"0\r\n\r\n").await;
    let _ = io.shutdown().await;
}

/// `frame` as one chunk of a chunked body (none when empty: that would end the body).
fn put_chunk(out: &mut Vec<u8>, frame: &[u8]) {
    if frame.is_empty() {
        return;
    }
    out.extend_from_slice(format!("{:x}\r\n", frame.len()).as_bytes());
    out.extend_from_slice(frame);
    out.extend_from_slice(b"\r\n");
}

/// Writes a refusal and closes the connection.
async fn answer(mut io: BoxIo, response: Response<Body>) {
    let (parts, body) = response.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes());
    let framing = format!("content-length: {}\r\nconnection: close\r\n", body.len());
    let mut out = head_bytes(parts.status, &parts.headers, &framing);
    out.extend_from_slice(&body);
    let _ = io.write_all(&out).await;
    let _ = io.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_bodiless_http11_heads_are_taken() {
        let head = parse(b"GET /abc/events?since=3&format=capture HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n").unwrap();
        assert_eq!(head.method, Method::GET);
        assert_eq!(head.path(), "/abc/events");
        assert_eq!(head.query(), Some("since=3&format=capture"));
        assert_eq!(head.headers["accept"], "text/event-stream");
        assert!(parse(b"GET / HTTP/1.0\r\n\r\n").is_none());
        assert!(parse(b"GET / HTTP/1.1\r\nHost: x\r\n").is_none());
        assert!(parse(b"POST /a HTTP/1.1\r\ncontent-length: 2\r\n\r\n").is_none());
        // Bytes after the head (a pipelined request) go to hyper too.
        assert!(parse(b"GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n").is_none());
        assert!(parse(b"GET http://x/ HTTP/1.1\r\n\r\n").is_none());
    }

    #[test]
    fn frames_become_chunks_and_empty_ones_are_left_out() {
        let mut out = Vec::new();
        put_chunk(&mut out, b"id: 1\n");
        put_chunk(&mut out, b"");
        put_chunk(&mut out, &[b'x'; 26]);
        let mut want = b"6\r\nid: 1\n\r\n1a\r\n".to_vec();
        want.extend_from_slice(&[b'x'; 26]);
        want.extend_from_slice(b"\r\n");
        assert_eq!(out, want);
    }

    #[test]
    fn heads_are_written_with_the_date_and_framing() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "content-type",
            HeaderValue::from_static("text/event-stream"),
        );
        let head = head_bytes(
            http::StatusCode::OK,
            &headers,
            "transfer-encoding: chunked\r\n",
        );
        let text = String::from_utf8(head).unwrap();
        assert!(text.starts_with(
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\ndate: "
        ));
        assert!(text.ends_with(" GMT\r\n\r\n"));
    }
}

//! The HTTP receiver: hyper plumbing only. It turns each request into an [`Event`], asks a
//! [`Handler`] what to answer, and shuts down gracefully. It takes an already-bound listener,
//! so tests and the binary decide where it listens.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::accept::{accept_loop, http1};
use super::stall::{StallGuard, Stalled};
use super::takeover::{BoxIo, Rewind, Takeover};
use crate::event::{Event, Headers};
use crate::output::diag::Diag;

/// Paths under this prefix belong to hookctl and are never treated as events.
pub const RESERVED_PREFIX: &str = "/_hookctl/";

/// A response body: whole bytes for deliveries, or a stream (the inspector's live feed).
pub type Body = Either<Full<Bytes>, BoxBody<Bytes, Infallible>>;

/// Serves the requests under [`RESERVED_PREFIX`] besides `health` (the web inspector). They
/// are never deliveries: no event, no capture, no count.
pub trait Reserved: Send + Sync + 'static {
    fn serve(
        &self,
        req: Request<Incoming>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Response<Body>> + Send>>;
}

/// What to answer a delivery with. The headers are a ready `HeaderMap`, so answering moves
/// it into the response instead of parsing names and values on every delivery.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// A reply with a JSON body.
    pub fn json(status: u16, body: &serde_json::Value) -> Reply {
        Reply::json_bytes(status, Bytes::from(body.to_string()))
    }

    /// A reply whose body is already JSON text.
    pub fn json_bytes(status: u16, body: Bytes) -> Reply {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Adds a header; a name or value HTTP cannot carry is left out.
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            self.headers.append(name, value);
        }
        self
    }

    /// A reply with no headers of its own.
    pub fn bytes(status: u16, body: Bytes) -> Reply {
        Reply {
            status,
            headers: HeaderMap::new(),
            body,
        }
    }

    /// An app's answer passed through: its status, body and content type (when valid).
    pub fn passthrough(status: u16, body: Bytes, content_type: Option<&str>) -> Reply {
        let mut reply = Reply::bytes(status, body);
        if let Some(Ok(value)) = content_type.map(HeaderValue::from_str) {
            reply.headers.insert(http::header::CONTENT_TYPE, value);
        }
        reply
    }
}

/// The receiver's per-delivery logic.
pub trait Handler: Send + Sync + 'static {
    /// Decides the answer for one delivery (and records it).
    fn handle(&self, event: Event) -> impl Future<Output = Reply> + Send;
    /// Told about a delivery refused before it became an event (too large, unreadable).
    fn refused(&self, method: &str, path: &str, why: &str);
}

/// Receiver settings that belong to HTTP, not to the listen logic.
#[derive(Clone)]
pub struct ServerConfig {
    /// Largest body accepted; larger ones get 413 without being buffered.
    pub max_body: usize,
    /// How long a client may take to send the request head, and how long an idle keep-alive
    /// connection is kept.
    pub header_timeout: Duration,
    /// How long a client may take to send the whole body; then 408.
    pub body_timeout: Duration,
    /// Connections served at once; further ones wait for a slot or are answered 503 (see
    /// [`Admission`]).
    pub max_connections: usize,
    /// Where a failed accept is reported.
    pub diag: Diag,
    /// Who answers under [`RESERVED_PREFIX`] (besides `health`), if anyone.
    pub reserved: Option<Arc<dyn Reserved>>,
}

/// Serves `listener` until `shutdown` completes, then finishes requests in flight.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    config: ServerConfig,
    handler: Arc<H>,
    shutdown: impl Future<Output = ()>,
) {
    let limits = ConnLimits {
        max_connections: config.max_connections,
        header_timeout: config.header_timeout,
        diag: config.diag.clone(),
    };
    let config = Arc::new(config);
    serve_plain(listener, limits, shutdown, move |_peer| {
        let handler = handler.clone();
        let config = config.clone();
        service_fn(move |req| {
            let handler = handler.clone();
            let config = config.clone();
            async move { Ok::<_, Infallible>(respond(req, &config, &*handler).await) }
        })
    })
    .await;
}

/// Serves plain HTTP/1 on `listener` with the service `make_service` builds for each peer:
/// hyper reads the socket itself, with nothing in between (see [`accept_loop`] for the cap and
/// the graceful stop).
pub async fn serve_plain<F, S, B>(
    listener: TcpListener,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()>,
    make_service: F,
) where
    F: Fn(std::net::SocketAddr) -> S + Send + Sync + 'static,
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let ConnLimits {
        max_connections,
        header_timeout,
        diag,
    } = limits;
    accept_loop(
        listener,
        max_connections,
        diag,
        shutdown,
        move |stream, peer, watcher| {
            let conn =
                http1(header_timeout).serve_connection(TokioIo::new(stream), make_service(peer));
            async move {
                let _ = Box::pin(watcher.watch(conn)).await;
            }
        },
    )
    .await;
}

/// What a plain server applies to its connections.
#[derive(Clone)]
pub struct ConnLimits {
    /// Connections served at once; further ones wait for a slot or are answered 503 (see
    /// [`Admission`](super::admission::Admission)).
    pub max_connections: usize,
    /// How long a client may take to send the request head, and how long an idle keep-alive
    /// connection is kept.
    pub header_timeout: Duration,
    /// Where a failed accept is reported.
    pub diag: Diag,
}

/// What the relay applies to its connections.
#[derive(Clone)]
pub struct Limits {
    /// Connections served at once; further ones wait for a slot or are answered 503 (see
    /// [`Admission`](super::admission::Admission)).
    pub max_connections: usize,
    /// How long a client may take to send the request head (and the TLS handshake), and how
    /// long an idle keep-alive connection is kept.
    pub header_timeout: Duration,
    /// Serve HTTPS with this configuration instead of plain HTTP.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Where a failed accept is reported.
    pub diag: Diag,
    /// Drop a connection whose writes make no progress for this long (see [`StallGuard`]).
    pub write_stall: Option<Duration>,
    /// Looks at each new connection first and may serve it itself (see [`Takeover`]).
    pub takeover: Option<Arc<dyn Takeover>>,
}

/// Accepts connections on `listener` under `limits` and serves each, plain or TLS, behind a
/// write-stall guard, first to the takeover (if any), then with the service that
/// `make_service` builds for its peer (and the flag telling it the connection was dropped for
/// a write stall), until `shutdown` completes; then finishes requests in flight. Every kind of
/// connection is boxed into one type, so hyper is built once for this server.
pub async fn serve_connections<F, S, B>(
    listener: TcpListener,
    limits: Limits,
    make_service: F,
    shutdown: impl Future<Output = ()>,
) where
    F: Fn(std::net::SocketAddr, Stalled) -> S + Send + Sync + 'static,
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let tls = limits.tls.clone().map(tokio_rustls::TlsAcceptor::from);
    let Limits {
        max_connections,
        header_timeout,
        diag,
        write_stall,
        takeover,
        ..
    } = limits;
    accept_loop(
        listener,
        max_connections,
        diag,
        shutdown,
        move |stream, peer, watcher| {
            let stalled = Stalled::default();
            let service = make_service(peer, stalled.clone());
            let takeover = takeover.clone();
            let tls = tls.clone();
            async move {
                let stream = StallGuard::new(stream, write_stall, stalled.clone());
                let io: BoxIo = match tls {
                    None => Box::new(stream),
                    // A client that never finishes the handshake holds its slot no longer than
                    // one that never sends its request head. Boxed, so the relay's many idle
                    // subscriptions do not each carry the room a handshake needs.
                    Some(tls) => {
                        match Box::pin(tokio::time::timeout(header_timeout, tls.accept(stream)))
                            .await
                        {
                            Ok(Ok(stream)) => Box::new(stream),
                            _ => return,
                        }
                    }
                };
                let io = match takeover {
                    Some(takeover) => match takeover.take(io, peer, stalled).await {
                        Some(io) => io,
                        None => return,
                    },
                    None => Rewind::new(Bytes::new(), io),
                };
                let conn = http1(header_timeout).serve_connection(TokioIo::new(io), service);
                let _ = Box::pin(watcher.watch(conn)).await;
            }
        },
    )
    .await;
}

async fn respond<H: Handler>(
    req: Request<Incoming>,
    config: &ServerConfig,
    handler: &H,
) -> Response<Body> {
    if let Some(reserved) = &config.reserved {
        let path = req.uri().path();
        if path.starts_with(RESERVED_PREFIX) && path != "/_hookctl/health" {
            return reserved.serve(req).await;
        }
    }
    respond_delivery(req, config, handler)
        .await
        .map(Either::Left)
}

async fn respond_delivery<H: Handler>(
    req: Request<Incoming>,
    config: &ServerConfig,
    handler: &H,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();
    if !path.starts_with('/') {
        return not_a_path(handler, parts.method.as_str(), &parts.uri);
    }
    if let Some(rest) = path.strip_prefix(RESERVED_PREFIX) {
        return reserved(parts.method.as_str(), rest);
    }
    let bytes = match read_body(body, &parts.headers, config.max_body, config.body_timeout).await {
        Ok(bytes) => bytes,
        Err(BodyError::TooLarge) => {
            return too_large(handler, parts.method.as_str(), path, config.max_body);
        }
        Err(BodyError::Timeout) => {
            let why = format!(
                "the body did not arrive within --body-timeout ({}); answered 408",
                humantime::format_duration(config.body_timeout)
            );
            handler.refused(parts.method.as_str(), path, &why);
            return to_response(BodyError::Timeout.reply());
        }
        Err(e @ BodyError::Read(_)) => {
            handler.refused(parts.method.as_str(), path, &e.to_string());
            return to_response(e.reply());
        }
    };
    let event = Event::from_parts(
        parts.method.as_str(),
        path,
        parts.uri.query().map(str::to_owned),
        event_headers(&parts.headers),
        bytes,
        SystemTime::now(),
    );
    // The request's header values are slices of hyper's read buffer too; let go of them
    // before waiting on the handler.
    drop(parts);
    to_response(handler.handle(event).await)
}

/// Why a request body was not read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("body larger than the limit")]
    TooLarge,
    #[error("the body did not arrive in time")]
    Timeout,
    #[error("could not read the body: {0}")]
    Read(String),
}

impl BodyError {
    /// The answer for a body that was not read, 413 aside (its message names the limit).
    pub fn reply(&self) -> Reply {
        match self {
            BodyError::TooLarge => {
                Reply::json(413, &serde_json::json!({ "error": self.to_string() }))
            }
            BodyError::Timeout => Reply::json(
                408,
                &serde_json::json!({ "error": "the body did not arrive in time" }),
            )
            .with_header("connection", "close"),
            BodyError::Read(_) => {
                Reply::json(400, &serde_json::json!({ "error": self.to_string() }))
            }
        }
    }
}

/// Reads a whole request body of at most `max_body` bytes within `timeout`. A body announced
/// as larger is refused before any of it is read.
pub async fn read_body(
    body: Incoming,
    headers: &HeaderMap,
    max_body: usize,
    timeout: Duration,
) -> Result<Bytes, BodyError> {
    if let Some(len) = content_length(headers) {
        if len > max_body as u64 {
            return Err(BodyError::TooLarge);
        }
    }
    let collected = tokio::time::timeout(timeout, Limited::new(body, max_body).collect());
    let Ok(collected) = collected.await else {
        return Err(BodyError::Timeout);
    };
    match collected {
        // A body that arrived in one read is a slice of hyper's read buffer (8 KiB or more);
        // copy it, so an event waiting in the printer's queue or a capture batch holds only
        // its own bytes. A body gathered from several reads is already its own allocation.
        Ok(collected) => {
            let bytes = collected.to_bytes();
            Ok(if bytes.is_unique() {
                bytes
            } else {
                Bytes::copy_from_slice(&bytes)
            })
        }
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(BodyError::TooLarge),
        Err(e) => Err(BodyError::Read(e.to_string())),
    }
}

/// A request's headers as an event keeps them: in order, with their exact bytes.
pub fn event_headers(map: &HeaderMap) -> Headers {
    let mut headers = Headers::with_capacity(map.len());
    for (name, value) in map {
        match value.to_str() {
            Ok(text) => headers.push(name.as_str(), text),
            // Not visible ASCII: UTF-8 text, or bytes that are kept exactly.
            Err(_) => headers.push_bytes(name.as_str(), value.as_bytes()),
        }
    }
    headers
}

fn content_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn too_large<H: Handler>(
    handler: &H,
    method: &str,
    path: &str,
    limit: usize,
) -> Response<Full<Bytes>> {
    let why = format!(
        "body is larger than --max-body ({limit} bytes); answered 413. Raise --max-body to accept it"
    );
    handler.refused(method, path, &why);
    to_response(Reply::json(
        413,
        &serde_json::json!({ "error": format!("body larger than {limit} bytes") }),
    ))
}

/// Answers `OPTIONS *` and `CONNECT host:port` with 400: their targets are not paths, so they
/// are not deliveries, and a capture line for them could not be replayed.
fn not_a_path<H: Handler>(handler: &H, method: &str, uri: &http::Uri) -> Response<Full<Bytes>> {
    let target = uri.to_string();
    handler.refused(
        method,
        &target,
        "the request target is not a path; answered 400",
    );
    to_response(Reply::json(
        400,
        &serde_json::json!({ "error": format!("request target {target:?} is not a path") }),
    ))
}

fn reserved(method: &str, rest: &str) -> Response<Full<Bytes>> {
    match (method, rest) {
        ("GET" | "HEAD", "health") => {
            to_response(Reply::json(200, &serde_json::json!({ "status": "ok" })))
        }
        _ => to_response(Reply::json(
            404,
            &serde_json::json!({ "error": format!("{RESERVED_PREFIX} is reserved for hookctl") }),
        )),
    }
}

/// The hyper response for `reply`.
pub fn to_response(reply: Reply) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(reply.body));
    *response.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    *response.headers_mut() = reply.headers;
    response
}

//! What each request to the relay gets: health, metrics, channel creation, ingest and
//! subscribe. See docs/relay-protocol.md.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use futures_util::StreamExt as _;
use http::{HeaderMap, Method, Request, Response};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use serde_json::json;

use super::edge::Checked;
use super::ids::is_channel_id;
use super::metrics::Reject;
use super::ratelimit::Bucket;
use super::subscribe::{Format, Subscriber, Subscription};
use super::Server;
use crate::event::Event;
use crate::listen::server::{event_headers, read_body, to_response, BodyError, Reply};
use crate::listen::stall::Stalled;

/// Every response body: a whole one, or an event stream.
pub type Body = UnsyncBoxBody<Bytes, Infallible>;

fn whole(reply: Reply) -> Response<Body> {
    to_response(reply).map(BodyExt::boxed_unsync)
}

fn error(status: u16, message: &str) -> Response<Body> {
    whole(Reply::json(status, &json!({ "error": message })))
}

/// Answers one request.
pub async fn route(
    req: Request<Incoming>,
    server: Arc<Server>,
    peer: SocketAddr,
    stalled: Stalled,
) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    match path.as_str() {
        "/_hookctl/health" => return health(&server),
        "/metrics" if method == Method::GET => return metrics(&req, &server, peer),
        "/new" if method == Method::GET || method == Method::POST => {
            return create(&req, &server).await;
        }
        "/new" if method == Method::HEAD => return head_new(&server, peer),
        _ => {}
    }
    if let Some(id) = subscribe_target(&method, &path, req.headers()) {
        let subscriber = Subscriber {
            peer,
            stalled,
            log: server.log.clone(),
        };
        return match admit(&server, id, req.headers(), req.uri().query(), subscriber) {
            Ok(subscription) => sse_response(subscription),
            Err(refused) => *refused,
        };
    }
    let Some((id, rest)) = split_channel(&path) else {
        return error(404, "no such channel");
    };
    match method {
        Method::GET | Method::HEAD | Method::OPTIONS => whole(
            Reply::json(
                405,
                &json!({ "error": "send events with POST (or PUT, PATCH, DELETE); subscribe with GET and Accept: text/event-stream" }),
            )
            .with_header("allow", "POST, PUT, PATCH, DELETE"),
        ),
        _ => ingest(req, &server, id, rest).await,
    }
}

/// `200` while this relay can take events; with `--broker`, `503` while the broker cannot be
/// reached, so a load balancer sends providers to another instance.
fn health(server: &Server) -> Response<Body> {
    #[cfg(feature = "amqp")]
    if server.broker.as_ref().is_some_and(|b| !b.connected()) {
        return whole(Reply::json(
            503,
            &json!({ "status": "unavailable", "error": "the relay's broker cannot be reached" }),
        ));
    }
    let _ = server;
    whole(Reply::json(200, &json!({ "status": "ok" })))
}

/// The channel a request subscribes to: `GET /ID/events`, or `GET /ID` asking for
/// `text/event-stream`.
pub fn subscribe_target<'a>(
    method: &Method,
    path: &'a str,
    headers: &HeaderMap,
) -> Option<&'a str> {
    let (id, rest) = split_channel(path)?;
    (*method == Method::GET && (rest == "/events" || (rest == "/" && wants_events(headers))))
        .then_some(id)
}

/// `/ID/rest` as the channel id and the path below it (`/` when none).
fn split_channel(path: &str) -> Option<(&str, &str)> {
    let trimmed = path.strip_prefix('/')?;
    let (id, rest) = match trimmed.find('/') {
        Some(at) => (&trimmed[..at], &trimmed[at..]),
        None => (trimmed, "/"),
    };
    is_channel_id(id).then_some((id, rest))
}

fn wants_events(headers: &HeaderMap) -> bool {
    headers
        .get_all(http::header::ACCEPT)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.contains("text/event-stream")))
}

async fn ingest(req: Request<Incoming>, server: &Server, id: &str, rest: &str) -> Response<Body> {
    let Some(channel) = server.channels.get(id) else {
        server
            .global
            .unknown_channel
            .fetch_add(1, Ordering::Relaxed);
        return error(404, "no such channel");
    };
    if let Some(rate) = server.limits.rate_limit {
        let bucket = channel.bucket.get_or_init(|| Bucket::new(rate));
        if let Err(wait) = bucket.take(Instant::now()) {
            channel.counters.reject(Reject::RateLimited);
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            return whole(
                Reply::json(
                    429,
                    &json!({ "error": "this channel's rate limit (--rate-limit) is reached; retry later" }),
                )
                .with_header("retry-after", &secs.to_string()),
            );
        }
    }
    let (parts, body) = req.into_parts();
    let body = match read_body(
        body,
        &parts.headers,
        server.limits.max_body,
        server.limits.body_timeout,
    )
    .await
    {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            channel.counters.reject(Reject::TooLarge);
            return error(
                413,
                &format!("body larger than {} bytes", server.limits.max_body),
            );
        }
        Err(e) => {
            channel.counters.reject(Reject::BadRequest);
            return whole(e.reply());
        }
    };
    let event = Event::from_parts(
        parts.method.as_str(),
        rest,
        parts.uri.query().map(str::to_owned),
        event_headers(&parts.headers),
        body,
        SystemTime::now(),
    );
    drop(parts);
    match server.edge.check(id, &event) {
        Checked::Store => {}
        Checked::Duplicate(seq) => {
            server.log.detail(
                "duplicate delivery not stored again",
                &[("channel", id.into()), ("seq", seq.into())],
            );
            return whole(Reply::json(200, &json!({ "seq": seq, "duplicate": true })));
        }
        Checked::Rejected(why) => {
            channel.counters.reject(Reject::Signature);
            server.log.warn(
                "refused a delivery with 401: signature verification failed",
                &[("channel", id.into()), ("reason", why.as_str().into())],
            );
            return error(401, &format!("signature verification failed: {why}"));
        }
    }
    #[cfg(feature = "amqp")]
    if let Some(broker) = &server.broker {
        return shared(server, broker, id, &event).await;
    }
    match channel.log.append(&event).await {
        Ok(seq) => {
            server.edge.stored(id, &event, seq);
            channel.counters.stored(event.body.len());
            server.log.detail(
                "stored",
                &[
                    ("channel", id.into()),
                    ("seq", seq.into()),
                    ("method", event.method.as_str().into()),
                    ("path", event.path.as_str().into()),
                    ("bytes", event.body.len().into()),
                ],
            );
            whole(Reply::json_bytes(
                200,
                Bytes::from(format!("{{\"seq\":{seq}}}")),
            ))
        }
        Err(e) => {
            server.log.error(
                "cannot store an event; answered 503",
                &[("channel", id.into()), ("error", e.to_string().into())],
            );
            whole(
                Reply::json(
                    503,
                    &json!({ "error": "the event could not be stored; retry" }),
                )
                .with_header("retry-after", "1"),
            )
        }
    }
}

/// With `--broker`: publishes the event to the shared stream and answers once the broker
/// confirmed it: `200 {"seq": N}` once this relay stored it too, `202` when that takes
/// longer (it is kept by the broker), `503` when the broker did not take it.
#[cfg(feature = "amqp")]
async fn shared(
    server: &Server,
    broker: &super::broker::Broker,
    id: &str,
    event: &Event,
) -> Response<Body> {
    let mut line = Vec::with_capacity(event.body.len() + 512);
    event.write_json_line(&mut line);
    match broker.publish_event(id, &line).await {
        Ok(Some(seq)) => whole(Reply::json_bytes(
            200,
            Bytes::from(format!("{{\"seq\":{seq}}}")),
        )),
        Ok(None) => {
            server.log.warn(
                "an event the broker confirmed is not stored here yet; answered 202",
                &[("channel", id.into())],
            );
            whole(Reply::json(202, &json!({ "seq": null, "queued": true })))
        }
        Err(e) => {
            server.log.error(
                "the broker did not take an event; answered 503",
                &[("channel", id.into()), ("error", e.to_string().into())],
            );
            whole(
                Reply::json(
                    503,
                    &json!({ "error": "the event could not be stored (the relay's broker is unavailable); retry" }),
                )
                .with_header("retry-after", "1"),
            )
        }
    }
}

/// The token a subscriber presents: `Authorization: Bearer T`, or `?token=T`.
fn presented_token(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(value) = headers.get(http::header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned());
    }
    query_param(query, "token")
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn unauthorized(message: &str) -> Response<Body> {
    whole(
        Reply::json(401, &json!({ "error": message }))
            .with_header("www-authenticate", "Bearer realm=\"hookctl\""),
    )
}

/// A subscribe request to channel `id`, checked: its subscription, or the answer refusing it.
pub fn admit(
    server: &Server,
    id: &str,
    headers: &HeaderMap,
    query: Option<&str>,
    subscriber: Subscriber,
) -> Result<Subscription, Box<Response<Body>>> {
    let Some(token) = presented_token(headers, query) else {
        // Without a token, an unknown channel looks the same: which ones exist stays hidden.
        if let Some(channel) = server.channels.get(id) {
            channel.counters.reject(Reject::Unauthorized);
        }
        return Err(Box::new(unauthorized(
            "subscribing needs the channel's token: Authorization: Bearer TOKEN, or ?token=TOKEN",
        )));
    };
    let Some(channel) = server.channels.get(id) else {
        server
            .global
            .unknown_channel
            .fetch_add(1, Ordering::Relaxed);
        return Err(Box::new(error(404, "no such channel")));
    };
    if !channel.token_matches(&token) {
        channel.counters.reject(Reject::Unauthorized);
        return Err(Box::new(unauthorized("wrong token for this channel")));
    }
    let since_text = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| query_param(query, "since"));
    let since =
        match since_text.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => match text.parse::<u64>() {
                Ok(n) => Some(n),
                Err(_) => return Err(Box::new(error(
                    400,
                    "Last-Event-ID and ?since must be an event's sequence number (a whole number)",
                ))),
            },
        };
    let capture = query_param(query, "format").as_deref() == Some("capture")
        || headers
            .get_all(http::header::ACCEPT)
            .iter()
            .any(|v| v.to_str().is_ok_and(|v| v.contains("format=capture")));
    let format = if capture {
        Format::Capture
    } else {
        Format::Smee
    };
    server.log.detail(
        "subscribed",
        &[
            ("channel", id.into()),
            ("since", since.map_or(serde_json::Value::Null, Into::into)),
            ("format", if capture { "capture" } else { "smee" }.into()),
        ],
    );
    Ok(Subscription::new(
        channel,
        since,
        format,
        server.stop.clone(),
        subscriber,
    ))
}

/// The headers of a subscription's answer, besides the framing.
pub const SSE_HEADERS: [(&str, &str); 3] = [
    ("content-type", "text/event-stream"),
    ("cache-control", "no-cache"),
    // nginx buffers responses unless told not to.
    ("x-accel-buffering", "no"),
];

fn sse_response(subscription: Subscription) -> Response<Body> {
    let stream = subscription
        .into_stream()
        .map(|frame| Ok::<_, Infallible>(Frame::data(frame)));
    let mut response = Response::new(StreamBody::new(stream).boxed_unsync());
    for (name, value) in SSE_HEADERS {
        response
            .headers_mut()
            .insert(name, http::HeaderValue::from_static(value));
    }
    response
}

async fn create(req: &Request<Incoming>, server: &Server) -> Response<Body> {
    if is_cross_site(req.headers()) {
        return error(403, "channels cannot be created from another site's page");
    }
    if let Some(expected) = &server.create_token {
        if !bearer_is(req.headers(), expected) {
            return unauthorized("creating a channel needs this relay's --create-token: Authorization: Bearer TOKEN (hookctl channel new --create-token)");
        }
    }
    let created = {
        let channels = server.clone_channels();
        #[cfg(feature = "amqp")]
        if let Some(broker) = &server.broker {
            Ok(broker.create_channel(&channels).await)
        } else {
            tokio::task::spawn_blocking(move || channels.create()).await
        }
        #[cfg(not(feature = "amqp"))]
        tokio::task::spawn_blocking(move || channels.create()).await
    };
    let (channel, token) = match created {
        Ok(Ok(created)) => created,
        Ok(Err(e @ super::channels::CreateError::Full(_))) => return error(503, &e.to_string()),
        Ok(Err(e @ super::channels::CreateError::Broker(_))) => {
            server.log.error(
                "cannot create a channel; answered 503",
                &[("error", e.to_string().into())],
            );
            return whole(
                Reply::json(
                    503,
                    &json!({ "error": "the channel could not be created (the relay's broker is unavailable); retry" }),
                )
                .with_header("retry-after", "1"),
            );
        }
        Ok(Err(e)) => {
            server.log.error(
                "cannot create a channel",
                &[("error", e.to_string().into())],
            );
            return error(500, "the channel could not be created");
        }
        Err(e) => return error(500, &e.to_string()),
    };
    server
        .global
        .channels_created
        .fetch_add(1, Ordering::Relaxed);
    let url = format!("{}/{}", server.base_url(req.headers()), channel.id);
    server.log.info(
        "channel created",
        &[("channel", channel.id.as_str().into())],
    );
    whole(
        Reply::json(
            201,
            &json!({ "channel": channel.id, "url": url, "token": token }),
        )
        .with_header("location", &url)
        .with_header("cache-control", "no-store"),
    )
}

/// `HEAD /new`, which smee-client's `createChannel` sends to smee.io, reading the channel URL
/// from the redirect's `Location`. A HEAD must not change anything, and a channel made that
/// way could never hand its token to the client (which then could not subscribe): refused
/// with `405`, the reason in a header (a HEAD answer has no body) and in the relay's log.
fn head_new(server: &Server, peer: SocketAddr) -> Response<Body> {
    server.log.warn(
        "refused HEAD /new (smee-client's createChannel): a channel needs its token handed over; create channels with `hookctl channel new --server URL` (or POST /new)",
        &[("peer", peer.to_string().into())],
    );
    whole(
        Reply::json(405, &json!({ "error": HEAD_NEW_REFUSED }))
            .with_header("allow", "GET, POST")
            .with_header("x-hookctl-error", HEAD_NEW_REFUSED),
    )
}

const HEAD_NEW_REFUSED: &str = "HEAD /new cannot create a channel: its subscribe token could not be handed over; create one with `hookctl channel new --server URL` (POST /new) and pass the token to the client";

/// A browser request made by another site's page (`Sec-Fetch-Site`, or an `Origin` that is
/// not this host).
fn is_cross_site(headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return !matches!(site, "same-origin" | "none");
    }
    match (header("origin"), header("host")) {
        (Some("null"), _) => true,
        (Some(origin), Some(host)) => {
            let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
            !origin_host.eq_ignore_ascii_case(host)
        }
        (Some(_), None) => true,
        (None, _) => false,
    }
}

fn metrics(req: &Request<Incoming>, server: &Server, peer: SocketAddr) -> Response<Body> {
    let allowed = match &server.metrics_token {
        Some(expected) => bearer_is(req.headers(), expected),
        None => peer.ip().is_loopback(),
    };
    if !allowed {
        return unauthorized("metrics need --metrics-token (Authorization: Bearer TOKEN), or a request from this machine");
    }
    let text = super::metrics::render(&server.channels.all(), &server.global);
    let mut reply = Reply::bytes(200, Bytes::from(text));
    reply = reply.with_header("content-type", "text/plain; version=0.0.4; charset=utf-8");
    whole(reply)
}

/// True when the request carries `Authorization: Bearer EXPECTED` (compared in constant
/// time).
fn bearer_is(headers: &HeaderMap, expected: &str) -> bool {
    presented_token_plain(headers).is_some_and(|t| {
        bool::from(subtle::ConstantTimeEq::ct_eq(
            t.as_bytes(),
            expected.as_bytes(),
        ))
    })
}

fn presented_token_plain(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_channel_and_rest() {
        let id = "AAAAAAAAAAAAAAAAAAAAAA";
        assert_eq!(split_channel(&format!("/{id}")), Some((id, "/")));
        assert_eq!(split_channel(&format!("/{id}/a/b")), Some((id, "/a/b")));
        assert_eq!(split_channel(&format!("/{id}/")), Some((id, "/")));
        assert_eq!(split_channel("/short"), None);
        assert_eq!(split_channel("/"), None);
    }

    #[test]
    fn cross_site_requests_are_recognised() {
        let mut h = HeaderMap::new();
        assert!(!is_cross_site(&h));
        h.insert("host", "relay.example".parse().unwrap());
        h.insert("origin", "https://relay.example".parse().unwrap());
        assert!(!is_cross_site(&h));
        h.insert("origin", "https://evil.example".parse().unwrap());
        assert!(is_cross_site(&h));
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(is_cross_site(&h));
        h.insert("sec-fetch-site", "same-origin".parse().unwrap());
        assert!(!is_cross_site(&h));
    }
}

//! The inspector's HTTP routes under `/_hookctl/`:
//!
//! | route | what |
//! |---|---|
//! | `GET /_hookctl/` (and its files) | the page |
//! | `GET api/session` | the token (same origin only), the mode, the default target, signing |
//! | `GET api/events?q=&offset=&limit=` | a window of rows, newest first |
//! | `GET api/events/KEY` | one event in full |
//! | `GET api/events/KEY/curl?url=` | the event as a curl command |
//! | `GET api/stream` | the live feed (server-sent events) |
//! | `GET api/export?format=har\|jsonl&q=&keys=` | the matching (or chosen) events |
//! | `POST api/replay` | send events again (token) |
//! | `POST api/resend` | send an edited event and record it (token) |

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::body::Incoming;
use serde::Serialize;
use serde_json::Value;

use super::guard::{Access, SECURITY_HEADERS};
use super::resend::{BadRequest, ReplayRequest, ResendRequest};
use super::store::{Item, Key};
use super::{assets, curl, har, live, view, Inspector, PREFIX};
use crate::listen::server::{Body, Reserved};
use crate::signature::Scheme;

/// The most rows one window request returns.
const MAX_WINDOW: usize = 1_000;
/// The largest request body the API reads (an edited event).
const MAX_REQUEST: usize = 32 << 20;

/// The inspector as listen's server holds it, for requests under `/_hookctl/`.
pub struct Api(pub Arc<Inspector>);

impl Reserved for Api {
    fn serve(
        &self,
        req: Request<Incoming>,
    ) -> Pin<Box<dyn Future<Output = Response<Body>> + Send>> {
        let inspector = self.0.clone();
        Box::pin(async move { handle(&inspector, req).await })
    }
}

/// Answers one request under `/_hookctl/`.
pub async fn handle(inspector: &Arc<Inspector>, req: Request<Incoming>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();
    let rest = path.strip_prefix(PREFIX).unwrap_or_default().to_owned();
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let method = parts.method.clone();
    let access = match (&method, rest.starts_with("api/")) {
        (&Method::GET | &Method::HEAD, false) => Access::Page,
        (&Method::GET | &Method::HEAD, true) => Access::Read,
        _ => Access::Change,
    };
    if let Err(refused) = inspector.guard.check(&parts, access) {
        return error(StatusCode::FORBIDDEN, &refused.to_string());
    }
    let params = Params::parse(&query);
    match (&method, rest.as_str()) {
        (&Method::GET | &Method::HEAD, name) if !name.starts_with("api/") => {
            match assets::get(name) {
                Some((bytes, content_type)) => {
                    respond(StatusCode::OK, content_type, Bytes::from_static(bytes))
                }
                None => error(StatusCode::NOT_FOUND, "no such page"),
            }
        }
        (&Method::GET, "api/session") => json_response(StatusCode::OK, &session(inspector)),
        (&Method::GET, "api/stream") => {
            let Some(store) = inspector.store() else {
                return not_ready();
            };
            let mut response = Response::new(Either::Right(live::feed(
                store.clone(),
                inspector.closing(),
            )));
            secure(&mut response, "text/event-stream");
            response
        }
        (&Method::GET, "api/events") => {
            let Some(store) = inspector.store().cloned() else {
                return not_ready();
            };
            let offset = params.number("offset").unwrap_or(0);
            let limit = params.number("limit").unwrap_or(100).min(MAX_WINDOW);
            let q = params.get("q").unwrap_or_default();
            blocking(Box::new(move || {
                let window = match store.window(&q, offset, limit)? {
                    Ok(w) => w,
                    Err(e) => return Ok(error(StatusCode::BAD_REQUEST, &e.to_string())),
                };
                let (dropped, limits) = store.memory_state();
                Ok(json_response(
                    StatusCode::OK,
                    &Listing {
                        total: window.total,
                        matched: window.matched,
                        offset,
                        rows: window.rows.iter().map(|(k, i)| view::row(*k, i)).collect(),
                        memory: Memory {
                            dropped,
                            limit: limits.events,
                        },
                    },
                ))
            }))
            .await
        }
        (&Method::GET, route) if route.starts_with("api/events/") => {
            event_route(inspector, &route["api/events/".len()..], &params).await
        }
        (&Method::GET, "api/export") => export(inspector, &params).await,
        (&Method::POST, "api/replay") => {
            let request = match read_json(body).await {
                Ok(v) => ReplayRequest::from_json(&v),
                Err(e) => return e,
            };
            let request = match request {
                Ok(r) => r,
                Err(why) => return invalid(&why),
            };
            outcome(inspector.replay(request).await)
        }
        (&Method::POST, "api/resend") => {
            let request = match read_json(body).await {
                Ok(v) => ResendRequest::from_json(&v),
                Err(e) => return e,
            };
            let request = match request {
                Ok(r) => r,
                Err(why) => return invalid(&why),
            };
            outcome(inspector.resend(request).await)
        }
        _ => error(StatusCode::NOT_FOUND, "no such route"),
    }
}

/// What the page needs to start (`api/session`).
#[derive(Serialize)]
struct Session<'a> {
    token: Option<&'a str>,
    mode: &'a str,
    source: &'a str,
    file: bool,
    memory_limit: usize,
    receiver: Option<&'a str>,
    default_target: Option<String>,
    can_sign: bool,
    schemes: Vec<&'static str>,
    version: &'static str,
}

/// A window of rows (`api/events`).
#[derive(Serialize)]
struct Listing<'a> {
    total: usize,
    matched: usize,
    offset: usize,
    rows: Vec<view::Row<'a>>,
    memory: Memory,
}

#[derive(Serialize)]
struct Memory {
    dropped: u64,
    limit: usize,
}

/// What the page needs to start.
fn session(inspector: &Inspector) -> Session<'_> {
    let mut schemes: Vec<&str> = Scheme::NAMES.to_vec();
    let signing = inspector.config.signing.as_ref();
    if signing.is_none_or(|s| s.hmac.is_none()) {
        schemes.retain(|s| *s != "hmac");
    }
    let (memory_limit, has_file) = match inspector.store() {
        Some(store) => (store.memory_state().1.events, store.has_file()),
        None => (0, false),
    };
    Session {
        token: inspector.guard.served_token(),
        mode: inspector.config.mode,
        source: &inspector.config.source,
        file: has_file,
        memory_limit,
        receiver: inspector.receiver(),
        default_target: inspector
            .config
            .default_target
            .as_deref()
            .map(crate::deliver::redact_url),
        can_sign: signing.is_some(),
        schemes: if signing.is_some() {
            schemes
        } else {
            Vec::new()
        },
        version: env!("CARGO_PKG_VERSION"),
    }
}

/// `api/events/KEY` and `api/events/KEY/curl`.
async fn event_route(inspector: &Arc<Inspector>, route: &str, params: &Params) -> Response<Body> {
    let (key, curl_wanted) = match route.strip_suffix("/curl") {
        Some(key) => (key, true),
        None => (route, false),
    };
    let Ok(key) = key.parse::<Key>() else {
        return error(StatusCode::NOT_FOUND, "no such event");
    };
    let Some(store) = inspector.store().cloned() else {
        return not_ready();
    };
    let inspector = inspector.clone();
    let url = params.get("url").filter(|u| !u.is_empty());
    blocking(Box::new(move || {
        let event = match store.get(key)? {
            Some(Item::Event(e)) => e,
            Some(Item::Invalid { line, why }) => {
                return Ok(error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &format!("line {line}: {why}"),
                ))
            }
            Some(Item::Other { line }) => {
                return Ok(error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &format!("line {line} is not an event"),
                ))
            }
            None => return Ok(error(StatusCode::NOT_FOUND, "that event is no longer kept")),
        };
        if curl_wanted {
            let base = url
                .or_else(|| inspector.receiver().map(str::to_owned))
                .unwrap_or_else(|| "http://127.0.0.1:3000".to_owned());
            return Ok(respond(
                StatusCode::OK,
                "text/plain; charset=utf-8",
                Bytes::from(curl::render(&event, &base)),
            ));
        }
        let answer = store.answer(&event.id);
        Ok(json_response(
            StatusCode::OK,
            &view::detail(key, &event, answer),
        ))
    }))
    .await
}

/// `api/export`: HAR 1.2 or JSONL, of the chosen keys or of everything matching `q`.
async fn export(inspector: &Arc<Inspector>, params: &Params) -> Response<Body> {
    let Some(store) = inspector.store().cloned() else {
        return not_ready();
    };
    let har_wanted = match params.get("format").as_deref() {
        Some("har") | None => true,
        Some("jsonl") => false,
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("unknown format {other:?}; use har or jsonl"),
            )
        }
    };
    let keys: Option<Vec<Key>> = params
        .get("keys")
        .filter(|k| !k.is_empty())
        .map(|k| k.split(',').filter_map(|k| k.trim().parse().ok()).collect());
    let q = params.get("q").unwrap_or_default();
    let base = inspector
        .receiver()
        .unwrap_or("http://127.0.0.1:3000")
        .to_owned();
    blocking(Box::new(move || {
        let keys = match keys {
            Some(keys) => keys,
            None => match store.matching(&q)? {
                Ok(keys) => keys,
                Err(e) => return Ok(error(StatusCode::BAD_REQUEST, &e.to_string())),
            },
        };
        let mut har = har::Export::new();
        let mut jsonl = Vec::new();
        for key in keys {
            if let Some(Item::Event(e)) = store.get(key)? {
                if har_wanted {
                    har.push(&e, &base);
                } else {
                    e.write_json_line(&mut jsonl);
                }
            }
        }
        let (bytes, content_type, name) = if har_wanted {
            (har.finish(), "application/json", "hookctl.har")
        } else {
            (jsonl, "application/x-ndjson", "hookctl.jsonl")
        };
        let mut response = respond(StatusCode::OK, content_type, Bytes::from(bytes));
        if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
            response
                .headers_mut()
                .insert(http::header::CONTENT_DISPOSITION, value);
        }
        Ok(response)
    }))
    .await
}

/// Store work, run off the receiver's thread by [`blocking`].
type Work = Box<dyn FnOnce() -> std::io::Result<Response<Body>> + Send>;

/// Runs store work off the receiver's thread: a filter over a large file takes a while. One
/// boxed closure type, so there is one blocking task in the binary, not one per route.
async fn blocking(work: Work) -> Response<Body> {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("cannot read the events: {e}"),
        ),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("the inspector failed: {e}"),
        ),
    }
}

/// The request body as JSON (read into a `Value`, which the binary parses elsewhere too, so
/// no deserializer is built per request type).
async fn read_json(body: Incoming) -> Result<Value, Response<Body>> {
    let bytes = match Limited::new(body, MAX_REQUEST).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                &format!("cannot read the request: {e}"),
            ))
        }
    };
    serde_json::from_slice(&bytes).map_err(|e| invalid(&e.to_string()))
}

fn invalid(why: &str) -> Response<Body> {
    error(StatusCode::BAD_REQUEST, &format!("invalid request: {why}"))
}

fn outcome<T: Serialize>(result: anyhow::Result<T>) -> Response<Body> {
    match result {
        Ok(value) => json_response(StatusCode::OK, &value),
        Err(e) if e.is::<BadRequest>() => error(StatusCode::BAD_REQUEST, &e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e:#}")),
    }
}

fn not_ready() -> Response<Body> {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the inspector is not ready yet",
    )
}

/// `{"error": why}`.
#[derive(Serialize)]
struct Failure<'a> {
    error: &'a str,
}

fn error(status: StatusCode, why: &str) -> Response<Body> {
    json_response(status, &Failure { error: why })
}

fn json_response<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response<Body> {
    // Serialising into a Vec cannot fail for these types.
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    respond(status, "application/json", Bytes::from(bytes))
}

fn respond(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Either::Left(Full::new(body)));
    *response.status_mut() = status;
    secure(&mut response, content_type);
    response
}

fn secure<B>(response: &mut Response<B>, content_type: &'static str) {
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    for (name, value) in SECURITY_HEADERS {
        headers.insert(*name, HeaderValue::from_static(value));
    }
}

/// The query string's parameters, percent-decoded.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(query: &str) -> Params {
        Params(
            url::form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    fn number(&self, name: &str) -> Option<usize> {
        self.get(name).and_then(|v| v.parse().ok())
    }
}

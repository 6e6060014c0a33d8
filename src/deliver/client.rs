//! The two transports behind [`super::Deliverer`]: hyper over a keep-alive [`Pool`] for
//! `http://`, which sends the exact request target and only the event's end-to-end headers,
//! and reqwest with rustls for `https://` (which re-encodes the target by the WHATWG URL rules
//! and adds `accept: */*` when the event has no `accept`). Neither follows redirects or uses a
//! proxy.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE, HOST, RETRY_AFTER};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};

use super::pool::{Pool, PoolError};
use super::target::Target;
use crate::event::{is_hop_by_hop, Event};

/// What came back from one attempt.
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: Bytes,
    pub content_type: Option<String>,
}

/// How events reach the target.
pub enum Transport {
    Plain { pool: Pool, host: HeaderValue },
    Tls(reqwest::Client),
}

/// Why an attempt got no answer, before the URL is known.
enum Failure {
    /// The whole message, e.g. an invalid method.
    Refused(String),
    /// Why no connection could be made.
    Connect(String),
    /// Why the exchange failed after connecting.
    Request(String),
}

impl Transport {
    pub fn new(target: &Target) -> anyhow::Result<Transport> {
        if target.is_tls() {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .tcp_nodelay(true)
                .pool_idle_timeout(Duration::from_secs(30))
                .build()?;
            return Ok(Transport::Tls(client));
        }
        let (host, port) = target.host_port();
        let authority = HeaderValue::from_str(target.authority())
            .map_err(|_| anyhow::anyhow!("invalid host {:?}", target.authority()))?;
        Ok(Transport::Plain {
            pool: Pool::new(host, port),
            host: authority,
        })
    }

    /// Idle kept-alive connections not yet known to be closed.
    #[cfg(test)]
    pub fn idle_open(&self) -> usize {
        match self {
            Transport::Plain { pool, .. } => pool.idle_open(),
            Transport::Tls(_) => 0,
        }
    }

    /// One request and its whole response within `timeout`; on failure, one line that says
    /// what went wrong and what to try.
    pub async fn exchange(
        &self,
        target: &Target,
        event: &Event,
        timeout: Duration,
    ) -> Result<Answer, String> {
        let result = match self {
            Transport::Plain { pool, host } => {
                tokio::time::timeout(timeout, plain(pool, host, target, event)).await
            }
            Transport::Tls(client) => {
                tokio::time::timeout(timeout, tls(client, target, event)).await
            }
        };
        let url = || target.url_for(event);
        match result {
            Ok(Ok(answer)) => Ok(answer),
            Err(_) => Err(format!(
                "no answer from {} within {} (raise --timeout)",
                url(),
                humantime::format_duration(timeout)
            )),
            Ok(Err(Failure::Refused(message))) => Err(message),
            Ok(Err(Failure::Connect(cause))) => Err(format!(
                "cannot connect to {}: {cause}; is anything listening there? (start one with `hookctl listen`)",
                url()
            )),
            Ok(Err(Failure::Request(cause))) => Err(format!("request to {} failed: {cause}", url())),
        }
    }
}

async fn plain(
    pool: &Pool,
    host: &HeaderValue,
    target: &Target,
    event: &Event,
) -> Result<Answer, Failure> {
    let request = http_request(host, target, event)?;
    let (response, connection) = pool.send(request).await.map_err(|e| match e {
        PoolError::Connect(e) => Failure::Connect(root_cause(&e)),
        PoolError::Http(e) => Failure::Request(root_cause(&e)),
    })?;
    let (head, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| Failure::Request(root_cause(&e)))?
        .to_bytes();
    pool.give_back(connection);
    Ok(answer(head.status, &head.headers, body))
}

/// The request for `event`: its method, exact target, `Host`, and its end-to-end headers in
/// order, duplicates kept.
fn http_request(
    host: &HeaderValue,
    target: &Target,
    event: &Event,
) -> Result<Request<Full<Bytes>>, Failure> {
    let method = Method::from_bytes(event.method.as_bytes())
        .map_err(|_| Failure::Refused(format!("invalid method {:?}", event.method)))?;
    let uri = target.request_target(event).map_err(Failure::Refused)?;
    let mut request = Request::new(Full::new(event.body.clone()));
    *request.method_mut() = method;
    *request.uri_mut() = uri.into();
    let headers = request.headers_mut();
    headers.reserve(event.headers.len() + 1);
    headers.insert(HOST, host.clone());
    for (name, value) in &event.headers {
        if is_hop_by_hop(name) {
            continue;
        }
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Failure::Request(format!("invalid header name {name:?}")))?;
        let value = HeaderValue::from_bytes(value.as_bytes())
            .map_err(|_| Failure::Request(format!("invalid value for header {name}")))?;
        headers.append(name, value);
    }
    Ok(request)
}

async fn tls(client: &reqwest::Client, target: &Target, event: &Event) -> Result<Answer, Failure> {
    let method = reqwest::Method::from_bytes(event.method.as_bytes())
        .map_err(|_| Failure::Refused(format!("invalid method {:?}", event.method)))?;
    let mut request = client
        .request(method, target.url_for(event))
        .body(event.body.clone());
    for (name, value) in &event.headers {
        if !is_hop_by_hop(name) {
            request = request.header(name, value);
        }
    }
    let response = request.send().await.map_err(reqwest_failure)?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(reqwest_failure)?;
    Ok(answer(status, &headers, body))
}

fn reqwest_failure(e: reqwest::Error) -> Failure {
    if e.is_connect() {
        Failure::Connect(root_cause(&e))
    } else {
        Failure::Request(root_cause(&e))
    }
}

fn answer(status: StatusCode, headers: &HeaderMap, body: Bytes) -> Answer {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    Answer {
        status: status.as_u16(),
        retry_after: header(RETRY_AFTER).and_then(parse_retry_after),
        content_type: header(CONTENT_TYPE).map(str::to_owned),
        body,
    }
}

/// Retry-After in seconds or as an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// The innermost error's message, e.g. `Connection refused (os error 111)`.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

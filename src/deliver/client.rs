//! The one HTTP client stack behind [`super::Deliverer`], for `http://` and `https://` alike:
//! hyper-util's pooled client over rustls (ring, the webpki roots). A request carries the
//! event's exact target (see [`super::target`]), `Host` and the event's end-to-end headers,
//! and nothing else; no redirect is followed and no proxy is used.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE, HOST, RETRY_AFTER};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::{self, connect::HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::pki_types::CertificateDer;

use super::retry::parse_retry_after;
use super::target::Target;
use super::DeliveryError;
use crate::event::{is_hop_by_hop, Event};

/// Idle kept-alive connections are closed after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// What came back from one attempt.
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: Bytes,
    pub content_type: Option<String>,
}

/// Keep-alive connections to one target.
pub struct Client {
    inner: legacy::Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    host: HeaderValue,
}

impl Client {
    /// Trusts the webpki roots, and `extra_roots` besides.
    pub fn new(target: &Target, extra_roots: &[CertificateDer<'static>]) -> anyhow::Result<Client> {
        let connector = connector(extra_roots)?;
        let inner = legacy::Client::builder(TokioExecutor::new())
            .pool_idle_timeout(IDLE_TIMEOUT)
            .pool_timer(TokioTimer::new())
            // `Host` is set from the target, first among the headers, as before.
            .set_host(false)
            .build(connector);
        let host = HeaderValue::from_str(target.authority())
            .map_err(|_| anyhow::anyhow!("invalid host {:?}", target.authority()))?;
        Ok(Client { inner, host })
    }

    /// One request and its whole response within `timeout`.
    pub async fn exchange(
        &self,
        target: &Target,
        event: &Event,
        timeout: Duration,
    ) -> Result<Answer, DeliveryError> {
        let request = self.request(target, event)?;
        let exchange = async {
            let response = self
                .inner
                .request(request)
                .await
                .map_err(|e| DeliveryError::from_client(target.url_for(event), &e))?;
            let (head, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| DeliveryError::request(target.url_for(event), &e))?
                .to_bytes();
            Ok(answer(head.status, &head.headers, body))
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(DeliveryError::Timeout {
                    url: target.url_for(event),
                    timeout,
                })
            })
    }

    /// The request for `event`: its method, exact target, `Host`, and its end-to-end headers in
    /// order, duplicates kept.
    fn request(
        &self,
        target: &Target,
        event: &Event,
    ) -> Result<Request<Full<Bytes>>, DeliveryError> {
        let invalid = DeliveryError::InvalidRequest;
        let method = Method::from_bytes(event.method.as_bytes())
            .map_err(|_| invalid(format!("invalid method {:?}", event.method)))?;
        let mut request = Request::new(Full::new(event.body.clone()));
        *request.method_mut() = method;
        *request.uri_mut() = target.uri_for(event)?;
        let headers = request.headers_mut();
        headers.reserve(event.headers.len() + 1);
        headers.insert(HOST, self.host.clone());
        // Credentials in the target URL, unless the event carries its own.
        if let Some(credentials) = target.credentials() {
            if !event.headers.contains("authorization") {
                headers.insert(http::header::AUTHORIZATION, credentials.clone());
            }
        }
        for (name, value) in event.headers.iter_bytes() {
            if is_hop_by_hop(name) {
                continue;
            }
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| invalid(format!("invalid header name {name:?}")))?;
            let value = HeaderValue::from_bytes(value)
                .map_err(|_| invalid(format!("invalid value for header {name}")))?;
            headers.append(name, value);
        }
        Ok(request)
    }
}

/// The connector behind every hookctl HTTP client (deliveries, and `listen --source`):
/// `http://` and `https://` through rustls with ring, trusting the webpki roots and
/// `extra_roots`, with Nagle off.
pub fn connector(
    extra_roots: &[CertificateDer<'static>],
) -> anyhow::Result<HttpsConnector<HttpConnector>> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for cert in extra_roots {
        roots.add(cert.clone())?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut tcp = HttpConnector::new();
    tcp.set_nodelay(true);
    tcp.enforce_http(false);
    Ok(HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp))
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

//! Opening a subscription: `GET URL` with `Accept: text/event-stream`, the token as
//! `Authorization: Bearer`, and `Last-Event-ID` when resuming, over the delivery client's
//! stack (hyper-util and rustls). The answer decides what happens next: a stream, a reason to
//! retry (the relay is down, busy or restarting), or a reason to stop (the token is refused,
//! the channel does not exist, the URL is not an event stream).

use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use http::{HeaderValue, Request, StatusCode};
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::{self, connect::HttpConnector};
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;

use super::address::SourceUrl;
use crate::deliver::retry::parse_retry_after;
use crate::deliver::{describe_status, DeliveryError};

/// How long connecting and getting the response head may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a subscription did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Worth trying again later: the relay is unreachable, restarting or busy.
    #[error("{why}")]
    Retry {
        why: String,
        /// The relay's `Retry-After`.
        after: Option<Duration>,
    },
    /// Trying again cannot help: listen stops with this error.
    #[error("{0}")]
    Fatal(String),
}

/// The HTTP client every source of one listen shares.
pub struct Connector {
    client: legacy::Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
}

impl Connector {
    /// Trusts the webpki roots, and `extra_roots` besides.
    pub fn new(extra_roots: &[CertificateDer<'static>]) -> anyhow::Result<Connector> {
        let connector = crate::deliver::connector(extra_roots)?;
        let client = legacy::Client::builder(TokioExecutor::new())
            // Each stream is one long response; nothing is worth keeping idle.
            .pool_max_idle_per_host(0)
            .build(connector);
        Ok(Connector { client })
    }

    /// Subscribes to `source`, resuming after `last` when given.
    pub async fn open(&self, source: &SourceUrl, last: Option<u64>) -> Result<Incoming, Refused> {
        let request = request(source, last)?;
        let response = tokio::time::timeout(CONNECT_TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| Refused::Retry {
                why: format!(
                    "no answer within {}",
                    humantime::format_duration(CONNECT_TIMEOUT)
                ),
                after: None,
            })?
            .map_err(|e| Refused::Retry {
                why: connect_reason(source, &e),
                after: None,
            })?;
        let (head, body) = response.into_parts();
        classify(source, head.status, &head.headers)?;
        Ok(body)
    }
}

fn request(source: &SourceUrl, last: Option<u64>) -> Result<Request<Empty<Bytes>>, Refused> {
    let uri: http::Uri = source
        .request_url()
        .as_str()
        .parse()
        .map_err(|e| Refused::Fatal(format!("cannot request {}: {e}", source.shown())))?;
    let mut request = Request::new(Empty::new());
    *request.uri_mut() = uri;
    let headers = request.headers_mut();
    headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        USER_AGENT,
        HeaderValue::from_static(concat!("hookctl/", env!("CARGO_PKG_VERSION"))),
    );
    if let Some(token) = source.token() {
        let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            Refused::Fatal(format!(
                "the token for {} cannot be sent in a header: use the token `hookctl channel new` printed",
                source.shown()
            ))
        })?;
        value.set_sensitive(true);
        headers.insert(AUTHORIZATION, value);
    }
    if let Some(last) = last {
        headers.insert("last-event-id", HeaderValue::from(last));
    }
    Ok(request)
}

/// What the answer's status and content type mean for this subscription.
fn classify(
    source: &SourceUrl,
    status: StatusCode,
    headers: &http::HeaderMap,
) -> Result<(), Refused> {
    let shown = source.shown();
    let code = status.as_u16();
    match code {
        200 => {
            let content_type = headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if content_type.to_ascii_lowercase().starts_with("text/event-stream") {
                Ok(())
            } else {
                Err(Refused::Fatal(format!(
                    "{shown} is not an event stream (it answered {}); give the channel URL that `hookctl channel new` printed, or a smee.io channel",
                    if content_type.is_empty() { "with no content type".to_owned() } else { format!("with content type {content_type}") }
                )))
            }
        }
        401 => Err(Refused::Fatal(match source.token() {
            Some(_) => format!(
                "{shown} refused the token (401 Unauthorized): pass the channel's token with --token or HOOKCTL_SOURCE_TOKEN"
            ),
            None => format!(
                "{shown} needs a token (401 Unauthorized): pass the channel's token with --token or HOOKCTL_SOURCE_TOKEN"
            ),
        })),
        403 => Err(Refused::Fatal(format!(
            "{shown} refused the subscription (403 Forbidden)"
        ))),
        404 | 410 => Err(Refused::Fatal(format!(
            "{shown}: no such channel ({}); create one with `hookctl channel new`",
            describe_status(code)
        ))),
        408 | 429 | 500..=599 => Err(Refused::Retry {
            why: format!("answered {}", describe_status(code)),
            after: headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after),
        }),
        _ => Err(Refused::Fatal(format!(
            "{shown} answered {} to a subscription",
            describe_status(code)
        ))),
    }
}

/// A connection failure in a few words: the URL is already in the message around it.
fn connect_reason(source: &SourceUrl, error: &legacy::Error) -> String {
    match DeliveryError::from_client(source.shown().to_owned(), error) {
        DeliveryError::Refused { .. } => "connection refused".to_owned(),
        DeliveryError::Dns { cause, .. } => format!("cannot resolve the host: {cause}"),
        DeliveryError::Tls { cause, .. } => format!("TLS handshake failed: {cause}"),
        DeliveryError::Connect { cause, .. } | DeliveryError::Request { cause, .. } => cause,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify_status(
        status: u16,
        content_type: &str,
        token: Option<&str>,
    ) -> Result<(), Refused> {
        let source = SourceUrl::parse("https://relay.test/ch", token).unwrap();
        let mut headers = http::HeaderMap::new();
        if !content_type.is_empty() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
        }
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        classify(&source, StatusCode::from_u16(status).unwrap(), &headers)
    }

    #[test]
    fn statuses_decide_between_a_stream_a_retry_and_an_error() {
        assert_eq!(
            classify_status(200, "text/event-stream; charset=utf-8", None),
            Ok(())
        );
        let Err(Refused::Fatal(why)) = classify_status(200, "text/html", None) else {
            panic!("html is not a stream")
        };
        assert!(
            why.contains("is not an event stream (it answered with content type text/html)"),
            "{why}"
        );
        let Err(Refused::Fatal(why)) = classify_status(401, "", Some("t")) else {
            panic!("401 is fatal")
        };
        assert!(
            why.starts_with("https://relay.test/ch refused the token (401"),
            "{why}"
        );
        let Err(Refused::Fatal(why)) = classify_status(401, "", None) else {
            panic!("401 is fatal")
        };
        assert!(why.contains("needs a token"), "{why}");
        assert!(
            matches!(classify_status(404, "", None), Err(Refused::Fatal(w)) if w.contains("no such channel"))
        );
        assert_eq!(
            classify_status(503, "", None),
            Err(Refused::Retry {
                why: "answered 503 Service Unavailable".to_owned(),
                after: Some(Duration::from_secs(7))
            })
        );
        assert!(matches!(
            classify_status(429, "", None),
            Err(Refused::Retry { .. })
        ));
        assert!(matches!(
            classify_status(302, "", None),
            Err(Refused::Fatal(_))
        ));
    }

    #[test]
    fn the_request_carries_the_token_the_resume_point_and_the_format() {
        let source = SourceUrl::parse("https://relay.test/ch?token=abc", None).unwrap();
        let request = request(&source, Some(41)).unwrap();
        assert_eq!(request.uri(), "https://relay.test/ch?format=capture");
        assert_eq!(request.headers()["authorization"], "Bearer abc");
        assert!(request.headers()["authorization"].is_sensitive());
        assert_eq!(request.headers()["last-event-id"], "41");
        assert_eq!(request.headers()["accept"], "text/event-stream");
        let smee = SourceUrl::parse("https://smee.io/abc", Some("abc")).unwrap();
        let smee_request = super::request(&smee, None).unwrap();
        assert!(smee_request.headers().get("authorization").is_none());
        assert!(smee_request.headers().get("last-event-id").is_none());
    }
}

//! What goes over the wire, for `http://` and `https://` targets alike, against a raw server
//! in the test; and how failures to connect are told apart.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;

use super::{Deliverer, DeliveryConfig, DeliveryError, Peer, Target};
use crate::event::Event;

const WAIT: Duration = Duration::from_secs(5);

/// Reads one request (head and `content-length` body) and returns its head.
async fn read_request<S: AsyncRead + Unpin>(reader: &mut BufReader<S>) -> String {
    let mut head = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).await.unwrap() > 0,
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
    reader.read_exact(&mut vec![0; length]).await.unwrap();
    head
}

/// Answers each connection's first request with the next status and reports its head. Then
/// it closes the connection without having said so (no `connection: close`), the way a server
/// drops an idle keep-alive connection, once told to by the test (`close`), and says when.
struct Server {
    url: String,
    heads: mpsc::UnboundedReceiver<String>,
    close: mpsc::UnboundedSender<()>,
    closed: mpsc::UnboundedReceiver<()>,
}

/// Serves `http://`, or `https://` with `tls`.
async fn server(statuses: Vec<u16>, tls: Option<TlsAcceptor>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{}", listener.local_addr().unwrap());
    let (heads_tx, heads) = mpsc::unbounded_channel();
    let (close, mut close_rx) = mpsc::unbounded_channel();
    let (closed_tx, closed) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        for status in statuses {
            let (tcp, _) = listener.accept().await.unwrap();
            match &tls {
                Some(tls) => {
                    let stream = tls.accept(tcp).await.unwrap();
                    answer(stream, status, &heads_tx, &mut close_rx).await;
                }
                None => answer(tcp, status, &heads_tx, &mut close_rx).await,
            }
            closed_tx.send(()).unwrap();
        }
    });
    Server {
        url,
        heads,
        close,
        closed,
    }
}

/// Answers one request and reports its head, then closes the connection when told to.
async fn answer<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    status: u16,
    heads: &mpsc::UnboundedSender<String>,
    close: &mut mpsc::UnboundedReceiver<()>,
) {
    let mut stream = BufReader::new(stream);
    let head = read_request(&mut stream).await;
    let response = format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\n\r\nok");
    stream.write_all(response.as_bytes()).await.unwrap();
    stream.flush().await.unwrap();
    heads.send(head).unwrap();
    let _ = tokio::time::timeout(WAIT, close.recv()).await;
    stream.shutdown().await.unwrap();
}

/// TLS for `127.0.0.1` with a new self-signed certificate, and that certificate.
pub(crate) fn tls() -> (TlsAcceptor, CertificateDer<'static>) {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(signing_key.serialize_der().into()),
        )
        .unwrap();
    (TlsAcceptor::from(Arc::new(config)), cert.der().clone())
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

fn deliverer(url: &str, extra_roots: Vec<CertificateDer<'static>>) -> Deliverer {
    let config = DeliveryConfig {
        timeout: WAIT,
        extra_roots,
        ..DeliveryConfig::default()
    };
    let stop = tokio::sync::watch::channel(false).1;
    Deliverer::new(config, Target::parse(url).unwrap(), None, stop).unwrap()
}

/// Sends two events to `server`, which drops the connection between them, and checks the
/// bytes of the first request.
async fn target_and_headers_go_out_as_captured(mut server: Server, deliverer: Deliverer) {
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
    let head = server.heads.recv().await.unwrap();
    let lines: Vec<&str> = head.lines().collect();
    assert_eq!(lines[0], "POST /p{q}'|^?x='1'&z={}|^` HTTP/1.1");
    let authority = server.url.split_once("://").unwrap().1;
    let host = format!("host: {authority}");
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
    // goes out on a new one, without costing an attempt, whether or not the client has seen
    // the close yet.
    server.close.send(()).unwrap();
    server.closed.recv().await.unwrap();
    let outcome = deliverer.deliver(&event("/", None, &[])).await;
    assert_eq!(outcome.status, Some(201), "{:?}", outcome.error);
    assert_eq!(outcome.attempts, 1);
    let head = server.heads.recv().await.unwrap();
    assert!(head.starts_with("POST / HTTP/1.1\r\n"), "{head}");
    server.close.send(()).unwrap();
}

#[tokio::test]
async fn http_sends_the_target_and_headers_as_captured_and_replaces_a_dropped_connection() {
    let server = server(vec![200, 201], None).await;
    let deliverer = deliverer(&server.url, Vec::new());
    target_and_headers_go_out_as_captured(server, deliverer).await;
}

#[tokio::test]
async fn https_sends_the_same_bytes() {
    let (acceptor, cert) = tls();
    let server = server(vec![200, 201], Some(acceptor)).await;
    let deliverer = deliverer(&server.url, vec![cert]);
    target_and_headers_go_out_as_captured(server, deliverer).await;
}

#[tokio::test]
async fn an_untrusted_certificate_fails_the_handshake_and_is_not_retried() {
    let (acceptor, _) = tls();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        assert!(acceptor.accept(tcp).await.is_err());
    });
    let mut deliverer = deliverer(&url, Vec::new());
    deliverer.config.retries = 2;
    let outcome = deliverer.deliver(&event("/", None, &[])).await;
    let error = outcome.error.unwrap();
    assert!(matches!(error, DeliveryError::Tls { .. }), "{error:?}");
    assert_eq!(outcome.attempts, 1);
}

#[tokio::test]
async fn only_a_refused_connection_suggests_starting_a_listener() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused = deliverer(&format!("http://127.0.0.1:{port}"), Vec::new())
        .deliver(&event("/", None, &[]))
        .await
        .error
        .unwrap();
    assert!(
        matches!(refused, DeliveryError::Refused { .. }),
        "{refused:?}"
    );
    assert!(
        refused
            .with_hint(Peer::Receiver)
            .to_string()
            .contains("is anything listening there?"),
        "{refused}"
    );

    // `.invalid` never resolves (RFC 6761).
    let unknown = deliverer("http://hookctl-test.invalid:9", Vec::new())
        .deliver(&event("/", None, &[]))
        .await
        .error
        .unwrap();
    assert!(matches!(unknown, DeliveryError::Dns { .. }), "{unknown:?}");
    assert!(
        !unknown
            .with_hint(Peer::Receiver)
            .to_string()
            .contains("listening"),
        "{unknown}"
    );
    assert!(
        !refused.to_string().contains("listening"),
        "no hint in the message itself"
    );
    assert!(refused
        .with_hint(Peer::App)
        .to_string()
        .contains("is your app running"));
}

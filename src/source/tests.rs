//! Following a source over `https://`, in-process: a TLS event-stream server with a
//! certificate made for the test, and a sink that reports every event it gets.

use std::io::Write;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::{Format, SourceConfig, SourceUrl, Sources};
use crate::event::Event;
use crate::output::diag::Diag;

struct Collect(mpsc::UnboundedSender<(Event, Format)>);

impl super::Sink for Collect {
    async fn deliver(&self, event: Event, format: Format) -> Result<(), String> {
        let _ = self.0.send((event, format));
        Ok(())
    }
}

/// Diagnostics as lines over a channel.
struct Lines(mpsc::UnboundedSender<String>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = self
            .0
            .send(String::from_utf8_lossy(buf).trim_end().to_owned());
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const WAIT: std::time::Duration = std::time::Duration::from_secs(15);

fn diag() -> (Diag, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Diag::to_writer(Lines(tx)), rx)
}

/// An https event stream on 127.0.0.1 that sends `stream` to every subscriber, then stays
/// open.
async fn tls_server(stream: &'static str) -> (String, rustls::pki_types::CertificateDer<'static>) {
    let (acceptor, cert) = crate::deliver::wire_tests::tls();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/ch", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                break;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if tls.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let _ = tls
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
                    .await;
                let _ = tls.write_all(stream.as_bytes()).await;
                let _ = tls.flush().await;
                // Hold the stream open until the client goes.
                let _ = tls.read(&mut byte).await;
            });
        }
    });
    (url, cert)
}

fn config(url: &str, roots: Vec<rustls::pki_types::CertificateDer<'static>>) -> SourceConfig {
    SourceConfig {
        sources: vec![SourceUrl::parse(url, Some("t")).unwrap()],
        state: None,
        extra_roots: roots,
        max_event: 1 << 20,
    }
}

const STREAM: &str = "event: ready\ndata: {\"last\":0}\n\nid: 1\nevent: capture\ndata: {\"v\":1,\"kind\":\"event\",\"id\":\"evt_tls\",\"method\":\"POST\",\"path\":\"/x\",\"headers\":[],\"body\":\"{ \\\"a\\\" : 1 }\",\"seq\":1}\n\n";

#[tokio::test]
async fn an_https_source_is_followed_with_a_trusted_certificate() {
    let (url, cert) = tls_server(STREAM).await;
    let (diag, mut lines) = diag();
    let mut sources = Sources::<Collect>::new(config(&url, vec![cert])).unwrap();
    sources.follow(&diag);
    let subscribed = tokio::time::timeout(WAIT, sources.subscribed());
    assert_eq!(subscribed.await.unwrap(), Ok(()));
    let (tx, mut rx) = mpsc::unbounded_channel();
    sources.open(Arc::new(Collect(tx)));
    let (event, format) = tokio::time::timeout(WAIT, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(format, Format::Capture);
    assert_eq!(event.id, "evt_tls");
    assert_eq!(&event.body[..], b"{ \"a\" : 1 }");
    sources.stop().await;
    assert_eq!(lines.recv().await.unwrap(), format!("connected to {url}"));
}

#[tokio::test]
async fn an_untrusted_certificate_is_reported_and_retried() {
    let (url, _) = tls_server(STREAM).await;
    let (diag, mut lines) = diag();
    let mut sources = Sources::<Collect>::new(config(&url, Vec::new())).unwrap();
    sources.follow(&diag);
    let line = tokio::time::timeout(WAIT, lines.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(
        line.starts_with(&format!("cannot connect to {url}: TLS handshake failed: ")),
        "{line}"
    );
    assert!(line.contains("; retrying in "), "{line}");
    assert!(!sources.is_subscribed());
    sources.stop().await;
}

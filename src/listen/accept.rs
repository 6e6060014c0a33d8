//! The accept loop every hookctl server shares: the connection cap and its queue
//! ([`Admission`]), accept failures backed off and reported, and a graceful stop that finishes
//! the connections in flight. How an admitted connection is served is the caller's: listen
//! hands plain TCP to hyper, the relay adds TLS, a write-stall guard and its takeover.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::TokioTimer;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};

use super::admission::{Admission, Entry};
use crate::output::diag::{Diag, Throttle};

/// How long shutdown waits for requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// How long accepting waits after a failure (such as running out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Accepts connections on `listener` until `shutdown` completes, at most `max_connections`
/// served at once, and serves each admitted one on its own task with `serve_one`; then waits
/// (for up to [`DRAIN_TIMEOUT`]) for the connections handed to the [`Watcher`] to finish.
pub async fn accept_loop<C, Fut>(
    listener: TcpListener,
    max_connections: usize,
    diag: Diag,
    shutdown: impl Future<Output = ()>,
    serve_one: C,
) where
    C: Fn(TcpStream, SocketAddr, Watcher) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let serve_one = Arc::new(serve_one);
    let graceful = GracefulShutdown::new();
    let admission = Arc::new(Admission::new(max_connections, diag.clone()));
    let mut accept_errors = Throttle::default();
    // Tells connections still waiting for a slot that the server is stopping.
    let (stopping, stopping_rx) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors, say: back off, and say so once a second at
                        // most instead of once per attempt.
                        accept_errors.report(&diag, |n| format!(
                            "cannot accept connections: {e} ({n} time(s)); raise the file limit (ulimit -n) or lower --max-connections"
                        ));
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                };
                let entry = admission.enter();
                if let Entry::Full = entry {
                    admission.refuse(stream);
                    continue;
                }
                let _ = stream.set_nodelay(true);
                let admission = admission.clone();
                let stopping = stopping_rx.clone();
                let watcher = graceful.watcher();
                let serve_one = serve_one.clone();
                tokio::spawn(async move {
                    let slot = match entry {
                        Entry::Admitted(slot) => slot,
                        Entry::Queued(place) => match admission.wait(place, stopping.clone()).await {
                            Some(slot) => slot,
                            None if *stopping.borrow() => return,
                            None => return admission.refuse(stream),
                        },
                        Entry::Full => return,
                    };
                    serve_one(stream, peer, watcher).await;
                    drop(slot);
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    let _ = stopping.send(true);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await;
}

/// hyper's HTTP/1 settings for every hookctl server.
pub fn http1(header_timeout: Duration) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        // A client that shuts down its sending side after the request still reads the
        // answer: without this, hyper dropped the connection, and an event already captured
        // as answered got no answer at all.
        .half_close(true);
    builder
}

//! The inspector on a port of its own (`listen --ui-port`, `hookctl inspect`): the page and
//! its API under `/_hookctl/`, `/` redirecting there. At most [`MAX_CONNECTIONS`] at once,
//! a header timeout, and a graceful stop when the inspector closes. Not generic, so hyper's
//! connection code is built once for both callers.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt as _;
use http::{Response, StatusCode};
use http_body_util::{Either, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::{api, Inspector, PREFIX};
use crate::listen::server::{Body, Reserved as _};

/// Connections served at once; more wait for a slot.
pub const MAX_CONNECTIONS: usize = 64;
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves the inspector on `listener` until it closes ([`Inspector::close`]).
pub async fn serve(listener: TcpListener, inspector: Arc<Inspector>) {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut closing = inspector.closing();
    let api = Arc::new(api::Api(inspector));
    let stop = async move {
        let _ = closing.wait_for(|c| *c).await;
    };
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut stop => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let api = api.clone();
        // The answer is the same boxed future listen's port gets ([`api::Api`]), so hyper's
        // connection holds a box, not the whole API's state machine.
        let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
            let path = req.uri().path();
            let answer: Answer = if path.starts_with(PREFIX) {
                api.serve(req)
            } else if path == "/" {
                Box::pin(std::future::ready(redirect()))
            } else {
                Box::pin(std::future::ready(not_found()))
            };
            answer.map(Ok::<_, Infallible>)
        });
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service);
        let watched = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = watched.await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await;
}

type Answer = Pin<Box<dyn Future<Output = Response<Body>> + Send>>;

fn not_found() -> Response<Body> {
    let mut r = Response::new(Either::Left(Full::new(Bytes::from_static(
        b"not found: the inspector is at /_hookctl/\n",
    ))));
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

fn redirect() -> Response<Body> {
    let mut r = Response::new(Either::Left(Full::new(Bytes::new())));
    *r.status_mut() = StatusCode::FOUND;
    r.headers_mut().insert(
        http::header::LOCATION,
        http::HeaderValue::from_static(PREFIX),
    );
    r
}

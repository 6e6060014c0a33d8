//! Keep-alive HTTP/1.1 connections to one origin, straight over hyper: no URL re-encoding and
//! no headers besides the ones the request carries.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// One connection's sending half; its reading and writing run on a task of their own.
pub type Sender = SendRequest<Full<Bytes>>;

/// Idle connections older than this are closed rather than reused.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// At most this many idle connections are kept.
const MAX_IDLE: usize = 1024;

/// Why a request got no response.
pub enum PoolError {
    /// No connection could be made.
    Connect(std::io::Error),
    /// The connection failed while sending or receiving.
    Http(hyper::Error),
}

/// Idle connections to one host and port, most recently used last.
pub struct Pool {
    host: String,
    port: u16,
    idle: Mutex<Vec<(Sender, Instant)>>,
}

impl Pool {
    pub fn new(host: &str, port: u16) -> Pool {
        Pool {
            host: host.to_owned(),
            port,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Sends `request` on an idle connection, or on a new one. Returns the response with the
    /// connection, to hand back with [`Pool::give_back`] once the body has been read.
    pub async fn send(
        &self,
        mut request: Request<Full<Bytes>>,
    ) -> Result<(Response<Incoming>, Sender), PoolError> {
        while let Some(mut sender) = self.take() {
            // Waits for the connection to finish with the last exchange; fails once it closed.
            if sender.ready().await.is_err() {
                continue;
            }
            match sender.try_send_request(request).await {
                Ok(response) => return Ok((response, sender)),
                // Closed before the request went out (the server dropped an idle connection):
                // nothing was sent, so another connection may take it.
                Err(mut e) => match e.take_message() {
                    Some(unsent) => request = unsent,
                    None => return Err(PoolError::Http(e.into_error())),
                },
            }
        }
        let mut sender = self.connect().await?;
        let response = sender
            .send_request(request)
            .await
            .map_err(PoolError::Http)?;
        Ok((response, sender))
    }

    /// Keeps a connection whose last response was read in full, for the next request.
    pub fn give_back(&self, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push((sender, Instant::now()));
        }
    }

    /// Idle connections not yet known to be closed.
    #[cfg(test)]
    pub fn idle_open(&self) -> usize {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.iter()
            .filter(|(sender, _)| !sender.is_closed())
            .count()
    }

    fn take(&self) -> Option<Sender> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some((sender, since)) = idle.pop() {
            if !sender.is_closed() && since.elapsed() < IDLE_TIMEOUT {
                return Some(sender);
            }
        }
        None
    }

    /// Connects to the first address of the host that answers, and starts driving the
    /// connection on a task of its own.
    async fn connect(&self) -> Result<Sender, PoolError> {
        let addrs = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(PoolError::Connect)?;
        let mut last = None;
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    let (sender, connection) = http1::handshake(TokioIo::new(stream))
                        .await
                        .map_err(PoolError::Http)?;
                    tokio::spawn(async move {
                        // Its errors reach the request in flight through `sender`.
                        let _ = connection.await;
                    });
                    return Ok(sender);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(PoolError::Connect(last.unwrap_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no address found for {}", self.host),
            )
        })))
    }
}

//! A write-stall timeout for a connection: a peer that stops reading makes every write wait
//! for room in the socket; after the limit without progress the connection fails with
//! `TimedOut`, so hyper drops it and its slot. Hyper has no write timeout of its own.
//!
//! The timer is allocated the first time a write has to wait, so idle connections (the
//! relay's many subscribers) carry no timer, only a flag.

use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Set when a connection was dropped for a write stall; whoever serves the connection can
/// tell that apart from the peer closing it.
#[derive(Clone, Default, Debug)]
pub struct Stalled(Arc<AtomicBool>);

impl Stalled {
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// `inner` whose writes fail once they have made no progress for `limit` (never, without
/// one).
pub struct StallGuard<T> {
    inner: T,
    limit: Option<Duration>,
    /// Armed while a write waits; kept (disarmed) afterwards, so a busy connection does not
    /// allocate a timer for every wait.
    timer: Option<Pin<Box<Sleep>>>,
    armed: bool,
    stalled: Stalled,
}

impl<T> StallGuard<T> {
    pub fn new(inner: T, limit: Option<Duration>, stalled: Stalled) -> StallGuard<T> {
        StallGuard {
            inner,
            limit,
            timer: None,
            armed: false,
            stalled,
        }
    }

    /// After a write step: progress disarms the timer; waiting arms it (once) and fails the
    /// write when it has run out.
    fn check<R>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        let Some(limit) = self.limit else {
            return poll;
        };
        if poll.is_ready() {
            self.armed = false;
            return poll;
        }
        let deadline = Instant::now() + limit;
        if !self.armed {
            self.armed = true;
            match &mut self.timer {
                Some(timer) => timer.as_mut().reset(deadline),
                None => self.timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
        }
        let timer = self.timer.as_mut().expect("armed above");
        if timer.as_mut().poll(cx).is_ready() {
            self.stalled.set();
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the peer read nothing for {}",
                    humantime::format_duration(limit)
                ),
            )));
        }
        Poll::Pending
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for StallGuard<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for StallGuard<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.check(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.check(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.check(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.check(cx, poll)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt as _;

    #[tokio::test(start_paused = true)]
    async fn a_write_that_waits_past_the_limit_fails_and_sets_the_flag() {
        // A duplex pipe with 64 bytes of room and nobody reading the other end.
        let (near, _far) = tokio::io::duplex(64);
        let stalled = Stalled::default();
        let mut guard = StallGuard::new(near, Some(Duration::from_secs(30)), stalled.clone());
        guard.write_all(&[0; 64]).await.unwrap();
        assert!(!stalled.is_set());
        let err = guard.write_all(b"more").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(stalled.is_set());
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_reader_that_keeps_up_is_not_dropped() {
        let (near, mut far) = tokio::io::duplex(64);
        let stalled = Stalled::default();
        let mut guard = StallGuard::new(near, Some(Duration::from_secs(30)), stalled.clone());
        let reader = tokio::spawn(async move {
            let mut buf = [0; 64];
            let mut total = 0;
            while total < 64 * 10 {
                // Each wait is shorter than the limit, together far longer.
                tokio::time::sleep(Duration::from_secs(20)).await;
                total += tokio::io::AsyncReadExt::read(&mut far, &mut buf)
                    .await
                    .unwrap();
            }
        });
        guard.write_all(&[1; 64 * 10]).await.unwrap();
        reader.await.unwrap();
        assert!(!stalled.is_set());
    }
}

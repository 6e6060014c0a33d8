//! Serving a connection without hyper: a server may look at a new connection's first request
//! and keep the connection for itself (the relay's long-lived subscriptions, which need none
//! of hyper's 16 KiB of buffers per connection), or hand it on to hyper together with the
//! bytes it read ([`Rewind`]).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::stall::Stalled;

/// A connection's byte stream, plain or TLS.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

pub type BoxIo = Box<dyn Io>;

/// Decides, per new connection, whether it is served here or by hyper.
pub trait Takeover: Send + Sync + 'static {
    /// Serves `io` to its end and returns `None`, or returns it with what was read from it,
    /// for hyper.
    fn take(
        &self,
        io: BoxIo,
        peer: SocketAddr,
        stalled: Stalled,
    ) -> Pin<Box<dyn Future<Output = Option<Rewind>> + Send>>;
}

/// `inner`, whose reads first give back `prefix`: the bytes already read from it.
pub struct Rewind {
    prefix: Bytes,
    inner: BoxIo,
}

impl Rewind {
    pub fn new(prefix: Bytes, inner: BoxIo) -> Rewind {
        Rewind { prefix, inner }
    }
}

impl AsyncRead for Rewind {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.prefix.has_remaining() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix[..n]);
            self.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    #[tokio::test]
    async fn reads_give_the_prefix_first_then_the_stream() {
        let (near, mut far) = tokio::io::duplex(64);
        let mut rewind = Rewind::new(Bytes::from_static(b"GET / "), Box::new(near));
        far.write_all(b"HTTP/1.1\r\n").await.unwrap();
        drop(far);
        let mut all = Vec::new();
        rewind.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, b"GET / HTTP/1.1\r\n");
    }
}

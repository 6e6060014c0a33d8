//! The connection cap (`--max-connections`). A connection past it waits for a slot, up to
//! [`QUEUE_WAIT`], in a queue of at most [`QUEUED_PER_SLOT`] connections per slot; one that
//! cannot wait is refused at once with a `503` and `Retry-After`. No client is left in the
//! kernel's backlog until it gives up: each is served, or told to come back.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use crate::output::diag::{Diag, Throttle};

/// Connections that may wait per slot.
const QUEUED_PER_SLOT: usize = 8;

/// How long a connection waits for a slot before it is refused.
const QUEUE_WAIT: Duration = Duration::from_secs(10);

/// The whole answer to a connection that gets no slot.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: 51\r\n\r\n{\"error\":\"too many connections; retry in a second\"}";

/// How long a refusal may take: writing the 503 and reading what the client sent meanwhile.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(1);

/// What a new connection gets.
pub enum Entry {
    /// A slot now, held until the connection closes.
    Admitted(OwnedSemaphorePermit),
    /// A place in the queue: wait for a slot with [`Admission::wait`].
    Queued(OwnedSemaphorePermit),
    /// Neither: refuse it with [`Admission::refuse`].
    Full,
}

/// Hands out connection slots, queues or refuses connections past the cap.
pub struct Admission {
    max: usize,
    slots: Arc<Semaphore>,
    queue: Arc<Semaphore>,
    /// Refusals in progress, capped too: past it a connection is just closed.
    refusals: Arc<Semaphore>,
    notices: Mutex<Throttle>,
    diag: Diag,
}

impl Admission {
    pub fn new(max: usize, diag: Diag) -> Admission {
        let max = max.max(1);
        Admission {
            max,
            slots: Arc::new(Semaphore::new(max)),
            queue: Arc::new(Semaphore::new(max.saturating_mul(QUEUED_PER_SLOT))),
            refusals: Arc::new(Semaphore::new(max)),
            notices: Mutex::new(Throttle::default()),
            diag,
        }
    }

    /// A slot, a place in the queue, or neither.
    pub fn enter(&self) -> Entry {
        if let Ok(slot) = self.slots.clone().try_acquire_owned() {
            return Entry::Admitted(slot);
        }
        match self.queue.clone().try_acquire_owned() {
            Ok(place) => Entry::Queued(place),
            Err(_) => Entry::Full,
        }
    }

    /// Waits in the queue for a slot, in arrival order; `None` after [`QUEUE_WAIT`], or as
    /// soon as `stopping` turns true (the server is shutting down).
    pub async fn wait(
        &self,
        place: OwnedSemaphorePermit,
        mut stopping: watch::Receiver<bool>,
    ) -> Option<OwnedSemaphorePermit> {
        let slot = tokio::select! {
            slot = tokio::time::timeout(QUEUE_WAIT, self.slots.clone().acquire_owned()) => slot,
            _ = stopping.wait_for(|s| *s) => return None,
        };
        drop(place);
        slot.ok()?.ok()
    }

    /// Answers `stream` with a 503 and closes it, in the background and bounded in time; says
    /// so at most once a second.
    pub fn refuse(&self, mut stream: TcpStream) {
        let max = self.max;
        self.notices
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .report(&self.diag, |n| {
                format!("{n} connection(s) refused with 503: --max-connections ({max}) reached and {} waiting", max * QUEUED_PER_SLOT)
            });
        let Ok(permit) = self.refusals.clone().try_acquire_owned() else {
            return;
        };
        tokio::spawn(async move {
            let _permit = permit;
            let _ = tokio::time::timeout(REFUSAL_TIMEOUT, async {
                stream.write_all(BUSY).await?;
                stream.shutdown().await?;
                // Closing with unread input would reset the connection before the client
                // reads the answer.
                let mut sink = [0u8; 4096];
                while stream.read(&mut sink).await? > 0 {}
                std::io::Result::Ok(())
            })
            .await;
        });
    }
}

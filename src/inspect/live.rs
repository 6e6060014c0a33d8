//! The live feed (`GET api/stream`, server-sent events): a `change` event whenever there may
//! be new rows, at most every [`COALESCE`]. The feed looks at the store's version every
//! [`COALESCE`], so a burst of deliveries costs the page one refresh and the receiver nothing
//! but a counter. Ends when the inspector closes.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use tokio::sync::watch;

use super::store::Store;

/// How often the feed looks for changes: the shortest time between two `change` events.
pub const COALESCE: Duration = Duration::from_millis(250);

/// A comment sent when nothing happened for this long, so proxies and the browser keep the
/// connection.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// Looks without a change before a keep-alive comment.
const KEEPALIVE_LOOKS: u32 = (KEEPALIVE.as_millis() / COALESCE.as_millis()) as u32;

struct Feed {
    store: Arc<Store>,
    closing: watch::Receiver<bool>,
    /// The version last sent; `None` before the first event.
    sent: Option<u64>,
    /// Looks since the last frame.
    quiet: u32,
    done: bool,
}

/// The event stream for `store`'s changes, until `closing` turns true.
pub fn feed(store: Arc<Store>, closing: watch::Receiver<bool>) -> BoxBody<Bytes, Infallible> {
    let feed = Feed {
        store,
        closing,
        sent: None,
        quiet: 0,
        done: false,
    };
    let frames = stream::unfold(feed, |mut feed| async move {
        if feed.done {
            return None;
        }
        if feed.sent.is_some() {
            loop {
                let closing = tokio::select! {
                    _ = tokio::time::sleep(COALESCE) => false,
                    _ = feed.closing.wait_for(|c| *c) => true,
                };
                if closing {
                    feed.done = true;
                    return Some((data(b"event: bye\ndata: {}\n\n"), feed));
                }
                if feed.sent != Some(feed.store.version()) {
                    break;
                }
                feed.quiet += 1;
                if feed.quiet >= KEEPALIVE_LOOKS {
                    feed.quiet = 0;
                    return Some((data(b": keep-alive\n\n"), feed));
                }
            }
        }
        let version = feed.store.version();
        feed.sent = Some(version);
        feed.quiet = 0;
        Some((
            Ok(Frame::data(Bytes::from(format!(
                "event: change\ndata: {version}\n\n"
            )))),
            feed,
        ))
    });
    StreamBody::new(frames).boxed()
}

fn data(bytes: &'static [u8]) -> Result<Frame<Bytes>, Infallible> {
    Ok(Frame::data(Bytes::from_static(bytes)))
}

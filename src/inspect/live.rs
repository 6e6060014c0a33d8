//! The live feed (`GET api/stream`, server-sent events): a `change` event whenever there may
//! be new rows, at most every [`COALESCE`], so a burst of deliveries costs the page one
//! refresh and the receiver nothing but a counter. Ends when the inspector closes.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use tokio::sync::watch;

/// The shortest time between two `change` events.
pub const COALESCE: Duration = Duration::from_millis(250);

/// A comment sent when nothing happened for this long, so proxies and the browser keep the
/// connection.
const KEEPALIVE: Duration = Duration::from_secs(15);

enum State {
    Start,
    Wait,
    Done,
}

enum Next {
    Changed,
    Closing,
    Idle,
}

/// The event stream for `changes`, until `closing` turns true.
pub fn feed(
    changes: watch::Receiver<u64>,
    closing: watch::Receiver<bool>,
) -> BoxBody<Bytes, Infallible> {
    let frames = stream::unfold(
        (State::Start, changes, closing),
        |(state, mut changes, mut closing)| async move {
            match state {
                State::Done => None,
                State::Start => {
                    let version = *changes.borrow_and_update();
                    Some((frame(version), (State::Wait, changes, closing)))
                }
                State::Wait => {
                    tokio::time::sleep(COALESCE).await;
                    let next = tokio::select! {
                        changed = changes.changed() => match changed {
                            Ok(()) => Next::Changed,
                            Err(_) => return None,
                        },
                        _ = closing.wait_for(|c| *c) => Next::Closing,
                        _ = tokio::time::sleep(KEEPALIVE) => Next::Idle,
                    };
                    Some(match next {
                        Next::Changed => {
                            let version = *changes.borrow_and_update();
                            (frame(version), (State::Wait, changes, closing))
                        }
                        Next::Closing => (
                            Ok(Frame::data(Bytes::from_static(b"event: bye\ndata: {}\n\n"))),
                            (State::Done, changes, closing),
                        ),
                        Next::Idle => (
                            Ok(Frame::data(Bytes::from_static(b": keep-alive\n\n"))),
                            (State::Wait, changes, closing),
                        ),
                    })
                }
            }
        },
    );
    StreamBody::new(frames).boxed()
}

fn frame(version: u64) -> Result<Frame<Bytes>, Infallible> {
    Ok(Frame::data(Bytes::from(format!(
        "event: change\ndata: {version}\n\n"
    ))))
}

//! The one seam between `listen` and whoever watches it (the web inspector): told when listen
//! is ready, about each delivery once it is handled, and when listen stops. It runs on the
//! receiver's path, so an observer must only note the event and return.

use std::sync::Arc;

use bytes::Bytes;

use super::capture::CaptureWriter;
use super::server::Reserved;
use crate::event::Event;

/// What an observer learns when listen is ready.
pub struct Started<'a> {
    /// The receiver's URL, e.g. `http://127.0.0.1:3000`; `None` with `--no-port`.
    pub url: Option<&'a str>,
    /// The capture writer when `--capture` is set: the file every delivery is in.
    pub capture: Option<CaptureWriter>,
}

/// Watches listen. `observed` is called for every delivery that was handled (counted,
/// captured and answered), with its notes set: the status it was answered with, the signature
/// verdict and the forward outcome (not yet known with `--ack-first`), and the app's answer
/// body when it was forwarded and waited for.
pub trait Observe: Send + Sync {
    fn started(&self, started: Started<'_>);
    fn observed(&self, event: &Event, answer: Option<&Bytes>);
    /// Listen is stopping: long-lived responses (a live feed) should end now.
    fn stopping(&self);
    /// Who serves the requests under `/_hookctl/` on listen's own port, if anyone.
    fn reserved(&self) -> Option<Arc<dyn Reserved>>;
}

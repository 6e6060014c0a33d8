//! The web inspector: a page that lists every event live, shows one in full, searches,
//! replays, edits and resends, copies as curl and exports HAR or JSONL.
//!
//! [`Inspector`] holds the events ([`store`]) and answers the HTTP API ([`api`]) under
//! `/_hookctl/`; the page is plain HTML, CSS and JavaScript in `ui/`, embedded ([`assets`]).
//! `listen --ui` watches listen through [`crate::listen::observe::Observe`] and serves on
//! listen's own port or on `--ui-port` ([`server`]); `hookctl inspect FILE` serves a capture
//! file or a HAR file ([`run`]). Who may do what is decided in [`guard`].

pub mod api;
pub mod assets;
pub mod curl;
pub mod file_index;
pub mod filter;
pub mod guard;
pub mod har;
pub mod live;
pub mod open;
pub mod resend;
pub mod server;
pub mod store;
pub mod view;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::deliver::DeliveryConfig;
use crate::event::Event;
use crate::listen::capture::CaptureWriter;
use crate::listen::observe::{Observe, Started};
use crate::listen::server::Reserved;
use crate::output::diag::Diag;
use crate::signature::{HmacOptions, Secret};
use guard::Guard;
use store::{Store, MEMORY_LIMITS};

/// The path the page is served at.
pub const PREFIX: &str = "/_hookctl/";

/// How the inspector re-signs edited events: a secret from the environment or the command
/// line, never shown in the page.
#[derive(Clone)]
pub struct Signing {
    pub secret: Secret,
    /// Options of the generic `hmac` scheme, when given.
    pub hmac: Option<HmacOptions>,
}

/// What the inspector is for and what it may do.
pub struct InspectorConfig {
    /// `listen` or `inspect`, shown in the page.
    pub mode: &'static str,
    /// Where replays go unless the user types another URL (listen's `--forward-to`, or
    /// inspect's `--to`).
    pub default_target: Option<String>,
    pub delivery: DeliveryConfig,
    pub signing: Option<Signing>,
    /// The source named in the page (a file, or "memory").
    pub source: String,
    pub diag: Diag,
    /// Open the page in a browser once it is served.
    pub open: bool,
}

/// Where the inspector is and what it serves; shared by the API, the live feed and listen.
pub struct Inspector {
    pub config: InspectorConfig,
    pub guard: Guard,
    store: OnceLock<Arc<Store>>,
    /// Listen's capture, where edited events are recorded; `None` keeps them in memory.
    capture: Mutex<Option<CaptureWriter>>,
    /// The receiver's URL (curl's default target), once known.
    receiver: OnceLock<String>,
    /// The page's URL, once known.
    page: OnceLock<String>,
    closing: watch::Sender<bool>,
}

impl Inspector {
    pub fn new(config: InspectorConfig, guard: Guard) -> Arc<Inspector> {
        Arc::new(Inspector {
            config,
            guard,
            store: OnceLock::new(),
            capture: Mutex::new(None),
            receiver: OnceLock::new(),
            page: OnceLock::new(),
            closing: watch::channel(false).0,
        })
    }

    /// Serves `store` (for `inspect`; listen's store is set when listen starts).
    pub fn set_store(&self, store: Arc<Store>) {
        let _ = self.store.set(store);
    }

    pub fn store(&self) -> Option<&Arc<Store>> {
        self.store.get()
    }

    /// The receiver's URL, for curl commands and HAR URLs.
    pub fn receiver(&self) -> Option<&str> {
        self.receiver.get().map(String::as_str)
    }

    pub fn set_receiver(&self, url: &str) {
        let _ = self.receiver.set(url.to_owned());
    }

    /// Announces the page's URL (`base` is `http://host:port`) and opens it if asked.
    pub fn announce(&self, base: &str) {
        let url = format!("{}{PREFIX}", base.trim_end_matches('/'));
        let _ = self.page.set(url.clone());
        let diag = &self.config.diag;
        match self.guard.served_token() {
            Some(_) => diag.line(format_args!("inspector on {url}")),
            None => diag.line(format_args!(
                "inspector on {url} (open {url}#token=YOUR_UI_TOKEN)"
            )),
        }
        if self.config.open {
            if let Err(e) = open::browser(&url) {
                diag.warn(format_args!(
                    "cannot open a browser ({e}); open {url} yourself"
                ));
            }
        }
    }

    /// Records an edited event: in listen's capture when there is one, else in memory.
    pub async fn record(&self, event: Event) -> anyhow::Result<Option<store::Key>> {
        let capture = self
            .capture
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let store = self
            .store()
            .ok_or_else(|| anyhow::anyhow!("the inspector is not ready"))?;
        match capture {
            Some(writer) => {
                writer.append_event(&event).await.map_err(|e| {
                    anyhow::anyhow!("cannot write to {}: {e}", writer.path().display())
                })?;
                store.changed();
                Ok(None)
            }
            None => Ok(Some(store.push(Arc::new(event)))),
        }
    }

    /// Ends the live feeds, so the server can stop.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }
}

/// `listen --ui`: the inspector watching listen.
pub struct ListenObserver {
    pub inspector: Arc<Inspector>,
    /// Serve on listen's own port (otherwise on `--ui-port`).
    pub same_port: bool,
}

impl Observe for ListenObserver {
    fn started(&self, started: Started<'_>) {
        let me = &self.inspector;
        if let Some(url) = started.url {
            me.set_receiver(url);
        }
        let store = match &started.capture {
            Some(writer) => match Store::file(writer.path(), MEMORY_LIMITS) {
                Ok(store) => store,
                Err(e) => {
                    me.config.diag.warn(format_args!(
                        "the inspector cannot read {}: {e}; it shows the latest events from memory",
                        writer.path().display()
                    ));
                    Store::memory(MEMORY_LIMITS)
                }
            },
            None => Store::memory(MEMORY_LIMITS),
        };
        if let (Some(told), Some(writer)) = (store.told(), &started.capture) {
            // The index learns of listen's lines as they are written, not by reading them back.
            writer.watch(told);
            *me.capture.lock().unwrap_or_else(|e| e.into_inner()) = started.capture;
        }
        me.set_store(Arc::new(store));
        if let (true, Some(url)) = (self.same_port, started.url) {
            if let Some(addr) = url.strip_prefix("http://").and_then(|a| a.parse().ok()) {
                me.guard.allow(addr);
            }
            me.announce(url);
        }
    }

    fn observed(&self, event: &Event, answer: Option<&Bytes>) {
        let Some(store) = self.inspector.store() else {
            return;
        };
        if let Some(answer) = answer {
            store.keep_answer(&event.id, answer);
        }
        if store.has_file() {
            store.changed();
        } else {
            store.push(Arc::new(event.clone()));
        }
    }

    fn stopping(&self) {
        self.inspector.close();
    }

    fn reserved(&self) -> Option<Arc<dyn Reserved>> {
        self.same_port
            .then(|| Arc::new(api::Api(self.inspector.clone())) as Arc<dyn Reserved>)
    }
}

/// `hookctl inspect FILE`.
pub struct InspectRun {
    pub file: PathBuf,
    pub config: InspectorConfig,
    /// `--ui-token`, for a server others can reach.
    pub token: Option<String>,
}

/// Serves the inspector over a capture (`.jsonl`) or HAR (`.har`) file on `listener` until
/// `stop` completes.
pub async fn run(
    listener: TcpListener,
    run: InspectRun,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    let store = open_store(&run.file)?;
    let guard = match run.token {
        Some(token) => Guard::with_token(token),
        None => Guard::loopback(),
    };
    guard.allow(addr);
    let inspector = Inspector::new(run.config, guard);
    let store = Arc::new(store);
    inspector.set_store(store.clone());
    if store.has_file() {
        // Lines another process (a listen) appends show up live.
        tokio::spawn(follow(run.file.clone(), store, inspector.closing()));
    }
    let base = format!("http://{addr}");
    inspector.set_receiver(&base);
    inspector.announce(&base);
    let closer = inspector.clone();
    let stop = async move {
        stop.await;
        closer.close();
    };
    tokio::join!(server::serve(listener, inspector), stop);
    Ok(())
}

/// How often `inspect` looks whether its file grew.
const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Tells the page when the file grows (or shrinks), until the inspector closes.
async fn follow(path: PathBuf, store: Arc<Store>, mut closing: watch::Receiver<bool>) {
    let size = |p: &PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut last = size(&path);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(FOLLOW_EVERY) => {}
            _ = closing.wait_for(|c| *c) => return,
        }
        let now = size(&path);
        if now != last {
            last = now;
            store.changed();
        }
    }
}

/// The store for `inspect FILE`: a HAR file's entries in memory, or a capture file indexed.
fn open_store(file: &std::path::Path) -> anyhow::Result<Store> {
    let name = file.display();
    let is_har = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("har"));
    if is_har {
        let bytes = std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {name}: {e}"))?;
        let events = har::import(&bytes).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        let store = Store::memory(store::Limits {
            events: events.len() + MEMORY_LIMITS.events,
            bytes: usize::MAX,
        });
        for event in events {
            store.push(Arc::new(event));
        }
        return Ok(store);
    }
    Store::file(file, MEMORY_LIMITS).map_err(|e| anyhow::anyhow!("cannot open {name}: {e}"))
}

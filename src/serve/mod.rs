//! `hookctl serve`: a self-hosted webhook relay. Providers post to a channel's URL; each
//! event is stored in the channel's durable log ([`log`]) before it is answered, and
//! subscribers holding the channel's token read the log as Server-Sent Events, resuming
//! where they left off ([`subscribe`]), in hookctl's capture format or smee.io's ([`smee`]).
//! The wire protocol is in docs/relay-protocol.md.

#[cfg(feature = "amqp")]
pub mod broker;
pub mod channels;
pub mod edge;
pub mod ids;
pub mod lean;
pub mod log;
pub mod logs;
pub mod membership;
pub mod metrics;
pub mod ratelimit;
pub mod routes;
mod segment;
pub mod smee;
pub mod subscribe;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hyper::service::service_fn;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::listen::server::{serve_connections, Limits};
use channels::Channels;
use log::{CacheBudget, LogSettings, Retention};
use logs::Logger;
use metrics::Global;

/// How often retention is applied.
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// Memory all channels' caches of latest lines may take together.
const CACHE_BUDGET: usize = 256 << 20;

/// Everything `serve` is asked to do.
pub struct ServeConfig {
    /// Where channels and their logs are stored.
    pub data: PathBuf,
    /// The URL providers reach this relay at, for the channel URLs it hands out; else the
    /// request's Host.
    pub public_url: Option<String>,
    pub retention: Retention,
    /// fsync every batch before answering.
    pub fsync: bool,
    pub max_body: usize,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub max_connections: usize,
    pub max_channels: usize,
    /// Drop a connection (a subscriber that stopped reading) whose writes make no progress
    /// for this long.
    pub stall_timeout: Duration,
    /// HTTPS with this configuration.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// `/metrics` needs this bearer token; without one only loopback clients get metrics.
    pub metrics_token: Option<String>,
    /// `/new` needs this bearer token; without one anyone may create channels.
    pub create_token: Option<String>,
    /// Events per second each channel takes at most.
    pub rate_limit: Option<f64>,
    /// Signature checks per channel (`*` for the others).
    pub verify: Vec<(String, edge::EdgeCheck)>,
    pub log: Logger,
    /// Share channels with other relays through this broker's streams.
    #[cfg(feature = "amqp")]
    pub broker: Option<broker::BrokerConfig>,
}

/// Request limits the routes apply.
pub struct RouteLimits {
    pub max_body: usize,
    pub body_timeout: Duration,
    /// Events per second per channel.
    pub rate_limit: Option<f64>,
}

/// What every request handler shares.
pub struct Server {
    pub channels: Arc<Channels>,
    pub global: Global,
    pub limits: RouteLimits,
    pub log: Logger,
    /// Turns true when the server stops: subscriptions end.
    pub stop: watch::Receiver<bool>,
    pub metrics_token: Option<String>,
    pub create_token: Option<String>,
    pub edge: edge::Edge,
    /// With `--broker`: events and new channels go through it.
    #[cfg(feature = "amqp")]
    pub broker: Option<Arc<broker::Broker>>,
    public_url: Option<String>,
    scheme: &'static str,
    bound: String,
}

impl Server {
    fn clone_channels(&self) -> Arc<Channels> {
        self.channels.clone()
    }

    /// `https://HOST` for the URLs handed out: --public-url, else the request's Host when it
    /// is a plain host name or address, else the address bound.
    fn base_url(&self, headers: &http::HeaderMap) -> String {
        if let Some(url) = &self.public_url {
            return url.trim_end_matches('/').to_owned();
        }
        let host = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                !h.is_empty()
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            })
            .unwrap_or(&self.bound);
        format!("{}://{host}", self.scheme)
    }
}

/// Serves `listener` until `stop` completes: announces `listening on URL`, loads the
/// channels, applies retention every second, and on stop ends every subscription, finishes
/// the requests in flight and closes the logs.
pub async fn run(
    listener: TcpListener,
    config: ServeConfig,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let url = format!("{scheme}://{addr}");
    let _file_size_limit = crate::shutdown::survive_file_size_limit();
    let log = config.log.clone();
    #[cfg(feature = "amqp")]
    let stream = config.broker.as_ref().map(|b| b.stream.clone());
    #[cfg(not(feature = "amqp"))]
    let stream: Option<String> = None;
    let settings = Arc::new(LogSettings {
        retention: config.retention.clone(),
        fsync: config.fsync,
        cache: CacheBudget::new(CACHE_BUDGET),
        diag: log.diag.clone(),
        sparse: stream.is_some(),
    });
    let channels = Arc::new(Channels::open(&config.data, settings, config.max_channels)?);
    membership::claim(&config.data, stream.as_deref(), !channels.is_empty())?;
    #[cfg(feature = "amqp")]
    let connected = match config.broker.clone() {
        Some(broker_config) => {
            let (broker, session) = broker::Broker::connect(broker_config).await?;
            let tails = broker::follow::Tails::load(&broker, &config.data)?;
            Some((broker, session, tails))
        }
        None => None,
    };
    let (stopping, stop_rx) = watch::channel(false);
    let server = Arc::new(Server {
        channels: channels.clone(),
        global: Global::default(),
        limits: RouteLimits {
            max_body: config.max_body,
            body_timeout: config.body_timeout,
            rate_limit: config.rate_limit,
        },
        log: log.clone(),
        stop: stop_rx,
        metrics_token: config.metrics_token.clone(),
        create_token: config.create_token.clone(),
        edge: edge::Edge::new(config.verify),
        #[cfg(feature = "amqp")]
        broker: connected.as_ref().map(|(broker, _, _)| broker.clone()),
        public_url: config.public_url.clone(),
        scheme,
        bound: addr.to_string(),
    });
    match log.format {
        logs::LogFormat::Text => log.diag.line(format_args!("listening on {url}")),
        logs::LogFormat::Json => log.info("listening", &[("url", url.as_str().into())]),
    }
    log.info(
        "serving",
        &[
            ("channels", channels.len().into()),
            ("data", config.data.display().to_string().into()),
        ],
    );
    for channel in server.edge.channels() {
        if channels.get(channel).is_none() {
            log.warn(
                "--verify names a channel this relay does not have",
                &[("channel", channel.into())],
            );
        }
    }
    if addr.ip().is_unspecified() && config.tls.is_none() {
        log.warn(
            "serving plain HTTP on every network interface; use --tls-cert/--tls-key or a reverse proxy with TLS, since subscribe tokens travel in requests",
            &[],
        );
    }
    #[cfg(feature = "amqp")]
    let follower = connected.map(|(broker, session, tails)| {
        log.info(
            "sharing channels through the broker",
            &[
                ("broker", broker.url().into()),
                ("stream", broker.stream().into()),
            ],
        );
        tokio::spawn(broker::follow::run(broker, server.clone(), session, tails))
    });
    let sweeper = tokio::spawn(sweep(channels.clone(), log.clone(), server.stop.clone()));
    let limits = Limits {
        max_connections: config.max_connections,
        header_timeout: config.header_timeout,
        tls: config.tls.clone(),
        diag: log.diag.clone(),
        write_stall: Some(config.stall_timeout),
        takeover: Some(Arc::new(lean::LeanSubscriptions {
            server: server.clone(),
            header_timeout: config.header_timeout,
        })),
    };
    let service = {
        let server = server.clone();
        move |peer, stalled: crate::listen::stall::Stalled| {
            let server = server.clone();
            service_fn(move |req| {
                let server = server.clone();
                let stalled = stalled.clone();
                async move {
                    Ok::<_, std::convert::Infallible>(
                        routes::route(req, server, peer, stalled).await,
                    )
                }
            })
        }
    };
    let stop = async {
        stop.await;
        // Subscriptions end first, so draining does not wait for streams that never end.
        let _ = stopping.send(true);
    };
    serve_connections(listener, limits, service, stop).await;
    let _ = sweeper.await;
    #[cfg(feature = "amqp")]
    if let Some(follower) = follower {
        let _ = follower.await;
    }
    for channel in channels.all() {
        channel.log.close().await;
    }
    log.info("stopped", &[]);
    Ok(())
}

/// Applies retention to every channel every second until the server stops.
async fn sweep(channels: Arc<Channels>, log: Logger, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let now = SystemTime::now();
        for channel in channels.all() {
            if let Err(e) = channel.log.expire(now).await {
                log.error(
                    "cannot apply retention",
                    &[
                        ("channel", channel.id.as_str().into()),
                        ("error", e.to_string().into()),
                    ],
                );
            }
        }
    }
}

//! How a relay (from a RabbitMQ queue or a Kafka consumer group) counts the messages it
//! settled, and words why an event was dead-lettered.

use crate::deliver::engine::Sink;
use crate::deliver::Outcome;
use crate::event::Event;

/// How one message ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Delivered with a 2xx and acknowledged (RabbitMQ) or its offset stored for commit (Kafka).
    Acked,
    /// Published to the dead-letter exchange or topic, then settled.
    DeadLettered,
    /// Handed back to the queue (RabbitMQ only).
    Requeued,
    /// Neither: the broker hands the message out again (the channel is gone, or the relay
    /// stopped before its offset could be committed).
    Unsettled,
}

/// One finished message.
pub enum Handled {
    Event(Box<(Event, Outcome)>, Settled),
    /// A message that is not an event.
    Invalid(Settled),
}

/// What a relay did.
#[derive(Debug, Default, Clone, Copy)]
pub struct RelayStats {
    /// Delivered with a 2xx and settled.
    pub acked: u64,
    /// Events that finally failed, dead-lettered.
    pub dead_lettered: u64,
    /// Messages that were not events, dead-lettered.
    pub invalid: u64,
    /// Handed back to the queue (interrupted, or the dead-letter publish failed).
    pub requeued: u64,
    /// Times the connection was re-opened.
    pub reconnects: u32,
}

/// Counts a finished message and hands delivered events to the sink.
pub fn record(handled: Handled, stats: &mut RelayStats, sink: &mut dyn Sink) -> anyhow::Result<()> {
    let settled = match handled {
        Handled::Event(delivered, settled) => {
            if !matches!(settled, Settled::Requeued) {
                let (event, outcome) = *delivered;
                sink.outcome(event, outcome)?;
            }
            settled
        }
        Handled::Invalid(settled) => {
            if matches!(settled, Settled::DeadLettered) {
                stats.invalid += 1;
                return Ok(());
            }
            settled
        }
    };
    match settled {
        Settled::Acked => stats.acked += 1,
        Settled::DeadLettered => stats.dead_lettered += 1,
        Settled::Requeued => stats.requeued += 1,
        Settled::Unsettled => {}
    }
    Ok(())
}

/// Why a delivery finally failed, for the dead letter's reason header.
pub fn failure_reason(outcome: &Outcome) -> String {
    let mut reason = outcome
        .error
        .as_ref()
        .map_or_else(|| "failed".into(), ToString::to_string);
    if outcome.attempts > 1 {
        reason.push_str(&format!(" (after {} attempts)", outcome.attempts));
    }
    reason
}

/// Builds the routes of `relay --route` on the relay's runtime (brokers connect, files open).
pub type BuildRoutes = Box<
    dyn FnOnce() -> std::pin::Pin<
        Box<dyn std::future::Future<Output = anyhow::Result<crate::route::Router>>>,
    >,
>;

/// Where a relay delivers, and how it reports: what both bridges' relays share.
pub struct RelayRun {
    pub target: crate::deliver::Target,
    pub prepare: Option<crate::deliver::Prepare>,
    pub report: crate::deliver::report::ReportConfig,
    pub delivery: crate::deliver::DeliveryConfig,
    /// `relay --route`: the routes instead of the target.
    pub routes: Option<BuildRoutes>,
}

/// Where a relay delivers each event: one target, or the routes (`relay --route`).
#[derive(Clone)]
pub enum Via {
    Target(std::sync::Arc<crate::deliver::Deliverer>),
    Routes(std::sync::Arc<crate::route::Router>),
}

impl Via {
    /// Delivers one event. Through routes, the outcome is a success when every route taken
    /// accepted the event (or none took it), else the first failing route's.
    pub async fn deliver(&self, event: &Event) -> Outcome {
        match self {
            Via::Target(deliverer) => deliverer.deliver(event).await,
            Via::Routes(router) => routed_outcome(router.dispatch(event).await.unwrap_or_default()),
        }
    }
}

fn routed_outcome(notes: Vec<crate::event::RouteNote>) -> Outcome {
    let latency_ms = notes.iter().map(|n| n.latency_ms).fold(0.0, f64::max);
    let latency = std::time::Duration::try_from_secs_f64(latency_ms / 1000.0).unwrap_or_default();
    let failed = notes.iter().find(|n| !n.ok);
    Outcome {
        status: match failed {
            Some(failed) => failed.status,
            None => Some(200),
        },
        latency,
        attempts: 1,
        error: failed.map(|f| {
            crate::deliver::DeliveryError::InvalidRequest(format!(
                "route {} ({}): {}",
                f.name,
                f.target,
                f.error.clone().unwrap_or_else(|| "failed".into())
            ))
        }),
        body: bytes::Bytes::new(),
        content_type: None,
    }
}

/// Runs `relay` (a bridge's consume loop) with a deliverer for `run`, stopped by Ctrl-C, then
/// reports: the reporter's summary, and `summary` of the stats on `diag`. Exit 3 if a delivery
/// failed or a message was not an event.
pub fn run_reported<F>(
    run: RelayRun,
    diag: &crate::output::diag::Diag,
    relay: F,
    summary: impl FnOnce(&RelayStats) -> String,
) -> anyhow::Result<crate::exit::Exit>
where
    F: for<'a> FnOnce(
        Via,
        tokio::sync::watch::Receiver<bool>,
        &'a mut crate::deliver::report::Reporter,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = anyhow::Result<RelayStats>> + 'a>,
    >,
{
    use crate::exit::Exit;
    crate::deliver::runtime()?.block_on(async move {
        let stop = crate::deliver::engine::stop_on_signals();
        let via = match run.routes {
            Some(build) => Via::Routes(std::sync::Arc::new(build().await?)),
            None => Via::Target(std::sync::Arc::new(crate::deliver::Deliverer::new(
                run.delivery,
                run.target,
                run.prepare,
                stop.clone(),
            )?)),
        };
        let mut reporter = crate::deliver::report::Reporter::new(run.report)?;
        let stats = relay(via.clone(), stop.clone(), &mut reporter).await;
        if let Via::Routes(router) = &via {
            router.close().await;
        }
        let stats = stats?;
        let by_signal = *stop.borrow();
        let exit = reporter.finish(false).await?;
        diag.line(format_args!(
            "{}{}",
            summary(&stats),
            if by_signal { "; stopped by signal" } else { "" }
        ));
        anyhow::Ok(if exit == Exit::Ok && stats.invalid > 0 {
            Exit::DeliveryFailed
        } else {
            exit
        })
    })
}

//! Reading a capture for `replay`: line-by-line streaming, filters, timing (`--speed`),
//! new ids, tags, and the stop-or-skip rule for malformed lines. Runs on its own thread and
//! feeds the delivery engine through a bounded channel, so memory does not grow with the file.

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;

use crate::capture::{open_input, CaptureReader};
use crate::compose::{unix_now, Signer, TAG_HEADER};
use crate::event::{generate_id, Event, ID_HEADERS};
use crate::follow::FollowReader;

/// Which events to replay: `--filter type=GLOB`, any of which may match.
#[derive(Debug, Default)]
pub struct Selector {
    types: Vec<glob::Pattern>,
}

impl Selector {
    pub fn parse(filters: &[String]) -> Result<Selector, String> {
        let mut types = Vec::new();
        for filter in filters {
            let Some(pattern) = filter.strip_prefix("type=") else {
                return Err(format!(
                    "bad --filter {filter:?}: write it as type=GLOB, e.g. type=payment_*"
                ));
            };
            types.push(
                glob::Pattern::new(pattern).map_err(|e| format!("bad --filter {filter:?}: {e}"))?,
            );
        }
        Ok(Selector { types })
    }

    pub fn selects(&self, event: &Event) -> bool {
        self.types.is_empty()
            || event
                .event_type
                .as_deref()
                .is_some_and(|t| self.types.iter().any(|p| p.matches(t)))
    }
}

/// Everything the reader thread needs.
pub struct ReplayPlan {
    pub file: PathBuf,
    pub selector: Selector,
    pub skip_invalid: bool,
    pub speed: Option<f64>,
    pub follow: bool,
    pub from_end: bool,
    pub new_ids: bool,
    pub tag: Option<String>,
    /// Sign once while reading (dry runs); real runs re-sign per attempt in the engine.
    pub resign_now: Option<Arc<Signer>>,
    /// Warn once about signatures that receivers will find expired.
    pub warn_expired: bool,
}

/// What the reader did.
#[derive(Debug, Default)]
pub struct Fed {
    pub skipped: u64,
    /// The line that stopped the replay, if a malformed line did.
    pub stopped_at: Option<u64>,
}

/// Opens the capture: a file, stdin, or a followed file.
pub fn open(plan: &ReplayPlan) -> anyhow::Result<Box<dyn BufRead + Send>> {
    if plan.follow {
        if plan.file.as_os_str() == "-" {
            anyhow::bail!("--follow needs a file, not stdin");
        }
        let reader = FollowReader::open(&plan.file, plan.from_end)?;
        return Ok(Box::new(std::io::BufReader::with_capacity(
            256 * 1024,
            reader,
        )));
    }
    open_input(&plan.file)
}

/// Signatures older than this are likely to be rejected by receivers.
const STALE_SIGNATURE: i64 = 300;

/// Reads the capture and sends each selected event to `tx`, pacing for `--speed`.
pub fn feed(
    input: Box<dyn BufRead + Send>,
    plan: &ReplayPlan,
    tx: mpsc::Sender<Event>,
) -> anyhow::Result<Fed> {
    let name = plan.file.display().to_string();
    let mut reader = CaptureReader::new(input);
    let mut fed = Fed::default();
    let mut clock: Option<(Instant, SystemTime)> = None;
    let mut warned = !plan.warn_expired;
    while let Some(line) = reader
        .next_line()
        .map_err(|e| anyhow::anyhow!("cannot read {name}: {e}"))?
    {
        let mut event = match line.record {
            Ok(Some(event)) => event,
            Ok(None) => continue,
            Err(why) if plan.skip_invalid => {
                eprintln!("hookctl: {name}:{}: {why} (skipped)", line.number);
                fed.skipped += 1;
                continue;
            }
            Err(why) => {
                eprintln!(
                    "hookctl: error: {name}:{}: {why}; nothing after this line was sent (use --skip-invalid to go on)",
                    line.number
                );
                fed.stopped_at = Some(line.number);
                break;
            }
        };
        if !plan.selector.selects(&event) {
            fed.skipped += 1;
            continue;
        }
        if !warned {
            if let Some(age) = signature_age(&event) {
                if age > STALE_SIGNATURE {
                    eprintln!(
                        "hookctl: warning: {name}:{}: the event's signature is {age}s old; receivers that check timestamps will reject it. Re-sign with --resign SCHEME --secret ...",
                        line.number
                    );
                    warned = true;
                }
            }
        }
        prepare(&mut event, plan);
        if let Some(speed) = plan.speed {
            pace(&mut clock, event.received_at, speed);
        }
        if tx.blocking_send(event).is_err() {
            break;
        }
    }
    Ok(fed)
}

/// Applies `--new-ids`, `--tag` and (for dry runs) the re-signing.
fn prepare(event: &mut Event, plan: &ReplayPlan) {
    if plan.new_ids {
        let id = generate_id();
        for name in ID_HEADERS.iter().chain(&["x-shopify-webhook-id"]) {
            if event.headers.contains(name) {
                event.headers.set(name, &id);
            }
        }
        event.id = id;
    }
    if let Some(tag) = &plan.tag {
        event.headers.set(TAG_HEADER, tag);
    }
    if let Some(signer) = &plan.resign_now {
        if let Err(e) = signer.apply(event, unix_now()) {
            eprintln!("hookctl: cannot re-sign {}: {e}", event.id);
        }
    }
}

/// Sleeps until the event's original offset from the first event, divided by `speed`.
/// Deadlines are absolute, so errors do not add up over a long file.
fn pace(clock: &mut Option<(Instant, SystemTime)>, at: SystemTime, speed: f64) {
    let (start, first) = *clock.get_or_insert((Instant::now(), at));
    let offset = at.duration_since(first).unwrap_or(Duration::ZERO);
    let deadline = start + offset.div_f64(speed);
    let now = Instant::now();
    if deadline > now {
        std::thread::sleep(deadline - now);
    }
}

/// Age in seconds of the timestamp a signature carries, when it carries one.
pub fn signature_age(event: &Event) -> Option<i64> {
    let ts = [
        "webhook-timestamp",
        "svix-timestamp",
        "x-slack-request-timestamp",
    ]
    .iter()
    .find_map(|h| event.header(h))
    .and_then(|v| v.trim().parse::<i64>().ok())
    .or_else(|| {
        event
            .header("stripe-signature")?
            .split(',')
            .find_map(|part| part.trim().strip_prefix("t="))?
            .parse()
            .ok()
    })?;
    Some(unix_now() - ts)
}

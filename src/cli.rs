//! The command line: clap derive types only. `cmd/` turns these into plain config structs.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::units::{
    parse_duration, parse_rate, parse_ratio, parse_size, parse_speed, parse_timeout, Rate,
    UnitError,
};

/// A print limit: a size from 1 byte to 1 GiB.
fn parse_print_bytes(s: &str) -> Result<usize, UnitError> {
    match parse_size(s)? {
        0 => Err(UnitError::Size { text: s.to_owned() }),
        n if n > 1 << 30 => Err(UnitError::SizeTooLarge { text: s.to_owned() }),
        n => Ok(n),
    }
}

/// Listen for, send, replay and verify webhooks on one machine: no account, no internet.
#[derive(Debug, Parser)]
#[command(name = "hookctl", version, about, propagate_version = true)]
#[command(after_help = "Examples:
  hookctl listen --capture events.jsonl
  hookctl send payment_success --set data.amount=4200
  hookctl replay events.jsonl --to http://127.0.0.1:8080
  hookctl verify events.jsonl --scheme stripe --secret whsec_...")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    pub color: ColorWhen,
    /// Show more: headers, response bodies, every result.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Show less: no per-event output on the terminal, only errors and the summary.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Project file with named profiles [default: hookctl.toml in the working directory, if
    /// there is one].
    #[arg(long, global = true, env = "HOOKCTL_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Take the flags you do not give from this profile of the project file (without one, its
    /// `default` profile applies, if it has one).
    #[arg(long, global = true, env = "HOOKCTL_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
// Parsed once per run: boxing the large variant would save nothing worth the noise.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Run a local webhook receiver that prints, captures, checks and answers deliveries.
    Listen(ListenArgs),
    /// Send a sample event, or your own body, optionally signed like a real provider.
    Send(SendArgs),
    /// Resend captured events byte for byte.
    Replay(ReplayArgs),
    /// Check the signatures of captured events offline.
    Verify(VerifyArgs),
    /// Deliver events from a RabbitMQ queue or a Kafka topic to a URL: retries, dead-lettering, at
    /// least once.
    Relay(RelayArgs),
    /// Run a self-hosted webhook relay: durable, resumable, private channels over SSE.
    Serve(ServeArgs),
    /// Manage channels on a relay (`hookctl serve`).
    #[command(subcommand)]
    Channel(ChannelCommand),
    /// Browse, search, replay and export a capture (.jsonl) or HAR (.har) file in a web page.
    Inspect(InspectArgs),
    /// Show the settings in effect from hookctl.toml, the environment and the defaults.
    Config(ConfigArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell to generate completions for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  hookctl listen
  hookctl listen --port 0 --ready-file url.txt --capture events.jsonl
  hookctl listen --expect type=payment_success --timeout 30s
  hookctl listen --verify stripe --secret whsec_... --forward-to http://127.0.0.1:8080
  hookctl listen --route 'pay:type=payment_*' http://127.0.0.1:4001 --route '*' file:all.jsonl")]
#[command(group(clap::ArgGroup::new("forward_or_route").args(["forward_to", "route"]).multiple(true)))]
pub struct ListenArgs {
    /// Address to bind. Use 0.0.0.0 only if other machines must reach you.
    #[arg(long, default_value = "127.0.0.1", value_name = "HOST")]
    pub host: String,
    /// Port to bind; 0 picks a free one (the address is announced on stderr).
    #[arg(short, long, default_value_t = 3000, value_name = "PORT")]
    pub port: u16,
    /// Append every delivery to FILE as one JSON line (written before the response).
    #[arg(long, value_name = "FILE", help_heading = "Capture")]
    pub capture: Option<PathBuf>,
    /// fsync the capture file before answering, for power-loss durability.
    #[arg(long, requires = "capture", help_heading = "Capture")]
    pub fsync: bool,
    /// Print each delivery to stdout as one NDJSON line, and nothing else.
    #[arg(long, help_heading = "Output")]
    pub json: bool,
    /// With --json, print a `ready` record ({"kind":"ready","url":…,"pid":…}) before the
    /// events.
    #[arg(long, requires = "json", help_heading = "Output")]
    pub ready_json: bool,
    /// One aligned line per event: time, method, path, type, id, size, status, verification
    /// and forwarding. The default on a terminal too narrow for the full view, or when events
    /// arrive faster than 5 a second.
    #[arg(short = 'c', long, conflicts_with_all = ["json", "full"], help_heading = "Output")]
    pub compact: bool,
    /// Always the full view (summary line and body), never switching to --compact.
    #[arg(long, conflicts_with = "json", help_heading = "Output")]
    pub full: bool,
    /// The most lines of one body printed; the rest is left out with a note (the capture
    /// keeps every byte).
    #[arg(long, default_value = "100", value_name = "N", help_heading = "Output", value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub max_print_lines: u32,
    /// The most bytes of one body's rendering printed.
    #[arg(long, default_value = "16KiB", value_parser = parse_print_bytes, value_name = "SIZE", help_heading = "Output")]
    pub max_print_bytes: usize,
    /// Largest body accepted; larger ones get 413.
    #[arg(long, default_value = "10MiB", value_parser = parse_size, value_name = "SIZE")]
    pub max_body: usize,
    /// How long a client may take to send a request's headers (and how long an idle
    /// keep-alive connection stays open).
    #[arg(long, default_value = "30s", value_parser = parse_timeout, value_name = "DURATION", help_heading = "Limits")]
    pub header_timeout: Duration,
    /// How long a client may take to send a whole body; slower ones get 408.
    #[arg(long, default_value = "60s", value_parser = parse_timeout, value_name = "DURATION", help_heading = "Limits")]
    pub body_timeout: Duration,
    /// Connections served at once. Further ones wait for a slot (up to 10s, 8 per slot); past
    /// that they are answered 503 with Retry-After: 1.
    #[arg(long, default_value = "1024", value_name = "N", help_heading = "Limits", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,
    /// Write the bound URL to PATH once the port accepts connections.
    #[arg(long, value_name = "PATH", help_heading = "CI")]
    pub ready_file: Option<PathBuf>,
    /// Wait for an event matching EXPR (type=GLOB, path=GLOB, method=M, header.NAME=GLOB,
    /// body.PATH=JSON; comma-separated predicates are ANDed). Repeat for several events.
    #[arg(long, value_name = "EXPR", help_heading = "CI")]
    pub expect: Vec<String>,
    /// Exit after N deliveries (when no --expect is given).
    #[arg(long, value_name = "N", help_heading = "CI", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Give up after DURATION: exit 4 if --expect/--count are unmet, else exit 0.
    #[arg(long, value_parser = parse_timeout, value_name = "DURATION", help_heading = "CI")]
    pub timeout: Option<Duration>,
    /// Only print, count and capture deliveries carrying X-Hookctl-Tag: RUN_ID.
    #[arg(long, value_name = "RUN_ID", help_heading = "CI")]
    pub only_tag: Option<String>,
    #[command(flatten)]
    pub respond: RespondArgs,
    #[command(flatten)]
    pub verify: ListenVerifyArgs,
    #[command(flatten)]
    pub forward: ForwardArgs,
    #[command(flatten)]
    pub publish: PublishArgs,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub routes: RouteArgs,
    #[command(flatten)]
    pub ui: UiArgs,
}

/// `listen --route`: each event to the targets whose expression it matches.
#[derive(Debug, Args)]
#[command(next_help_heading = "Routes")]
pub struct RouteArgs {
    /// Send events matching EXPR to TARGET (repeatable; an event goes to every route it
    /// matches). EXPR is --expect's syntax, or * for every event; prefix it with NAME: to name
    /// the route, and with first: to send what it takes to no later route. TARGET is an
    /// http(s):// URL (with --forward-retries and --forward-timeout), amqp://…?exchange=X&queue=Q,
    /// kafka://…, file:PATH or drop. The sender gets 2xx only once every route taken accepted
    /// the event.
    #[arg(long, num_args = 2, value_names = ["EXPR", "TARGET"])]
    pub route: Vec<String>,
    /// Answer events that no route takes with STATUS (e.g. 404) instead of as usual.
    #[arg(long, value_name = "STATUS", requires = "route", value_parser = clap::value_parser!(u16).range(100..=999))]
    pub unrouted: Option<u16>,
}

/// `listen --source`: take events from a relay (`hookctl serve`, or a smee.io channel).
#[derive(Debug, Args)]
#[command(next_help_heading = "Relay sources")]
pub struct SourceArgs {
    /// Subscribe to a relay channel (a `hookctl serve` URL, or https://smee.io/CHANNEL) and
    /// treat each relayed event like a delivery to this port. Repeatable.
    #[arg(long = "source", value_name = "URL")]
    pub sources: Vec<String>,
    /// The channel's subscribe token (sent as Authorization: Bearer; never printed). A
    /// `?token=` in a --source URL wins.
    #[arg(
        long,
        env = "HOOKCTL_SOURCE_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true,
        // Tokens are URL-safe base64: one in 32 starts with '-'.
        allow_hyphen_values = true
    )]
    pub token: Option<String>,
    /// Do not open the local port: events come only from --source.
    #[arg(long, requires = "sources")]
    pub no_port: bool,
    /// Where the last event id of each source is kept, so a restart resumes after it
    /// (default: CAPTURE.source-state with --capture).
    #[arg(long, value_name = "FILE", requires = "sources")]
    pub source_state: Option<PathBuf>,
}

/// A UI token given on the command line: at least 16 characters.
fn parse_ui_token(s: &str) -> Result<String, String> {
    if s.chars().count() < 16 {
        return Err("a UI token must be at least 16 characters".into());
    }
    Ok(s.to_owned())
}

/// `listen --ui`: the web inspector.
#[derive(Debug, Args)]
#[command(next_help_heading = "Web inspector")]
pub struct UiArgs {
    /// Serve the web inspector at http://HOST:PORT/_hookctl/: every event live, searchable,
    /// replayable. Requests under /_hookctl/ are never deliveries.
    #[arg(long)]
    pub ui: bool,
    /// Serve the inspector on this port instead of listen's own (0 picks a free one).
    #[arg(long, value_name = "PORT", requires = "ui")]
    pub ui_port: Option<u16>,
    /// Open the inspector in the browser.
    #[arg(long, requires = "ui")]
    pub open: bool,
    /// Token that guards the inspector; required to serve it off loopback (--host 0.0.0.0).
    /// Open the page with #token=TOKEN. At least 16 characters.
    #[arg(long, env = "HOOKCTL_UI_TOKEN", hide_env_values = true, value_name = "TOKEN", value_parser = parse_ui_token)]
    pub ui_token: Option<String>,
}

/// `listen --publish` and `send --publish`: put events into RabbitMQ or Kafka.
#[derive(Debug, Args)]
#[command(next_help_heading = "Broker")]
pub struct PublishArgs {
    /// Publish each event to RabbitMQ (amqp://USER:PASS@HOST:PORT/VHOST) with publisher
    /// confirms, or to Kafka (kafka://HOST:PORT/TOPIC) with acks=all. listen answers 2xx only
    /// once the broker confirmed, else 503; send publishes instead of sending HTTP.
    #[arg(long, value_name = "URL")]
    pub publish: Option<String>,
    /// Exchange to publish to: a durable topic exchange, declared if missing. The routing key
    /// is the event type, or `unknown`.
    #[arg(
        long,
        default_value = "webhooks",
        value_name = "NAME",
        requires = "publish"
    )]
    pub exchange: String,
    /// Also declare a durable queue bound to the exchange, so events wait there for a relay.
    #[arg(long, value_name = "NAME", requires = "publish")]
    pub queue: Option<String>,
    /// Binding key of --queue, in topic syntax: # is everything, payment.* one word.
    #[arg(long, default_value = "#", value_name = "KEY", requires = "queue")]
    pub binding: String,
}

/// Simulated responses.
#[derive(Debug, Args)]
#[command(next_help_heading = "Responses")]
pub struct RespondArgs {
    /// Answer every delivery with STATUS.
    #[arg(long, value_name = "STATUS", conflicts_with = "respond")]
    pub status: Option<u16>,
    /// Answer deliveries with this sequence of statuses; the last one repeats.
    #[arg(long, value_name = "S1,S2,...", value_delimiter = ',')]
    pub respond: Vec<u16>,
    /// Answer this fraction of deliveries (0.0 to 1.0) with 500.
    #[arg(long, value_name = "RATIO", value_parser = parse_ratio)]
    pub fail_rate: Option<f64>,
    /// Seed for --fail-rate, to make the choice repeatable.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Hold each response for DURATION before answering.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub delay: Option<Duration>,
    /// Retry-After value sent with 429 and 503 answers.
    #[arg(long, default_value = "1", value_name = "SECONDS")]
    pub retry_after: String,
    /// Response body: text, or @FILE.
    #[arg(long, value_name = "TEXT|@FILE")]
    pub response_body: Option<String>,
    /// Extra response header 'Name: value' (repeatable).
    #[arg(long, value_name = "HEADER")]
    pub response_header: Vec<String>,
}

/// Signature options shared by listen, send, replay and verify.
#[derive(Debug, Args)]
#[command(next_help_heading = "Signatures")]
pub struct SecretArgs {
    /// Signing secret (repeatable for key rotation on verify). Never printed or captured.
    #[arg(
        long,
        env = "HOOKCTL_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub secret: Vec<String>,
    /// Header for the generic `hmac` scheme.
    #[arg(long, value_name = "NAME")]
    pub signature_header: Option<String>,
    /// Encoding for the generic `hmac` scheme.
    #[arg(long, value_enum, default_value = "hex")]
    pub encoding: EncodingArg,
    /// Prefix before the signature for the generic `hmac` scheme, e.g. `sha256=`.
    #[arg(long, default_value = "", value_name = "PREFIX")]
    pub prefix: String,
}

/// `send --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Plain,
    Cloudevents,
    CloudeventsStructured,
}

/// `send --gap`: a duration up to an hour.
fn parse_gap(s: &str) -> Result<Duration, UnitError> {
    let gap = parse_duration(s)?;
    if gap > Duration::from_secs(3600) {
        return Err(UnitError::Duration {
            text: s.to_owned(),
            reason: "a flow's gap is at most 1h".to_owned(),
        });
    }
    Ok(gap)
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EncodingArg {
    Hex,
    Base64,
}

/// `listen --verify`.
#[derive(Debug, Args)]
pub struct ListenVerifyArgs {
    /// Verify each delivery's signature with SCHEME (standard, stripe, github, shopify, slack, hmac).
    #[arg(long, value_name = "SCHEME", help_heading = "Signatures")]
    pub verify: Option<String>,
    /// reject: answer 401 on a bad signature; warn: answer normally and only report.
    #[arg(
        long,
        value_enum,
        default_value = "reject",
        help_heading = "Signatures"
    )]
    pub verify_mode: VerifyMode,
    /// Accept signature timestamps this far from now; 0 disables the check.
    #[arg(long, default_value = "5m", value_parser = parse_duration, value_name = "DURATION", help_heading = "Signatures")]
    pub tolerance: Duration,
    #[command(flatten)]
    pub secrets: SecretArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyMode {
    Reject,
    Warn,
}

/// `listen --forward-to`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Forwarding")]
pub struct ForwardArgs {
    /// Relay every delivery to your app at URL and answer with the app's response. With
    /// --route it is one more route, `forward:*` to URL.
    #[arg(long, value_name = "URL")]
    pub forward_to: Option<String>,
    /// Answer 200 at once and forward (or route) in the background.
    #[arg(long, requires = "forward_or_route")]
    pub ack_first: bool,
    /// Exit non-zero (3) once a forward finally fails.
    #[arg(long, requires = "forward_to")]
    pub exit_on_forward_failure: bool,
    /// Timeout for each forward attempt.
    #[arg(long, default_value = "10s", value_parser = parse_timeout, value_name = "DURATION")]
    pub forward_timeout: Duration,
    /// Retries for a failed forward.
    #[arg(long = "forward-retries", default_value_t = 0, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=1000))]
    pub retries: u32,
}

/// The delivery engine's options, shared by send and replay.
#[derive(Debug, Args)]
#[command(next_help_heading = "Delivery")]
pub struct DeliveryArgs {
    /// Timeout for each attempt.
    #[arg(long, default_value = "10s", value_parser = parse_timeout, value_name = "DURATION")]
    pub timeout: Duration,
    /// Retries after a failed attempt (connection error, timeout, 5xx, 408, 429).
    #[arg(long, default_value_t = 0, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=1000))]
    pub retries: u32,
    /// Base of the exponential backoff between retries (full jitter).
    #[arg(long, default_value = "500ms", value_parser = parse_duration, value_name = "DURATION")]
    pub backoff: Duration,
    /// Deliveries in flight at once. Above 1, events may arrive out of order.
    #[arg(short, long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub concurrency: u32,
    /// Cap throughput, e.g. 50/s or 600/m.
    #[arg(long, value_parser = parse_rate, value_name = "RATE")]
    pub rate: Option<Rate>,
    /// Append every event that finally failed to FILE, in the capture format.
    #[arg(long, value_name = "FILE")]
    pub dead_letter: Option<PathBuf>,
    /// Add an X-Hookctl-Tag: RUN_ID header, for `listen --only-tag`.
    #[arg(long, value_name = "RUN_ID")]
    pub tag: Option<String>,
    /// Print one NDJSON result per event (with -q, only failed ones) and a summary record to
    /// stdout.
    #[arg(long, help_heading = "Output")]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  hookctl send payment_success
  hookctl send --list
  hookctl send order_shipped --to http://127.0.0.1:8080/hooks --set data.carrier=DHL
  hookctl send payment_success --sign stripe --secret whsec_test
  hookctl send --data @event.json -H 'X-Source: test'
  hookctl send payment_success --count 1000 --concurrency 16 --rate 200/s
  hookctl send --list github
  hookctl send github:push --secret s3cret
  hookctl send stripe:checkout --gap 0 --secret whsec_test
  hookctl send sensor_reading --format cloudevents-structured
  hookctl send stripe:charge.succeeded --seed 7 --dry-run")]
pub struct SendArgs {
    /// Sample or flow to send: payment_success, stripe:payment_intent.succeeded, github:push,
    /// stripe:checkout... (see --list).
    #[arg(value_name = "EVENT", required_unless_present_any = ["data", "list"])]
    pub event: Option<String>,
    /// List the samples and flows, grouped by provider; with PROVIDER, only that provider's.
    #[arg(long, value_name = "PROVIDER", num_args = 0..=1, default_missing_value = "", conflicts_with_all = ["event", "data"])]
    pub list: Option<String>,
    /// With --list: only the names, one a line (what shell completion can call).
    #[arg(long, requires = "list")]
    pub names: bool,
    /// Folder of your own samples and flows (JSON or YAML) [default: ./hookctl/samples].
    #[arg(long, env = "HOOKCTL_SAMPLES", value_name = "DIR")]
    pub samples: Option<PathBuf>,
    /// Send the event as it is, or as a CloudEvent: cloudevents (binary mode, ce-* headers) or
    /// cloudevents-structured (application/cloudevents+json).
    #[arg(long, value_enum, default_value = "plain", value_name = "FORMAT")]
    pub format: FormatArg,
    /// Make ids and times repeatable: the same seed gives the same bytes (the clock is
    /// 2026-01-01T00:00:00Z unless --timestamp pins it).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Pause between a flow's steps instead of its realistic gaps; 0 sends them at once (at
    /// most 1h).
    #[arg(long, value_parser = parse_gap, value_name = "DURATION")]
    pub gap: Option<Duration>,
    /// Where to send.
    #[arg(
        long,
        default_value = "http://127.0.0.1:3000/webhook",
        value_name = "URL"
    )]
    pub to: String,
    /// Your own body, sent byte for byte (unless --set edits it): inline JSON, @FILE, or -
    /// for stdin.
    #[arg(short, long, value_name = "JSON|@FILE|-", conflicts_with = "event")]
    pub data: Option<String>,
    /// Change a field at a dot path, e.g. data.amount=4200 or data.line_items.0.quantity=3;
    /// the field must exist. VALUE is JSON when it parses (12, true, {"a":1}), else a string.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Add a field at a dot path, creating objects on the way (applied before --set).
    #[arg(long = "set-new", value_name = "PATH=VALUE")]
    pub set_new: Vec<String>,
    /// Extra request header 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,
    /// HTTP method.
    #[arg(short = 'X', long, default_value = "POST", value_name = "METHOD")]
    pub method: String,
    /// Send N events, each with a fresh id and timestamp.
    #[arg(short = 'n', long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: u64,
    /// Print the event that would be sent (capture format) and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Sign like a provider does: standard, stripe, github, shopify, slack, hmac. Without
    /// SCHEME, the sample's provider's scheme (a provider sample is signed by itself whenever
    /// a secret is given).
    #[arg(long, value_name = "SCHEME", num_args = 0..=1, default_missing_value = "auto", require_equals = false, help_heading = "Signatures")]
    pub sign: Option<String>,
    /// Pin the event id (for reproducible signed requests).
    #[arg(long, value_name = "ID", help_heading = "Signatures")]
    pub id: Option<String>,
    /// Pin the signature timestamp, in Unix seconds.
    #[arg(long, value_name = "UNIX", help_heading = "Signatures")]
    pub timestamp: Option<i64>,
    #[command(flatten)]
    pub secrets: SecretArgs,
    #[command(flatten)]
    pub delivery: DeliveryArgs,
    #[command(flatten)]
    pub publish: PublishArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  hookctl replay events.jsonl
  hookctl replay events.jsonl --id evt_1Nq4vFJ2eZvKYlo2C0d1xG7a      # one event again
  hookctl replay events.jsonl --to http://127.0.0.1:8080/webhooks --filter 'type=payment_*'
  hookctl replay events.jsonl --filter 'type=payment_*' --filter status=5xx
  hookctl replay events.jsonl --resign stripe --secret whsec_...
  hookctl replay events.jsonl --speed 2
  hookctl replay events.jsonl --follow --from-end")]
pub struct ReplayArgs {
    /// Capture file to replay (JSON lines); - reads stdin.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Scheme, host and port to send to; a path other than / replaces the captured path.
    #[arg(long, default_value = "http://127.0.0.1:3000", value_name = "URL")]
    pub to: String,
    /// Replay only the event with this id (repeatable). An id not in FILE is an error.
    #[arg(long = "id", value_name = "ID")]
    pub ids: Vec<String>,
    /// Replay only events matching KEY=VALUE: id, type, path, status (globs; 5xx for a
    /// class), method, header.NAME (glob) or body.PATH (JSON). Filters on the same key are
    /// alternatives, on different keys all must hold; commas join several in one flag.
    #[arg(long, value_name = "KEY=VALUE")]
    pub filter: Vec<String>,
    /// Print the events that would be sent (capture format) and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Report malformed lines and go on, instead of stopping.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Keep the original gaps between events, divided by X (1 is real time).
    #[arg(long, value_name = "X", value_parser = parse_speed)]
    pub speed: Option<f64>,
    /// Keep FILE open and replay lines appended to it, like tail -f.
    #[arg(long)]
    pub follow: bool,
    /// With --follow, start at the end of FILE: only new lines are replayed.
    #[arg(long, requires = "follow")]
    pub from_end: bool,
    /// Replace the captured signatures with fresh ones (new timestamp). Events captured with
    /// a failed verification are skipped, so a forgery is never made valid.
    #[arg(long, value_name = "SCHEME", help_heading = "Signatures")]
    pub resign: Option<String>,
    /// With --resign, also re-sign and send events that failed verification when captured.
    #[arg(long, requires = "resign", help_heading = "Signatures")]
    pub resign_unverified: bool,
    /// Give each replayed event a new id.
    #[arg(long, help_heading = "Signatures")]
    pub new_ids: bool,
    /// Send the events matching EXPR to TARGET instead of to --to (repeatable; as
    /// `listen --route`: NAME: and first: prefixes; http(s):// URL, amqp://…, kafka://…,
    /// file:PATH or drop). HTTP routes use the delivery options.
    #[arg(long, num_args = 2, value_names = ["EXPR", "TARGET"], conflicts_with_all = ["dry_run", "follow"])]
    pub route: Vec<String>,
    #[command(flatten)]
    pub secrets: SecretArgs,
    #[command(flatten)]
    pub delivery: DeliveryArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  hookctl verify events.jsonl --scheme github --secret \"$GITHUB_WEBHOOK_SECRET\"
  HOOKCTL_SECRET=whsec_... hookctl verify events.jsonl --scheme standard --tolerance 0
  hookctl verify events.jsonl --scheme stripe --secret whsec_... --now")]
pub struct VerifyArgs {
    /// Capture file to check; - reads stdin.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Signature scheme: standard, stripe, github, shopify, slack, hmac.
    #[arg(long, value_name = "SCHEME")]
    pub scheme: String,
    /// Accept signature timestamps this far from the time each event was received (its
    /// received_at), or from now with --now; 0 disables the check.
    #[arg(long, default_value = "5m", value_parser = parse_duration, value_name = "DURATION")]
    pub tolerance: Duration,
    /// Measure timestamps against the current time instead of each event's received_at.
    #[arg(long)]
    pub now: bool,
    /// Print one NDJSON result per event.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub secrets: SecretArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Each message is a capture line, as `listen --publish` and `send --publish` put it
in. A message is acknowledged (RabbitMQ) or its offset committed (Kafka) only after a 2xx, so
delivery is at least once. An event that still fails after --retries, and a message that is
not an event, goes to the dead letters with the reason in the x-hookctl-error header: the
dead-letter exchange (routing key: the queue's name) or the dead-letter topic. Nothing is
retried forever. Several relays on one queue, or in one Kafka group, share the work.
--concurrency is also the prefetch.

Examples:
  hookctl relay amqp://guest:guest@127.0.0.1:5672/%2f --queue webhooks --to http://127.0.0.1:8080
  hookctl relay amqp://... --queue webhooks --to http://127.0.0.1:8080 --concurrency 8 --retries 3
  hookctl relay amqp://... --queue webhooks --resign stripe --secret whsec_...
  hookctl relay kafka://127.0.0.1:9092/webhooks --group billing --to http://127.0.0.1:8080"
)]
pub struct RelayArgs {
    /// Broker to consume from: amqp://USER:PASS@HOST:PORT/VHOST (RabbitMQ) or
    /// kafka://HOST:PORT/TOPIC (Kafka; ?partitions=N when hookctl creates the topic).
    #[arg(value_name = "URL")]
    pub url: String,
    /// RabbitMQ queue to consume: declared durable and bound to --exchange with --binding if
    /// missing.
    #[arg(long, value_name = "NAME")]
    pub queue: Option<String>,
    /// Kafka consumer group: relays in one group share the topic's partitions.
    #[arg(long, value_name = "NAME", help_heading = "Broker")]
    pub group: Option<String>,
    /// Kafka topic for failed and invalid messages [default: TOPIC.dead-letter].
    #[arg(long, value_name = "NAME", help_heading = "Broker")]
    pub dead_letter_topic: Option<String>,
    /// Send the events matching EXPR to TARGET instead of to --to (repeatable; as
    /// `listen --route`). A message is settled once every route it took accepted it.
    #[arg(long, num_args = 2, value_names = ["EXPR", "TARGET"])]
    pub route: Vec<String>,
    /// Scheme, host and port to deliver to; a path other than / replaces the events' paths.
    #[arg(long, default_value = "http://127.0.0.1:3000", value_name = "URL")]
    pub to: String,
    /// Stop after taking N messages.
    #[arg(short = 'n', long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Exchange the queue is bound to (a durable topic exchange).
    #[arg(
        long,
        default_value = "webhooks",
        value_name = "NAME",
        help_heading = "Broker"
    )]
    pub exchange: String,
    /// Binding key of the queue, in topic syntax: # is everything.
    #[arg(long, default_value = "#", value_name = "KEY", help_heading = "Broker")]
    pub binding: String,
    /// Exchange for failed and invalid messages [default: EXCHANGE.dead-letter].
    #[arg(long, value_name = "NAME", help_heading = "Broker")]
    pub dead_letter_exchange: Option<String>,
    /// Durable queue that keeps the dead letters [default: QUEUE.dead-letter].
    #[arg(long, value_name = "NAME", help_heading = "Broker")]
    pub dead_letter_queue: Option<String>,
    /// Replace the signatures with fresh ones (new timestamp) on every attempt.
    #[arg(long, value_name = "SCHEME", help_heading = "Signatures")]
    pub resign: Option<String>,
    #[command(flatten)]
    pub secrets: SecretArgs,
    #[command(flatten)]
    pub delivery: DeliveryArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  hookctl inspect events.jsonl
  hookctl inspect events.jsonl --to http://127.0.0.1:8080 --open
  hookctl inspect session.har --port 0
  HOOKCTL_SECRET=whsec_... hookctl inspect events.jsonl --to http://127.0.0.1:8080")]
pub struct InspectArgs {
    /// Capture file (JSON lines, indexed: large files open at once) or HAR 1.2 file (.har).
    /// Read only: edited events are kept in memory.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Address to bind. Off loopback, --ui-token is required.
    #[arg(long, default_value = "127.0.0.1", value_name = "HOST")]
    pub host: String,
    /// Port to serve the inspector on; 0 picks a free one (announced on stderr).
    #[arg(short, long, default_value_t = 4040, value_name = "PORT")]
    pub port: u16,
    /// Where replays go unless another URL is typed in the page.
    #[arg(long, value_name = "URL")]
    pub to: Option<String>,
    /// Timeout for each replay.
    #[arg(long, default_value = "10s", value_parser = parse_timeout, value_name = "DURATION")]
    pub timeout: Duration,
    /// Open the inspector in the browser.
    #[arg(long)]
    pub open: bool,
    /// Token that guards the inspector; required off loopback. Open the page with
    /// #token=TOKEN. At least 16 characters.
    #[arg(long, env = "HOOKCTL_UI_TOKEN", hide_env_values = true, value_name = "TOKEN", value_parser = parse_ui_token)]
    pub ui_token: Option<String>,
    #[command(flatten)]
    pub secrets: SecretArgs,
}

/// `hookctl config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub action: ConfigAction,
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print each setting of a command, its value and where it came from: a flag, an
    /// environment variable, hookctl.toml (file, line and profile) or the built-in default.
    #[command(after_help = "Examples:
  hookctl config show
  hookctl --profile stripe-dev config show listen
  hookctl config show --json send --to http://127.0.0.1:8080")]
    Show(ConfigShowArgs),
}

#[derive(Debug, Args)]
pub struct ConfigShowArgs {
    /// Print one NDJSON record (`kind: config`) instead of text.
    #[arg(long)]
    pub json: bool,
    /// The command to show (listen, send, replay, ...), then its flags as you would give them
    /// [default: listen, send and replay, without flags].
    #[arg(
        value_name = "COMMAND [FLAGS]",
        num_args = 0..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<std::ffi::OsString>,
    /// The file and profile asked for, and how (filled in by the parser).
    #[arg(skip)]
    pub request: Option<crate::config::Request>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn tokens_and_channel_ids_may_start_with_a_hyphen() {
        // URL-safe base64: one in 32 starts with '-'.
        let listen = [
            "hookctl",
            "listen",
            "--source",
            "http://r/c",
            "--token",
            "-Wx",
        ];
        assert!(Cli::try_parse_from(listen).is_ok());
        let serve = [
            "hookctl",
            "serve",
            "--data",
            "d",
            "--verify",
            "-Ax=github:S",
        ];
        assert!(Cli::try_parse_from(serve).is_ok());
    }
}

/// How `serve` writes its log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    Text,
    Json,
}

/// A retention age: from a second to a year.
fn parse_retain(s: &str) -> Result<Duration, UnitError> {
    let age = parse_duration(s)?;
    if age < Duration::from_secs(1) {
        return Err(UnitError::Duration {
            text: s.trim().into(),
            reason: "keep events at least 1s".into(),
        });
    }
    Ok(age)
}

fn parse_stall_timeout(s: &str) -> Result<Duration, UnitError> {
    let limit = parse_duration(s)?;
    if !(Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&limit) {
        return Err(UnitError::Duration {
            text: s.trim().into(),
            reason: "give a stall timeout from 1s to 1h".into(),
        });
    }
    Ok(limit)
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  hookctl serve --data /var/lib/hookctl
  hookctl serve --host 0.0.0.0 --port 443 --data ./relay --tls-cert cert.pem --tls-key key.pem
  hookctl serve --host 0.0.0.0 --data ./relay --broker amqp://hookctl:PASS@mq.internal:5672/relay
  hookctl channel new --server https://relay.example.com")]
pub struct ServeArgs {
    /// Address to bind. Use 0.0.0.0 to serve providers on the internet.
    #[arg(long, default_value = "127.0.0.1", value_name = "HOST")]
    pub host: String,
    /// Port to bind; 0 picks a free one (the address is announced on stderr).
    #[arg(short, long, default_value_t = 8080, value_name = "PORT")]
    pub port: u16,
    /// Folder for channels and their event logs (created if missing).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// The URL providers reach this relay at (behind a proxy), for the channel URLs handed
    /// out; by default the request's Host.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Keep each channel's events this long.
    #[arg(long, default_value = "24h", value_parser = parse_retain, value_name = "DURATION", help_heading = "Storage")]
    pub retain: Duration,
    /// Keep at most this many events per channel.
    #[arg(long, default_value_t = 10_000, value_name = "N", help_heading = "Storage", value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub retain_events: u64,
    /// fsync each write before answering, for power-loss durability.
    #[arg(long, help_heading = "Storage")]
    pub fsync: bool,
    /// Largest body accepted; larger ones get 413.
    #[arg(long, default_value = "10MiB", value_parser = parse_size, value_name = "SIZE", help_heading = "Limits")]
    pub max_body: usize,
    /// How long a client may take to send a request's headers (and the TLS handshake).
    #[arg(long, default_value = "30s", value_parser = parse_timeout, value_name = "DURATION", help_heading = "Limits")]
    pub header_timeout: Duration,
    /// How long a client may take to send a whole body; slower ones get 408.
    #[arg(long, default_value = "60s", value_parser = parse_timeout, value_name = "DURATION", help_heading = "Limits")]
    pub body_timeout: Duration,
    /// Connections served at once, subscribers included. Further ones wait for a slot (up
    /// to 10s); past that they are answered 503.
    #[arg(long, default_value = "16384", value_name = "N", help_heading = "Limits", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,
    /// Deliveries each channel takes at most (e.g. 50/s, 600/m), with a burst of one
    /// second's worth; further ones get 429 with Retry-After.
    #[arg(long, value_parser = parse_rate, value_name = "RATE", help_heading = "Limits")]
    pub rate_limit: Option<Rate>,
    /// Channels this relay holds at most; `POST /new` answers 503 past it.
    #[arg(long, default_value = "10000", value_name = "N", help_heading = "Limits", value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub max_channels: u32,
    /// Drop a subscriber (any connection) whose connection takes nothing for this long while
    /// an event waits to be written; it resumes from the log when it reconnects. 1s to 1h.
    #[arg(long, default_value = "30s", value_parser = parse_stall_timeout, value_name = "DURATION", help_heading = "Limits")]
    pub stall_timeout: Duration,
    /// Serve HTTPS with this certificate chain (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_key", help_heading = "TLS")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert", help_heading = "TLS")]
    pub tls_key: Option<PathBuf>,
    /// Bearer token `POST /new` requires, so only you create channels; without one anyone
    /// who reaches the relay can (up to --max-channels).
    #[arg(
        long,
        env = "HOOKCTL_CREATE_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true,
        help_heading = "Operations"
    )]
    pub create_token: Option<String>,
    /// Bearer token `/metrics` requires; without one, only clients on this machine get
    /// metrics.
    #[arg(
        long,
        env = "HOOKCTL_METRICS_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true,
        help_heading = "Operations"
    )]
    pub metrics_token: Option<String>,
    /// Check signatures at the relay for CHANNEL (`*` for every other channel) with SCHEME
    /// (standard, stripe, github, shopify, slack), the secret read from the environment
    /// variable ENV (default HOOKCTL_SECRET). Forged or expired deliveries get 401 and are not
    /// stored. Repeatable.
    #[arg(
        long,
        value_name = "CHANNEL=SCHEME[:ENV]",
        allow_hyphen_values = true,
        help_heading = "Signatures"
    )]
    pub verify: Vec<String>,
    /// How far a signed timestamp may be from now (stripe, standard, slack); older ones are
    /// replays.
    #[arg(long, default_value = "5m", value_parser = parse_duration, value_name = "DURATION", help_heading = "Signatures")]
    pub tolerance: Duration,
    /// Log lines on stderr as text or as one JSON object per line.
    #[arg(
        long,
        value_enum,
        default_value = "text",
        value_name = "FORMAT",
        help_heading = "Operations"
    )]
    pub log_format: LogFormatArg,
    /// Share channels with other serve instances (behind one load balancer) through
    /// RabbitMQ streams (amqp://USER:PASS@HOST:PORT/VHOST): a POST to any instance reaches
    /// subscribers on every one, and a resume works on any. Needs a fresh --data folder.
    #[arg(
        long,
        env = "HOOKCTL_SERVE_BROKER",
        hide_env_values = true,
        value_name = "URL",
        help_heading = "Several instances"
    )]
    pub broker: Option<String>,
    /// The stream queue the instances share (channels go to NAME.channels).
    #[arg(long, default_value = "hookctl.relay", value_parser = parse_stream_name, value_name = "NAME", requires = "broker", help_heading = "Several instances")]
    pub broker_stream: String,
}

fn parse_stream_name(s: &str) -> Result<String, String> {
    let ok = (1..=200).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && !s.starts_with('.');
    if ok {
        Ok(s.to_owned())
    } else {
        Err("use 1 to 200 letters, digits, '.', '_' or '-', not starting with '.'".into())
    }
}

/// `hookctl channel ...`.
#[derive(Debug, Subcommand)]
pub enum ChannelCommand {
    /// Create a channel on a relay and print its URL (for the provider) and its token (for
    /// subscribing).
    New(ChannelNewArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  hookctl channel new --server https://relay.example.com
  hookctl channel new --server http://127.0.0.1:8080 --json")]
pub struct ChannelNewArgs {
    /// The relay's URL.
    #[arg(long, env = "HOOKCTL_SERVER", value_name = "URL")]
    pub server: String,
    /// Print `{"channel": …, "url": …, "token": …}` on one line, for scripts.
    #[arg(long)]
    pub json: bool,
    /// The relay's --create-token, when it has one.
    #[arg(
        long,
        env = "HOOKCTL_CREATE_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub create_token: Option<String>,
    /// Also trust this CA certificate (PEM) for an https:// relay, e.g. a self-signed one.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// How long to wait for the relay.
    #[arg(long, default_value = "10s", value_parser = parse_timeout, value_name = "DURATION")]
    pub timeout: Duration,
}

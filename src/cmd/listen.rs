//! `hookctl listen`: turns the arguments into a [`ListenConfig`], binds, and calls
//! [`listen::run`].

use std::io::{IsTerminal, Write};
use std::net::{IpAddr, SocketAddr, TcpListener as StdListener, ToSocketAddrs};
use std::sync::Arc;

use bytes::Bytes;

use crate::cli::{ListenArgs, RespondArgs, VerifyMode};
use crate::cmd::{verifier_from, GlobalOptions};
use crate::deliver::{Deliverer, DeliveryConfig, Target};
use crate::exit::Exit;
use crate::listen::expect::Expectation;
use crate::listen::forward::ForwardConfig;
use crate::listen::respond::{parse_header, ResponseConfig};
use crate::listen::{self, ListenConfig, Output, Port, VerifyConfig};
use crate::output::diag::Diag;
use crate::output::view::{ViewChoice, ViewConfig, Width};
use crate::output::PrettyOptions;
use crate::route::{RouteSpec, Router, RouterConfig};
use crate::shutdown::shutdown_signal;
use crate::source::{SourceConfig, SourceUrl};

pub fn run(args: ListenArgs, global: &GlobalOptions) -> anyhow::Result<Exit> {
    let diag = Diag::stderr();
    let terminal = std::io::stdout().is_terminal();
    let (mut config, ui) = config_with_ui(
        &args,
        global,
        Box::new(std::io::stdout()),
        terminal,
        diag.clone(),
    )?;
    if !matches!(config.output, Output::Quiet) {
        crate::output::pipe::widen_stdout_pipe();
    }
    let listener = (!args.source.no_port)
        .then(|| bind(&args.host, args.port))
        .transpose()?;
    let ui_listener = match (&ui, args.ui.ui_port) {
        (Some(_), Some(port)) => Some(bind(&args.host, port)?),
        _ => None,
    };
    let runtime = crate::deliver::runtime()?;
    let finished = runtime.block_on(async {
        // The brokers are reached before listen announces itself, so a wrong URL fails at once.
        connect(&args, &mut config, &diag).await?;
        let port = match listener {
            Some(listener) => {
                listener.set_nonblocking(true)?;
                Port::from(tokio::net::TcpListener::from_std(listener)?)
            }
            None => Port::off(),
        };
        let ui_server = match (ui, ui_listener) {
            (Some(ui), Some(ui_listener)) => Some(super::ui::serve_own_port(ui, ui_listener)?),
            _ => None,
        };
        // A reader that goes away (`listen --json | head -1`) ends listen at once, not at the
        // next delivery's write.
        let watch_stdout = !matches!(config.output, Output::Quiet);
        let signal = shutdown_signal();
        let stop = async move {
            tokio::select! {
                () = signal => {}
                () = crate::output::pipe::stdout_closed(), if watch_stdout => {}
            }
        };
        let finished = listen::run(port, config, stop).await;
        if let Some(server) = ui_server {
            let _ = server.await;
        }
        finished
    })?;
    drop(runtime);
    finished.report(&diag)
}

/// The listen settings the arguments ask for, printing to `stdout` (which is not a terminal,
/// such as a test's pipe) and `diag`. Everything but the broker (`--publish`), which needs a
/// runtime to connect. With `--ui` on listen's own port, the inspector is in the config's
/// observer.
pub fn config(
    args: &ListenArgs,
    global: &GlobalOptions,
    stdout: Box<dyn Write + Send>,
    diag: Diag,
) -> anyhow::Result<ListenConfig> {
    config_for(args, global, stdout, false, diag)
}

/// Like [`config`], for a `stdout` that may be a terminal (`terminal`): then untrusted text is
/// escaped, and the view fits the terminal's width and the pace of deliveries.
pub fn config_for(
    args: &ListenArgs,
    global: &GlobalOptions,
    stdout: Box<dyn Write + Send>,
    terminal: bool,
    diag: Diag,
) -> anyhow::Result<ListenConfig> {
    config_with_ui(args, global, stdout, terminal, diag).map(|(config, _)| config)
}

/// [`config_for`], and the inspector that `--ui` asks for (to serve on `--ui-port`).
pub fn config_with_ui(
    args: &ListenArgs,
    global: &GlobalOptions,
    stdout: Box<dyn Write + Send>,
    terminal: bool,
    diag: Diag,
) -> anyhow::Result<(ListenConfig, Option<super::ui::Ui>)> {
    // Checked now, so a bad route fails before anything is bound; built by `connect`.
    route_specs(args)?;
    if !args.routes.route.is_empty() && args.forward.exit_on_forward_failure {
        anyhow::bail!(
            "--exit-on-forward-failure cannot be combined with --route; use --expect route.forward=2xx to check the forward"
        );
    }
    let expectations = args
        .expect
        .iter()
        .map(|e| e.parse::<Expectation>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    if !expectations.is_empty() && args.count.is_some() {
        // The tracker ignores --count when there are expectations; say so instead.
        anyhow::bail!(
            "--count cannot be combined with --expect; repeat --expect to wait for several events"
        );
    }
    let verify = match &args.verify.verify {
        Some(name) => Some({
            let (scheme, secrets) = verifier_from(name, &args.verify.secrets)?;
            VerifyConfig {
                scheme,
                secrets,
                tolerance_secs: args.verify.tolerance.as_secs(),
                reject: args.verify.verify_mode == VerifyMode::Reject,
            }
        }),
        None => None,
    };
    // With --route, --forward-to is one more route (see `route_specs`).
    let forward_alone = args.routes.route.is_empty();
    let forward = match args.forward.forward_to.as_deref().filter(|_| forward_alone) {
        Some(url) => Some(ForwardConfig {
            url: crate::deliver::redact_url(url),
            deliverer: Arc::new(Deliverer::new(
                DeliveryConfig {
                    timeout: args.forward.forward_timeout,
                    retries: args.forward.retries,
                    ..DeliveryConfig::default()
                },
                Target::parse(url)?,
                None,
                tokio::sync::watch::channel(false).1,
            )?),
            ack_first: args.forward.ack_first,
            exit_on_failure: args.forward.exit_on_forward_failure,
        }),
        None => None,
    };
    let output = if args.json {
        Output::Json {
            ready: args.ready_json,
        }
    } else if global.quiet {
        Output::Quiet
    } else {
        Output::Pretty(ViewConfig {
            options: PrettyOptions {
                verbose: global.verbose > 0,
                sanitize: terminal,
                max_lines: args.max_print_lines as usize,
                max_bytes: args.max_print_bytes,
            },
            choice: view_choice(args, global, terminal),
            width: if terminal {
                Width::Stdout
            } else {
                Width::Unlimited
            },
        })
    };
    if args.ui.ui && args.source.no_port && args.ui.ui_port.is_none() {
        anyhow::bail!(
            "--ui with --no-port needs --ui-port PORT: there is no listen port to serve it on"
        );
    }
    let ui = super::ui::inspector(args, &diag)?;
    let observer = ui.as_ref().map(super::ui::Ui::observer);
    let config = ListenConfig {
        output,
        stdout,
        diag,
        capture: args.capture.clone(),
        fsync: args.fsync,
        respond: response_config(&args.respond)?,
        verify,
        expectations,
        count: args.count,
        only_tag: args.only_tag.clone(),
        forward,
        publisher: None,
        router: None,
        max_body: args.max_body,
        header_timeout: args.header_timeout,
        body_timeout: args.body_timeout,
        max_connections: args.max_connections as usize,
        timeout: args.timeout,
        ready_file: args.ready_file.clone(),
        sources: source_config(args)?,
        observer,
    };
    Ok((config, ui))
}

/// True when `host` is a loopback address (or `localhost`).
pub fn is_loopback(host: &str) -> bool {
    match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// `--source` and its options; `None` without a source.
fn source_config(args: &ListenArgs) -> anyhow::Result<Option<SourceConfig>> {
    let source = &args.source;
    if source.sources.is_empty() {
        return Ok(None);
    }
    let sources = source
        .sources
        .iter()
        .map(|url| SourceUrl::parse(url, source.token.as_deref()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for (i, s) in sources.iter().enumerate() {
        if sources[..i].iter().any(|t| t.shown() == s.shown()) {
            anyhow::bail!("--source {} is given twice", s.shown());
        }
    }
    let state = source.source_state.clone().or_else(|| {
        args.capture.as_ref().map(|capture| {
            let mut path = capture.as_os_str().to_owned();
            path.push(".source-state");
            path.into()
        })
    });
    Ok(Some(SourceConfig {
        sources,
        state,
        extra_roots: Vec::new(),
        // A body as JSON text (escapes) or base64, with its headers.
        max_event: args.max_body.saturating_mul(6).saturating_add(1 << 20),
    }))
}

/// What `config` leaves out because it needs a runtime: the broker of `--publish`, and the
/// routes (`--route`), whose brokers are connected and whose files are opened now.
pub async fn connect(
    args: &ListenArgs,
    config: &mut ListenConfig,
    diag: &Diag,
) -> anyhow::Result<()> {
    config.publisher = crate::cmd::relay::listen_publisher(&args.publish, diag).await?;
    if args.routes.route.is_empty() {
        return Ok(());
    }
    let specs = route_specs(args)?;
    let router = Router::build(
        specs,
        RouterConfig {
            delivery: DeliveryConfig {
                timeout: args.forward.forward_timeout,
                retries: args.forward.retries,
                ..DeliveryConfig::default()
            },
            fsync: args.fsync,
            unrouted: args.routes.unrouted,
            ack_first: args.forward.ack_first,
            peer: crate::deliver::Peer::App,
            diag: diag.clone(),
        },
        |url| async move { crate::cmd::relay::connect_publisher(&args.publish, &url, diag).await },
    )
    .await?;
    for line in router.describe() {
        diag.line(line);
    }
    config.router = Some(Arc::new(router));
    Ok(())
}

/// The routes of `--route`, and with them `--forward-to URL` as the last one: `forward:* URL`, a
/// catch-all HTTP route (alone, `--forward-to` keeps its own cheaper path).
fn route_specs(args: &ListenArgs) -> anyhow::Result<Vec<RouteSpec>> {
    let mut specs = RouteSpec::parse_all(&args.routes.route).map_err(anyhow::Error::msg)?;
    if let (Some(url), false) = (&args.forward.forward_to, specs.is_empty()) {
        if specs.iter().any(|r| r.name == FORWARD_ROUTE_NAME) {
            anyhow::bail!(
                "--forward-to adds a route called \"{FORWARD_ROUTE_NAME}\"; give yours another name"
            );
        }
        let forward = RouteSpec::parse(&format!("{FORWARD_ROUTE_NAME}:*"), url, specs.len() + 1)
            .ok()
            .filter(|r| matches!(r.target, crate::route::TargetSpec::Http(_)))
            .ok_or_else(|| {
                anyhow::anyhow!("--forward-to needs an http:// or https:// URL, not {url:?}")
            })?;
        specs.push(forward);
    }
    Ok(specs)
}

/// The name of the route `--forward-to` becomes next to `--route`.
const FORWARD_ROUTE_NAME: &str = "forward";

/// `--compact` and `--full` decide; `-v` asks for the full view; otherwise a terminal gets the
/// full view until it stops being readable, and anything else the full view.
fn view_choice(args: &ListenArgs, global: &GlobalOptions, terminal: bool) -> ViewChoice {
    if args.compact {
        ViewChoice::Compact
    } else if args.full || global.verbose > 0 || !terminal {
        ViewChoice::Full
    } else {
        ViewChoice::Auto
    }
}

/// Binds HOST:PORT, turning the usual failures into one line that says what to do.
pub fn bind(host: &str, port: u16) -> anyhow::Result<StdListener> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot resolve --host {host:?}: {e}; use an IP address such as 127.0.0.1"
            )
        })?
        .collect();
    let addr = addrs
        .first()
        .ok_or_else(|| anyhow::anyhow!("--host {host:?} resolves to no address"))?;
    StdListener::bind(addr).map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => anyhow::anyhow!(
            "port {port} on {host} is already in use; stop the other process or choose another port with --port (0 picks a free one)"
        ),
        std::io::ErrorKind::AddrNotAvailable => anyhow::anyhow!(
            "cannot bind to {host}: that address is not on this machine; use 127.0.0.1"
        ),
        std::io::ErrorKind::PermissionDenied => anyhow::anyhow!(
            "no permission to bind port {port}; use a port above 1023"
        ),
        _ => anyhow::anyhow!("cannot listen on {addr}: {e}"),
    })
}

fn response_config(args: &RespondArgs) -> anyhow::Result<ResponseConfig> {
    for status in args.status.iter().chain(&args.respond) {
        if !(100..=999).contains(status) {
            anyhow::bail!("{status} is not an HTTP status; use a number from 100 to 999");
        }
    }
    let body = match args.response_body.as_deref() {
        Some(text) => Some(match text.strip_prefix('@') {
            Some(path) => Bytes::from(
                std::fs::read(path)
                    .map_err(|e| anyhow::anyhow!("cannot read --response-body file {path}: {e}"))?,
            ),
            None => Bytes::from(text.to_owned()),
        }),
        None => None,
    };
    Ok(ResponseConfig {
        status: args.status,
        sequence: args.respond.clone(),
        fail_rate: args.fail_rate,
        seed: args.seed,
        delay: args.delay,
        retry_after: args.retry_after.clone(),
        body,
        headers: args
            .response_header
            .iter()
            .map(|h| parse_header(h))
            .collect::<Result<_, _>>()
            .map_err(anyhow::Error::msg)?,
    })
}

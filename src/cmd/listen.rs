//! `hookctl listen`: glue from the command line to the receiver and the HTTP server.

use std::io::{IsTerminal, Write};
use std::net::{SocketAddr, TcpListener as StdListener, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::cli::{ListenArgs, RespondArgs, VerifyMode};
use crate::cmd::{verifier_from, GlobalOptions};
use crate::deliver::engine::shutdown_signal;
use crate::deliver::{Deliverer, DeliveryConfig, Target};
use crate::exit::{CodedError, Exit};
use crate::listen::capture::CaptureWriter;
use crate::listen::expect::{Expectation, Tracker};
use crate::listen::handler::{
    Finish, ForwardConfig, ListenConfig, Printed, Receiver, Shared, VerifyConfig,
};
use crate::listen::respond::{parse_header, Responder, ResponseConfig};
use crate::listen::server::{serve, ServerConfig};
use crate::output::printer::Printer;
use crate::output::{human_bytes, human_duration, render_event, style, PrettyOptions};

/// Events queued for the terminal before further ones are dropped (and counted).
const PRINT_QUEUE: usize = 2048;

pub fn run(args: ListenArgs, global: &GlobalOptions) -> anyhow::Result<Exit> {
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
    let tracker = (!expectations.is_empty() || args.count.is_some())
        .then(|| Tracker::new(expectations, args.count));
    let responder = Responder::new(response_config(&args.respond)?);
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
    let forward_target = args
        .forward
        .forward_to
        .as_deref()
        .map(Target::parse)
        .transpose()?;
    if let Some(path) = &args.ready_file {
        // A file left by an earlier run must not be mistaken for this run's readiness.
        let _ = std::fs::remove_file(path);
    }
    let listener = bind(&args.host, args.port)?;
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // The capture's commit task runs on this runtime, next to the receiver.
    let capture = {
        let _entered = runtime.enter();
        args.capture
            .as_deref()
            .map(|path| CaptureWriter::open(path, args.fsync))
            .transpose()?
    };
    // The broker is reached before listen announces itself, so a wrong URL fails at once.
    let publisher = runtime.block_on(crate::cmd::relay::listen_publisher(&args.publish))?;

    let printer = make_printer(args.json, global);
    eprintln!("listening on {url}");
    if let Some(path) = &args.ready_file {
        write_ready_file(path, &url)?;
    }
    if args.json {
        let ready = serde_json::json!({ "kind": "ready", "url": url, "pid": std::process::id() });
        let mut out = std::io::stdout().lock();
        writeln!(out, "{ready}")?;
        out.flush()?;
    }
    let started = Instant::now();
    let (receiver, finish) = runtime.block_on(async {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let forward = match forward_target {
            Some(target) => Some(ForwardConfig {
                url: args.forward.forward_to.clone().unwrap_or_default(),
                deliverer: Arc::new(Deliverer::new(
                    DeliveryConfig {
                        timeout: args.forward.forward_timeout,
                        retries: args.forward.retries,
                        ..DeliveryConfig::default()
                    },
                    target,
                    None,
                    tokio::sync::watch::channel(false).1,
                )?),
                ack_first: args.forward.ack_first,
                exit_on_failure: args.forward.exit_on_forward_failure,
            }),
            None => None,
        };
        let (receiver, mut finished) = Receiver::new(ListenConfig {
            capture: capture.as_ref().map(|(w, _)| w.clone()),
            printer: printer.clone(),
            responder,
            verify,
            tracker,
            only_tag: args.only_tag.clone(),
            forward,
            publisher,
        });
        let receiver = Arc::new(receiver);
        let broken = printer.as_ref().map(|p| p.broken_signal());
        let timeout = args.timeout;
        let mut finish_reason = Finish::Running;
        let stop = async {
            let output_closed = async {
                let Some(broken) = broken else {
                    return std::future::pending().await;
                };
                while !broken.load(std::sync::atomic::Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            };
            let deadline = async {
                match timeout {
                    Some(t) => tokio::time::sleep(t).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = shutdown_signal() => {}
                reason = finished.wait_for(|f| *f != Finish::Running) => {
                    if let Ok(reason) = reason {
                        finish_reason = reason.clone();
                    }
                }
                _ = deadline => {}
                _ = output_closed => {}
            }
        };
        serve(
            listener,
            ServerConfig {
                max_body: args.max_body,
            },
            Arc::new(Shared(receiver.clone())),
            stop,
        )
        .await;
        anyhow::Ok((receiver, finish_reason))
    })?;
    if let Some((writer, closer)) = capture {
        drop(writer);
        runtime.block_on(closer.close());
    }
    drop(runtime);
    // A stuck writer (a pipe nobody reads) must not hold up the exit: give it a moment.
    let printer_dropped = printer.map_or(0, |p| {
        let dropped = p.dropped();
        p.finish_timeout(Duration::from_secs(2)).unwrap_or(dropped)
    });
    let unmet = receiver.unmet();
    let (events, bytes) = receiver.totals();
    drop(receiver);
    let mut summary = format!(
        "{events} event{} ({}) in {}",
        if events == 1 { "" } else { "s" },
        human_bytes(bytes as usize),
        human_duration(started.elapsed())
    );
    if printer_dropped > 0 {
        summary.push_str(&format!(
            "; {printer_dropped} not printed (output too slow)"
        ));
    }
    eprintln!("{summary}");
    match finish {
        Finish::ForwardFailed(why) => Err(CodedError::error(
            Exit::DeliveryFailed,
            format!("forwarding failed, stopping (--exit-on-forward-failure): {why}"),
        )),
        Finish::ExpectationsMet => Ok(Exit::Ok),
        Finish::Running => match unmet {
            Some(report) => {
                eprintln!("{}", style::error("timed out waiting for expected events:"));
                for line in report {
                    eprintln!("{line}");
                }
                Ok(Exit::ExpectationFailed)
            }
            None => Ok(Exit::Ok),
        },
    }
}

/// Binds HOST:PORT, turning the usual failures into one line that says what to do.
fn bind(host: &str, port: u16) -> anyhow::Result<StdListener> {
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

/// Writes the URL atomically, so a script polling for the file never reads half of it.
fn write_ready_file(path: &Path, url: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("hookctl-tmp");
    std::fs::write(&tmp, format!("{url}\n"))
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| anyhow::anyhow!("cannot write --ready-file {}: {e}", path.display()))
}

fn response_config(args: &RespondArgs) -> anyhow::Result<ResponseConfig> {
    if let Some(rate) = args.fail_rate {
        if !(0.0..=1.0).contains(&rate) {
            anyhow::bail!("--fail-rate must be between 0 and 1, e.g. 0.3 for 30%");
        }
    }
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

/// The stdout printer: NDJSON with --json, pretty otherwise, none with --quiet.
fn make_printer(json: bool, global: &GlobalOptions) -> Option<Printer<Printed>> {
    if global.quiet && !json {
        return None;
    }
    crate::output::pipe::widen_stdout_pipe();
    let stdout = Box::new(std::io::stdout());
    if json {
        return Some(Printer::spawn(
            stdout,
            PRINT_QUEUE,
            |item: &Printed, out| {
                item.event.write_json_line(out);
            },
        ));
    }
    let options = PrettyOptions {
        verbose: global.verbose > 0,
        sanitize: std::io::stdout().is_terminal(),
    };
    Some(Printer::spawn(
        stdout,
        PRINT_QUEUE,
        move |item: &Printed, out| {
            render_event(&item.event, &options, out);
            if options.verbose {
                if let Some(body) = item.forward_body.as_ref().filter(|b| !b.is_empty()) {
                    let text = String::from_utf8_lossy(body);
                    let text = if options.sanitize {
                        crate::output::sanitize::sanitize_text(&text).into_owned()
                    } else {
                        text.into_owned()
                    };
                    let _ = writeln!(out, "  {} {}\n", style::dim("app answered:"), text);
                }
            }
        },
    ))
}

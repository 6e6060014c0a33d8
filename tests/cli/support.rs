//! Shared test support: a hermetic `hookctl` command, a `listen` child that announces its
//! address, and an in-test HTTP server that reports every request over a channel.
//! Nothing here sleeps to synchronise: everything waits on a line, a channel or an exit,
//! always with a timeout.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command as StdCommand, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hookctl::event::{Event, Headers};
use hookctl::listen::server::{serve, Handler, Reply, ServerConfig};

/// Generous bound for anything that should happen "soon".
pub const WAIT: Duration = Duration::from_secs(15);

/// The path of the binary under test.
pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_hookctl"))
}

/// A hermetic `hookctl` command (assert_cmd): no colour, no backtraces, no inherited secrets.
pub fn hookctl() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(bin());
    hermetic(cmd.env_clear());
    cmd
}

/// The same environment for a `std::process::Command`.
pub fn hookctl_std() -> StdCommand {
    let mut cmd = StdCommand::new(bin());
    cmd.env_clear();
    hermetic(&mut cmd);
    cmd
}

/// `PROGRAM PRE_ARGS... hookctl` with the hermetic environment: the binary run through a
/// wrapper that execs it, such as `prlimit --fsize=...`.
pub fn hookctl_via(program: &str, pre_args: &[&str]) -> StdCommand {
    let mut cmd = StdCommand::new(program);
    cmd.env_clear();
    hermetic(&mut cmd);
    cmd.args(pre_args).arg(bin());
    cmd
}

fn hermetic<C: EnvSet>(cmd: &mut C) {
    cmd.set("NO_COLOR", "1");
    cmd.set("RUST_BACKTRACE", "0");
    cmd.set("HOME", std::env::temp_dir().to_str().unwrap_or("/tmp"));
    if let Ok(path) = std::env::var("PATH") {
        cmd.set("PATH", &path);
    }
}

trait EnvSet {
    fn set(&mut self, k: &str, v: &str);
}
impl EnvSet for assert_cmd::Command {
    fn set(&mut self, k: &str, v: &str) {
        self.env(k, v);
    }
}
impl EnvSet for StdCommand {
    fn set(&mut self, k: &str, v: &str) {
        self.env(k, v);
    }
}

/// Lines of a child's stream, delivered over a channel by a reader thread.
pub struct Lines {
    rx: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Lines {
    pub fn spawn(stream: impl Read + Send + 'static) -> Lines {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines {
            rx,
            seen: Vec::new(),
        }
    }

    /// Waits for a line satisfying `pred`; panics with what was seen on timeout.
    pub fn wait_for(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(_) => panic!("timed out waiting for {what}; saw {:#?}", self.seen),
            }
        }
    }

    /// Everything left until the stream closes (bounded by WAIT).
    pub fn rest(&mut self) -> Vec<String> {
        let deadline = Instant::now() + WAIT;
        while let Ok(line) = self
            .rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.seen.push(line);
        }
        self.seen.clone()
    }
}

/// How a listen run ended: an exit code, whether it ran as a child or in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exited(Option<i32>);

impl Exited {
    pub fn code(self) -> Option<i32> {
        self.0
    }

    pub fn success(self) -> bool {
        self.0 == Some(0)
    }
}

impl From<ExitStatus> for Exited {
    fn from(status: ExitStatus) -> Exited {
        Exited(status.code())
    }
}

/// What a `Listen` runs in.
enum Runner {
    /// `hookctl listen` as a child process.
    Child(Child),
    /// `hookctl::listen::run` on a thread of this test: a stop channel and the exit code.
    InProcess {
        stop: Option<tokio::sync::oneshot::Sender<()>>,
        done: mpsc::Receiver<i32>,
        code: Option<i32>,
    },
}

/// A running listen on 127.0.0.1:0, in this process or as a child.
pub struct Listen {
    runner: Runner,
    pub url: String,
    pub stdout: Lines,
    pub stderr: Lines,
}

impl Listen {
    /// Runs `listen ARGS` in this process: the same arguments, parsed by the same command
    /// line, turned into the same config and served by `hookctl::listen::run`, with stdout and
    /// stderr read from pipes. A failure shows a stack, and no binary is started.
    pub fn start(args: &[&str]) -> Listen {
        use clap::Parser as _;
        use hookctl::cli::{Cli, Command};
        colored::control::set_override(false);
        let cli = Cli::try_parse_from(["hookctl", "listen"].iter().chain(args))
            .unwrap_or_else(|e| panic!("listen {args:?}: {e}"));
        let Command::Listen(listen_args) = cli.command else {
            unreachable!("parsed as listen")
        };
        let global = hookctl::cmd::GlobalOptions {
            verbose: cli.global.verbose,
            quiet: cli.global.quiet,
        };
        let (out_reader, out_writer) = std::io::pipe().expect("stdout pipe");
        let (err_reader, err_writer) = std::io::pipe().expect("stderr pipe");
        let stdout = Lines::spawn(out_reader);
        let mut stderr = Lines::spawn(err_reader);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let diag = hookctl::output::diag::Diag::to_writer(err_writer);
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let result = runtime.block_on(async {
                let mut config = hookctl::cmd::listen::config(
                    &listen_args,
                    &global,
                    Box::new(out_writer),
                    diag.clone(),
                )?;
                hookctl::cmd::listen::connect(&listen_args, &mut config, &diag).await?;
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                hookctl::listen::run(listener, config, async {
                    let _ = stop_rx.await;
                })
                .await
            });
            drop(runtime);
            let exit = match result.and_then(|finished| finished.report(&diag)) {
                Ok(exit) => exit,
                Err(e) => {
                    diag.error(format_args!("{e:#}"));
                    hookctl::exit::code_for(&e)
                }
            };
            let _ = done_tx.send(i32::from(exit.code()));
        });
        let line = stderr.wait_for("the listening announcement", |l| {
            l.starts_with("listening on http://")
        });
        let url = line.trim_start_matches("listening on ").trim().to_owned();
        Listen {
            runner: Runner::InProcess {
                stop: Some(stop_tx),
                done: done_rx,
                code: None,
            },
            url,
            stdout,
            stderr,
        }
    }

    /// Starts the binary, `hookctl listen --port 0 ARGS`, and waits for its announced address.
    pub fn spawn(args: &[&str]) -> Listen {
        Listen::spawn_with(args, |_| {})
    }

    /// Like `spawn`, with a hook to adjust the command (environment, etc.).
    pub fn spawn_with(args: &[&str], adjust: impl FnOnce(&mut StdCommand)) -> Listen {
        Listen::spawn_command(hookctl_std(), args, adjust)
    }

    /// Starts `CMD listen --port 0 ARGS`, where `cmd` runs the binary (or a wrapper that
    /// execs it, such as `prlimit`).
    pub fn spawn_command(
        mut cmd: StdCommand,
        args: &[&str],
        adjust: impl FnOnce(&mut StdCommand),
    ) -> Listen {
        cmd.arg("listen").arg("--port").arg("0").args(args);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        adjust(&mut cmd);
        let mut child = cmd.spawn().expect("spawn hookctl listen");
        let stdout = Lines::spawn(child.stdout.take().expect("stdout"));
        let mut stderr = Lines::spawn(child.stderr.take().expect("stderr"));
        let line = stderr.wait_for("the listening announcement", |l| {
            l.starts_with("listening on http://")
        });
        let url = line.trim_start_matches("listening on ").trim().to_owned();
        Listen {
            runner: Runner::Child(child),
            url,
            stdout,
            stderr,
        }
    }

    /// The child's pid (a listen started with `spawn`).
    pub fn pid(&self) -> u32 {
        match &self.runner {
            Runner::Child(child) => child.id(),
            Runner::InProcess { .. } => panic!("an in-process listen has no pid of its own"),
        }
    }

    /// Stops it like Ctrl-C does and waits for the exit.
    pub fn interrupt(&mut self) -> Exited {
        match &mut self.runner {
            Runner::Child(child) => signal(child.id(), "INT"),
            Runner::InProcess { stop, .. } => {
                if let Some(stop) = stop.take() {
                    let _ = stop.send(());
                }
            }
        }
        self.wait()
    }

    /// Waits for it to exit on its own (bounded).
    pub fn wait(&mut self) -> Exited {
        match &mut self.runner {
            Runner::Child(child) => wait_child(child).into(),
            Runner::InProcess { done, code, .. } => {
                if code.is_none() {
                    let exit = done
                        .recv_timeout(WAIT)
                        .unwrap_or_else(|_| panic!("listen did not stop within {WAIT:?}"));
                    *code = Some(exit);
                }
                Exited(*code)
            }
        }
    }
}

impl Drop for Listen {
    fn drop(&mut self) {
        match &mut self.runner {
            Runner::Child(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Runner::InProcess { stop, done, .. } => {
                if let Some(stop) = stop.take() {
                    let _ = stop.send(());
                    let _ = done.recv_timeout(WAIT);
                }
            }
        }
    }
}

/// Sends a signal to a process by pid.
pub fn signal(pid: u32, name: &str) {
    let status = StdCommand::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{name} {pid} failed");
}

/// Waits for a child to exit, killing it (and failing) after WAIT.
pub fn wait_child(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process {} did not exit within {WAIT:?}", child.id());
        }
        // Polling a child's exit has no blocking-with-timeout form in std.
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// One request seen by a [`Recorder`].
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
    pub event: Event,
}

/// An in-test HTTP server on 127.0.0.1:0 that reports each request over a channel and
/// answers with `respond(n, &event)` (n counts from 0). It tracks the most requests in flight.
pub struct Recorder {
    pub url: String,
    rx: mpsc::Receiver<Seen>,
    pub max_in_flight: Arc<AtomicUsize>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

type Respond = dyn Fn(usize, &Event) -> (Reply, Option<Duration>) + Send + Sync;

struct RecordingHandler {
    tx: std::sync::Mutex<mpsc::Sender<Seen>>,
    respond: Box<Respond>,
    count: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: Arc<AtomicUsize>,
}

impl Handler for RecordingHandler {
    async fn handle(&self, event: Event) -> Reply {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let n = self.count.fetch_add(1, Ordering::SeqCst);
        let (reply, delay) = (self.respond)(n, &event);
        let _ = self.tx.lock().unwrap().send(Seen {
            at: Instant::now(),
            event,
        });
        if let Some(d) = delay {
            tokio::time::sleep(d).await;
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        reply
    }

    fn refused(&self, _: &str, _: &str, _: &str) {}
}

/// A plain 200 reply.
pub fn ok_reply() -> Reply {
    Reply::json(200, &serde_json::json!({"ok": true}))
}

/// A reply with a status and extra headers.
pub fn status_reply(status: u16, headers: &[(&str, &str)]) -> Reply {
    headers.iter().fold(
        Reply::json(status, &serde_json::json!({"status": status})),
        |r, (k, v)| r.with_header(k, v),
    )
}

impl Recorder {
    /// A server that answers every request 200.
    pub fn ok() -> Recorder {
        Recorder::start(|_, _| (ok_reply(), None))
    }

    pub fn start(
        respond: impl Fn(usize, &Event) -> (Reply, Option<Duration>) + Send + Sync + 'static,
    ) -> Recorder {
        let (tx, rx) = mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = mpsc::channel();
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let handler = RecordingHandler {
            tx: std::sync::Mutex::new(tx),
            respond: Box::new(respond),
            count: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: max_in_flight.clone(),
        };
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                serve(
                    listener,
                    ServerConfig {
                        max_body: 64 << 20,
                        header_timeout: Duration::from_secs(30),
                        body_timeout: Duration::from_secs(60),
                        max_connections: 1024,
                        diag: hookctl::output::diag::Diag::stderr(),
                        reserved: None,
                    },
                    Arc::new(handler),
                    async {
                        let _ = stop_rx.await;
                    },
                )
                .await;
            });
        });
        let addr = addr_rx.recv_timeout(WAIT).expect("recorder bound");
        Recorder {
            url: format!("http://{addr}"),
            rx,
            max_in_flight,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// The next request, or a panic after WAIT.
    pub fn next(&self) -> Seen {
        self.rx
            .recv_timeout(WAIT)
            .expect("a request reached the recorder")
    }

    /// The next `n` requests.
    pub fn take(&self, n: usize) -> Vec<Seen> {
        (0..n).map(|_| self.next()).collect()
    }

    /// Requests that are already there, without waiting.
    pub fn drain(&self) -> Vec<Seen> {
        self.rx.try_iter().collect()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A loopback URL where nothing listens (a port that was bound and then released).
pub fn dead_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

/// Reads a capture file into events.
pub fn read_capture(path: &Path) -> Vec<Event> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| Event::from_json_line(l.as_bytes()).unwrap().unwrap())
        .collect()
}

/// Headers that describe one hop and are recomputed on every send.
pub fn end_to_end_headers(e: &Event) -> Headers {
    e.headers
        .iter()
        .filter(|(k, _)| !hookctl::event::is_hop_by_hop(k))
        .collect()
}

/// A running `hookctl` child (any subcommand) whose stdout and stderr arrive as lines.
/// Killed on drop.
pub struct Spawned {
    pub child: Child,
    pub stdout: Lines,
    pub stderr: Lines,
}

impl Spawned {
    /// Sends SIGINT (like Ctrl-C) and waits for the exit.
    pub fn interrupt(&mut self) -> ExitStatus {
        signal(self.child.id(), "INT");
        wait_child(&mut self.child)
    }

    /// Waits for the process to exit on its own (bounded).
    pub fn wait(&mut self) -> ExitStatus {
        wait_child(&mut self.child)
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `hookctl ARGS` in the background with piped output.
pub fn spawn_hookctl(args: &[&str]) -> Spawned {
    let mut cmd = hookctl_std();
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn hookctl");
    let stdout = Lines::spawn(child.stdout.take().expect("stdout"));
    let stderr = Lines::spawn(child.stderr.take().expect("stderr"));
    Spawned {
        child,
        stdout,
        stderr,
    }
}

impl Recorder {
    /// The next request if one arrives within `limit`.
    pub fn next_within(&self, limit: Duration) -> Option<Seen> {
        self.rx.recv_timeout(limit).ok()
    }
}

/// `127.0.0.1:PORT` of an `http://127.0.0.1:PORT` URL.
pub fn authority(url: &str) -> &str {
    url.trim_start_matches("http://").trim_end_matches('/')
}

/// Writes `request` on a fresh connection and returns the response head (status line and
/// headers) as text. Reads are bounded by [`WAIT`].
pub fn raw_request(url: &str, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(authority(url)).expect("connect");
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.write_all(request).expect("write request");
    read_head(&mut stream)
}

/// Reads until the end of a response head.
pub fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => head.push(byte[0]),
            Err(e) => panic!(
                "reading the response failed: {e}; got {:?}",
                String::from_utf8_lossy(&head)
            ),
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

//! Guards for the performance design, checked by behaviour rather than by timing.

use std::process::Stdio;

#[cfg(target_os = "linux")]
use hookctl::output::pipe::PIPE_BYTES;

use crate::support::{hookctl, hookctl_std, read_capture, wait_child, Lines};

/// A listen whose stdout is a pipe nobody reads must still acknowledge every delivery, and
/// capture all of them: printing is off the acknowledgement path and may only drop output.
#[test]
fn unread_stdout_never_blocks_acknowledgements_or_captures() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("c.jsonl");
    let mut child = hookctl_std()
        .args(["listen", "--port", "0", "--capture"])
        .arg(&capture)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Hold the read end open and never read it, so the pipe fills up.
    let _unread = child.stdout.take().unwrap();
    let mut stderr = Lines::spawn(child.stderr.take().unwrap());
    let line = stderr.wait_for("the listening line", |l| l.starts_with("listening on "));
    let url = line.trim_start_matches("listening on ").to_owned();

    hookctl()
        .args([
            "send",
            "payment_success",
            "--count",
            "10000",
            "--concurrency",
            "16",
            "-q",
        ])
        .args(["--to", &format!("{url}/webhook")])
        .timeout(std::time::Duration::from_secs(120))
        .assert()
        .success();

    crate::support::signal(child.id(), "INT");
    let status = wait_child(&mut child);
    assert!(status.success(), "{status:?}");
    assert_eq!(read_capture(&capture).len(), 10000);
    let rest = stderr.rest().join("\n");
    assert!(rest.contains("10000 events"), "{rest}");
    assert!(rest.contains("not printed"), "{rest}");
}

/// A listen that prints to a pipe asks for a 1 MiB pipe buffer (or the system's limit, when
/// that is lower), so a batch of output is one write rather than several blocking ones.
#[cfg(target_os = "linux")]
#[test]
fn printing_to_a_pipe_widens_its_buffer() {
    let mut child = hookctl_std()
        .args(["listen", "--port", "0", "--json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = Lines::spawn(child.stderr.take().unwrap());
    stderr.wait_for("the listening line", |l| l.starts_with("listening on "));
    let size = rustix::pipe::fcntl_getpipe_size(&stdout).unwrap();

    crate::support::signal(child.id(), "INT");
    let status = wait_child(&mut child);
    assert!(status.success(), "{status:?}");
    assert_widened(size);
}

/// `replay --dry-run` streams a whole capture to stdout: to a pipe, it widens the buffer too.
#[cfg(target_os = "linux")]
#[test]
fn replay_dry_run_to_a_pipe_widens_its_buffer() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("c.jsonl");
    std::fs::write(&capture, "{\"body\":\"{}\"}\n").unwrap();
    let mut child = hookctl_std()
        .args(["replay", "--dry-run", "--json"])
        .arg(&capture)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The read end is held open, so the pipe outlives the process and can be measured.
    let stdout = child.stdout.take().unwrap();
    let status = wait_child(&mut child);
    assert!(status.success(), "{status:?}");
    assert_widened(rustix::pipe::fcntl_getpipe_size(&stdout).unwrap());
}

/// A pipe buffer of `size` bytes is what hookctl asks for, or the largest an unprivileged
/// process may have when the system's limit is lower.
#[cfg(target_os = "linux")]
fn assert_widened(size: usize) {
    let limit: usize = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(PIPE_BYTES);
    assert!(size >= PIPE_BYTES.min(limit), "pipe buffer {size} bytes");
}

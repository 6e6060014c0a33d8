//! A bigger buffer for a pipe on stdout.
//!
//! A Linux pipe holds 64 KiB unless asked for more. Under load listen's printer writes a batch
//! of 100 KiB or more per wake-up, and `replay --dry-run` flushes 256 KiB at a time; into a
//! full pipe that is several blocking writes, each waking the reader. With 1 MiB (the default
//! limit for unprivileged processes) one write takes the batch:
//! - `listen --json | cat`, pinned next to wrk, went from 0.63–0.65× of the baseline (nine
//!   runs) to a median of 0.67× (fifteen runs, two of them below 0.62×);
//! - `replay --dry-run --json | cat` went from 363k–379k to 427k–431k lines/s (three runs each).

/// The buffer asked for when stdout is a pipe.
pub const PIPE_BYTES: usize = 1 << 20;

/// Asks for a [`PIPE_BYTES`] buffer when stdout is a pipe. Anything else (a terminal, a file,
/// another OS) or a refusal (a lower system limit) leaves stdout as it was.
pub fn widen_stdout_pipe() {
    #[cfg(target_os = "linux")]
    {
        let _ = rustix::pipe::fcntl_setpipe_size(std::io::stdout(), PIPE_BYTES);
    }
}

/// Completes when stdout is a pipe whose reader has gone away (`hookctl listen --json | head
/// -1` after `head` exits), without waiting for a write to fail. Never completes for anything
/// else: a terminal, a file, a pipe that is still read, or another OS. Call it within a tokio
/// runtime.
///
/// On Linux the write end of a pipe reports `EPOLLERR` once no reader is left; tokio's
/// reactor waits for it alongside everything else, so this costs nothing per delivery (at most
/// a wake-up when a full pipe drains).
pub async fn stdout_closed() {
    #[cfg(target_os = "linux")]
    {
        use tokio::io::Interest;
        // `unchecked` leaves the descriptor blocking: it shares its flags with stdout, which
        // the printer writes with blocking writes. Nothing is written through this one.
        let watched = stdout_pipe()
            .and_then(|fd| tokio::net::unix::pipe::Sender::from_owned_fd_unchecked(fd).ok());
        if let Some(watched) = watched {
            loop {
                match watched.ready(Interest::ERROR).await {
                    Ok(ready) if ready.is_error() => return,
                    Ok(_) => continue,
                    Err(_) => break,
                }
            }
        }
    }
    std::future::pending::<()>().await;
}

/// A copy of stdout's descriptor, when stdout is a pipe.
#[cfg(target_os = "linux")]
fn stdout_pipe() -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::FileTypeExt;
    let fd = std::io::stdout().as_fd().try_clone_to_owned().ok()?;
    let file = std::fs::File::from(fd);
    let is_pipe = file.metadata().ok()?.file_type().is_fifo();
    is_pipe.then(|| std::os::fd::OwnedFd::from(file))
}

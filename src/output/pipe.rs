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

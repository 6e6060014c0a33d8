//! Ctrl-C and SIGTERM as a future.

use std::future::Future;

/// Completes on Ctrl-C or SIGTERM. The handlers are installed when this is called, not when
/// the future is first polled, so a signal that arrives in between is not lost (and does
/// not kill the process). Call it from within a tokio runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let interrupt = signal(SignalKind::interrupt()).ok();
        let terminate = signal(SignalKind::terminate()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = wait(interrupt) => {}
                _ = wait(terminate) => {}
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Keeps the process alive when a write passes the file-size limit (`ulimit -f`): the kernel
/// then sends SIGXFSZ, which kills by default. With a handler in place the write fails with
/// `EFBIG` instead, and the capture writer undoes the batch and answers 500. Hold the
/// returned value for as long as that should last; `None` where there is no such signal.
pub fn survive_file_size_limit() -> Option<impl Sized> {
    #[cfg(unix)]
    {
        /// SIGXFSZ is 25 on Linux, macOS and the BSDs.
        const SIGXFSZ: i32 = 25;
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(SIGXFSZ)).ok()
    }
    #[cfg(not(unix))]
    {
        None::<()>
    }
}

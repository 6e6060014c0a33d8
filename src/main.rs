//! hookctl: listen, send, replay and verify webhooks on one machine.

use std::process::ExitCode;

/// jemalloc keeps the receiver's many small, short-lived allocations cheap (see Cargo.toml).
#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    // `HOOKCTL_COMPLETE=SHELL hookctl ...` is a shell asking for completions: answer and exit.
    hookctl::cmd::complete::from_env();
    // Without its background thread, jemalloc returns freed pages only while the program
    // keeps allocating: a listen that goes idle after a burst would hold them for good.
    #[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
    let _ = tikv_jemalloc_ctl::background_thread::write(true);
    let cli = match hookctl::cmd::profile::parse_args(std::env::args_os().collect()) {
        Ok(cli) => cli,
        Err(hookctl::cmd::profile::Failure::Clap(e)) => e.exit(),
        Err(hookctl::cmd::profile::Failure::Profile(e)) => {
            hookctl::output::diag::Diag::stderr().error(&e);
            return hookctl::exit::Exit::Usage.into();
        }
    };
    match hookctl::run(cli) {
        Ok(code) => code,
        Err(err) => {
            if hookctl::exit::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            hookctl::output::diag::Diag::stderr().error(format_args!("{err:#}"));
            hookctl::exit::code_for(&err).into()
        }
    }
}

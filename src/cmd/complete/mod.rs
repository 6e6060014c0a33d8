//! Shell completion that asks hookctl as you type (clap_complete's `CompleteEnv`): the shell
//! script only registers a function, which runs `HOOKCTL_COMPLETE=SHELL hookctl -- WORDS...` on Tab.
//! So `hookctl send <Tab>` offers every built-in sample and flow and the user's own samples
//! ([`candidates`]), read from the working directory at that moment.
//!
//! `hookctl completions SHELL` prints the same registration script as `HOOKCTL_COMPLETE=SHELL hookctl`,
//! calling `hookctl` from PATH, so the committed files under `completions/` do not depend on
//! where the binary was built.

mod candidates;
mod shells;

use clap::CommandFactory as _;
use clap_complete::env::Shells;
use clap_complete::CompleteEnv;

/// The environment variable that turns a run into a completion request.
const VAR: &str = "HOOKCTL_COMPLETE";

/// The shells completion supports: clap_complete's, with bash joining words split at `:`
/// and zsh completing on the first Tab when autoloaded from fpath ([`shells`]).
const SHELLS: Shells<'static> = Shells(&[
    &shells::Bash,
    &clap_complete::env::Elvish,
    &clap_complete::env::Fish,
    &clap_complete::env::Powershell,
    &shells::Zsh,
]);

/// Answers a completion request and exits when `HOOKCTL_COMPLETE` is set (`HOOKCTL_COMPLETE=bash hookctl`
/// prints the bash script; the script calls `HOOKCTL_COMPLETE=bash hookctl -- WORDS...`); otherwise
/// returns at once, having read one environment variable.
pub fn from_env() {
    CompleteEnv::with_factory(command)
        .var(VAR)
        .shells(SHELLS)
        .complete();
}

/// The command line definition with the completers attached.
pub fn command() -> clap::Command {
    candidates::attach(crate::cli::Cli::command())
}

/// `hookctl completions SHELL`: the registration script for SHELL on stdout.
pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<()> {
    let out = script(shell)?;
    std::io::Write::write_all(&mut std::io::stdout().lock(), &out)?;
    Ok(())
}

/// The registration script for `shell`, calling `hookctl` from PATH.
pub fn script(shell: clap_complete::Shell) -> anyhow::Result<Vec<u8>> {
    let name = shell.to_string();
    let Some(completer) = SHELLS.completer(&name) else {
        anyhow::bail!("no completion for the {name} shell");
    };
    let mut out = Vec::new();
    completer.write_registration(VAR, "hookctl", "hookctl", "hookctl", &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests;

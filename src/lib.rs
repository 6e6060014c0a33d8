//! hookctl: a local webhook developer tool. `listen` receives, `send` produces, `replay`
//! resends and `verify` checks signatures, all on one event model ([`event::Event`]) and one
//! capture format.

#[cfg(feature = "amqp")]
pub mod amqp;
pub mod bridge;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod deliver;
pub mod error;
pub mod event;
pub mod exit;
#[cfg(feature = "inspector")]
pub mod inspect;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod listen;
pub mod output;
pub mod replay;
pub mod route;
pub mod send;
pub mod serve;
pub mod shutdown;
pub mod signature;
pub mod source;
pub mod units;
pub mod verify;

use std::io::IsTerminal;
use std::process::ExitCode;

use cli::{Cli, ColorWhen, Command};
use output::ColorChoice;

/// Runs a parsed command line and returns the exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let choice = match cli.global.color {
        ColorWhen::Auto => ColorChoice::Auto,
        ColorWhen::Always => ColorChoice::Always,
        ColorWhen::Never => ColorChoice::Never,
    };
    // Data goes to stdout, so its being a terminal decides; listen prints there too.
    output::color::apply(output::should_color(
        choice,
        std::io::stdout().is_terminal(),
    ));
    // Diagnostics go to stderr: its being a terminal decides their colour.
    output::diag::set_color(output::should_color(
        choice,
        std::io::stderr().is_terminal(),
    ));
    let global = cmd::GlobalOptions {
        verbose: cli.global.verbose,
        quiet: cli.global.quiet,
    };
    let exit = match cli.command {
        Command::Listen(args) => cmd::listen::run(args, &global)?,
        Command::Send(args) => cmd::send::run(args, &global)?,
        Command::Replay(args) => cmd::replay::run(args, &global)?,
        Command::Verify(args) => cmd::verify::run(args, &global)?,
        Command::Relay(args) => cmd::relay::run(args, &global)?,
        Command::Serve(args) => cmd::serve::run(args, &global)?,
        Command::Channel(command) => cmd::channel::run(command, &global)?,
        Command::Config(args) => cmd::config::run(args)?,
        Command::Inspect(args) => cmd::inspect::run(args, &global)?,
        Command::Completions { shell } => {
            cmd::complete::completions(shell)?;
            exit::Exit::Ok
        }
    };
    Ok(exit.into())
}

//! `hookctl verify`: turns the arguments into a [`VerifyConfig`] and calls [`verify::run`].

use crate::cli::VerifyArgs;
use crate::cmd::{scheme_from, secrets_from, GlobalOptions};
use crate::exit::Exit;
use crate::output::diag::Diag;
use crate::verify::{self, VerifyConfig};

pub fn run(args: VerifyArgs, global: &GlobalOptions) -> anyhow::Result<Exit> {
    let config = VerifyConfig {
        scheme: scheme_from(&args.scheme, &args.secrets)?,
        secrets: secrets_from(&args.secrets)?,
        file: args.file,
        tolerance: args.tolerance,
        against_now: args.now,
        json: args.json,
        quiet: global.quiet,
    };
    verify::run(&config, &mut std::io::stdout().lock(), &Diag::stderr())
}

//! `hookctl inspect FILE`: turns the arguments into an [`InspectRun`], binds, and calls
//! `inspect::run`. Built without the `inspector` feature, it says so.

use crate::cli::InspectArgs;
use crate::cmd::GlobalOptions;
use crate::exit::Exit;

#[cfg(not(feature = "inspector"))]
pub fn run(_args: InspectArgs, _global: &GlobalOptions) -> anyhow::Result<Exit> {
    anyhow::bail!(super::ui::NO_INSPECTOR)
}

#[cfg(feature = "inspector")]
pub fn run(args: InspectArgs, _global: &GlobalOptions) -> anyhow::Result<Exit> {
    use crate::cmd::listen::bind;
    use crate::deliver::{DeliveryConfig, Target};
    use crate::inspect::{self, InspectRun, InspectorConfig};
    use crate::output::diag::Diag;
    use crate::shutdown::shutdown_signal;

    let diag = Diag::stderr();
    if let Some(to) = &args.to {
        Target::parse(to)?;
    }
    if !args.file.is_file() {
        anyhow::bail!("cannot open {}: no such file", args.file.display());
    }
    if args.ui_token.is_none() && !super::listen::is_loopback(&args.host) {
        anyhow::bail!(
            "the inspector serves captured payloads: off loopback (--host {}) it needs --ui-token (or HOOKCTL_UI_TOKEN)",
            args.host
        );
    }
    let config = InspectorConfig {
        mode: "inspect",
        default_target: args.to.clone(),
        delivery: DeliveryConfig {
            timeout: args.timeout,
            ..DeliveryConfig::default()
        },
        signing: super::ui::signing(&args.secrets),
        source: args.file.display().to_string(),
        diag: diag.clone(),
        open: args.open,
    };
    let listener = bind(&args.host, args.port)?;
    let runtime = crate::deliver::runtime()?;
    runtime.block_on(async {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        inspect::run(
            listener,
            InspectRun {
                file: args.file.clone(),
                config,
                token: args.ui_token.clone(),
            },
            shutdown_signal(),
        )
        .await
    })?;
    Ok(Exit::Ok)
}

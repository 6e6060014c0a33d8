//! Glue between the command line and the core: each subcommand turns its clap arguments into
//! plain config structs and calls the core modules, which never see clap.

pub mod channel;
pub mod complete;
pub mod config;
pub mod inspect;
pub mod kafka;
pub mod listen;
pub mod profile;
pub mod relay;
pub mod replay;
pub mod send;
pub mod serve;
pub mod ui;
pub mod verify;

use crate::cli::{DeliveryArgs, EncodingArg, SecretArgs};
use crate::deliver::engine::EngineConfig;
use crate::deliver::report::Detail;
use crate::deliver::report::ReportConfig;
use crate::deliver::DeliveryConfig;
use crate::send::compose::Signer;
use crate::signature::{Encoding, HmacOptions, Scheme, Secret};

/// The global flags, after colour has been decided.
#[derive(Debug, Clone, Copy)]
pub struct GlobalOptions {
    pub verbose: u8,
    pub quiet: bool,
}

/// How much per-event output a run shows.
pub fn detail(global: &GlobalOptions) -> Detail {
    if global.quiet {
        Detail::Quiet
    } else if global.verbose > 0 {
        Detail::Verbose
    } else {
        Detail::Normal
    }
}

/// The engine's settings from the delivery flags that send, replay and relay share.
pub fn delivery_setup(
    args: &DeliveryArgs,
    global: &GlobalOptions,
    total: Option<u64>,
) -> (ReportConfig, DeliveryConfig, EngineConfig) {
    let report = ReportConfig {
        json: args.json,
        detail: detail(global),
        dead_letter: args.dead_letter.clone(),
        total,
        concurrency: args.concurrency as usize,
        progress: None,
    };
    let delivery = DeliveryConfig {
        timeout: args.timeout,
        retries: args.retries,
        backoff: args.backoff,
        extra_roots: Vec::new(),
    };
    let engine = EngineConfig {
        concurrency: args.concurrency as usize,
        rate: args.rate,
    };
    (report, delivery, engine)
}

/// The scheme named on the command line, with the generic-hmac options.
pub fn scheme_from(name: &str, secrets: &SecretArgs) -> anyhow::Result<Scheme> {
    Scheme::from_name(name, hmac_options(secrets)).map_err(anyhow::Error::msg)
}

/// The generic-hmac options (`--signature-header`, `--encoding`, `--prefix`), when a header
/// is named.
pub fn hmac_options(secrets: &SecretArgs) -> Option<HmacOptions> {
    secrets.signature_header.as_ref().map(|header| HmacOptions {
        header: header.clone(),
        encoding: match secrets.encoding {
            EncodingArg::Hex => Encoding::Hex,
            EncodingArg::Base64 => Encoding::Base64,
        },
        prefix: secrets.prefix.clone(),
    })
}

/// The secrets given with --secret or HOOKCTL_SECRET.
pub fn secrets_from(secrets: &SecretArgs) -> anyhow::Result<Vec<Secret>> {
    if secrets.secret.is_empty() {
        anyhow::bail!("a signing secret is needed: pass --secret or set HOOKCTL_SECRET");
    }
    Ok(secrets
        .secret
        .iter()
        .map(|s| Secret::new(s.clone()))
        .collect())
}

/// A signer for `send --sign` / `replay --resign` (the first secret signs). A secret of the
/// wrong form for the scheme is refused here, before anything is sent.
pub fn signer_from(scheme: &str, secrets: &SecretArgs) -> anyhow::Result<Signer> {
    let scheme = scheme_from(scheme, secrets)?;
    let secret = secrets_from(secrets)?.swap_remove(0);
    Signer::new(scheme, secret).map_err(anyhow::Error::msg)
}

/// The scheme and secrets for verifying (`listen --verify`), each secret checked for its form.
pub fn verifier_from(scheme: &str, secrets: &SecretArgs) -> anyhow::Result<(Scheme, Vec<Secret>)> {
    let scheme = scheme_from(scheme, secrets)?;
    let checked = secrets_from(secrets)?
        .into_iter()
        .enumerate()
        .map(|(i, secret)| {
            Signer::new(scheme.clone(), secret)
                .map(|signer| signer.secret)
                .map_err(|e| anyhow::anyhow!("secret #{}: {e}", i + 1))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((scheme, checked))
}

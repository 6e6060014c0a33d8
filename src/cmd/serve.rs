//! `hookctl serve`: turns the arguments into a [`ServeConfig`], loads the TLS files, binds,
//! and calls [`serve::run`].

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::cli::{LogFormatArg, ServeArgs};
use crate::cmd::GlobalOptions;
use crate::exit::Exit;
use crate::output::diag::Diag;
use crate::send::compose::Signer;
use crate::serve::edge::EdgeCheck;
use crate::serve::ids::is_channel_id;
use crate::serve::log::Retention;
use crate::serve::logs::{LogFormat, Logger};
use crate::serve::{self, ServeConfig};
use crate::shutdown::shutdown_signal;
use crate::signature::{Scheme, Secret};

pub fn run(args: ServeArgs, global: &GlobalOptions) -> anyhow::Result<Exit> {
    let config = config(&args, global)?;
    let listener = crate::cmd::listen::bind(&args.host, args.port)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        serve::run(listener, config, shutdown_signal()).await
    })?;
    Ok(Exit::Ok)
}

/// The serve settings the arguments ask for.
pub fn config(args: &ServeArgs, global: &GlobalOptions) -> anyhow::Result<ServeConfig> {
    #[cfg(not(feature = "amqp"))]
    if args.broker.is_some() {
        anyhow::bail!("--broker: this hookctl was built without RabbitMQ support; rebuild with the `amqp` feature (on by default)");
    }
    if let Some(url) = &args.public_url {
        let parsed = url::Url::parse(url)
            .map_err(|e| anyhow::anyhow!("--public-url {url:?} is not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            anyhow::bail!("--public-url {url:?} must be an http:// or https:// URL with a host");
        }
    }
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(tls_config(cert, key)?),
        _ => None,
    };
    Ok(ServeConfig {
        data: args.data.clone(),
        public_url: args.public_url.clone(),
        retention: Retention {
            age: args.retain,
            events: args.retain_events,
        },
        fsync: args.fsync,
        max_body: args.max_body,
        header_timeout: args.header_timeout,
        body_timeout: args.body_timeout,
        max_connections: args.max_connections as usize,
        max_channels: args.max_channels as usize,
        stall_timeout: args.stall_timeout,
        tls,
        metrics_token: args.metrics_token.clone().filter(|t| !t.is_empty()),
        create_token: args.create_token.clone().filter(|t| !t.is_empty()),
        rate_limit: args.rate_limit.map(|r| r.per_second),
        verify: args
            .verify
            .iter()
            .map(|spec| edge_check(spec, args.tolerance.as_secs()))
            .collect::<anyhow::Result<_>>()?,
        log: Logger {
            format: match args.log_format {
                LogFormatArg::Text => LogFormat::Text,
                LogFormatArg::Json => LogFormat::Json,
            },
            diag: Diag::stderr(),
            verbose: global.verbose > 0,
        },
        #[cfg(feature = "amqp")]
        broker: match &args.broker {
            Some(url) => Some(broker_config(url, args)?),
            None => None,
        },
    })
}

/// `--broker URL --broker-stream NAME`.
#[cfg(feature = "amqp")]
fn broker_config(url: &str, args: &ServeArgs) -> anyhow::Result<serve::broker::BrokerConfig> {
    let url = crate::amqp::BrokerUrl::parse(url).map_err(|e| anyhow::anyhow!("--broker: {e}"))?;
    Ok(serve::broker::BrokerConfig {
        url,
        stream: args.broker_stream.clone(),
        confirm_timeout: std::time::Duration::from_secs(10),
        connection_name: format!("hookctl serve ({})", args.broker_stream),
        retain: args.retain,
    })
}

/// One `--verify CHANNEL=SCHEME[:ENV]`, its secret read from ENV and checked for its form.
fn edge_check(spec: &str, tolerance_secs: u64) -> anyhow::Result<(String, EdgeCheck)> {
    let usage = || {
        anyhow::anyhow!("--verify {spec:?}: write it as CHANNEL=SCHEME or CHANNEL=SCHEME:ENV, e.g. '*=github:GITHUB_WEBHOOK_SECRET'")
    };
    let (channel, rest) = spec.split_once('=').ok_or_else(usage)?;
    if channel != "*" && !is_channel_id(channel) {
        anyhow::bail!("--verify {spec:?}: {channel:?} is not a channel id (22 characters, as `hookctl channel new` prints) or *");
    }
    let (scheme, env) = rest.split_once(':').unwrap_or((rest, "HOOKCTL_SECRET"));
    if scheme.is_empty() || env.is_empty() {
        return Err(usage());
    }
    let scheme =
        Scheme::from_name(scheme, None).map_err(|e| anyhow::anyhow!("--verify {spec:?}: {e}"))?;
    let secret = std::env::var(env).unwrap_or_default();
    if secret.is_empty() {
        anyhow::bail!(
            "--verify {spec:?}: set the signing secret in the environment variable {env}"
        );
    }
    let secret = Signer::new(scheme.clone(), Secret::new(secret))
        .map_err(|e| anyhow::anyhow!("--verify {spec:?}: the secret in {env}: {e}"))?
        .secret;
    Ok((
        channel.to_owned(),
        EdgeCheck {
            scheme,
            secrets: vec![secret],
            tolerance_secs,
        },
    ))
}

/// A rustls server configuration from PEM files.
pub fn tls_config(cert: &Path, key: &Path) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("--tls-cert {}: {e}", cert.display()))?;
    if chain.is_empty() {
        anyhow::bail!("--tls-cert {}: no certificate in the file", cert.display());
    }
    let key_der = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| anyhow::anyhow!("--tls-key {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .with_context(|| {
            format!(
                "--tls-key {} does not go with --tls-cert {}",
                key.display(),
                cert.display()
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

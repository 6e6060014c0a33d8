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
use crate::serve::log::Retention;
use crate::serve::logs::{LogFormat, Logger};
use crate::serve::{self, ServeConfig};
use crate::shutdown::shutdown_signal;

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
        tls,
        metrics_token: args.metrics_token.clone().filter(|t| !t.is_empty()),
        log: Logger {
            format: match args.log_format {
                LogFormatArg::Text => LogFormat::Text,
                LogFormatArg::Json => LogFormat::Json,
            },
            diag: Diag::stderr(),
            verbose: global.verbose > 0,
        },
    })
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

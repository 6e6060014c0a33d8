//! `hookctl channel new`: asks a relay for a channel and prints its URL and token.

use std::io::Write;
use std::time::SystemTime;

use bytes::Bytes;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::CertificateDer;

use crate::cli::{ChannelCommand, ChannelNewArgs};
use crate::cmd::GlobalOptions;
use crate::deliver::{Deliverer, DeliveryConfig, Target};
use crate::event::{Event, Headers};
use crate::exit::Exit;

pub fn run(command: ChannelCommand, _global: &GlobalOptions) -> anyhow::Result<Exit> {
    match command {
        ChannelCommand::New(args) => new(&args),
    }
}

/// What a relay answers to `POST /new`.
#[derive(serde::Deserialize, serde::Serialize)]
struct Created {
    channel: String,
    url: String,
    token: String,
}

fn new(args: &ChannelNewArgs) -> anyhow::Result<Exit> {
    let base = args.server.trim_end_matches('/');
    let parsed = url::Url::parse(base)
        .map_err(|e| anyhow::anyhow!("--server {base:?} is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        anyhow::bail!("--server {base:?} must be an http:// or https:// URL");
    }
    let target = Target::parse(&format!("{base}/new"))?;
    let roots = match &args.cacert {
        Some(path) => CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| anyhow::anyhow!("--cacert {}: {e}", path.display()))?,
        None => Vec::new(),
    };
    let (_stop, stop) = tokio::sync::watch::channel(false);
    let deliverer = Deliverer::new(
        DeliveryConfig {
            timeout: args.timeout,
            retries: 0,
            backoff: std::time::Duration::ZERO,
            extra_roots: roots,
        },
        target,
        None,
        stop,
    )?;
    let mut headers = Headers::new();
    headers.push("accept", "application/json");
    let request = Event::from_parts(
        "POST",
        "/new",
        None,
        headers,
        Bytes::new(),
        SystemTime::now(),
    );
    let runtime = crate::deliver::runtime()?;
    let answer = runtime.block_on(deliverer.deliver(&request));
    let Some(status) = answer.status else {
        let why = answer.error.map(|e| e.to_string()).unwrap_or_default();
        anyhow::bail!("cannot reach the relay: {why}");
    };
    if status != 201 {
        let text = String::from_utf8_lossy(&answer.body);
        let detail = serde_json::from_slice::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .unwrap_or_else(|| text.chars().take(200).collect());
        anyhow::bail!(
            "the relay answered {} to POST {base}/new: {}",
            status,
            crate::output::diag::Untrusted(&detail)
        );
    }
    let created: Created = serde_json::from_slice(&answer.body).map_err(|e| {
        anyhow::anyhow!("the relay's answer to POST {base}/new is not a channel: {e}")
    })?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&created)?)?;
    } else {
        let url = crate::output::diag::Untrusted(&created.url);
        let token = crate::output::diag::Untrusted(&created.token);
        writeln!(out, "url:   {url}")?;
        writeln!(out, "token: {token}")?;
        writeln!(out)?;
        writeln!(
            out,
            "Give the provider the URL. Subscribe with the token (it is shown only now):"
        )?;
        writeln!(out, "  hookctl listen --source {url} --token {token}")?;
    }
    Ok(Exit::Ok)
}

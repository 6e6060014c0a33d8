//! `hookctl send`: glue from the command line to the event builder and the delivery engine.

use std::io::{Read, Write};
use std::sync::Arc;

use anyhow::Context as _;
use bytes::Bytes;
use tokio::sync::mpsc;

use crate::cli::SendArgs;
use crate::cmd::{delivery_setup, runtime, signer_from, GlobalOptions};
use crate::deliver::engine;
use crate::deliver::report::Reporter;
use crate::deliver::{Deliverer, Target};
use crate::event::jsonpath;
use crate::event::Headers;
use crate::exit::Exit;
use crate::listen::respond::parse_header;
use crate::send::compose::{BodySource, EventSpec};
use crate::send::samples;

pub fn run(args: SendArgs, global: &GlobalOptions) -> anyhow::Result<Exit> {
    if args.list {
        return list();
    }
    let target = Target::parse(&args.to)?;
    let url = reqwest::Url::parse(&args.to)?;
    let body = match (&args.data, &args.event) {
        (Some(data), _) => {
            if !args.set.is_empty() {
                anyhow::bail!("--set changes a sample event; with --data, edit your body instead");
            }
            BodySource::Raw(read_data(data)?)
        }
        (None, Some(name)) => BodySource::Sample {
            sample: samples::find(name).map_err(anyhow::Error::msg)?,
            overrides: args
                .set
                .iter()
                .map(|s| jsonpath::parse_assignment(s))
                .collect::<Result<_, _>>()
                .map_err(anyhow::Error::msg)?,
        },
        (None, None) => anyhow::bail!("name a sample event (see --list) or give --data"),
    };
    let headers = args
        .headers
        .iter()
        .map(|h| parse_header(h))
        .collect::<Result<Headers, _>>()
        .map_err(anyhow::Error::msg)?;
    let signer = match &args.sign {
        Some(scheme) => Some(Arc::new(signer_from(scheme, &args.secrets)?)),
        None => None,
    };
    // Retries are re-signed with a fresh timestamp, unless --timestamp pins it.
    let prepare = match (&signer, args.timestamp) {
        (Some(signer), None) => Some(signer.clone().resign_hook(2)),
        _ => None,
    };
    let spec = EventSpec {
        body,
        method: args.method.to_ascii_uppercase(),
        path: target.path().unwrap_or("/").to_owned(),
        query: url.query().map(str::to_owned),
        headers,
        tag: args.delivery.tag.clone(),
        signer,
        id: args.id.clone(),
        timestamp: args.timestamp,
    };
    spec.validate().map_err(anyhow::Error::msg)?;
    if args.dry_run {
        let mut out = std::io::stdout().lock();
        for _ in 0..args.count {
            let event = spec.build().map_err(anyhow::Error::msg)?;
            writeln!(out, "{}", event.to_json_line())?;
        }
        return Ok(Exit::Ok);
    }
    if args.publish.publish.is_some() {
        let json = args.delivery.json;
        return crate::cmd::relay::send_publish(spec, args.count, &args.publish, json, global);
    }
    let delivery = &args.delivery;
    let count = args.count;
    let (report, config, engine_config) = delivery_setup(delivery, global, Some(count));
    let exit = runtime()?.block_on(async move {
        let stop = engine::stop_on_signals();
        let deliverer = Arc::new(Deliverer::new(config, target, prepare, stop.clone())?);
        let (tx, rx) = mpsc::channel(256);
        let producer = tokio::spawn(async move {
            for _ in 0..count {
                let Ok(event) = spec.build() else { break };
                if tx.send(event).await.is_err() {
                    break;
                }
            }
        });
        let mut reporter = Reporter::new(report)?;
        let interrupted = engine::run(deliverer, engine_config, rx, stop, &mut reporter).await?;
        producer.abort();
        reporter.finish(interrupted).await
    })?;
    Ok(exit)
}

fn list() -> anyhow::Result<Exit> {
    let mut out = std::io::stdout().lock();
    for sample in samples::all() {
        writeln!(out, "{:<20} {}", sample.name, sample.description)?;
    }
    Ok(Exit::Ok)
}

/// `--data`: inline text, `@FILE`, or `-` for stdin, as raw bytes.
fn read_data(data: &str) -> anyhow::Result<Bytes> {
    if data == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("cannot read the body from stdin")?;
        return Ok(Bytes::from(buf));
    }
    if let Some(path) = data.strip_prefix('@') {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read --data file {path}"))?;
        return Ok(Bytes::from(bytes));
    }
    Ok(Bytes::from(data.to_owned()))
}

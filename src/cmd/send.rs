//! `hookctl send`: turns the arguments into an [`EventSpec`] and a [`SendConfig`] and calls
//! [`send::run`] (or [`send::list`], [`send::dry_run`], or publishes to a broker).

use std::io::Read;
use std::sync::Arc;

use anyhow::Context as _;
use bytes::Bytes;

use crate::cli::SendArgs;
use crate::cmd::{delivery_setup, signer_from, GlobalOptions};
use crate::deliver::engine::Run;
use crate::deliver::Target;
use crate::event::jsonpath::Assignment;
use crate::event::Headers;
use crate::exit::Exit;
use crate::listen::respond::parse_header;
use crate::send::compose::{BodySource, EventSpec, Overrides};
use crate::send::{self, samples, SendConfig};

pub fn run(args: SendArgs, global: &GlobalOptions) -> anyhow::Result<Exit> {
    if args.list {
        return send::list(&mut std::io::stdout().lock());
    }
    let target = Target::parse(&args.to)?;
    let url = url::Url::parse(&args.to)?;
    // --set-new first, so that --set may change what it added.
    let overrides: Overrides = (args.set_new.iter().map(|s| Assignment::parse(s, true)))
        .chain(args.set.iter().map(|s| Assignment::parse(s, false)))
        .collect::<Result<_, _>>()
        .map_err(anyhow::Error::msg)?;
    let body = match (&args.data, &args.event) {
        (Some(data), _) if overrides.is_empty() => BodySource::Raw(read_data(data)?),
        (Some(data), _) => BodySource::Raw(
            overrides
                .edit_body(&read_data(data)?)
                .map_err(anyhow::Error::msg)?,
        ),
        (None, Some(name)) => BodySource::Sample {
            sample: samples::find(name).map_err(anyhow::Error::msg)?,
            overrides,
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
        return send::dry_run(&spec, args.count, &mut std::io::stdout().lock());
    }
    if args.publish.publish.is_some() {
        let json = args.delivery.json;
        return crate::cmd::relay::send_publish(spec, args.count, &args.publish, json, global);
    }
    let (report, delivery, engine) = delivery_setup(&args.delivery, global, Some(args.count));
    send::run(SendConfig {
        spec,
        count: args.count,
        run: Run {
            target,
            prepare,
            report,
            delivery,
            engine,
        },
    })
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

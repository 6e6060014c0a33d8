//! `hookctl send`: turns the arguments into an [`EventSpec`] and a [`SendConfig`] and calls
//! [`send::run`] (or [`send::list`], [`send::dry_run`], or publishes to a broker).

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use bytes::Bytes;

use crate::cli::{FormatArg, SendArgs};
use crate::cmd::{delivery_setup, signer_from, GlobalOptions};
use crate::deliver::engine::Run;
use crate::deliver::Target;
use crate::event::jsonpath::Assignment;
use crate::event::Headers;
use crate::exit::Exit;
use crate::listen::respond::parse_header;
use crate::send::compose::{BodySource, EventSpec, Overrides, Seed};
use crate::send::format::EventFormat;
use crate::send::samples::{user, Catalogue, Entry};
use crate::send::{self, SendConfig};

pub fn run(args: SendArgs, global: &GlobalOptions) -> anyhow::Result<Exit> {
    let catalogue = catalogue(&args)?;
    if let Some(only) = &args.list {
        let only = Some(only.as_str()).filter(|o| !o.is_empty());
        return send::list(&catalogue, only, args.names, &mut std::io::stdout().lock());
    }
    let target = Target::parse(&args.to)?;
    let url = url::Url::parse(&args.to)?;
    // --set-new first, so that --set may change what it added.
    let overrides: Overrides = (args.set_new.iter().map(|s| Assignment::parse(s, true)))
        .chain(args.set.iter().map(|s| Assignment::parse(s, false)))
        .collect::<Result<_, _>>()
        .map_err(anyhow::Error::msg)?;
    let (body, provider_scheme) = match (&args.data, &args.event) {
        (Some(data), _) if overrides.is_empty() => (BodySource::Raw(read_data(data)?), None),
        (Some(data), _) => (
            BodySource::Raw(
                overrides
                    .edit_body(&read_data(data)?)
                    .map_err(anyhow::Error::msg)?,
            ),
            None,
        ),
        (None, Some(name)) => match catalogue.find(name).map_err(anyhow::Error::msg)? {
            Entry::Sample(sample) => (
                BodySource::Sample { sample, overrides },
                sample.provider.and_then(|p| p.scheme),
            ),
            Entry::Flow(flow) => {
                if !overrides.is_empty() {
                    anyhow::bail!(
                        "--set changes one sample; {name} is a flow (override fields in your own flow file instead)"
                    );
                }
                if args.publish.publish.is_some() {
                    anyhow::bail!("{name} is a flow, which send delivers over HTTP only; --publish takes a sample");
                }
                let mut schemes: Vec<&str> = Vec::new();
                for step in &flow.steps {
                    if let Some(scheme) = step.sample.provider.and_then(|p| p.scheme) {
                        if !schemes.contains(&scheme) {
                            schemes.push(scheme);
                        }
                    }
                }
                let wants_signing = args.sign.as_deref() == Some("auto")
                    || (args.sign.is_none() && !args.secrets.secret.is_empty());
                if schemes.len() > 1 && wants_signing {
                    anyhow::bail!(
                        "the steps of {name} come from providers that sign differently ({}); name one scheme with --sign SCHEME",
                        schemes.join(", ")
                    );
                }
                (BodySource::Flow(flow), schemes.first().copied())
            }
        },
        (None, None) => anyhow::bail!("name a sample event (see --list) or give --data"),
    };
    let headers = args
        .headers
        .iter()
        .map(|h| parse_header(h))
        .collect::<Result<Headers, _>>()
        .map_err(anyhow::Error::msg)?;
    let scheme = match (args.sign.as_deref(), provider_scheme) {
        (Some("auto"), Some(scheme)) => Some(scheme),
        (Some("auto"), None) => anyhow::bail!(
            "--sign without a scheme signs like the sample's provider, and this one names none; \
             give a scheme: --sign standard|stripe|github|shopify|slack|hmac"
        ),
        (Some(named), _) => Some(named),
        // A provider's sample is signed whenever a secret is given, as the provider would.
        (None, Some(scheme)) if !args.secrets.secret.is_empty() => Some(scheme),
        (None, _) => None,
    };
    let signer = match scheme {
        Some(scheme) => Some(Arc::new(signer_from(scheme, &args.secrets)?)),
        None => None,
    };
    // Retries are re-signed with a fresh timestamp, unless --timestamp pins it.
    let prepare = match (&signer, args.timestamp) {
        (Some(signer), None) => Some(signer.clone().resign_hook(2)),
        _ => None,
    };
    let flow = matches!(body, BodySource::Flow(_));
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
        seed: args.seed.map(Seed::new),
        format: match args.format {
            FormatArg::Plain => EventFormat::Plain,
            FormatArg::Cloudevents => EventFormat::CloudEventsBinary,
            FormatArg::CloudeventsStructured => EventFormat::CloudEventsStructured,
        },
        gap: args.gap,
    };
    if !flow {
        spec.validate().map_err(anyhow::Error::msg)?;
    }
    if args.dry_run {
        return send::dry_run(&spec, args.count, &mut std::io::stdout().lock());
    }
    if args.publish.publish.is_some() {
        let json = args.delivery.json;
        return crate::cmd::relay::send_publish(spec, args.count, &args.publish, json, global);
    }
    let total = match &spec.body {
        BodySource::Flow(flow) => args.count.saturating_mul(flow.steps.len() as u64),
        _ => args.count,
    };
    let (report, delivery, mut engine) = delivery_setup(&args.delivery, global, Some(total));
    if flow {
        // A flow's steps arrive in order.
        engine.concurrency = 1;
    }
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

/// The built-in samples and the user's (from --samples, HOOKCTL_SAMPLES or ./hookctl/samples).
/// The user's folder is only read when it matters (a listing, or a name that is not
/// built in), so a broken file there does not stop `send --data` or a built-in sample.
pub(crate) fn catalogue(args: &SendArgs) -> anyhow::Result<Catalogue> {
    let mut catalogue = Catalogue::builtin();
    let wanted = match (&args.list, &args.data, &args.event) {
        (Some(_), _, _) => true,
        (None, None, Some(name)) => catalogue.find(name).is_err(),
        _ => false,
    };
    if !wanted {
        return Ok(catalogue);
    }
    let source = match &args.samples {
        Some(dir) => user::Source {
            dir: dir.clone(),
            explicit: true,
        },
        None => user::Source {
            dir: PathBuf::from(user::DEFAULT_DIR),
            explicit: false,
        },
    };
    user::load(&mut catalogue, &source)?;
    Ok(catalogue)
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

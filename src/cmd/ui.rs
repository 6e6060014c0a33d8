//! `listen --ui`: the web inspector that watches listen, built from the arguments, and its
//! own server for `--ui-port`. Built without the `inspector` feature, `--ui` and
//! `hookctl inspect` say so and the inspector's code is left out; the flags stay, so the
//! command line (and its completions) is the same either way.

#[cfg(feature = "inspector")]
pub use with_inspector::{inspector, serve_own_port, signing, Ui};

#[cfg(feature = "inspector")]
mod with_inspector {
    use std::sync::Arc;

    use crate::cli::{ListenArgs, SecretArgs};
    use crate::cmd::listen::is_loopback;
    use crate::deliver::DeliveryConfig;
    use crate::inspect::guard::Guard;
    use crate::inspect::{Inspector, InspectorConfig, ListenObserver, Signing};
    use crate::listen::observe::Observe;
    use crate::output::diag::Diag;
    use crate::signature::Secret;

    /// The inspector `--ui` asks for, and the observer that feeds it.
    pub struct Ui {
        inspector: Arc<Inspector>,
        observer: Arc<dyn Observe>,
    }

    impl Ui {
        /// What listen tells about each delivery.
        pub fn observer(&self) -> Arc<dyn Observe> {
            self.observer.clone()
        }
    }

    /// The inspector `--ui` asks for; off loopback only with `--ui-token`.
    pub fn inspector(args: &ListenArgs, diag: &Diag) -> anyhow::Result<Option<Ui>> {
        if !args.ui.ui {
            return Ok(None);
        }
        let guard = match &args.ui.ui_token {
            Some(token) => Guard::with_token(token.clone()),
            None if is_loopback(&args.host) => Guard::loopback(),
            None => {
                diag.warn(format_args!(
                    "the inspector stays off on --host {}: it serves every payload, so off loopback it needs --ui-token (or HOOKCTL_UI_TOKEN)",
                    args.host
                ));
                return Ok(None);
            }
        };
        let source = match &args.capture {
            Some(path) => path.display().to_string(),
            None => "memory".to_owned(),
        };
        let inspector = Inspector::new(
            InspectorConfig {
                mode: "listen",
                default_target: args.forward.forward_to.clone(),
                delivery: DeliveryConfig {
                    timeout: args.forward.forward_timeout,
                    ..DeliveryConfig::default()
                },
                signing: signing(&args.verify.secrets),
                source,
                diag: diag.clone(),
                open: args.ui.open,
            },
            guard,
        );
        let observer = Arc::new(ListenObserver {
            inspector: inspector.clone(),
            same_port: args.ui.ui_port.is_none(),
        });
        Ok(Some(Ui {
            inspector,
            observer,
        }))
    }

    /// Serves the inspector on `--ui-port`'s listener until listen stops.
    pub fn serve_own_port(
        ui: Ui,
        listener: std::net::TcpListener,
    ) -> anyhow::Result<tokio::task::JoinHandle<()>> {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let addr = listener.local_addr()?;
        let inspector = ui.inspector;
        inspector.guard.allow(addr);
        inspector.announce(&format!("http://{addr}"));
        Ok(tokio::spawn(crate::inspect::server::serve(
            listener, inspector,
        )))
    }

    /// The secret the inspector re-signs edited events with, if one was given.
    pub fn signing(secrets: &SecretArgs) -> Option<Signing> {
        let secret = secrets.secret.first()?;
        Some(Signing {
            secret: Secret::new(secret.clone()),
            hmac: crate::cmd::hmac_options(secrets),
        })
    }
}

/// The error `--ui` and `hookctl inspect` give in a build without the `inspector` feature.
#[cfg(not(feature = "inspector"))]
pub const NO_INSPECTOR: &str =
    "this hookctl was built without the web inspector; rebuild with `cargo build --features inspector`";

/// Never made: without the `inspector` feature there is no inspector.
#[cfg(not(feature = "inspector"))]
pub enum Ui {}

#[cfg(not(feature = "inspector"))]
impl Ui {
    pub fn observer(&self) -> std::sync::Arc<dyn crate::listen::observe::Observe> {
        match *self {}
    }
}

#[cfg(not(feature = "inspector"))]
pub fn inspector(
    args: &crate::cli::ListenArgs,
    _diag: &crate::output::diag::Diag,
) -> anyhow::Result<Option<Ui>> {
    if args.ui.ui {
        anyhow::bail!(NO_INSPECTOR);
    }
    Ok(None)
}

#[cfg(not(feature = "inspector"))]
pub fn serve_own_port(
    ui: Ui,
    _listener: std::net::TcpListener,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    match ui {}
}

//! Every sample and flow `send` knows: the built-in ones and the user's, looked up by name and
//! listed by provider.

use std::io::Write;
use std::path::PathBuf;
use std::sync::LazyLock;

use super::flows::{self, Flow};
use super::{generic, providers, Sample};
use crate::error::ConfigError;

static BUILTIN: LazyLock<Vec<Sample>> = LazyLock::new(|| {
    let mut samples: Vec<Sample> = generic::samples().collect();
    for provider in providers::ALL {
        samples.extend(provider.samples());
    }
    samples
});

static BUILTIN_FLOWS: LazyLock<Vec<Flow>> = LazyLock::new(flows::builtin);

/// The built-in samples.
pub(super) fn builtin() -> &'static [Sample] {
    &BUILTIN
}

/// What a name given to `send` stands for.
#[derive(Debug, Clone, Copy)]
pub enum Entry {
    Sample(&'static Sample),
    Flow(&'static Flow),
}

/// The samples and flows one run knows.
#[derive(Debug)]
pub struct Catalogue {
    samples: Vec<&'static Sample>,
    flows: Vec<&'static Flow>,
    /// The user's samples folder, when one was read.
    pub user_dir: Option<PathBuf>,
}

impl Catalogue {
    /// The built-in samples and flows only.
    pub fn builtin() -> Catalogue {
        Catalogue {
            samples: BUILTIN.iter().collect(),
            flows: BUILTIN_FLOWS.iter().collect(),
            user_dir: None,
        }
    }

    /// Adds the user's samples and flows (read from `dir`).
    pub fn add_user(
        &mut self,
        dir: PathBuf,
        samples: Vec<&'static Sample>,
        flows: Vec<&'static Flow>,
    ) {
        self.samples.extend(samples);
        self.flows.extend(flows);
        self.user_dir = Some(dir);
    }

    /// The built-in sample or flow called `name`, for the user loader's checks.
    pub fn contains(&self, name: &str) -> bool {
        self.samples.iter().any(|s| s.name == name) || self.flows.iter().any(|f| f.name == name)
    }

    /// The sample (only) called `name`, for flow steps.
    pub fn sample(&self, name: &str) -> Option<&'static Sample> {
        self.samples.iter().copied().find(|s| s.name == name)
    }

    /// Every name, samples then flows.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.samples
            .iter()
            .map(|s| s.name.as_str())
            .chain(self.flows.iter().map(|f| f.name.as_str()))
    }

    /// Every name with its one-line description, samples then flows (what shell completion
    /// offers).
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.samples
            .iter()
            .map(|s| (s.name.as_str(), s.description.as_str()))
            .chain(
                self.flows
                    .iter()
                    .map(|f| (f.name.as_str(), f.description.as_str())),
            )
    }

    /// The groups `send --list PROVIDER` takes, in listing order: `generic`, the providers,
    /// then the prefixes (before `:`) of the user's names.
    pub fn groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = Vec::new();
        for name in self.names() {
            let group = group_of(name);
            if !groups.contains(&group) {
                groups.push(group);
            }
        }
        groups
    }

    /// The sample or flow called `name`. An unknown name gives a message suggesting the
    /// closest one and listing the known names (of its provider, when it names one).
    pub fn find(&self, name: &str) -> Result<Entry, ConfigError> {
        if let Some(sample) = self.samples.iter().find(|s| s.name == name) {
            return Ok(Entry::Sample(sample));
        }
        if let Some(flow) = self.flows.iter().find(|f| f.name == name) {
            return Ok(Entry::Flow(flow));
        }
        let wanted = name.to_ascii_lowercase().replace(['-', ' '], "_");
        let closest = self
            .names()
            .map(|known| {
                let score = strsim::jaro_winkler(&wanted, known)
                    .max(strsim::jaro_winkler(&name.to_ascii_lowercase(), known));
                (score, known)
            })
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .filter(|(score, _)| *score >= 0.8);
        let provider = name.split_once(':').map(|(p, _)| p.to_ascii_lowercase());
        let same_provider: Vec<&str> = self
            .names()
            .filter(|n| {
                provider
                    .as_deref()
                    .is_some_and(|p| n.starts_with(&format!("{p}:")))
            })
            .collect();
        let known = if same_provider.is_empty() {
            let generic: Vec<&str> = self.names().filter(|n| !n.contains(':')).collect();
            let mut groups: Vec<String> = Vec::new();
            for n in self
                .names()
                .filter_map(|n| n.split_once(':').map(|(p, _)| p))
            {
                let group = format!("{n}:*");
                if !groups.contains(&group) {
                    groups.push(group);
                }
            }
            format!("{}, and {}", generic.join(", "), groups.join(", "))
        } else {
            same_provider.join(", ")
        };
        Err(ConfigError::UnknownSample {
            name: name.to_owned(),
            suggestion: closest.map(|(_, best)| best.to_owned()),
            known,
        })
    }

    /// `send --list [PROVIDER]`: the samples grouped by provider, then the flows, then the
    /// user's. `names_only` prints bare names, one a line (for shell completion).
    pub fn write_list(
        &self,
        out: &mut dyn Write,
        only: Option<&str>,
        names_only: bool,
    ) -> Result<(), ListError> {
        let only = only.map(str::to_ascii_lowercase);
        let mut groups = self.groups();
        if let Some(only) = &only {
            if !groups.contains(only) {
                return Err(ListError::UnknownProvider {
                    name: only.clone(),
                    known: groups.join(", "),
                });
            }
            groups.retain(|g| g == only);
        }
        let width = self.names().map(str::len).max().unwrap_or(0).min(44);
        let mut first = true;
        for group in &groups {
            let samples: Vec<_> = self
                .samples
                .iter()
                .filter(|s| group_of(&s.name) == *group)
                .collect();
            let flows: Vec<_> = self
                .flows
                .iter()
                .filter(|f| group_of(&f.name) == *group)
                .collect();
            if names_only {
                for s in &samples {
                    writeln!(out, "{}", s.name)?;
                }
                for f in &flows {
                    writeln!(out, "{}", f.name)?;
                }
                continue;
            }
            if !first {
                writeln!(out)?;
            }
            first = false;
            writeln!(out, "{}", heading(group))?;
            for s in &samples {
                writeln!(out, "  {:<width$}  {}", s.name, s.description)?;
            }
            for f in &flows {
                writeln!(out, "  {:<width$}  flow: {}", f.name, f.description)?;
            }
        }
        if let (Some(dir), false) = (&self.user_dir, names_only) {
            writeln!(out, "\n(your samples are read from {})", dir.display())?;
        }
        Ok(())
    }
}

/// The `send --list` group of a name: its provider (before `:`), or `generic`.
fn group_of(name: &str) -> String {
    name.split_once(':')
        .map_or("generic", |(p, _)| p)
        .to_ascii_lowercase()
}

fn heading(group: &str) -> String {
    match providers::find(group) {
        _ if group == "generic" => "Generic samples (send --sign SCHEME to sign them)".to_owned(),
        Some(p) => match p.scheme {
            Some(scheme) => format!(
                "{} (signed with the {scheme} scheme when a secret is given)",
                p.title
            ),
            None => p.title.to_owned(),
        },
        None => format!("{group} (your samples)"),
    }
}

/// Why `send --list` cannot list.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("no samples for `{name}`; providers: {known}")]
    UnknownProvider { name: String, known: String },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

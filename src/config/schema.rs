//! What a profile may set: for each command, the keys (its long flags) and the shape of their
//! values. The command line fills this in (`cmd::profile`), so this module never sees clap and
//! every flag, present or future, is a key without a list to keep up to date.

/// The values a key takes, from how its flag takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A flag without a value (`--fsync`): `true` or `false`.
    Switch,
    /// A flag counted by repetition (`-v -v`): a small number.
    Count,
    /// One value (`--port 4000`).
    One,
    /// A repeatable flag (`--expect A --expect B`): a value or an array of them. An occurrence
    /// that takes several values (`--route EXPR TARGET`) is written as an array of its own.
    Many { per_occurrence: usize },
}

/// One settable key: a flag's long name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub name: String,
    pub shape: Shape,
    /// The flag carries a secret (`--secret`): the file may only name the variable holding it.
    pub secret: bool,
}

/// The keys of one command.
#[derive(Debug, Clone, Default)]
pub struct CommandKeys {
    pub command: String,
    pub keys: Vec<Key>,
}

impl CommandKeys {
    pub fn key(&self, name: &str) -> Option<&Key> {
        self.keys.iter().find(|k| k.name == name)
    }
}

/// Every command a profile can configure, with its keys.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    pub commands: Vec<CommandKeys>,
}

impl Schema {
    pub fn command(&self, name: &str) -> Option<&CommandKeys> {
        self.commands.iter().find(|c| c.command == name)
    }

    /// The key called `name` in any command (the first that has it).
    pub fn any_key(&self, name: &str) -> Option<&Key> {
        self.commands.iter().find_map(|c| c.key(name))
    }

    /// Every key name of every command, without repeats, in a stable order.
    pub fn all_key_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .commands
            .iter()
            .flat_map(|c| c.keys.iter().map(|k| k.name.as_str()))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

/// The suffix that makes a key name the environment variable holding its value.
pub const ENV_SUFFIX: &str = "-env";

/// The closest of `candidates` to `wanted`, when one is close enough to be a likely typo.
pub fn nearest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let wanted = wanted.to_ascii_lowercase().replace('_', "-");
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&wanted, c), c))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .filter(|(score, _)| *score >= 0.8)
        .map(|(_, c)| c.to_owned())
}

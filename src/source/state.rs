//! The resume state: the last sequence id processed from each source, kept in a small JSON
//! file so a restarted `listen` resumes where the last one stopped:
//!
//! ```json
//! {"v":1,"sources":{"https://relay.example.com/CHANNEL":123}}
//! ```
//!
//! Sources are keyed by their URL as shown (no token). The file is replaced atomically (a
//! temporary file, then a rename) after every event, once the event went through listen's
//! pipeline (captured, forwarded, published). One listen owns a state file at a time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Version of the state file format.
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize, Default)]
struct Stored {
    v: u32,
    sources: BTreeMap<String, u64>,
}

/// The state file, shared by every source of one listen.
pub struct StateFile {
    path: PathBuf,
    stored: Mutex<Stored>,
}

impl StateFile {
    /// Reads `path`; a file that does not exist yet is an empty state.
    pub fn open(path: &Path) -> anyhow::Result<StateFile> {
        let stored = match std::fs::read(path) {
            Ok(bytes) => {
                let stored: Stored = serde_json::from_slice(&bytes).map_err(|e| {
                    anyhow::anyhow!(
                        "{}: not a hookctl source state file: {e}; remove it to start from live events",
                        path.display()
                    )
                })?;
                if stored.v != VERSION {
                    anyhow::bail!(
                        "{}: unsupported source state version {} (this hookctl reads version {VERSION})",
                        path.display(),
                        stored.v
                    );
                }
                stored
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Stored {
                v: VERSION,
                sources: BTreeMap::new(),
            },
            Err(e) => anyhow::bail!("cannot read source state {}: {e}", path.display()),
        };
        let file = StateFile {
            path: path.to_owned(),
            stored: Mutex::new(stored),
        };
        // Fail now, not after the first event, when the file cannot be written.
        file.save(&file.stored.lock().unwrap_or_else(|e| e.into_inner()))?;
        Ok(file)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The last sequence id processed from `source`.
    pub fn last(&self, source: &str) -> Option<u64> {
        self.stored
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .sources
            .get(source)
            .copied()
    }

    /// Records that `seq` from `source` was processed, and writes the file.
    pub fn record(&self, source: &str, seq: u64) -> anyhow::Result<()> {
        let mut stored = self.stored.lock().unwrap_or_else(|e| e.into_inner());
        stored.sources.insert(source.to_owned(), seq);
        self.save(&stored)
    }

    fn save(&self, stored: &Stored) -> anyhow::Result<()> {
        let mut tmp = self.path.as_os_str().to_owned();
        tmp.push(".hookctl-tmp");
        let tmp = PathBuf::from(tmp);
        let text = serde_json::to_vec(stored).expect("serialising the state");
        std::fs::write(&tmp, text)
            .and_then(|_| std::fs::rename(&tmp, &self.path))
            .map_err(|e| anyhow::anyhow!("cannot write source state {}: {e}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.source-state");
        let state = StateFile::open(&path).unwrap();
        assert_eq!(state.last("https://r/a"), None);
        state.record("https://r/a", 5).unwrap();
        state.record("https://r/b", 7).unwrap();
        state.record("https://r/a", 6).unwrap();
        let again = StateFile::open(&path).unwrap();
        assert_eq!(again.last("https://r/a"), Some(6));
        assert_eq!(again.last("https://r/b"), Some(7));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            r#"{"v":1,"sources":{"https://r/a":6,"https://r/b":7}}"#
        );
    }

    #[test]
    fn a_bad_or_unwritable_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad");
        std::fs::write(&path, "nope").unwrap();
        let e = StateFile::open(&path).err().unwrap().to_string();
        assert!(e.contains("bad: not a hookctl source state file"), "{e}");
        std::fs::write(&path, r#"{"v":9,"sources":{}}"#).unwrap();
        let e = StateFile::open(&path).err().unwrap().to_string();
        assert!(e.contains("unsupported source state version 9"), "{e}");
        let e = StateFile::open(&dir.path().join("no/such/dir/state"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.starts_with("cannot write source state"), "{e}");
    }
}

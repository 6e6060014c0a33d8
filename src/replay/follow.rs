//! `replay --follow`: a reader that, like `tail -F`, waits at the end of a file for more lines
//! instead of ending. It wakes on file-system notifications (notify) and survives the file
//! being truncated, or rotated by rename and recreate.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

/// Longest wait between two checks when no notification arrives (a safety net for
/// file systems that do not report changes).
const POLL: Duration = Duration::from_millis(500);

/// Reads a file and then blocks for appended data; never reports end of file.
pub struct FollowReader {
    path: PathBuf,
    file: File,
    pos: u64,
    identity: Option<(u64, u64)>,
    changes: mpsc::Receiver<notify::Result<notify::Event>>,
    _watcher: notify::RecommendedWatcher,
}

impl FollowReader {
    /// Opens `path`, at its start or (with `from_end`) at its current end.
    pub fn open(path: &Path, from_end: bool) -> anyhow::Result<FollowReader> {
        let mut file =
            File::open(path).map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
        let pos = if from_end {
            file.seek(SeekFrom::End(0))?
        } else {
            0
        };
        let (tx, changes) = mpsc::channel();
        let mut watcher = notify::recommended_watcher(tx)?;
        // Watch the folder, so a file recreated under the same name is noticed too.
        let folder = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        watcher
            .watch(folder, RecursiveMode::NonRecursive)
            .map_err(|e| anyhow::anyhow!("cannot watch {}: {e}", folder.display()))?;
        let identity = identity(&file.metadata()?);
        Ok(FollowReader {
            path: path.to_path_buf(),
            file,
            pos,
            identity,
            changes,
            _watcher: watcher,
        })
    }

    /// At the end of the current file: switch files after a rotation, rewind after a
    /// truncation. Returns true when there may be something new to read.
    fn check_replaced(&mut self) -> io::Result<bool> {
        let Ok(meta) = std::fs::metadata(&self.path) else {
            return Ok(false); // renamed away and not recreated yet
        };
        if identity(&meta) != self.identity {
            if let Ok(file) = File::open(&self.path) {
                self.identity = identity(&file.metadata()?);
                self.file = file;
                self.pos = 0;
                return Ok(true);
            }
        } else if meta.len() < self.pos {
            self.pos = self.file.seek(SeekFrom::Start(0))?;
            return Ok(true);
        }
        Ok(meta.len() > self.pos)
    }

    fn wait_for_change(&self) {
        if self.changes.recv_timeout(POLL).is_ok() {
            while self.changes.try_recv().is_ok() {}
        }
    }
}

impl Read for FollowReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.file.read(buf)?;
            if n > 0 {
                self.pos += n as u64;
                return Ok(n);
            }
            if !self.check_replaced()? {
                self.wait_for_change();
            }
        }
    }
}

#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn identity(_meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

//! What a relay keeps in its data folder about the broker it shares channels through
//! (`serve --broker`): the stream it follows (`DATA/broker/stream`), so a folder is never
//! used both alone and in a group, nor with two streams; and per stream the offset it last
//! applied (`DATA/broker/NAME.offset`), so it resumes where it stopped.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Checks that `data` may serve as asked (with the broker stream `stream`, or alone) and
/// records the stream on first use. A folder whose channels were served alone cannot join a
/// group: their sequence numbers are not the stream's.
pub fn claim(data: &Path, stream: Option<&str>, has_channels: bool) -> anyhow::Result<()> {
    let marker = data.join("broker").join("stream");
    let recorded = match std::fs::read_to_string(&marker) {
        Ok(text) => Some(text.trim().to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => anyhow::bail!("cannot read {}: {e}", marker.display()),
    };
    match (stream, recorded) {
        (None, None) => Ok(()),
        // Nothing was shared yet (e.g. the broker was never reached): the folder is free.
        (None, Some(_)) if !has_channels => std::fs::remove_dir_all(data.join("broker"))
            .map_err(|e| anyhow::anyhow!("cannot remove {}: {e}", data.join("broker").display())),
        (None, Some(recorded)) => anyhow::bail!(
            "--data {} belongs to relays sharing the broker stream {recorded:?}; pass --broker URL (and --broker-stream {recorded}), or use another --data folder",
            data.display()
        ),
        (Some(stream), Some(recorded)) if recorded != stream => anyhow::bail!(
            "--data {} follows the broker stream {recorded:?}, not {stream:?}; pass --broker-stream {recorded}, or use another --data folder",
            data.display()
        ),
        (Some(_), Some(_)) => Ok(()),
        (Some(stream), None) => {
            if has_channels {
                anyhow::bail!(
                    "--data {} holds channels of a relay that ran without --broker; they cannot join the broker's stream (their sequence numbers are not its offsets): use a fresh --data folder",
                    data.display()
                );
            }
            let dir = data.join("broker");
            std::fs::create_dir_all(&dir)
                .and_then(|()| write_synced(&marker, stream.as_bytes()))
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", marker.display()))
        }
    }
}

/// Where the offset last applied from `stream` is kept.
pub fn offset_path(data: &Path, stream: &str) -> PathBuf {
    data.join("broker").join(format!("{stream}.offset"))
}

/// The offset last applied, if any was recorded.
pub fn read_offset(path: &Path) -> anyhow::Result<Option<u64>> {
    match std::fs::read_to_string(path) {
        Ok(text) => text.trim().parse().map(Some).map_err(|_| {
            anyhow::anyhow!(
                "{}: {:?} is not an offset; delete the file to read the stream from its start",
                path.display(),
                text.trim()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
    }
}

/// Records the offset last applied (written whole, then renamed into place).
pub fn write_offset(path: &Path, offset: u64) -> std::io::Result<()> {
    write_synced(path, offset.to_string().as_bytes())
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_serves_alone_or_with_one_stream() {
        let dir = tempfile::tempdir().unwrap();
        claim(dir.path(), None, true).unwrap();
        let e = claim(dir.path(), Some("s"), true).unwrap_err().to_string();
        assert!(e.contains("ran without --broker"), "{e}");
        claim(dir.path(), Some("s"), false).unwrap();
        claim(dir.path(), Some("s"), true).unwrap();
        let e = claim(dir.path(), Some("t"), true).unwrap_err().to_string();
        assert!(
            e.contains("follows the broker stream \"s\", not \"t\""),
            "{e}"
        );
        let e = claim(dir.path(), None, true).unwrap_err().to_string();
        assert!(
            e.contains("pass --broker URL (and --broker-stream s)"),
            "{e}"
        );
    }

    #[test]
    fn offsets_are_kept_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = offset_path(dir.path(), "s");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        assert_eq!(read_offset(&path).unwrap(), None);
        write_offset(&path, 42).unwrap();
        assert_eq!(read_offset(&path).unwrap(), Some(42));
        std::fs::write(&path, "x").unwrap();
        let e = read_offset(&path).unwrap_err().to_string();
        assert!(e.contains("is not an offset"), "{e}");
    }
}

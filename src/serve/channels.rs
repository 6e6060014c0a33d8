//! The channels a relay serves: each has an unguessable id, the SHA-256 of its subscribe
//! token, a durable log and its counters. A channel is a folder under `DATA/channels/`
//! holding `channel.json` and its log's segments, so the set survives a restart.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::ids::{self, is_channel_id, token_hash, token_matches};
use super::log::{ChannelLog, LogSettings};
use super::metrics::Counters;

/// What `channel.json` holds.
#[derive(Serialize, Deserialize)]
struct Meta {
    v: u32,
    id: String,
    /// Hex SHA-256 of the subscribe token.
    token_sha256: String,
    created_at: String,
}

/// One channel.
pub struct Channel {
    pub id: String,
    token_hash: [u8; 32],
    pub log: ChannelLog,
    pub counters: Counters,
    /// Its rate limit, made on first use.
    pub bucket: std::sync::OnceLock<super::ratelimit::Bucket>,
}

impl Channel {
    /// True when `token` is this channel's subscribe token (constant time).
    pub fn token_matches(&self, token: &str) -> bool {
        token_matches(token, &self.token_hash)
    }
}

/// Why a channel could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("this relay already has its maximum of {0} channels (--max-channels)")]
    Full(usize),
    #[error(transparent)]
    Random(#[from] ids::IdError),
    #[error("cannot store the new channel: {0}")]
    Io(#[from] io::Error),
}

/// Every channel, by id.
pub struct Channels {
    dir: PathBuf,
    map: RwLock<HashMap<String, Arc<Channel>>>,
    settings: Arc<LogSettings>,
    max: usize,
}

impl Channels {
    /// Loads the channels stored under `data` (creating the folder).
    pub fn open(data: &Path, settings: Arc<LogSettings>, max: usize) -> anyhow::Result<Channels> {
        let dir = data.join("channels");
        std::fs::create_dir_all(&dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create the data folder {}: {e}; check that --data is writable",
                dir.display()
            )
        })?;
        let mut map = HashMap::new();
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !is_channel_id(&name) {
                continue;
            }
            let meta_path = entry.path().join("channel.json");
            let meta: Meta = match std::fs::read(&meta_path)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
            {
                Ok(meta) => meta,
                Err(e) => {
                    settings.diag.warn(format_args!(
                        "{}: {e}; channel {name} is not served",
                        meta_path.display()
                    ));
                    continue;
                }
            };
            let Some(hash) = hex::decode(&meta.token_sha256)
                .ok()
                .and_then(|h| <[u8; 32]>::try_from(h).ok())
            else {
                settings.diag.warn(format_args!(
                    "{}: token_sha256 is not a SHA-256 in hex; channel {name} is not served",
                    meta_path.display()
                ));
                continue;
            };
            let log = ChannelLog::open(&entry.path().join("log"), settings.clone())
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", entry.path().display()))?;
            map.insert(
                name.clone(),
                Arc::new(Channel {
                    id: name,
                    token_hash: hash,
                    log,
                    counters: Counters::default(),
                    bucket: Default::default(),
                }),
            );
        }
        Ok(Channels {
            dir,
            map: RwLock::new(map),
            settings,
            max,
        })
    }

    /// The channel with this id.
    pub fn get(&self, id: &str) -> Option<Arc<Channel>> {
        self.map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// Every channel.
    pub fn all(&self) -> Vec<Arc<Channel>> {
        self.map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// How many channels there are.
    pub fn len(&self) -> usize {
        self.map.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Creates a channel, stored before it is returned; returns it with its token, which is
    /// not kept anywhere.
    pub fn create(&self) -> Result<(Arc<Channel>, String), CreateError> {
        if self.len() >= self.max {
            return Err(CreateError::Full(self.max));
        }
        let id = ids::new_channel_id()?;
        let token = ids::new_token()?;
        let hash = token_hash(&token);
        let folder = self.dir.join(&id);
        std::fs::create_dir(&folder)?;
        let meta = Meta {
            v: 1,
            id: id.clone(),
            token_sha256: hex::encode(hash),
            created_at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        };
        // Written whole and synced, then renamed into place: a crash leaves no half channel.
        let tmp = folder.join("channel.json.tmp");
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&serde_json::to_vec(&meta).expect("serialising channel metadata"))?;
        file.sync_all()?;
        std::fs::rename(&tmp, folder.join("channel.json"))?;
        let log = ChannelLog::open(&folder.join("log"), self.settings.clone())?;
        let channel = Arc::new(Channel {
            id: id.clone(),
            token_hash: hash,
            log,
            counters: Counters::default(),
            bucket: Default::default(),
        });
        self.map
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, channel.clone());
        Ok((channel, token))
    }
}

//! The channels a relay serves: each has an unguessable id, the SHA-256 of its subscribe
//! token, a durable log and its counters. A channel is a folder under `DATA/channels/`
//! holding `channel.json` and its log's segments, so the set survives a restart.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::ids::{self, is_channel_id, token_hash, token_matches};
use super::log::{ChannelLog, LogSettings};
use super::metrics::Counters;

/// What `channel.json` holds (and, with `serve --broker`, the message announcing a new
/// channel to the other relays).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    v: u32,
    pub id: String,
    /// Hex SHA-256 of the subscribe token.
    token_sha256: String,
    created_at: String,
}

impl Meta {
    /// Reads and checks one: a channel id, and a SHA-256 in hex.
    pub fn parse(json: &[u8]) -> Result<(Meta, [u8; 32]), String> {
        let meta: Meta = serde_json::from_slice(json).map_err(|e| e.to_string())?;
        if !is_channel_id(&meta.id) {
            return Err(format!("{:?} is not a channel id", meta.id));
        }
        let hash = hex::decode(&meta.token_sha256)
            .ok()
            .and_then(|h| <[u8; 32]>::try_from(h).ok())
            .ok_or("token_sha256 is not a SHA-256 in hex")?;
        Ok((meta, hash))
    }

    /// As stored and sent.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("serialising channel metadata")
    }
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
    /// With `serve --broker`: the other relays could not be told.
    #[error("cannot record the new channel in the broker: {0}")]
    Broker(String),
}

/// Every channel, by id.
pub struct Channels {
    dir: PathBuf,
    map: RwLock<HashMap<String, Arc<Channel>>>,
    settings: Arc<LogSettings>,
    max: usize,
    /// Held while a channel is stored, so one id is stored once.
    storing: Mutex<()>,
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
            let parsed = std::fs::read(&meta_path)
                .map_err(|e| e.to_string())
                .and_then(|b| Meta::parse(&b));
            let hash = match parsed {
                Ok((meta, hash)) if meta.id == name => hash,
                Ok(_) => {
                    settings.diag.warn(format_args!(
                        "{}: names another channel; channel {name} is not served",
                        meta_path.display()
                    ));
                    continue;
                }
                Err(e) => {
                    settings.diag.warn(format_args!(
                        "{}: {e}; channel {name} is not served",
                        meta_path.display()
                    ));
                    continue;
                }
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
            storing: Mutex::new(()),
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
        let (meta, token) = self.mint()?;
        Ok((self.store(&meta)?, token))
    }

    /// A new channel's metadata and token, not stored yet; fails past --max-channels.
    pub fn mint(&self) -> Result<(Meta, String), CreateError> {
        if self.len() >= self.max {
            return Err(CreateError::Full(self.max));
        }
        let id = ids::new_channel_id()?;
        let token = ids::new_token()?;
        let meta = Meta {
            v: 1,
            id,
            token_sha256: hex::encode(token_hash(&token)),
            created_at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        };
        Ok((meta, token))
    }

    /// Stores a channel and serves it; a channel already served is returned as it is.
    pub fn store(&self, meta: &Meta) -> io::Result<Arc<Channel>> {
        let _one_at_a_time = self.storing.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(channel) = self.get(&meta.id) {
            return Ok(channel);
        }
        let (meta, hash) = Meta::parse(&meta.to_json()).map_err(io::Error::other)?;
        let folder = self.dir.join(&meta.id);
        std::fs::create_dir_all(&folder)?;
        // Written whole and synced, then renamed into place: a crash leaves no half channel.
        let tmp = folder.join("channel.json.tmp");
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&meta.to_json())?;
        file.sync_all()?;
        std::fs::rename(&tmp, folder.join("channel.json"))?;
        let log = ChannelLog::open(&folder.join("log"), self.settings.clone())?;
        let channel = Arc::new(Channel {
            id: meta.id.clone(),
            token_hash: hash,
            log,
            counters: Counters::default(),
            bucket: Default::default(),
        });
        self.map
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(meta.id, channel.clone());
        Ok(channel)
    }
}

//! Live-update channels: `project:{key}`, `node:{uuid}`, `user:{handle}`.
//!
//! Every channel numbers its events 1, 2, 3, … (the offset) within an
//! epoch, which is new each time the server starts. The last
//! [`Config::replay`](crate::Config::replay) events of each channel are
//! kept, so a client that reconnects with `(epoch, offset)` gets what it
//! missed; when the epoch differs or the offset is older than what is
//! kept, it is told `recovered: false` and refetches.
//!
//! Publishing never waits for a subscriber: events go to a bounded
//! broadcast queue per server, and a connection that falls more than its
//! queue behind is closed (see [`crate::ws`]).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::broadcast;

/// Events kept per `node:` and `user:` channel (at most).
pub const NODE_KEEP: usize = 64;

/// One event on one channel, as sent to clients.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Envelope {
    pub channel: String,
    pub epoch: String,
    pub offset: u64,
    /// `node.created`, `node.status_changed`, `node.updated`,
    /// `node.deleted`, `node.reparented`, `comment.added`,
    /// `comment.edited`, `comment.deleted`, `link.changed`,
    /// `assignment.changed`, `artifact.attached`, `artifact.removed`,
    /// `connection.inferred`, `file.invalid`, `project.config_changed`,
    /// `project.rescanned`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Who caused it: the API client's member handle; `null` for an edit
    /// made outside the server (an editor, `git pull`).
    pub actor: Option<String>,
    /// When it was published (RFC 3339).
    pub at: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

#[derive(Debug, Default)]
struct Channel {
    /// The offset of the last event published (0: none yet).
    last: u64,
    kept: VecDeque<Arc<Envelope>>,
}

/// What a reconnecting client gets.
#[derive(Debug)]
pub struct Resume {
    /// The channel's last offset now.
    pub offset: u64,
    /// Whether `missed` is everything after the client's offset.
    pub recovered: bool,
    pub missed: Vec<Arc<Envelope>>,
}

#[derive(Debug)]
pub struct Hub {
    epoch: String,
    keep: usize,
    channels: Mutex<HashMap<String, Channel>>,
    tx: broadcast::Sender<Arc<Envelope>>,
    published: std::sync::atomic::AtomicU64,
}

impl Hub {
    pub fn new(keep: usize, queue: usize) -> Hub {
        let (tx, _) = broadcast::channel(queue.max(16));
        Hub {
            epoch: uuid::Uuid::new_v4().simple().to_string()[..12].to_owned(),
            keep: keep.max(1),
            channels: Mutex::new(HashMap::new()),
            tx,
            published: 0.into(),
        }
    }

    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    pub fn published(&self) -> u64 {
        self.published.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Publishes one event on each of `channels`.
    pub fn publish(
        &self,
        channels: &[String],
        kind: &str,
        actor: Option<&str>,
        data: &serde_json::Value,
    ) {
        let at = jiff::Timestamp::now().to_string();
        let mut all = self.channels.lock();
        for name in channels {
            let ch = all.entry(name.clone()).or_default();
            ch.last += 1;
            let env = Arc::new(Envelope {
                channel: name.clone(),
                epoch: self.epoch.clone(),
                offset: ch.last,
                kind: kind.to_owned(),
                actor: actor.map(str::to_owned),
                at: at.clone(),
                data: data.clone(),
            });
            // Node and user channels are many and mostly quiet: each keeps
            // at most 64 events, so a long-running server's memory is
            // bounded by the number of nodes, not the number of writes.
            let keep = if name.starts_with("project:") {
                self.keep
            } else {
                self.keep.min(NODE_KEEP)
            };
            while ch.kept.len() >= keep {
                ch.kept.pop_front();
            }
            ch.kept.push_back(env.clone());
            self.published
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            // No receivers is fine: nobody is listening.
            let _ = self.tx.send(env);
        }
    }

    /// A receiver of everything published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Envelope>> {
        self.tx.subscribe()
    }

    /// What a client that saw `channel` up to `(epoch, offset)` missed.
    /// Without a position, nothing is missed: the client starts now.
    pub fn resume(&self, channel: &str, from: Option<(&str, u64)>) -> Resume {
        let all = self.channels.lock();
        let (last, kept) = all
            .get(channel)
            .map_or((0, None), |c| (c.last, Some(&c.kept)));
        let Some((epoch, offset)) = from else {
            return Resume {
                offset: last,
                recovered: true,
                missed: Vec::new(),
            };
        };
        if epoch != self.epoch || offset > last {
            return Resume {
                offset: last,
                recovered: false,
                missed: Vec::new(),
            };
        }
        let oldest = kept.and_then(|k| k.front()).map_or(last + 1, |e| e.offset);
        if offset + 1 < oldest {
            return Resume {
                offset: last,
                recovered: false,
                missed: Vec::new(),
            };
        }
        let missed = kept
            .map(|k| k.iter().filter(|e| e.offset > offset).cloned().collect())
            .unwrap_or_default();
        Resume {
            offset: last,
            recovered: true,
            missed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_replay_and_loss() {
        let hub = Hub::new(3, 16);
        let ch = vec!["project:NL".to_owned()];
        for i in 0..5 {
            hub.publish(&ch, "node.created", None, &serde_json::json!({"i": i}));
        }
        let epoch = hub.epoch().to_owned();
        let r = hub.resume("project:NL", Some((&epoch, 3)));
        assert!(r.recovered);
        assert_eq!(
            r.missed.iter().map(|e| e.offset).collect::<Vec<_>>(),
            [4, 5]
        );
        // Offset 1: events 2 was dropped (only 3..=5 kept).
        assert!(!hub.resume("project:NL", Some((&epoch, 1))).recovered);
        assert!(hub.resume("project:NL", Some((&epoch, 2))).recovered);
        assert!(!hub.resume("project:NL", Some(("other", 5))).recovered);
        assert!(!hub.resume("project:NL", Some((&epoch, 9))).recovered);
        let r = hub.resume("project:NL", Some((&epoch, 5)));
        assert!(r.recovered && r.missed.is_empty());
        let r = hub.resume("node:x", None);
        assert!(r.recovered && r.offset == 0);
    }

    #[test]
    fn node_channels_keep_less() {
        let hub = Hub::new(1000, 16);
        let ch = vec!["project:NL".to_owned(), "node:x".to_owned()];
        for _ in 0..100 {
            hub.publish(&ch, "node.updated", None, &serde_json::json!({}));
        }
        let epoch = hub.epoch().to_owned();
        assert!(hub.resume("project:NL", Some((&epoch, 0))).recovered);
        assert_eq!(
            hub.resume("project:NL", Some((&epoch, 0))).missed.len(),
            100
        );
        assert!(!hub.resume("node:x", Some((&epoch, 0))).recovered);
        let r = hub.resume("node:x", Some((&epoch, 100 - NODE_KEEP as u64)));
        assert!(r.recovered);
        assert_eq!(r.missed.len(), NODE_KEEP);
    }
}

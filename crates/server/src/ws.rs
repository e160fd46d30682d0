//! `GET /api/v1/ws`: live updates over a WebSocket.
//!
//! Client → server (JSON text frames):
//! `{"op": "subscribe", "channel": "project:NL" | "node:NL-k3x9" | "user:ana",
//!   "epoch"?: "…", "offset"?: 12}`, `{"op": "unsubscribe", "channel": …}`,
//! `{"op": "ping"}`.
//!
//! Server → client: `{"type": "subscribed", "channel", "epoch", "offset",
//! "recovered"}` (node channels are named by UUID whatever the client
//! wrote), then each event as a [`crate::hub::Envelope`]; `{"type":
//! "pong"}`; `{"type": "error", "message"}` for a message it cannot use.
//!
//! Resuming: subscribe with the `epoch` and `offset` of the last event
//! seen. The events missed follow the `subscribed` answer when they are
//! still kept (`recovered: true`); otherwise `recovered: false` says to
//! refetch. Every event is delivered once per subscription, in offset
//! order.
//!
//! Slow consumers: a connection reads from a bounded queue shared by the
//! server (`ws_queue` events). A client that falls further behind than that
//! is closed with code 1013 ("try again later"); it reconnects and resumes
//! from its offsets. Publishing never waits for a client.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use crate::app::App;

/// Channels one connection may follow at once.
const MAX_SUBSCRIPTIONS: usize = 1000;

#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum ClientMsg {
    Subscribe {
        channel: String,
        epoch: Option<String>,
        offset: Option<u64>,
    },
    Unsubscribe {
        channel: String,
    },
    Ping,
}

/// Upgrades to a WebSocket carrying live updates.
#[utoipa::path(get, path = "/api/v1/ws", tag = "live",
    responses((status = 101, description = "Switching to the WebSocket protocol")))]
pub async fn upgrade(State(app): State<Arc<App>>, ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(64 << 10)
        .on_upgrade(move |socket| serve(app, socket))
}

async fn serve(app: Arc<App>, mut socket: WebSocket) {
    app.metrics.ws_connections.inc();
    let mut rx = app.hub.subscribe();
    // Channel → the last offset delivered.
    let mut subs: HashMap<String, u64> = HashMap::new();
    loop {
        tokio::select! {
            msg = socket.recv() => {
                let Some(Ok(msg)) = msg else { break };
                let text = match msg {
                    Message::Text(t) => t.to_string(),
                    Message::Close(_) => break,
                    Message::Binary(_) => {
                        if send(&mut socket, json!({"type": "error", "message": "send JSON text frames"})).await.is_err() {
                            break;
                        }
                        continue;
                    }
                    _ => continue,
                };
                let replies = match serde_json::from_str::<ClientMsg>(&text) {
                    Ok(m) => handle(&app, m, &mut subs),
                    Err(e) => vec![json!({"type": "error", "message": format!("not a message this server knows: {e}")})],
                };
                let mut failed = false;
                for r in replies {
                    if send(&mut socket, r).await.is_err() {
                        failed = true;
                        break;
                    }
                }
                if failed {
                    break;
                }
            }
            ev = rx.recv() => {
                match ev {
                    Ok(env) => {
                        let Some(last) = subs.get_mut(&env.channel) else { continue };
                        if env.offset <= *last {
                            continue;
                        }
                        *last = env.offset;
                        let Ok(v) = serde_json::to_value(&*env) else { continue };
                        if send(&mut socket, v).await.is_err() {
                            break;
                        }
                    }
                    Err(RecvError::Lagged(_)) => {
                        let _ = socket
                            .send(Message::Close(Some(CloseFrame {
                                code: 1013,
                                reason: "too slow: reconnect and resume from your offsets".into(),
                            })))
                            .await;
                        break;
                    }
                    Err(RecvError::Closed) => break,
                }
            }
        }
    }
    app.metrics.ws_connections.dec();
}

async fn send(socket: &mut WebSocket, v: serde_json::Value) -> Result<(), axum::Error> {
    socket.send(Message::Text(v.to_string().into())).await
}

/// Answers one client message, updating its subscriptions.
fn handle(app: &App, msg: ClientMsg, subs: &mut HashMap<String, u64>) -> Vec<serde_json::Value> {
    match msg {
        ClientMsg::Ping => vec![json!({"type": "pong"})],
        ClientMsg::Unsubscribe { channel } => {
            let channel = canonical(app, &channel).unwrap_or(channel);
            subs.remove(&channel);
            vec![json!({"type": "unsubscribed", "channel": channel})]
        }
        ClientMsg::Subscribe {
            channel,
            epoch,
            offset,
        } => {
            if subs.len() >= MAX_SUBSCRIPTIONS && !subs.contains_key(&channel) {
                return vec![json!({"type": "error", "channel": channel,
                    "message": format!("at most {MAX_SUBSCRIPTIONS} subscriptions per connection")})];
            }
            let Some(name) = canonical(app, &channel) else {
                return vec![json!({"type": "error", "channel": channel,
                    "message": "channels are project:KEY, node:ID and user:HANDLE"})];
            };
            let from = match (&epoch, offset) {
                (Some(e), Some(o)) => Some((e.as_str(), o)),
                (None, Some(_)) => Some(("", 0)),
                _ => None,
            };
            let resume = app.hub.resume(&name, from);
            let mut out = vec![json!({
                "type": "subscribed",
                "channel": name,
                "epoch": app.hub.epoch(),
                "offset": resume.offset,
                "recovered": resume.recovered,
            })];
            let mut last = resume.offset;
            for e in &resume.missed {
                if let Ok(v) = serde_json::to_value(&**e) {
                    out.push(v);
                }
                last = last.max(e.offset);
            }
            subs.insert(name, last);
            out
        }
    }
}

/// The channel's canonical name: `node:` channels by UUID.
fn canonical(app: &App, channel: &str) -> Option<String> {
    let (kind, id) = channel.split_once(':')?;
    if id.is_empty() {
        return None;
    }
    match kind {
        "project" | "user" => Some(channel.to_owned()),
        "node" => {
            if let Ok(u) = id.parse::<uuid::Uuid>() {
                return Some(format!("node:{u}"));
            }
            let live = app.live.read();
            let g = live.graph();
            let n = g.find(id)?;
            g.node(n).id().map(|u| format!("node:{u}"))
        }
        _ => None,
    }
}

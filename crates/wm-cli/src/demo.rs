//! `wm demo`: a chat. The page over `http://`, the chat over `websocket://`, both on
//! 127.0.0.1 by default. With `--cluster redis://…`, every demo process on that Redis
//! shares one room: names are uids of the cluster, and everything said goes to every
//! node.
//!
//! The chat's messages are JSON text frames. From a page: `{"type":"say","text":…}`,
//! `{"type":"name","name":…}`. To pages: `welcome` (your name, who is here), `join`,
//! `leave`, `rename`, `say` (`from`, `text`), `error`.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Mutex;

use serde_json::{json, Value};
use wm_http::Response;
use wm_server::cluster::{Cluster, ClusterOptions};
use wm_server::protocols::Opening;
use wm_server::{Connection, ConnectionOptions, DeflateConfig, Handler, Message, Worker};

const PAGE: &str = include_str!("demo.html");

/// Longest name and message accepted, in characters.
const MAX_NAME: usize = 32;
const MAX_TEXT: usize = 2000;

#[derive(clap::Args)]
pub struct Args {
    /// Where the page is served.
    #[arg(long, default_value = "127.0.0.1:8080")]
    http: String,
    /// Where the chat's WebSocket listens.
    #[arg(long, default_value = "127.0.0.1:2345")]
    ws: String,
    /// Serve the chat without permessage-deflate (by default a browser's offer is
    /// accepted, without context takeover).
    #[arg(long)]
    no_deflate: bool,
    /// Share the chat with every `wm demo` on this Redis (`redis://127.0.0.1:6379`): run
    /// two on different ports, and tabs on either talk to each other.
    #[arg(long, value_name = "REDIS_URL")]
    cluster: Option<String>,
}

/// The demos' keys and channels on a shared Redis.
const NAMESPACE: &str = "wm-demo";

pub fn run(args: Args) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let mut options = ConnectionOptions::default();
    options.deflate = (!args.no_deflate).then(DeflateConfig::default);
    let cluster = match &args.cluster {
        Some(url) => Some(Cluster::connect_with(
            url,
            ClusterOptions::default().namespace(NAMESPACE),
        )?),
        None => None,
    };
    let mut chat = Worker::new(&format!("websocket://{}", args.ws))?
        .name("chat")
        .options(options);
    if let Some(cluster) = &cluster {
        chat = chat.cluster(cluster.clone());
    }
    let chat = chat
        .handler(Chat {
            names: Mutex::default(),
            cluster: cluster.clone(),
        })
        .start()?;
    let ws_port = chat.socket_addr().map_or(0, |a| a.port());
    let page = PAGE.replace("{{WS_PORT}}", &ws_port.to_string());
    let web = Worker::new(&format!("http://{}", args.http))?
        .name("page")
        .on_message(move |connection, message| {
            if let Message::Request(request) = message {
                let response = match request.path() {
                    "/" | "/index.html" => Response::new(200)
                        .header("Content-Type", "text/html; charset=utf-8")
                        .header("Cache-Control", "no-store")
                        .body(page.clone()),
                    _ => Response::new(404)
                        .header("Content-Type", "text/plain; charset=utf-8")
                        .body("404 Not Found\n"),
                };
                let _ = connection.send(response);
            }
        })
        .start()?;
    let address = web
        .socket_addr()
        .expect("an http:// listener has an address");
    // Before the line that says we listen: a SIGTERM right after it stops gracefully.
    let signals = wm_server::StopSignals::install()?;
    let shared = if cluster.is_some() {
        ", shared through the cluster"
    } else {
        ""
    };
    println!("wm demo: open http://{address}/ in two browser tabs (chat on ws://127.0.0.1:{ws_port}/chat{shared}); Ctrl-C stops");
    signals.wait()?;
    eprintln!("page: {}", web.stop());
    eprintln!("chat: {}", chat.stop());
    if let Some(cluster) = cluster {
        eprintln!("cluster: {}", cluster.stats());
    }
    Ok(ExitCode::SUCCESS)
}

/// The chat room: a name per connection, everything said goes to everyone (on every
/// node, with a cluster).
pub struct Chat {
    names: Mutex<HashMap<u64, String>>,
    cluster: Option<Cluster>,
}

impl Chat {
    fn names(&self) -> std::sync::MutexGuard<'_, HashMap<u64, String>> {
        self.names.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A guest's name: with a cluster, the node's id in it too (connection ids are per
    /// process).
    fn guest(&self, connection: &Connection) -> String {
        match &self.cluster {
            Some(cluster) => format!(
                "guest-{:04x}-{}",
                cluster.node_id() & 0xffff,
                connection.id()
            ),
            None => format!("guest-{}", connection.id()),
        }
    }

    fn name_of(&self, connection: &Connection) -> String {
        self.names()
            .get(&connection.id())
            .cloned()
            .unwrap_or_else(|| self.guest(connection))
    }

    /// Sends to everyone in the room but `except`.
    fn broadcast(&self, connection: &Connection, value: Value, except: Option<&Connection>) {
        let text = value.to_string();
        match (&self.cluster, except) {
            (Some(cluster), _) => {
                let except: Vec<_> = except.and_then(Connection::client_id).into_iter().collect();
                let _ = cluster.send_to_all_except(text, &except);
            }
            (None, None) => {
                connection.endpoint().broadcast(text);
            }
            (None, Some(except)) => {
                for other in connection.endpoint().connections() {
                    if other != *except {
                        let _ = other.send(text.clone());
                    }
                }
            }
        }
    }

    /// With a cluster, the connection's name is its uid: the room's names are the
    /// cluster's uids.
    fn bind(&self, connection: &Connection, name: &str) {
        if let (Some(cluster), Some(me)) = (&self.cluster, connection.client_id()) {
            let _ = cluster.bind_uid(me, name);
        }
    }

    fn handle(&self, connection: &Connection, request: &Value) -> Result<(), &'static str> {
        match request["type"].as_str() {
            Some("say") => {
                let text = request["text"].as_str().ok_or("say needs a text")?;
                let text: String = text.chars().take(MAX_TEXT).collect();
                if text.trim().is_empty() {
                    return Err("empty message");
                }
                let from = self.name_of(connection);
                self.broadcast(
                    connection,
                    json!({"type": "say", "from": from, "text": text}),
                    None,
                );
            }
            Some("name") => {
                let name = request["name"].as_str().ok_or("name needs a name")?;
                let name: String = name.trim().chars().take(MAX_NAME).collect();
                if name.is_empty() {
                    return Err("empty name");
                }
                let old = self.name_of(connection);
                self.names().insert(connection.id(), name.clone());
                self.bind(connection, &name);
                self.broadcast(
                    connection,
                    json!({"type": "rename", "from": old, "name": name}),
                    None,
                );
            }
            _ => return Err("unknown message type"),
        }
        Ok(())
    }
}

impl Handler for Chat {
    /// After the handshake: a refused upgrade never joins (nor leaves) the room.
    fn on_open(&self, connection: &Connection, _opening: &Opening) {
        let name = self.guest(connection);
        self.bind(connection, &name);
        let users: Vec<String> = {
            let mut names = self.names();
            names.insert(connection.id(), name.clone());
            names.values().cloned().collect()
        };
        let welcome = move |mut users: Vec<String>| {
            users.sort();
            users.dedup();
            json!({"type": "welcome", "name": name, "users": users}).to_string()
        };
        match &self.cluster {
            // Who is here on every node: the cluster's uids, asked on the worker's runtime.
            Some(cluster) => {
                let (cluster, connection) = (cluster.clone(), connection.clone());
                tokio::spawn(async move {
                    let mut all = cluster.uids().await.unwrap_or_default();
                    all.extend(users);
                    let _ = connection.send(welcome(all));
                });
            }
            None => {
                let _ = connection.send(welcome(users));
            }
        }
        let name = self.name_of(connection);
        self.broadcast(
            connection,
            json!({"type": "join", "name": name}),
            Some(connection),
        );
    }

    fn on_message(&self, connection: &Connection, message: Message) {
        let Message::Text(text) = message else {
            return;
        };
        let result = serde_json::from_str::<Value>(&text)
            .map_err(|_| "not JSON")
            .and_then(|request| self.handle(connection, &request));
        if let Err(error) = result {
            let _ = connection.send(Message::Text(
                json!({"type": "error", "error": error}).to_string(),
            ));
        }
    }

    fn on_close(&self, connection: &Connection) {
        if let Some(name) = self.names().remove(&connection.id()) {
            self.broadcast(connection, json!({"type": "leave", "name": name}), None);
        }
    }
}

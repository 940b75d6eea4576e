//! `wm demo`: a chat. The page over `http://`, the chat over `websocket://`, both on
//! 127.0.0.1 by default.
//!
//! The chat's messages are JSON text frames. From a page: `{"type":"say","text":…}`,
//! `{"type":"name","name":…}`. To pages: `welcome` (your name, who is here), `join`,
//! `leave`, `rename`, `say` (`from`, `text`), `error`.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Mutex;

use serde_json::{json, Value};
use wm_http::Response;
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
}

pub fn run(args: Args) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let mut options = ConnectionOptions::default();
    options.deflate = (!args.no_deflate).then(DeflateConfig::default);
    let chat = Worker::new(&format!("websocket://{}", args.ws))?
        .name("chat")
        .options(options)
        .handler(Chat::default())
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
    println!("wm demo: open http://{address}/ in two browser tabs (chat on ws://127.0.0.1:{ws_port}/chat); Ctrl-C stops");
    signals.wait()?;
    eprintln!("page: {}", web.stop());
    eprintln!("chat: {}", chat.stop());
    Ok(ExitCode::SUCCESS)
}

/// The chat room: a name per connection, everything said goes to everyone.
#[derive(Default)]
pub struct Chat {
    names: Mutex<HashMap<u64, String>>,
}

impl Chat {
    fn names(&self) -> std::sync::MutexGuard<'_, HashMap<u64, String>> {
        self.names.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn name_of(&self, connection: &Connection) -> String {
        self.names()
            .get(&connection.id())
            .cloned()
            .unwrap_or_else(|| format!("guest-{}", connection.id()))
    }

    fn broadcast(connection: &Connection, value: Value) {
        connection.endpoint().broadcast(value.to_string());
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
                Self::broadcast(
                    connection,
                    json!({"type": "say", "from": from, "text": text}),
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
                Self::broadcast(
                    connection,
                    json!({"type": "rename", "from": old, "name": name}),
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
        let name = format!("guest-{}", connection.id());
        let users: Vec<String> = {
            let mut names = self.names();
            names.insert(connection.id(), name.clone());
            let mut users: Vec<String> = names.values().cloned().collect();
            users.sort();
            users
        };
        let _ = connection.send(Message::Text(
            json!({"type": "welcome", "name": name, "users": users}).to_string(),
        ));
        for other in connection.endpoint().connections() {
            if other != *connection {
                let _ = other.send(Message::Text(
                    json!({"type": "join", "name": name}).to_string(),
                ));
            }
        }
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
            Self::broadcast(connection, json!({"type": "leave", "name": name}));
        }
    }
}

//! A WebSocket echo server: every text or binary message goes back with the same type.
//! Autobahn's fuzzingclient runs against it (`conformance/autobahn.sh`).
//!
//! ```sh
//! cargo run -p wm-websocket --example echo_server -- 127.0.0.1:9001
//! ```

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use wm_websocket::handshake::ServerOptions;
use wm_websocket::{accept_with, Config, Error};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = TcpListener::bind(&addr).await?;
    eprintln!("echo_server: listening on ws://{}", listener.local_addr()?);
    loop {
        let (tcp, peer) = listener.accept().await?;
        tokio::spawn(async move {
            if let Err(error) = serve(tcp).await {
                eprintln!("echo_server: {peer}: {error}");
            }
        });
    }
}

async fn serve(tcp: TcpStream) -> Result<(), Error> {
    tcp.set_nodelay(true)?;
    // Autobahn sends messages of up to 16 MiB (cases 9.x).
    let config = Config::default()
        .max_message_size(64 << 20)
        .max_frame_size(64 << 20);
    let mut ws = accept_with(tcp, config, ServerOptions::new()).await?;
    while let Some(message) = ws.next().await {
        let message = message?;
        if message.is_data() {
            ws.send(message).await?;
        }
    }
    Ok(())
}

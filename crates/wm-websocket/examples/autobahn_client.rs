//! The echo client Autobahn's fuzzingserver drives: it asks for the number of cases, runs
//! each one (echoing every text or binary message), then asks for the report.
//! `AUTOBAHN_URL` and `AUTOBAHN_AGENT` come from `run-client-suite.sh`. With `--deflate`
//! it offers permessage-deflate (what browsers offer), for cases 12 and 13.

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use wm_websocket::deflate::DeflateConfig;
use wm_websocket::handshake::ClientRequest;
use wm_websocket::{connect_with, Config, Error, Message, WebSocketStream};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let url = std::env::var("AUTOBAHN_URL").unwrap_or_else(|_| "ws://127.0.0.1:9001".into());
    let agent = std::env::var("AUTOBAHN_AGENT").unwrap_or_else(|_| "wm-websocket".into());
    let deflate = std::env::args().any(|arg| arg == "--deflate");
    let mut ws = open(&format!("{url}/getCaseCount"), false).await?;
    let count: u32 = match ws.next().await {
        Some(Ok(Message::Text(count))) => count.trim().parse().unwrap_or(0),
        other => panic!("no case count: {other:?}"),
    };
    while ws.next().await.is_some() {}
    for case in 1..=count {
        let mut ws = open(&format!("{url}/runCase?case={case}&agent={agent}"), deflate).await?;
        while let Some(message) = ws.next().await {
            match message {
                Ok(message) if message.is_data() => {
                    if ws.send(message).await.is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }
    let mut ws = open(&format!("{url}/updateReports?agent={agent}"), false).await?;
    while ws.next().await.is_some() {}
    Ok(())
}

async fn open(url: &str, deflate: bool) -> Result<WebSocketStream<TcpStream>, Error> {
    let mut request = ClientRequest::new(url)?;
    if deflate {
        request = request.deflate(DeflateConfig::client());
    }
    let tcp = TcpStream::connect((request.host(), request.port())).await?;
    tcp.set_nodelay(true)?;
    let config = Config::default()
        .max_message_size(64 << 20)
        .max_frame_size(64 << 20);
    Ok(connect_with(tcp, request, config).await?.0)
}

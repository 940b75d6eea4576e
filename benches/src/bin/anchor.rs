//! The load test's anchors: echo servers built on the crates wm is compared with, each
//! written the way its documentation shows, each on one tokio thread.
//!
//! `anchor KIND ADDRESS`, KIND one of `lines` (tokio-util `LinesCodec`, text://),
//! `length-delimited` (tokio-util `LengthDelimitedCodec` set to Workerman's frame format),
//! `tungstenite` (tokio-tungstenite), `fastwebsockets`, `tokio-websockets`, `hyper` (a
//! hello server). Prints `listening on ADDRESS` once bound.

use std::convert::Infallible;
use std::io::Write;

use base64::Engine;
use bytes::{Bytes, BytesMut};
use futures_util::{future, StreamExt, TryStreamExt};
use sha1::{Digest, Sha1};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{Framed, LengthDelimitedCodec, LinesCodec};

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let [_, kind, address] = &args[..] else {
        return Err("usage: anchor KIND ADDRESS".into());
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(kind.clone(), address.clone()))
}

async fn serve(kind: String, address: String) -> Result<(), Error> {
    let listener = TcpListener::bind(&address).await?;
    println!("listening on {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let kind = kind.clone();
        tokio::spawn(async move {
            let _ = match kind.as_str() {
                "lines" => lines(stream).await,
                "length-delimited" => length_delimited(stream).await,
                "tungstenite" => tungstenite(stream).await,
                "fastwebsockets" => fastwebsockets(stream).await,
                "tokio-websockets" => tokio_websockets(stream).await,
                "hyper" => hyper_hello(stream).await,
                other => Err(format!("unknown anchor {other}").into()),
            };
        });
    }
}

/// `Framed` split into its halves and forwarded: `forward` feeds replies while requests
/// are ready and flushes when none is, so replies to a batch share writes.
async fn lines(stream: TcpStream) -> Result<(), Error> {
    let (sink, stream) = Framed::new(stream, LinesCodec::new_with_max_length(10 << 20)).split();
    stream.forward(sink).await?;
    Ok(())
}

async fn length_delimited(stream: TcpStream) -> Result<(), Error> {
    // Workerman's frame://: a 4-byte big-endian length that counts itself.
    let codec = LengthDelimitedCodec::builder()
        .length_field_length(4)
        .length_adjustment(-4)
        .max_frame_length(10 << 20)
        .new_codec();
    let (sink, stream) = Framed::new(stream, codec).split();
    stream.map_ok(BytesMut::freeze).forward(sink).await?;
    Ok(())
}

async fn tungstenite(stream: TcpStream) -> Result<(), Error> {
    let ws = tokio_tungstenite::accept_async(stream).await?;
    let (sink, stream) = ws.split();
    stream
        .try_filter(|message| future::ready(message.is_text() || message.is_binary()))
        .forward(sink)
        .await?;
    Ok(())
}

async fn tokio_websockets(stream: TcpStream) -> Result<(), Error> {
    let (_request, ws) = tokio_websockets::ServerBuilder::new()
        .accept(stream)
        .await?;
    let (sink, stream) = ws.split();
    stream
        .try_filter(|message| future::ready(message.is_text() || message.is_binary()))
        .forward(sink)
        .await?;
    Ok(())
}

/// fastwebsockets leaves the handshake to the application (or to hyper): read the
/// request head, answer 101, then run its frame loop.
async fn fastwebsockets(mut stream: TcpStream) -> Result<(), Error> {
    let mut head = Vec::new();
    let mut buf = [0; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut request = httparse::Request::new(&mut headers);
    request.parse(&head)?;
    let key = request
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("sec-websocket-key"))
        .ok_or("no key")?
        .value;
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    let accept = base64::engine::general_purpose::STANDARD.encode(sha1.finalize());
    stream
        .write_all(
            format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n")
                .as_bytes(),
        )
        .await?;
    let mut ws = fastwebsockets::FragmentCollector::new(
        fastwebsockets::WebSocket::after_handshake(stream, fastwebsockets::Role::Server),
    );
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            fastwebsockets::OpCode::Close => return Ok(()),
            fastwebsockets::OpCode::Text | fastwebsockets::OpCode::Binary => {
                ws.write_frame(frame).await?;
            }
            _ => {}
        }
    }
}

async fn hyper_hello(stream: TcpStream) -> Result<(), Error> {
    let service = hyper::service::service_fn(|_request| async {
        Ok::<_, Infallible>(hyper::Response::new(http_body_util::Full::new(
            Bytes::from_static(b"hello"),
        )))
    });
    hyper::server::conn::http1::Builder::new()
        .pipeline_flush(true)
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
        .await?;
    Ok(())
}

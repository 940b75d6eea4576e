//! A `frame://` echo server, as Workerman's `new Worker('frame://0.0.0.0:2347')` with an
//! `onMessage` that sends the packet back.
//!
//! ```sh
//! cargo run -p wm-frame --example frame_echo               # listens on 127.0.0.1:2347
//! cargo run -p wm-frame --example frame_echo -- 127.0.0.1:9000
//! printf 'hello\n' | cargo run -p wm-cli -- connect frame://127.0.0.1:2347
//! ```

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_util::codec::Framed;
use wm_frame::{Codec, Frame, FrameCodec};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:2347".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("frame:// echo listening on {}", listener.local_addr()?);
    loop {
        let (stream, peer) = listener.accept().await?;
        tokio::spawn(async move {
            // 1 MiB frames at most (header included): a bigger declared length ends the
            // connection before anything of it is buffered.
            let codec: FrameCodec = Codec::from(Frame::with_max_frame_length(1 << 20));
            let mut frames = Framed::new(stream, codec);
            while let Some(frame) = frames.next().await {
                // Each packet is a zero-copy slice of the read buffer.
                let result = match frame {
                    Ok(packet) => frames.send(packet).await,
                    Err(error) => Err(error),
                };
                if let Err(error) = result {
                    eprintln!("{peer}: {error}");
                    break;
                }
            }
        });
    }
}

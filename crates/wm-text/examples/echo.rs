//! A `text://` echo server, as Workerman's `new Worker('text://0.0.0.0:2346')` with an
//! `onMessage` that sends the line back.
//!
//! ```sh
//! cargo run -p wm-text --example echo            # listens on 127.0.0.1:2346
//! cargo run -p wm-text --example echo -- 127.0.0.1:9000
//! printf 'hello\nworld\n' | nc 127.0.0.1 2346    # or: telnet 127.0.0.1 2346
//! ```

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_util::codec::Framed;
use wm_text::{Text, TextCodec};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:2346".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("text:// echo listening on {}", listener.local_addr()?);
    loop {
        let (stream, peer) = listener.accept().await?;
        tokio::spawn(async move {
            // 64 KiB lines at most: a peer that never sends `\n` is cut off there.
            let mut lines =
                Framed::new(stream, TextCodec::from(Text::with_max_line_length(65_536)));
            while let Some(line) = lines.next().await {
                match line {
                    Ok(line) => {
                        if let Err(e) = lines.send(line).await {
                            eprintln!("{peer}: {e}");
                            break;
                        }
                    }
                    Err(e) => {
                        eprintln!("{peer}: {e}");
                        break;
                    }
                }
            }
        });
    }
}

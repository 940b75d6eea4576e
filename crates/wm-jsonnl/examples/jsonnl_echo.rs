//! A `JsonNL` echo server: each JSON value comes back as compact JSON on one line, keys in
//! the order they came; a line that is not JSON gets `{"error": …}` and the connection
//! goes on, as in Workerman's manual, where a bad line is `null` to `onMessage`.
//!
//! ```sh
//! cargo run -p wm-jsonnl --example jsonnl_echo              # listens on 127.0.0.1:2348
//! cargo run -p wm-jsonnl --example jsonnl_echo -- 127.0.0.1:9000
//! printf '{"b":1,"a":2}\n' | cargo run -p wm-cli -- connect jsonnl://127.0.0.1:2348
//! ```

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::codec::Framed;
use wm_jsonnl::{JsonNlCodec, Value};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:2348".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("jsonnl:// echo listening on {}", listener.local_addr()?);
    loop {
        let (stream, peer) = listener.accept().await?;
        tokio::spawn(async move {
            let mut lines = Framed::new(stream, JsonNlCodec::<Value>::new());
            while let Some(item) = lines.next().await {
                let reply = match item {
                    Ok(Ok(value)) => value,
                    // A bad line is an item: answer it, and read on.
                    Ok(Err(bad_line)) => json!({ "error": bad_line.to_string() }),
                    Err(error) => {
                        eprintln!("{peer}: {error}");
                        break;
                    }
                };
                if let Err(error) = lines.send(&reply).await {
                    eprintln!("{peer}: {error}");
                    break;
                }
            }
        });
    }
}

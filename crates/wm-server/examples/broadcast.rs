//! Workerman's classic: every line a client sends goes to every client connected
//! (`$worker->connections` and `send` in `onMessage`), on `text://`. Runs until SIGINT or
//! SIGTERM, then stops gracefully.
//!
//! ```sh
//! cargo run -p wm-server --example broadcast               # listens on 127.0.0.1:2351
//! cargo run -p wm-server --example broadcast -- 127.0.0.1:9000
//! cargo run -p wm-cli -- connect text://127.0.0.1:2351     # in two terminals: type
//! ```

use wm_server::{Message, Worker};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:2351".into());
    let worker = Worker::new(&format!("text://{address}"))?
        .on_connect(|connection| {
            let _ = connection.send(format!("welcome, you are #{}", connection.id()));
        })
        .on_message(|connection, message| {
            if let Message::Text(line) = message {
                let from = connection.id();
                connection.endpoint().broadcast(format!("#{from}: {line}"));
            }
        });
    wm_server::run_all_with([worker], |handles| {
        if let Some(address) = handles[0].local_addr() {
            println!("text:// broadcast listening on {address}");
        }
    })?;
    Ok(())
}

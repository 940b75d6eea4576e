//! An HTTP server as Workerman's `new Worker('http://0.0.0.0:2350')` with an `onMessage`
//! that answers: `serve` runs each connection (100 Continue, refusals with their status,
//! pipelining, keep-alive, timeouts), the handler maps a request to a response.
//!
//! ```sh
//! cargo run -p wm-http --example hello                 # listens on 127.0.0.1:2350
//! cargo run -p wm-http --example hello -- 127.0.0.1:9000
//! curl 'http://127.0.0.1:2350/greet?name=ada'          # hello ada
//! curl -H 'Host:' http://127.0.0.1:2350/               # 400 Bad Request
//! ```

use tokio::net::TcpListener;
use wm_http::{serve, Request, Response};

async fn answer(request: Request) -> Response {
    match request.path() {
        "/greet" => {
            let name = request.query_param("name").unwrap_or_default();
            Response::new(200).body(format!("hello {name}"))
        }
        "/echo" => Response::new(200)
            .header("Content-Type", "application/octet-stream")
            .body(request.body().clone()),
        _ => Response::new(404).body("not found\n"),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:2350".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("http:// hello listening on {}", listener.local_addr()?);
    loop {
        let (tcp, peer) = listener.accept().await?;
        tokio::spawn(async move {
            if let Err(error) = serve(tcp, answer).await {
                eprintln!("{peer}: {error}");
            }
        });
    }
}

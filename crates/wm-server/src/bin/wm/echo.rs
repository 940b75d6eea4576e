//! `wm echo URL...`: what comes in goes back out, for interop and load tests.
//!
//! * `text://`, `frame://`, `jsonnl://`, `tcp://`, `udp://`, `unix://`: the decoded
//!   message, encoded again (a `jsonnl` line that is not JSON gets
//!   `{"error": "…"}` back);
//! * `websocket://`: the same message with the same type;
//! * `http://`: `200` with a JSON body describing the request: `method`, `path`,
//!   `query`, `headers_count` (distinct names), `body_length`, `protocol_version`.

use std::collections::HashSet;
use std::process::ExitCode;

use serde_json::json;
use wm_server::{Connection, ConnectionOptions, Message, TlsServer, Worker};

#[derive(clap::Args)]
pub struct Args {
    /// Listen URLs, e.g. websocket://127.0.0.1:2345 text://127.0.0.1:2346
    #[arg(required = true)]
    urls: Vec<String>,
    /// Threads per listener.
    #[arg(long, default_value_t = 1)]
    count: usize,
    /// TLS certificate chain (PEM), for wss://, https:// (or any TCP scheme).
    #[arg(long, requires = "key")]
    cert: Option<std::path::PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "cert")]
    key: Option<std::path::PathBuf>,
    /// Largest message accepted, in bytes.
    #[arg(long, default_value_t = wm_protocol::DEFAULT_MAX_PACKAGE_SIZE)]
    max_package_size: usize,
}

pub fn run(args: Args) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let options = ConnectionOptions::default().max_package_size(args.max_package_size);
    let tls = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => Some(TlsServer::from_pem_files(cert, key)?),
        _ => None,
    };
    let mut workers = Vec::new();
    for url in &args.urls {
        let mut worker = Worker::new(url)?
            .count(args.count)
            .options(options)
            .on_message(echo);
        if let Some(tls) = &tls {
            worker = worker.tls(tls.clone());
        }
        workers.push(worker);
    }
    let handles = workers
        .into_iter()
        .map(Worker::start)
        .collect::<Result<Vec<_>, _>>()?;
    // Before the lines that say we listen: a SIGTERM right after them stops gracefully.
    let signals = wm_server::StopSignals::install()?;
    for (url, handle) in args.urls.iter().zip(&handles) {
        match handle.local_addr() {
            Some(address) => println!("{url} listening on {address}"),
            None => println!("{url} listening"),
        }
    }
    signals.wait()?;
    for (url, handle) in args.urls.iter().zip(handles) {
        eprintln!("{url}: {}", handle.stop());
    }
    Ok(ExitCode::SUCCESS)
}

/// The echo, whatever the scheme.
pub fn echo(connection: &Connection, message: Message) {
    let reply = match message {
        Message::Request(request) => Message::Json(describe(&request)),
        Message::BadJson(error) => Message::Json(json!({ "error": error.to_string() })),
        Message::Ping(_) | Message::Pong(_) => return,
        other => other,
    };
    // A refused send (full buffer, closed connection) is counted in the stats.
    let _ = connection.send(reply);
}

/// The JSON `wm echo` answers an HTTP request with.
pub fn describe(request: &wm_http::Request) -> serde_json::Value {
    let names: HashSet<Vec<u8>> = request
        .headers()
        .iter()
        .map(|(name, _)| name.to_ascii_lowercase())
        .collect();
    let version = match request.version() {
        wm_http::Version::Http10 => "1.0",
        _ => "1.1",
    };
    json!({
        "method": request.method().as_str(),
        "path": request.path(),
        "query": request.query().unwrap_or(""),
        "headers_count": names.len(),
        "body_length": request.body().len(),
        "protocol_version": version,
    })
}

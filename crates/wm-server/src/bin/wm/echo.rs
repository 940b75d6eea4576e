//! `wm echo URL...`: what comes in goes back out, for interop and load tests.
//!
//! * `text://`, `frame://`, `jsonnl://`, `tcp://`, `udp://`, `unix://`: the decoded
//!   message, encoded again (a `jsonnl` line that is not JSON gets
//!   `{"error": "…"}` back);
//! * `websocket://`: the same message with the same type;
//! * `http://`: `200` with a JSON body describing the request: `method`, `path`,
//!   `query`, `headers_count` (distinct names), `body_length`, `protocol_version`.

use std::cell::RefCell;
use std::process::ExitCode;

use bytes::Bytes;
use serde_json::json;
use wm_http::Response;
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
        Message::Request(request) => Message::from(
            Response::new(200)
                .static_header("Content-Type", "application/json")
                .body(describe(&request)),
        ),
        Message::BadJson(error) => Message::Json(json!({ "error": error.to_string() })),
        Message::Ping(_) | Message::Pong(_) => return,
        other => other,
    };
    // A refused send (full buffer, closed connection) is counted in the stats.
    let _ = connection.send(reply);
}

/// The JSON `wm echo` answers an HTTP request with: `method`, `path`, `query` (`""` when
/// there is none), `headers_count` (distinct names, ignoring case), `body_length`,
/// `protocol_version` (`"1.0"` or `"1.1"`). Written directly rather than through a
/// `serde_json::Value`, into a per-thread scratch buffer then copied out at its size: this
/// is the load test's hot path, and a `Bytes` made from a `Vec` with room to spare
/// allocates a second time.
pub fn describe(request: &wm_http::Request) -> Bytes {
    thread_local! {
        static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    SCRATCH.with(|scratch| {
        let mut out = scratch.borrow_mut();
        out.clear();
        describe_into(request, &mut out);
        let body = Bytes::copy_from_slice(&out);
        // A huge target does not stay with the thread.
        if out.capacity() > 4096 {
            *out = Vec::new();
        }
        body
    })
}

fn describe_into(request: &wm_http::Request, out: &mut Vec<u8>) {
    let headers = request.headers();
    let distinct = headers
        .iter()
        .enumerate()
        .filter(|&(i, (name, _))| {
            !headers
                .iter()
                .take(i)
                .any(|(earlier, _)| earlier.eq_ignore_ascii_case(name))
        })
        .count();
    let version = match request.version() {
        wm_http::Version::Http10 => "1.0",
        _ => "1.1",
    };
    out.reserve(128 + request.target().len());
    out.extend_from_slice(b"{\"method\":");
    json_string(out, request.method().as_str());
    out.extend_from_slice(b",\"path\":");
    json_string(out, request.path());
    out.extend_from_slice(b",\"query\":");
    json_string(out, request.query().unwrap_or(""));
    out.extend_from_slice(b",\"headers_count\":");
    put_decimal(out, distinct);
    out.extend_from_slice(b",\"body_length\":");
    put_decimal(out, request.body().len());
    out.extend_from_slice(b",\"protocol_version\":\"");
    out.extend_from_slice(version.as_bytes());
    out.extend_from_slice(b"\"}");
}

fn put_decimal(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn json_string(out: &mut Vec<u8>, text: &str) {
    // Paths seldom hold anything JSON escapes: then the text goes in as it is.
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        // serde_json escapes quotes, backslashes and control characters.
        let _ = serde_json::to_writer(&mut *out, text);
    }
}

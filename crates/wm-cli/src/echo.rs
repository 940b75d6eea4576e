//! `wm echo URL...`: what comes in goes back out, for interop and load tests.
//!
//! * `text://`, `frame://`, `jsonnl://`, `tcp://`, `udp://`, `unix://`: the decoded
//!   message, encoded again (a `jsonnl` line that is not JSON gets
//!   `{"error": "…"}` back);
//! * `websocket://`: the same message with the same type;
//! * `http://`: `200` with a JSON body describing the request: `method`, `path`,
//!   `query`, `headers_count` (distinct names), `body_length`, `protocol_version`.

use std::borrow::Cow;
use std::process::ExitCode;

use bytes::Bytes;
use serde_json::json;
use wm_http::Response;
use wm_server::{Connection, ConnectionOptions, DeflateConfig, Message, TlsServer, Worker};

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
    /// Largest message accepted, in bytes (for WebSocket, after inflating).
    #[arg(long, default_value_t = wm_protocol::DEFAULT_MAX_PACKAGE_SIZE)]
    max_package_size: usize,
    /// websocket://: accept permessage-deflate offers, without context takeover either
    /// way (no compression state is kept between messages).
    #[arg(long)]
    deflate: bool,
    /// websocket://: accept permessage-deflate with context takeover both ways where the
    /// client allows it (better compression, a zlib context per connection each way).
    #[arg(long)]
    deflate_takeover: bool,
}

/// The permessage-deflate policy the flags ask for.
pub fn deflate_policy(deflate: bool, takeover: bool) -> Option<DeflateConfig> {
    match (deflate, takeover) {
        (_, true) => Some(DeflateConfig {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            ..DeflateConfig::default()
        }),
        (true, false) => Some(DeflateConfig::default()),
        (false, false) => None,
    }
}

pub fn run(args: Args) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let mut options = ConnectionOptions::default().max_package_size(args.max_package_size);
    options.deflate = deflate_policy(args.deflate, args.deflate_takeover);
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
    // The signals are caught before the lines that say we listen: a SIGTERM right after
    // them stops gracefully. One listener with one thread is served on this thread.
    let stats = wm_server::run_all_with(workers, |handles| {
        for (url, handle) in args.urls.iter().zip(handles) {
            match handle.local_addr() {
                Some(address) => println!("{url} listening on {address}"),
                None => println!("{url} listening"),
            }
        }
    })?;
    for (url, stats) in args.urls.iter().zip(stats) {
        eprintln!("{url}: {stats}");
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
        Message::BadJson(error) => Message::from(json!({ "error": error.to_string() })),
        Message::Ping(_) | Message::Pong(_) => return,
        other => other,
    };
    // A refused send (full buffer, closed connection) is counted in the stats.
    let _ = connection.send(reply);
}

/// The JSON `wm echo` answers an HTTP request with: `method`, `path`, `query` (`""` when
/// there is none), `headers_count` (distinct names, ignoring case), `body_length`,
/// `protocol_version` (`"1.0"` or `"1.1"`). Written directly rather than through a
/// `serde_json::Value`, into a buffer of exactly its size (path and query escaped first,
/// when they need it), which becomes the body without another allocation or copy: this is
/// the load test's hot path.
pub fn describe(request: &wm_http::Request) -> Bytes {
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
    let method = request.method().as_str();
    let (path, query) = wm_protocol::http1::split_target(request.target());
    let mut distinct_digits = itoa::Buffer::new();
    let distinct = distinct_digits.format(distinct).as_bytes();
    let mut length_digits = itoa::Buffer::new();
    let body_length = length_digits.format(request.body().len()).as_bytes();
    let path = json_string_inside(path);
    let query = json_string_inside(query.unwrap_or(""));
    const TEMPLATE: usize = r#"{"method":"","path":"","query":"","headers_count":,"body_length":,"protocol_version":""}"#.len();
    let length = TEMPLATE
        + method.len()
        + path.len()
        + query.len()
        + distinct.len()
        + body_length.len()
        + version.len();
    // Unrolled, so that each constant piece is copied inline.
    let mut out = Vec::with_capacity(length);
    out.extend_from_slice(b"{\"method\":\"");
    out.extend_from_slice(method.as_bytes());
    out.extend_from_slice(b"\",\"path\":\"");
    out.extend_from_slice(&path);
    out.extend_from_slice(b"\",\"query\":\"");
    out.extend_from_slice(&query);
    out.extend_from_slice(b"\",\"headers_count\":");
    out.extend_from_slice(distinct);
    out.extend_from_slice(b",\"body_length\":");
    out.extend_from_slice(body_length);
    out.extend_from_slice(b",\"protocol_version\":\"");
    out.extend_from_slice(version.as_bytes());
    out.extend_from_slice(b"\"}");
    debug_assert_eq!(out.len(), length);
    // Full to its capacity: becomes a `Bytes` without another allocation.
    Bytes::from(out)
}

/// `text` as the inside of a JSON string: as it is unless it holds what JSON escapes
/// (quotes, backslashes, control characters), which serde_json then escapes.
fn json_string_inside(text: &str) -> Cow<'_, [u8]> {
    if !text.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        return Cow::Borrowed(text.as_bytes());
    }
    let mut quoted = serde_json::to_vec(text).unwrap_or_default();
    // The quotes are the template's.
    quoted.pop();
    quoted.remove(0);
    Cow::Owned(quoted)
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use wm_http::{Http, Protocol};

    fn request(wire: &[u8]) -> wm_http::Request {
        let mut buf = BytesMut::from(wire);
        Http::default().decode(&mut buf).unwrap().unwrap()
    }

    fn described(wire: &[u8]) -> serde_json::Value {
        serde_json::from_slice(&super::describe(&request(wire))).expect("valid JSON")
    }

    #[test]
    fn describes_a_request_in_json() {
        assert_eq!(
            described(b"GET / HTTP/1.0\r\n\r\n"),
            serde_json::json!({
                "method": "GET", "path": "/", "query": "", "headers_count": 0,
                "body_length": 0, "protocol_version": "1.0",
            })
        );
    }

    #[test]
    fn escapes_what_json_needs_escaped_in_the_target() {
        let value = described(b"GET /a\"b\\c?q=\"x\\ HTTP/1.1\r\nHost: h\r\nhost2: i\r\n\r\n");
        assert_eq!(value["path"], "/a\"b\\c");
        assert_eq!(value["query"], "q=\"x\\");
        assert_eq!(value["headers_count"], 2);
    }
}

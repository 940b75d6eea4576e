//! `wm connect URL`: a line-oriented client for any client scheme.
//!
//! Each stdin line is sent as one message (`jsonnl://`: the line must be JSON;
//! `ws://`: a text message, or binary with `--binary`; `tcp://` / `unix://`: the line and
//! its newline, as they are). Each message received is printed on stdout as one line,
//! escaped as [`escape`](crate::escape) says (`jsonnl://`: the value as compact JSON;
//! `tcp://` / `unix://`: the bytes as they come). When stdin ends, `wm connect` waits
//! until as many replies came back as lines were sent (messages that arrive after the
//! first send; over `tcp://` and `unix://`, lines), at most `--timeout` seconds, closes
//! gracefully and exits 0. It exits 1, with the reason on
//! stderr, when the connection fails, the peer breaks the protocol (it speaks something
//! else), or the peer closes while replies are still owed.

use std::process::ExitCode;
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use wm_server::{Client, ConnectionError, ConnectionOptions, DeflateConfig, Message, TlsClient};

use crate::escape::escape;

#[derive(clap::Args)]
pub struct Args {
    /// Where to connect: ws://host:port/path, wss://…, text://host:port, frame://…,
    /// jsonnl://…, tcp://…, unix:///path.sock
    url: String,
    /// Seconds to wait for outstanding replies once stdin ends (and for the connection).
    #[arg(long, default_value_t = 5.0)]
    timeout: f64,
    /// wss:// (or any scheme over TLS): trust only the certificates in this PEM file
    /// instead of the Mozilla roots.
    #[arg(long)]
    ca: Option<std::path::PathBuf>,
    /// ws://: send each line as a binary message instead of text.
    #[arg(long)]
    binary: bool,
    /// ws://: offer permessage-deflate as browsers do (`permessage-deflate;
    /// client_max_window_bits`); lines from 128 bytes are sent compressed if the server
    /// accepts.
    #[arg(long)]
    deflate: bool,
}

enum Event {
    Connected,
    Received(String),
    /// Bytes of a `tcp://` or `unix://` stream.
    Raw(Vec<u8>),
    Error(String),
    Closed,
}

pub fn run(args: Args) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(session(args))
}

async fn session(args: Args) -> Result<ExitCode, Box<dyn std::error::Error>> {
    // NaN, negative or absurd values are clamped rather than trusted.
    let timeout = Duration::from_secs_f64(if args.timeout.is_finite() {
        args.timeout.clamp(0.0, 86_400.0)
    } else {
        86_400.0
    });
    // The connection (and handshake) gets at least a second, whatever --timeout says.
    let connect_timeout = timeout.max(Duration::from_secs(1));
    let scheme = args
        .url
        .split_once("://")
        .map(|(s, _)| s.to_ascii_lowercase())
        .unwrap_or_default();
    let (events, mut incoming) = mpsc::unbounded_channel();
    let raw = matches!(scheme.as_str(), "tcp" | "unix" | "ssl" | "tls");
    let client = {
        let (on_connect, on_message, on_error, on_close) =
            (events.clone(), events.clone(), events.clone(), events);
        let json = scheme == "jsonnl";
        let name = scheme.clone();
        // The handshake gets the same bound as the rest.
        let mut options = ConnectionOptions::default().handshake_timeout(Some(connect_timeout));
        options.deflate = args.deflate.then(DeflateConfig::client);
        let mut client = Client::new(&args.url)?;
        if let Some(ca) = &args.ca {
            client = client.tls(TlsClient::with_root_pem(&std::fs::read(ca)?)?);
        }
        client
            .options(options)
            .on_connect(move |_| drop(on_connect.send(Event::Connected)))
            .on_message(move |_, message| {
                if let (true, Some(bytes)) = (raw, message.as_bytes()) {
                    // A byte stream: printed as it comes; its lines are the replies.
                    drop(on_message.send(Event::Raw(bytes.to_vec())));
                    return;
                }
                let line = match message {
                    Message::Json(value) if json => value.to_string(),
                    Message::BadJson(error) => {
                        drop(on_message.send(Event::Error(format!("received {error}"))));
                        return;
                    }
                    Message::Ping(_) | Message::Pong(_) => return,
                    other => match other.as_bytes() {
                        Some(bytes) => escape(bytes),
                        None => format!("({} message)", other.kind()),
                    },
                };
                drop(on_message.send(Event::Received(line)));
            })
            .on_error(move |_, error| {
                let text = match error {
                    ConnectionError::Protocol(error) => {
                        format!("the peer broke the protocol (does it speak {name}://?): {error}")
                    }
                    other => other.to_string(),
                };
                drop(on_error.send(Event::Error(text)));
            })
            .on_close(move |_| drop(on_close.send(Event::Closed)))
            .start()
    };

    let mut stdout = tokio::io::stdout();
    let mut failed = false;
    // Connected first, within the timeout.
    let connected = tokio::time::timeout(connect_timeout, async {
        while let Some(event) = incoming.recv().await {
            match event {
                Event::Connected => return Ok(()),
                Event::Error(error) => return Err(error),
                Event::Closed => return Err("connection closed".to_owned()),
                Event::Received(_) | Event::Raw(_) => {}
            }
        }
        Err("connection closed".to_owned())
    })
    .await;
    match connected {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            eprintln!("wm connect: cannot connect to {}: {error}", args.url);
            return Ok(ExitCode::FAILURE);
        }
        Err(_) => {
            eprintln!(
                "wm connect: no connection to {} within the timeout",
                args.url
            );
            return Ok(ExitCode::FAILURE);
        }
    }

    // Lines as bytes: a line that is not UTF-8 is sent where the protocol carries bytes.
    let mut stdin = BufReader::new(tokio::io::stdin());
    let mut line = Vec::new();
    let mut sent = 0u64;
    let mut closed = false;
    let mut stdin_open = true;
    let mut deadline = None;
    // Replies: messages that arrive once something was sent (a greeting is not one);
    // over tcp:// and unix://, lines.
    let mut received = 0u64;
    loop {
        if !stdin_open && received >= sent {
            break;
        }
        if closed {
            break;
        }
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            read = next_line(&mut stdin, &mut line), if stdin_open => match read? {
                true => {
                    let Some(connection) = client.connection() else {
                        closed = true;
                        continue;
                    };
                    let message = match message_for(&scheme, args.binary, &line) {
                        Ok(message) => message,
                        Err(why) => {
                            eprintln!("wm connect: line not sent: {why}");
                            continue;
                        }
                    };
                    match connection.send(message) {
                        Ok(_) => sent += 1,
                        Err(error) => eprintln!("wm connect: not sent: {error}"),
                    }
                }
                false => {
                    stdin_open = false;
                    deadline = Some(tokio::time::Instant::now() + timeout);
                }
            },
            event = incoming.recv() => match event {
                Some(Event::Received(line)) => {
                    received += u64::from(sent > 0);
                    stdout.write_all(line.as_bytes()).await?;
                    stdout.write_all(b"\n").await?;
                    stdout.flush().await?;
                }
                Some(Event::Raw(bytes)) => {
                    if sent > 0 {
                        received += bytes.iter().filter(|&&b| b == b'\n').count() as u64;
                    }
                    stdout.write_all(&bytes).await?;
                    stdout.flush().await?;
                }
                Some(Event::Error(error)) => {
                    eprintln!("wm connect: {error}");
                    failed = true;
                }
                Some(Event::Closed) | None => closed = true,
                Some(Event::Connected) => {}
            },
            () = sleep => {
                eprintln!(
                    "wm connect: {received} of {sent} replies arrived within {:.1} s",
                    timeout.as_secs_f64()
                );
                break;
            }
        }
    }
    let owed = received < sent;
    if closed && (owed || stdin_open) && !failed {
        eprintln!("wm connect: the peer closed the connection");
        failed = true;
    }
    client.stop().await;
    // Print what arrived while closing.
    while let Ok(event) = incoming.try_recv() {
        match event {
            Event::Received(line) => {
                stdout.write_all(line.as_bytes()).await?;
                stdout.write_all(b"\n").await?;
            }
            Event::Raw(bytes) => stdout.write_all(&bytes).await?,
            _ => {}
        }
    }
    stdout.flush().await?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Reads the next stdin line into `line`, without its `\n` (or `\r\n`); `false` at the
/// end of input. A last line without a newline counts.
async fn next_line(
    stdin: &mut (impl AsyncBufRead + Unpin),
    line: &mut Vec<u8>,
) -> std::io::Result<bool> {
    line.clear();
    if stdin.read_until(b'\n', line).await? == 0 {
        return Ok(false);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
    Ok(true)
}

/// The message one stdin line makes for `scheme`. Bytes that are not UTF-8 go as they are
/// where the protocol carries bytes (`text://`, `frame://`, `tcp://`, `unix://`, `ws://`
/// with `--binary`); where it cannot (a `ws://` text message, a `jsonnl://` value), the
/// line is refused with the reason.
fn message_for(scheme: &str, binary: bool, line: &[u8]) -> Result<Message, String> {
    let text = std::str::from_utf8(line);
    Ok(match scheme {
        "jsonnl" => match serde_json::from_slice(line) {
            Ok(value) => Message::Json(Box::new(value)),
            Err(error) => return Err(format!("not JSON: {error}")),
        },
        "tcp" | "unix" | "ssl" | "tls" => Message::Binary([line, b"\n"].concat().into()),
        "ws" | "wss" if binary => Message::Binary(line.to_vec().into()),
        "ws" | "wss" => match text {
            Ok(text) => Message::Text(text.to_owned()),
            Err(error) => {
                return Err(format!(
                    "not UTF-8 ({error}); a WebSocket text message must be, --binary sends bytes"
                ))
            }
        },
        _ => match text {
            Ok(text) => Message::Text(text.to_owned()),
            Err(_) => Message::Binary(line.to_vec().into()),
        },
    })
}

//! `wm`: Workerman's protocols from the command line.
//!
//! * `wm demo`: a chat page over `http://` and the chat over `websocket://`, on
//!   127.0.0.1; prints the URL to open.
//! * `wm echo URL...`: an echo server for any scheme(s).
//! * `wm connect URL`: a stdin/stdout client (a telnet for `frame://`, `jsonnl://`,
//!   `ws://` servers).
//! * `wm serve DIR [URL]`: static files (ETag, 304, ranges, virtual hosts).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod connect;
mod demo;
mod echo;
mod escape;
mod serve;

#[derive(Parser)]
#[command(
    name = "wm",
    version,
    about = "Workerman's wire protocols: demo, echo server, client, static files"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the chat demo: a page over http:// and the chat over websocket://.
    Demo(demo::Args),
    /// Echo every message back, on each URL given (text, frame, jsonnl, websocket, http,
    /// tcp, udp, unix).
    Echo(echo::Args),
    /// Send each stdin line as a message; print each message received as a line.
    Connect(connect::Args),
    /// Serve the files of a directory over http:// (default http://127.0.0.1:8080).
    Serve(serve::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let result = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Echo(args) => echo::run(args),
        Command::Connect(args) => connect::run(args),
        Command::Serve(args) => serve::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("wm: {error}");
            ExitCode::FAILURE
        }
    }
}

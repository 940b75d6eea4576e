//! `wm`: Workerman's protocols from the command line.
//!
//! * `wm demo`: a chat page over `http://` and the chat over `websocket://`, on
//!   127.0.0.1; prints the URL to open.
//! * `wm echo URL...`: an echo server for any scheme(s).
//! * `wm connect URL`: a stdin/stdout client (a telnet for `frame://`, `jsonnl://`,
//!   `ws://` servers).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod connect;
mod demo;
mod echo;
mod escape;

#[derive(Parser)]
#[command(
    name = "wm",
    version,
    about = "Workerman's wire protocols: demo, echo server, client"
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
}

/// SIGINT and SIGTERM, caught from the moment [`Signals::new`] returns.
///
/// [`wm_server::wait_for_signal`] sets its handlers only when called, so a SIGTERM sent as
/// soon as `wm echo` / `wm demo` printed that they listen met the default action and
/// killed them: no graceful stop, no stats. They make a `Signals` before printing.
pub struct Signals {
    runtime: tokio::runtime::Runtime,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    /// Sets the handlers now.
    pub fn new() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let _context = runtime.enter();
            let interrupt = signal(SignalKind::interrupt())?;
            let terminate = signal(SignalKind::terminate())?;
            Ok(Self {
                runtime,
                interrupt,
                terminate,
            })
        }
        #[cfg(not(unix))]
        Ok(Self { runtime })
    }

    /// Blocks until SIGINT or SIGTERM (Ctrl-C elsewhere).
    pub fn wait(self) -> std::io::Result<()> {
        #[cfg(unix)]
        {
            let Self {
                runtime,
                mut interrupt,
                mut terminate,
            } = self;
            runtime.block_on(async {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
            });
            Ok(())
        }
        #[cfg(not(unix))]
        self.runtime.block_on(tokio::signal::ctrl_c())
    }
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
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("wm: {error}");
            ExitCode::FAILURE
        }
    }
}

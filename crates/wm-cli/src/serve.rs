//! `wm serve DIR [URL]`: a static-file server (Workerman's `WebServer`), with virtual
//! hosts.

use std::path::PathBuf;
use std::process::ExitCode;

use wm_http::StaticFiles;
use wm_server::{StaticRoots, TlsServer, Worker};

#[derive(clap::Args)]
pub struct Args {
    /// The directory to serve (for every host not given with --host).
    dir: PathBuf,
    /// Where to listen: http://HOST:PORT, or https:// with --cert and --key.
    #[arg(default_value = "http://127.0.0.1:8080")]
    url: String,
    /// A virtual host: NAME=DIR serves DIR for requests with `Host: NAME` (any port);
    /// repeat for more.
    #[arg(long = "host", value_name = "NAME=DIR")]
    hosts: Vec<String>,
    /// Serve files and directories whose names start with a dot (default: 404).
    #[arg(long)]
    hidden: bool,
    /// Threads.
    #[arg(long, default_value_t = 1)]
    count: usize,
    /// TLS certificate chain (PEM), for https://.
    #[arg(long, requires = "key")]
    cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "cert")]
    key: Option<PathBuf>,
}

fn files(dir: &std::path::Path, hidden: bool) -> Result<StaticFiles, String> {
    StaticFiles::new(dir)
        .map(|files| files.serve_hidden(hidden))
        .map_err(|error| format!("{}: {error}", dir.display()))
}

pub fn run(args: Args) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let mut roots = StaticRoots::empty().files(files(&args.dir, args.hidden)?);
    for host in &args.hosts {
        let (name, dir) = host
            .split_once('=')
            .filter(|(name, dir)| !name.is_empty() && !dir.is_empty())
            .ok_or_else(|| format!("--host {host:?}: expected NAME=DIR"))?;
        roots = roots.host_files(name, files(dir.as_ref(), args.hidden)?);
    }
    let mut worker = Worker::new(&args.url)?
        .count(args.count)
        .static_files(roots);
    if let (Some(cert), Some(key)) = (&args.cert, &args.key) {
        worker = worker.tls(TlsServer::from_pem_files(cert, key)?);
    }
    let url = args.url.clone();
    let dir = args.dir.display().to_string();
    let stats = wm_server::run_all_with([worker], |handles| match handles[0].local_addr() {
        Some(address) => println!("{url} serving {dir} on {address}"),
        None => println!("{url} serving {dir}"),
    })?;
    for stats in stats {
        eprintln!("{url}: {stats}");
    }
    Ok(ExitCode::SUCCESS)
}

//! What the load binaries share: server processes started pinned to a core, their CPU
//! time and resident memory from /proc, and the descriptor limit raised.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The load binaries' error.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The cores the servers and the load run on, when they can be kept apart.
#[derive(Debug, Clone, Copy)]
pub struct Pinning {
    /// The servers' core.
    pub server: usize,
    /// The load's core.
    pub load: usize,
}

impl Pinning {
    /// The last core for the servers, the first for the load; `None` on one core or
    /// without `taskset`.
    pub fn detect() -> Option<Self> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let taskset = Command::new("taskset")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        (cores >= 2 && taskset).then_some(Self {
            server: cores - 1,
            load: 0,
        })
    }

    /// Pins this process (the load, and the wrk it starts) to its core.
    pub fn pin_load(self) -> Result<(), Error> {
        let status = Command::new("taskset")
            .args(["-a", "-p", "-c", &self.load.to_string()])
            .arg(std::process::id().to_string())
            .stdout(Stdio::null())
            .status()?;
        if !status.success() {
            return Err("taskset could not pin the load".into());
        }
        Ok(())
    }
}

/// The pinning in force, set once by the binary's `main`.
pub static PINNING: std::sync::OnceLock<Option<Pinning>> = std::sync::OnceLock::new();

/// A server process, killed when dropped.
pub struct Running {
    /// The process (its stdin is a pipe held open: some servers serve until it closes).
    pub child: Child,
    /// Where it listens.
    pub address: SocketAddr,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A binary beside this one (built by the same `cargo build --bins`).
pub fn sibling(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("own path");
    exe.with_file_name(name)
}

/// Starts a server (pinned to the servers' core when [`PINNING`] says so) that prints
/// its address, or only its port on 127.0.0.1, as the last word of its first line.
pub fn spawn_server(command: &Command) -> Result<Running, Error> {
    let mut pinned = match PINNING.get().copied().flatten() {
        Some(pinning) => {
            let mut pinned = Command::new("taskset");
            pinned
                .args(["-c", &pinning.server.to_string()])
                .arg(command.get_program());
            pinned
        }
        None => Command::new(command.get_program()),
    };
    pinned.args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => pinned.env(key, value),
            None => pinned.env_remove(key),
        };
    }
    let mut child = pinned
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
    let word = line.trim().rsplit(' ').next().unwrap_or_default();
    let address = match word.parse::<u16>() {
        Ok(port) => SocketAddr::from(([127, 0, 0, 1], port)),
        Err(_) => word
            .parse()
            .map_err(|_| format!("no address in the first line: {line:?}"))?,
    };
    Ok(Running { child, address })
}

/// The process's user + system CPU time.
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    let per_second = rustix::param::clock_ticks_per_second().max(1);
    Duration::from_secs_f64(ticks as f64 / per_second as f64)
}

/// The process's resident set, in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Ten thousand connections need more descriptors than the usual soft limit of 1024.
pub fn raise_fd_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    limit.current = limit.maximum;
    let _ = setrlimit(Resource::Nofile, limit);
}

/// What a load binary does before its first server: raises the descriptor limit, pins
/// itself to the load's core where servers and load can be kept apart (setting
/// [`PINNING`] for [`spawn_server`]), and says so with the number of rounds.
pub fn prepare_load(rounds: usize) -> Result<(), Error> {
    raise_fd_limit();
    match *PINNING.get_or_init(Pinning::detect) {
        Some(pinning) => {
            pinning.pin_load()?;
            println!(
                "Servers pinned to core {}, the load to core {}; {rounds} rounds, medians.",
                pinning.server, pinning.load
            );
        }
        None => println!("Not pinned (one core, or no taskset); {rounds} rounds, medians."),
    }
    Ok(())
}

//! Drives a [`Protocol`] the way a connection would, with the input cut into chunks at
//! chosen places, so tests and fuzz targets can check that the cut never matters.
//!
//! Results are compared through their `Debug` form, which lets messages and errors that
//! have no `PartialEq` (I/O errors, `serde_json` errors) be compared too.

use std::fmt::Debug;

use bytes::BytesMut;

use crate::Protocol;

/// What a connection saw: the messages in order, then the error that ended it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    /// `Debug` of each message.
    pub messages: Vec<String>,
    /// `Debug` of the error that stopped decoding, if one did.
    pub error: Option<String>,
}

/// Feeds `chunks` one after the other, decoding after each as a read loop does, then
/// signals end of input.
pub fn decode_chunks<'a, P>(
    protocol: &mut P,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Transcript
where
    P: Protocol,
    P::Message: Debug,
    P::Error: Debug,
{
    let mut buf = BytesMut::new();
    let mut messages = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match protocol.decode(&mut buf) {
                Ok(Some(message)) => messages.push(format!("{message:?}")),
                Ok(None) => break,
                Err(error) => {
                    return Transcript {
                        messages,
                        error: Some(format!("{error:?}")),
                    }
                }
            }
        }
    }
    loop {
        match protocol.decode_eof(&mut buf) {
            Ok(Some(message)) => messages.push(format!("{message:?}")),
            Ok(None) => {
                return Transcript {
                    messages,
                    error: None,
                }
            }
            Err(error) => {
                return Transcript {
                    messages,
                    error: Some(format!("{error:?}")),
                }
            }
        }
    }
}

/// `data` cut at the given offsets (sorted and clamped here; duplicates give empty reads).
pub fn decode_split_at<P>(protocol: &mut P, data: &[u8], cuts: &[usize]) -> Transcript
where
    P: Protocol,
    P::Message: Debug,
    P::Error: Debug,
{
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(data.len())).collect();
    cuts.sort_unstable();
    let mut chunks = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for cut in cuts {
        chunks.push(&data[start..cut]);
        start = cut;
    }
    chunks.push(&data[start..]);
    decode_chunks(protocol, chunks)
}

/// `data` in one read.
pub fn decode_whole<P>(protocol: &mut P, data: &[u8]) -> Transcript
where
    P: Protocol,
    P::Message: Debug,
    P::Error: Debug,
{
    decode_chunks(protocol, [data])
}

/// `data` one byte per read.
pub fn decode_drip<P>(protocol: &mut P, data: &[u8]) -> Transcript
where
    P: Protocol,
    P::Message: Debug,
    P::Error: Debug,
{
    decode_chunks(protocol, data.chunks(1))
}

/// Checks that `data` decodes the same in one read, one byte per read, and cut in two at
/// every offset, each time by a fresh protocol from `make`. Returns the one-read result;
/// panics naming the first chunking that differs. Costs O(n²): meant for test vectors.
pub fn assert_every_split<P, M>(make: M, data: &[u8]) -> Transcript
where
    M: Fn() -> P,
    P: Protocol,
    P::Message: Debug,
    P::Error: Debug,
{
    let whole = decode_whole(&mut make(), data);
    let drip = decode_drip(&mut make(), data);
    assert_eq!(
        drip, whole,
        "one byte per read differs from one read for {data:?}"
    );
    for cut in 0..=data.len() {
        let split = decode_split_at(&mut make(), data, &[cut]);
        assert_eq!(
            split, whole,
            "cut at {cut} differs from one read for {data:?}"
        );
    }
    whole
}

/// The fuzz check: `data` in one read and cut wherever `cuts` says give the same
/// transcript. `cuts` are raw fuzzer numbers, reduced modulo `data.len() + 1`.
pub fn assert_split_equivalence<P, M>(make: M, data: &[u8], cuts: &[u16])
where
    M: Fn() -> P,
    P: Protocol,
    P::Message: Debug,
    P::Error: Debug,
{
    let cuts: Vec<usize> = cuts
        .iter()
        .map(|&c| usize::from(c) % (data.len() + 1))
        .collect();
    let whole = decode_whole(&mut make(), data);
    let split = decode_split_at(&mut make(), data, &cuts);
    assert_eq!(split, whole, "cuts {cuts:?} differ from one read");
}

/// `input` cut into reads of 1 to `1 + seed % 32` bytes, the sizes from a xorshift on
/// `seed`: a fuzzer's one byte picks a whole chunking.
pub fn seeded_reads(input: &[u8], seed: u8) -> Vec<&[u8]> {
    let (mut state, most) = (u32::from(seed) | 0x100, 1 + usize::from(seed % 32));
    let mut reads = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let (read, tail) = rest.split_at((1 + state as usize % most).min(rest.len()));
        reads.push(read);
        rest = tail;
    }
    reads
}

/// Whether `command` (a probe that loads the module) succeeds; if not, the test is
/// skipped with `missing` on stderr, or, under `CI`, fails with it.
fn interop_available(command: &mut std::process::Command, missing: &str) -> bool {
    let found = command
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(std::env::var_os("CI").is_none(), "CI is set but {missing}");
        eprintln!("skipping: {missing}");
    }
    found
}

/// The Python that interop tests run a second implementation in: `WM_INTEROP_PYTHON`
/// (which `.ci/run` sets to a venv), else `python3`, if it can import `module`. Without
/// one the test is skipped with a note; under `CI` that is a failure instead.
pub fn interop_python(module: &str) -> Option<String> {
    let python = std::env::var("WM_INTEROP_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut probe = std::process::Command::new(&python);
    probe.args(["-c", &format!("import {module}")]);
    let missing = format!("{python} has no `{module}` module (set WM_INTEROP_PYTHON)");
    interop_available(&mut probe, &missing).then_some(python)
}

/// The `node` that interop tests run a second implementation in, with `NODE_PATH` set to
/// `WM_INTEROP_NODE_PATH` (which `.ci/run` fills with `npm install`), if it can require
/// `module`. Without one the test is skipped with a note; under `CI` that is a failure
/// instead. Returns the `NODE_PATH` to run it with.
pub fn interop_node(module: &str) -> Option<String> {
    let node_path = std::env::var("WM_INTEROP_NODE_PATH").unwrap_or_default();
    let mut probe = std::process::Command::new("node");
    probe
        .args(["-e", &format!("require({module:?})")])
        .env("NODE_PATH", &node_path);
    let missing = format!(
        "node cannot require `{module}` from NODE_PATH={node_path:?} (set WM_INTEROP_NODE_PATH)"
    );
    interop_available(&mut probe, &missing).then_some(node_path)
}

/// A `redis-server` of a test's own, on a free 127.0.0.1 port, without persistence;
/// killed when dropped. The binary is `WM_REDIS_SERVER` or `redis-server` on the `PATH`.
#[derive(Debug)]
pub struct RedisServer {
    binary: String,
    port: u16,
    child: Option<std::process::Child>,
}

impl RedisServer {
    /// Starts one and waits until it answers. Without the binary the test is skipped with
    /// a note (`None`); under `CI` that is a failure instead.
    pub fn start() -> Option<Self> {
        let binary = std::env::var("WM_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let mut probe = std::process::Command::new(&binary);
        probe.arg("--version").stdout(std::process::Stdio::null());
        let missing = format!("no `{binary}` (install redis-server or set WM_REDIS_SERVER)");
        if !interop_available(&mut probe, &missing) {
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut server = Self {
            binary,
            port,
            child: None,
        };
        server.restart();
        Some(server)
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server at once (SIGKILL: no goodbye to its clients).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, empty, and waits until it answers.
    pub fn restart(&mut self) {
        self.kill();
        let child = std::process::Command::new(&self.binary)
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(["--loglevel", "warning"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !self.answers() {
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not answer on port {}",
                self.port
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Whether it answers `PING` now.
    pub fn answers(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(1)));
        let mut reply = [0; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

//! wm-http's request parser against llhttp (Node's parser, through Python `httptools`) on
//! a corpus of tricky raw requests: `tests/corpus/NAME.http` holds one connection's whole
//! input, `tests/corpus/cases.txt` what each parser makes of it.
//!
//! Both results are pinned: wm-http's is checked always, llhttp's when a Python with
//! `httptools` is at hand (`WM_INTEROP_PYTHON`, as `.ci/run` sets; under `CI` its absence
//! fails). Where the two disagree the manifest says why wm-http answers as it does, so a
//! disagreement is always a decision, and a change on either side fails here.
//!
//! A result is one line: each request as `METHOD TARGET VERSION BODY-LENGTH`, `; `
//! between them, then how the connection ended when it did not end cleanly — for wm-http
//! `refused STATUS` (the answer it queued) or `eof` (the input stopped inside a request),
//! for llhttp `error CLASS: REASON`, `incomplete` or `upgrade` (llhttp hands the
//! connection over). Target bytes outside printable ASCII, and `\`, are written `\xNN`;
//! a target longer than 64 characters so written is cut to its first 16 and its length.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use bytes::BytesMut;
use wm_http::{Http, HttpError, Protocol, Request, Version};
use wm_protocol::testing::{assert_every_split, interop_python};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");
const LLHTTP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/llhttp.py");

/// One case of `cases.txt`.
#[derive(Debug)]
struct Case {
    name: String,
    wm_http: String,
    llhttp: String,
    why: Option<String>,
}

impl Case {
    fn wire(&self) -> Vec<u8> {
        std::fs::read(self.path()).unwrap_or_else(|e| panic!("{}: {e}", self.name))
    }

    fn path(&self) -> PathBuf {
        Path::new(CORPUS).join(format!("{}.http", self.name))
    }
}

/// Reads `cases.txt`: blocks separated by blank lines, `#` comments; a block is the case
/// name, then indented `wm-http`, `llhttp` and (where they disagree) `why` lines.
fn manifest() -> Vec<Case> {
    let text = std::fs::read_to_string(Path::new(CORPUS).join("cases.txt")).unwrap();
    let mut cases = Vec::new();
    for block in text.split("\n\n") {
        let mut lines = block
            .lines()
            .filter(|line| !line.trim_start().starts_with('#') && !line.trim().is_empty());
        let Some(name) = lines.next() else {
            continue;
        };
        assert!(
            !name.starts_with(' '),
            "a block must start with its name: {block}"
        );
        let mut case = Case {
            name: name.trim().to_owned(),
            wm_http: String::new(),
            llhttp: String::new(),
            why: None,
        };
        for line in lines {
            let (key, value) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
            let value = value.trim().to_owned();
            match key {
                "wm-http" => case.wm_http = value,
                "llhttp" => case.llhttp = value,
                "why" => case.why = Some(value),
                _ => panic!("{}: unknown key {key:?}", case.name),
            }
        }
        assert!(
            !case.wm_http.is_empty() && !case.llhttp.is_empty(),
            "{}: needs both results",
            case.name
        );
        cases.push(case);
    }
    cases
}

/// As llhttp.py writes URLs, so both sides print targets alike.
fn escape(target: &[u8]) -> String {
    let mut out = String::new();
    for &b in target {
        if (0x21..=0x7e).contains(&b) && b != b'\\' {
            out.push(char::from(b));
        } else {
            write!(out, "\\x{b:02x}").unwrap();
        }
    }
    out
}

/// A written target as a result line shows it.
fn shorten(target: &str) -> String {
    if target.len() <= 64 {
        target.to_owned()
    } else {
        format!("{}...({} chars)", &target[..16], target.len())
    }
}

fn describe(request: &Request) -> String {
    let version = match request.version() {
        Version::Http10 => "1.0",
        Version::Http11 => "1.1",
    };
    format!(
        "{} {} {version} {}",
        request.method().as_str(),
        shorten(&escape(request.target().as_bytes())),
        request.body().len()
    )
}

/// How an input ended for wm-http.
fn ending(error: &HttpError) -> String {
    match (error, error.status()) {
        (HttpError::UnexpectedEof { .. }, _) => "eof".into(),
        (_, Some(status)) => format!("refused {status}"),
        (error, None) => format!("{error:?}"),
    }
}

/// Runs wm-http over `reads` as a connection would (decode after each read, then
/// `decode_eof`): its result line and everything it queued to send.
fn wm_http<'a>(reads: impl IntoIterator<Item = &'a [u8]>) -> (String, Vec<u8>) {
    let mut http = Http::default();
    let mut buf = BytesMut::new();
    let mut parts = Vec::new();
    let mut error = None;
    'reads: for read in reads {
        buf.extend_from_slice(read);
        loop {
            match http.decode(&mut buf) {
                Ok(Some(request)) => parts.push(describe(&request)),
                Ok(None) => break,
                Err(e) => {
                    error = Some(e);
                    break 'reads;
                }
            }
        }
    }
    while error.is_none() {
        match http.decode_eof(&mut buf) {
            Ok(Some(request)) => parts.push(describe(&request)),
            Ok(None) => break,
            Err(e) => error = Some(e),
        }
    }
    let mut output = BytesMut::new();
    http.take_output(&mut output);
    if let Some(error) = &error {
        let ended = ending(error);
        if let Some(status) = error.status() {
            // The refusal is what was queued last.
            let line = format!("HTTP/1.1 {status} ");
            let at = output
                .windows(line.len())
                .rposition(|w| w == line.as_bytes());
            assert!(
                at.is_some(),
                "{ended} without its answer queued: {:?}",
                String::from_utf8_lossy(&output)
            );
        }
        parts.push(ended);
    }
    (line(parts), output.to_vec())
}

fn line(parts: Vec<String>) -> String {
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join("; ")
    }
}

/// llhttp.py's JSON for one input, as a result line.
fn llhttp_line(json: &serde_json::Value) -> String {
    let mut parts = Vec::new();
    let requests = json["requests"].as_array().expect("requests");
    for request in requests {
        if request["complete"] == true {
            parts.push(format!(
                "{} {} {} {}",
                request["method"].as_str().expect("method"),
                shorten(request["url"].as_str().expect("url")),
                request["version"].as_str().expect("version"),
                request["body"].as_u64().expect("body")
            ));
        }
    }
    if let Some(error) = json["error"].as_str() {
        parts.push(format!("error {error}"));
    } else if json["upgrade"] == true {
        parts.push("upgrade".into());
    } else if requests.last().is_some_and(|r| r["complete"] != true) {
        parts.push("incomplete".into());
    }
    line(parts)
}

/// Whether the two result lines tell the same story: the same requests, and the input
/// ending the same way (a refusal is an error, running out inside a request is both
/// parsers' `eof`/`incomplete`).
fn agree(wm_http: &str, llhttp: &str) -> bool {
    let canonical = |line: &str| {
        line.split("; ")
            .map(|part| {
                if part.starts_with("refused ") || part.starts_with("error ") {
                    "refused"
                } else if part == "eof" || part == "incomplete" {
                    "incomplete"
                } else {
                    part
                }
                .to_owned()
            })
            .collect::<Vec<_>>()
    };
    canonical(wm_http) == canonical(llhttp)
}

fn block(case: &Case, wm_http: &str, llhttp: &str) -> String {
    let mut text = format!("{}\n  wm-http  {wm_http}\n  llhttp   {llhttp}\n", case.name);
    if let Some(why) = &case.why {
        writeln!(text, "  why      {why}").unwrap();
    }
    text
}

#[test]
fn every_corpus_file_has_one_expectation() {
    let cases = manifest();
    let named: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    let unique: BTreeSet<&str> = named.iter().copied().collect();
    assert_eq!(unique.len(), named.len(), "a case is listed twice");
    let files: BTreeSet<String> = std::fs::read_dir(CORPUS)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter_map(|name| name.strip_suffix(".http").map(str::to_owned))
        .collect();
    let listed: BTreeSet<String> = unique.into_iter().map(str::to_owned).collect();
    assert_eq!(files, listed, "corpus files and cases.txt differ");
}

#[test]
fn every_disagreement_says_why() {
    for case in manifest() {
        let differ = !agree(&case.wm_http, &case.llhttp);
        assert_eq!(
            differ,
            case.why.is_some(),
            "{}: the parsers {}, so it {} a `why` line",
            case.name,
            if differ { "disagree" } else { "agree" },
            if differ { "needs" } else { "must not have" }
        );
    }
}

#[test]
fn wm_http_gives_the_recorded_result() {
    let mut wrong = String::new();
    for case in manifest() {
        let (got, _) = wm_http([&case.wire()[..]]);
        if got != case.wm_http {
            wrong += &block(&case, &got, &case.llhttp);
            wrong.push('\n');
        }
    }
    assert!(
        wrong.is_empty(),
        "wm-http's result changed; what it gives now:\n\n{wrong}"
    );
}

#[test]
fn wm_http_gives_the_same_result_however_the_input_is_cut() {
    for case in manifest() {
        let wire = case.wire();
        let whole = wm_http([&wire[..]]);
        assert_eq!(
            wm_http(wire.chunks(1)),
            whole,
            "{}: one byte per read",
            case.name
        );
        for cut in 0..=wire.len() {
            let (front, back) = wire.split_at(cut);
            assert_eq!(wm_http([front, back]), whole, "{}: cut at {cut}", case.name);
        }
        // The whole requests too, headers and bodies, not only their summary.
        assert_every_split(Http::default, &wire);
    }
}

#[test]
fn llhttp_gives_the_recorded_result() {
    let Some(python) = interop_python("httptools") else {
        return;
    };
    let cases = manifest();
    // One interpreter for the whole corpus; it prints a line per file, in order.
    let output = Command::new(python)
        .arg(LLHTTP)
        .args(cases.iter().map(Case::path))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "llhttp.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), cases.len(), "one line per case: {stdout}");
    let mut wrong = String::new();
    for (case, json) in cases.iter().zip(lines) {
        let json: serde_json::Value = serde_json::from_str(json).unwrap();
        let got = llhttp_line(&json);
        if got != case.llhttp {
            wrong += &block(case, &case.wm_http, &got);
            wrong.push('\n');
        }
    }
    assert!(
        wrong.is_empty(),
        "llhttp's result changed; what it gives now:\n\n{wrong}"
    );
}

#[test]
fn result_lines_agree_as_documented() {
    assert!(agree("GET / 1.1 0; refused 400", "GET / 1.1 0; error X: y"));
    assert!(agree("POST /p 1.1 5; eof", "POST /p 1.1 5; incomplete"));
    assert!(!agree("GET / 1.1 0", "GET / 1.1 0; upgrade"));
    assert!(!agree("refused 400", "GET / 1.1 0"));
    assert_eq!(escape("/a\\b é".as_bytes()), "/a\\x5cb\\x20\\xc3\\xa9");
    assert_eq!(shorten(&"/a".repeat(40)), "/a/a/a/a/a/a/a/a...(80 chars)");
}

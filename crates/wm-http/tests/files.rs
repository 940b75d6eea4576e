//! Static files: path confinement, content types, revalidation, ranges, and bodies sent
//! through the real encoder in bounded pieces.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use proptest::prelude::*;
use wm_http::files::{
    file_response, mime_type, FileAnswer, FileError, DEFAULT_INDEX, DEFAULT_MAX_IN_MEMORY,
    DEFAULT_PIECE_SIZE,
};
use wm_http::{Chunk, Encode, Http, Protocol, Request, StaticFiles};

/// A directory of its own under the temp dir, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "wm-http-files-{}-{name}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(path.join("root")).unwrap();
        Self(path)
    }

    /// The served root (the scratch dir holds things outside it too).
    fn root(&self) -> PathBuf {
        self.0.join("root")
    }

    /// Writes a file under the scratch dir (`root/...` to serve it) with a fixed mtime.
    fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, contents).unwrap();
        set_mtime(&path, mtime());
        path
    }

    fn files(&self) -> StaticFiles {
        StaticFiles::new(self.root()).unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// RFC 9110's example date: Sun, 06 Nov 1994 08:49:37 GMT.
const MTIME_SECS: u64 = 784_111_777;
fn mtime() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(MTIME_SECS)
}
const MTIME_TEXT: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

fn set_mtime(path: &Path, time: SystemTime) {
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(time)
        .unwrap();
}

/// The weak tag of a file of `size` bytes modified at `mtime()`.
fn etag(size: u64) -> String {
    format!(
        "W/\"{size:x}-{:x}\"",
        u128::from(MTIME_SECS) * 1_000_000_000
    )
}

/// A decoder that has read `head` (request line and header lines, without the blank
/// line), and the request.
fn decode(head: &str) -> (Http, Request) {
    let mut http = Http::default();
    let mut wire = BytesMut::from(format!("{head}\r\n\r\n").as_bytes());
    let request = http.decode(&mut wire).unwrap().unwrap();
    (http, request)
}

/// `GET <path>` with extra header lines.
fn get(path: &str, headers: &[&str]) -> String {
    let mut head = format!("GET {path} HTTP/1.1\r\nHost: h");
    for line in headers {
        head.push_str("\r\n");
        head.push_str(line);
    }
    head
}

/// Answers `head` from `files` and encodes the answer as a driver would: the response,
/// then pieces of at most `piece` bytes while the encoder expects more. The wire bytes,
/// the status and the largest piece.
fn serve_with(files: &StaticFiles, head: &str, piece: usize) -> (Vec<u8>, u16, usize) {
    let (mut http, request) = decode(head);
    let (response, body) = files.answer(&request).into_parts();
    let status = response.status();
    let mut out = BytesMut::new();
    http.encode(response, &mut out).unwrap();
    let mut largest = 0;
    if let Some(mut body) = body {
        while http.streaming() {
            let data = body
                .next_chunk(piece)
                .unwrap()
                .expect("the body ended early");
            largest = largest.max(data.len());
            http.encode(Chunk::new(data), &mut out).unwrap();
        }
        assert_eq!(body.remaining(), 0, "the whole stretch went out");
    }
    assert!(!http.streaming());
    (out.to_vec(), status, largest)
}

fn serve(files: &StaticFiles, head: &str) -> (Vec<u8>, u16) {
    let (out, status, _) = serve_with(files, head, DEFAULT_PIECE_SIZE);
    (out, status)
}

/// What follows the head.
fn body_of(wire: &[u8]) -> &[u8] {
    let at = wire.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    &wire[at + 4..]
}

fn text(wire: &[u8]) -> String {
    String::from_utf8_lossy(wire).into_owned()
}

fn answer(files: &StaticFiles, head: &str) -> FileAnswer {
    files.answer(&decode(head).1)
}

#[test]
fn a_get_sends_these_exact_bytes() {
    let scratch = Scratch::new("get");
    scratch.write("root/hello.txt", "hello");
    let (out, status) = serve(&scratch.files(), &get("/hello.txt", &[]));
    assert_eq!(status, 200);
    assert_eq!(
        text(&out),
        format!(
            "HTTP/1.1 200 OK\r\nLast-Modified: {MTIME_TEXT}\r\nETag: {}\r\nAccept-Ranges: bytes\r\n\
             Connection: keep-alive\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Length: 5\r\n\r\nhello",
            etag(5)
        )
    );
}

#[test]
fn a_head_request_gets_the_head_and_the_connection_goes_on() {
    let scratch = Scratch::new("head");
    scratch.write("root/hello.txt", "hello");
    let files = scratch.files();
    let (get_out, _) = serve(&files, &get("/hello.txt", &[]));
    let (head_out, status) = serve(&files, "HEAD /hello.txt HTTP/1.1\r\nHost: h");
    assert_eq!(status, 200);
    assert_eq!(
        head_out,
        &get_out[..get_out.len() - 5],
        "same head, no body"
    );

    // The placeholder body is counted, not read: pipelined, the next answer follows.
    let mut http = Http::default();
    let mut wire = BytesMut::from(
        &b"HEAD /hello.txt HTTP/1.1\r\nHost: h\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: h\r\n\r\n"[..],
    );
    let mut out = BytesMut::new();
    while let Some(request) = http.decode(&mut wire).unwrap() {
        let (response, body) = files.answer(&request).into_parts();
        http.encode(response, &mut out).unwrap();
        for piece in body.unwrap() {
            http.encode(Chunk::new(piece.unwrap()), &mut out).unwrap();
        }
    }
    assert_eq!(text(&out), format!("{}{}", text(&head_out), text(&get_out)));
}

#[test]
fn a_missing_file_is_workermans_404() {
    let scratch = Scratch::new("missing");
    let (out, status) = serve(&scratch.files(), &get("/nope.txt", &[]));
    assert_eq!(status, 404);
    assert!(text(&out).starts_with("HTTP/1.1 404 Not Found\r\n"));
    assert_eq!(body_of(&out), b"<h3>404 Not Found</h3>");
    let (_, status) = serve(&scratch.files(), &get("/nope/deeper.txt", &[]));
    assert_eq!(status, 404);
}

#[test]
fn other_methods_are_405_with_allow() {
    let scratch = Scratch::new("method");
    scratch.write("root/a.txt", "a");
    let files = scratch.files();
    for method in ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"] {
        let (mut http, request) = decode(&format!(
            "{method} /a.txt HTTP/1.1\r\nHost: h\r\nContent-Length: 0"
        ));
        assert!(matches!(
            files.resolve(&request),
            Err(FileError::MethodNotAllowed)
        ));
        let mut out = BytesMut::new();
        http.encode(files.answer(&request).into_parts().0, &mut out)
            .unwrap();
        assert!(text(&out).starts_with("HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\n"));
    }
}

#[test]
fn dot_dot_segments_are_refused_however_spelled() {
    let scratch = Scratch::new("traversal");
    scratch.write("secret.txt", "outside");
    scratch.write("root/sub/a.txt", "inside");
    let files = scratch.files();
    for path in [
        "/../secret.txt",
        "/sub/../../secret.txt",
        "/sub/../a.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/sub/%2e%2e/%2e%2e/secret.txt",
        "/..",
    ] {
        let request = decode(&get(path, &[])).1;
        assert!(
            matches!(files.resolve(&request), Err(FileError::RefusedPath(_))),
            "{path}"
        );
        let (out, status) = serve(&files, &get(path, &[]));
        assert_eq!(status, 404, "{path}");
        assert!(!text(&out).contains("outside"));
    }
}

#[test]
fn encoded_slashes_backslashes_and_nuls_are_refused() {
    let scratch = Scratch::new("encoded");
    scratch.write("secret.txt", "outside");
    scratch.write("root/sub/a.txt", "inside");
    let files = scratch.files();
    assert_eq!(serve(&files, &get("/sub/a.txt", &[])).1, 200);
    for path in [
        "/sub%2fa.txt",
        "/sub%2Fa.txt",
        "/..%2fsecret.txt",
        "/sub%5ca.txt",
        "/sub\\a.txt",
        "/a.txt%00",
        "/%00",
    ] {
        let request = decode(&get(path, &[])).1;
        assert!(
            matches!(files.resolve(&request), Err(FileError::RefusedPath(_))),
            "{path}"
        );
    }
}

#[test]
fn malformed_escapes_are_400() {
    let scratch = Scratch::new("escape");
    let files = scratch.files();
    for path in ["/a%", "/a%2", "/a%zz", "/%g1"] {
        let request = decode(&get(path, &[])).1;
        let error = files.resolve(&request).unwrap_err();
        assert!(matches!(error, FileError::MalformedPath(_)), "{path}");
        assert_eq!(error.status(), 400);
    }
}

#[test]
fn escapes_and_plus_signs_name_files() {
    let scratch = Scratch::new("names");
    scratch.write("root/a b+c.txt", "spaced");
    scratch.write("root/€.txt", "euro");
    let files = scratch.files();
    let (out, _) = serve(&files, &get("/a%20b+c.txt", &[]));
    assert_eq!(body_of(&out), b"spaced");
    let (out, _) = serve(&files, &get("/%E2%82%AC.txt", &[]));
    assert_eq!(body_of(&out), b"euro");
    // `+` is not a space in a path.
    assert_eq!(serve(&files, &get("/a+b+c.txt", &[])).1, 404);
    // Bytes that are not UTF-8 name nothing.
    assert_eq!(serve(&files, &get("/%ff.txt", &[])).1, 404);
}

#[test]
fn hidden_files_are_served_only_when_asked() {
    let scratch = Scratch::new("hidden");
    scratch.write("root/.env", "SECRET=1");
    scratch.write("root/.well-known/security.txt", "contact");
    let files = scratch.files();
    for path in ["/.env", "/.well-known/security.txt", "/%2eenv"] {
        assert!(matches!(
            files.resolve(&decode(&get(path, &[])).1),
            Err(FileError::RefusedPath(_))
        ));
    }
    let files = files.serve_hidden(true);
    let (out, _) = serve(&files, &get("/.well-known/security.txt", &[]));
    assert_eq!(body_of(&out), b"contact");
    assert_eq!(serve(&files, &get("/%2eenv", &[])).1, 200);
    // `..` stays refused.
    assert_eq!(serve(&files, &get("/.well-known/../.env", &[])).1, 404);
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_root_are_404_and_links_within_it_work() {
    use std::os::unix::fs::symlink;
    let scratch = Scratch::new("symlink");
    let secret = scratch.write("outside/secret.txt", "outside");
    scratch.write("root/real/a.txt", "inside");
    let root = scratch.root();
    symlink(&secret, root.join("escape.txt")).unwrap();
    symlink(secret.parent().unwrap(), root.join("escape-dir")).unwrap();
    symlink("../outside/secret.txt", root.join("relative.txt")).unwrap();
    symlink(root.join("real/a.txt"), root.join("inside.txt")).unwrap();
    symlink("real", root.join("alias")).unwrap();
    symlink("nowhere", root.join("dangling.txt")).unwrap();
    let files = scratch.files();
    for path in ["/escape.txt", "/escape-dir/secret.txt", "/relative.txt"] {
        let request = decode(&get(path, &[])).1;
        assert!(
            matches!(files.resolve(&request), Err(FileError::RefusedPath(_))),
            "{path}"
        );
        let (out, status) = serve(&files, &get(path, &[]));
        assert_eq!(status, 404, "{path}");
        assert_eq!(body_of(&out), b"<h3>404 Not Found</h3>", "same as missing");
    }
    assert_eq!(serve(&files, &get("/dangling.txt", &[])).1, 404);
    let (out, _) = serve(&files, &get("/inside.txt", &[]));
    assert_eq!(body_of(&out), b"inside");
    let (out, _) = serve(&files, &get("/alias/a.txt", &[]));
    assert_eq!(body_of(&out), b"inside");

    // A root that is itself a link is canonicalised once.
    let linked_root = scratch.0.join("root-link");
    symlink(&root, &linked_root).unwrap();
    let files = StaticFiles::new(&linked_root).unwrap();
    assert_eq!(files.root(), fs::canonicalize(&root).unwrap());
    let (out, _) = serve(&files, &get("/inside.txt", &[]));
    assert_eq!(body_of(&out), b"inside");
}

#[cfg(unix)]
#[test]
fn an_index_that_links_out_of_the_root_is_refused() {
    use std::os::unix::fs::symlink;
    let scratch = Scratch::new("index-link");
    let secret = scratch.write("outside.html", "outside");
    fs::create_dir_all(scratch.root().join("docs")).unwrap();
    symlink(&secret, scratch.root().join("docs").join(DEFAULT_INDEX)).unwrap();
    assert_eq!(serve(&scratch.files(), &get("/docs/", &[])).1, 404);
}

#[test]
fn directories_are_answered_with_their_index_never_a_listing() {
    let scratch = Scratch::new("index");
    scratch.write("root/index.html", "<p>home</p>");
    scratch.write("root/docs/index.html", "<p>docs</p>");
    scratch.write("root/docs/default.htm", "<p>default</p>");
    scratch.write("root/bare/a.txt", "a");
    let files = scratch.files();
    for path in ["/", "//", "/./"] {
        let (out, status) = serve(&files, &get(path, &[]));
        assert_eq!(status, 200, "{path}");
        assert_eq!(body_of(&out), b"<p>home</p>");
    }
    for path in ["/docs", "/docs/"] {
        let (out, _) = serve(&files, &get(path, &[]));
        assert!(text(&out).contains("Content-Type: text/html; charset=utf-8\r\n"));
        assert_eq!(body_of(&out), b"<p>docs</p>");
    }
    assert_eq!(serve(&files, &get("/bare/", &[])).1, 404);
    let custom = files.clone().index(Some("default.htm"));
    let (out, _) = serve(&custom, &get("/docs/", &[]));
    assert_eq!(body_of(&out), b"<p>default</p>");
    assert_eq!(
        serve(&files.clone().index(None), &get("/docs/", &[])).1,
        404
    );
    assert_eq!(
        serve(&files.index(Some("../index.html")), &get("/docs/", &[])).1,
        404
    );
}

#[test]
fn if_modified_since_not_older_than_the_file_is_304() {
    let scratch = Scratch::new("ims");
    scratch.write("root/a.css", "body{}");
    let files = scratch.files();
    let (out, status) = serve(
        &files,
        &get("/a.css", &[&format!("If-Modified-Since: {MTIME_TEXT}")]),
    );
    assert_eq!(status, 304);
    assert_eq!(
        text(&out),
        format!(
            "HTTP/1.1 304 Not Modified\r\nETag: {}\r\nLast-Modified: {MTIME_TEXT}\r\n\
             Connection: keep-alive\r\n\r\n",
            etag(6)
        )
    );
    let later = httpdate::fmt_http_date(mtime() + Duration::from_secs(1));
    assert_eq!(
        serve(
            &files,
            &get("/a.css", &[&format!("If-Modified-Since: {later}")])
        )
        .1,
        304
    );
    let earlier = httpdate::fmt_http_date(mtime() - Duration::from_secs(1));
    let (out, status) = serve(
        &files,
        &get("/a.css", &[&format!("If-Modified-Since: {earlier}")]),
    );
    assert_eq!(status, 200);
    assert_eq!(body_of(&out), b"body{}");
    assert_eq!(
        serve(&files, &get("/a.css", &["If-Modified-Since: yesterday"])).1,
        200
    );
}

#[test]
fn a_sub_second_mtime_compares_to_the_second() {
    let scratch = Scratch::new("subsec");
    let path = scratch.write("root/a.txt", "a");
    set_mtime(&path, mtime() + Duration::from_millis(700));
    let files = scratch.files();
    assert_eq!(
        serve(
            &files,
            &get("/a.txt", &[&format!("If-Modified-Since: {MTIME_TEXT}")])
        )
        .1,
        304
    );
}

#[test]
fn if_none_match_decides_before_if_modified_since() {
    let scratch = Scratch::new("inm");
    scratch.write("root/a.js", "let a;");
    let files = scratch.files();
    let tag = etag(6);
    let strong = tag.trim_start_matches("W/");
    for value in [
        tag.clone(),
        strong.to_owned(),
        "*".to_owned(),
        format!("\"other\", {tag}"),
        format!("W/\"x,y\",{strong}"),
    ] {
        let (out, status) = serve(&files, &get("/a.js", &[&format!("If-None-Match: {value}")]));
        assert_eq!(status, 304, "{value}");
        assert!(body_of(&out).is_empty());
    }
    // A tag that does not match wins over a date that would.
    let (out, status) = serve(
        &files,
        &get(
            "/a.js",
            &[
                "If-None-Match: \"other\"",
                &format!("If-Modified-Since: {MTIME_TEXT}"),
            ],
        ),
    );
    assert_eq!(status, 200);
    assert_eq!(body_of(&out), b"let a;");
    // And a matching tag wins over a date that would not.
    let earlier = httpdate::fmt_http_date(mtime() - Duration::from_secs(60));
    assert_eq!(
        serve(
            &files,
            &get(
                "/a.js",
                &[
                    &format!("If-None-Match: {tag}"),
                    &format!("If-Modified-Since: {earlier}")
                ]
            ),
        )
        .1,
        304
    );
    // Several lines are one list.
    assert_eq!(
        serve(
            &files,
            &get(
                "/a.js",
                &["If-None-Match: \"x\"", &format!("If-None-Match: {tag}")]
            )
        )
        .1,
        304
    );
}

#[test]
fn a_changed_file_gets_a_new_tag() {
    let scratch = Scratch::new("retag");
    let path = scratch.write("root/a.txt", "one");
    let files = scratch.files();
    let before = answer(&files, &get("/a.txt", &[]))
        .response()
        .get_header("ETag")
        .unwrap()
        .to_owned();
    set_mtime(&path, mtime() + Duration::from_nanos(1));
    let after = answer(&files, &get("/a.txt", &[]))
        .response()
        .get_header("ETag")
        .unwrap()
        .to_owned();
    assert_ne!(before, after);
    assert_eq!(
        serve(
            &files,
            &get("/a.txt", &[&format!("If-None-Match: {before}")])
        )
        .1,
        200
    );
}

const DIGITS: &str = "0123456789";

fn range(files: &StaticFiles, headers: &[&str]) -> (Vec<u8>, u16) {
    serve(files, &get("/d.txt", headers))
}

#[test]
fn single_ranges_in_all_three_forms_are_206() {
    let scratch = Scratch::new("range");
    scratch.write("root/d.txt", DIGITS);
    let files = scratch.files();
    let (out, status) = range(&files, &["Range: bytes=2-4"]);
    assert_eq!(status, 206);
    assert_eq!(
        text(&out),
        format!(
            "HTTP/1.1 206 Partial Content\r\nLast-Modified: {MTIME_TEXT}\r\nETag: {}\r\n\
             Accept-Ranges: bytes\r\nContent-Range: bytes 2-4/10\r\nConnection: keep-alive\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n\r\n234",
            etag(10)
        )
    );
    for (spec, content_range, body) in [
        ("bytes=7-", "bytes 7-9/10", "789"),
        ("bytes=-3", "bytes 7-9/10", "789"),
        ("bytes=-30", "bytes 0-9/10", DIGITS),
        ("bytes=0-0", "bytes 0-0/10", "0"),
        ("bytes=9-9", "bytes 9-9/10", "9"),
        ("bytes=5-999", "bytes 5-9/10", "56789"),
        ("BYTES=1-2", "bytes 1-2/10", "12"),
    ] {
        let (out, status) = range(&files, &[&format!("Range: {spec}")]);
        assert_eq!(status, 206, "{spec}");
        assert!(
            text(&out).contains(&format!("Content-Range: {content_range}\r\n")),
            "{spec}"
        );
        assert_eq!(body_of(&out), body.as_bytes(), "{spec}");
    }
}

#[test]
fn a_range_past_the_end_is_416() {
    let scratch = Scratch::new("416");
    scratch.write("root/d.txt", DIGITS);
    scratch.write("root/empty.txt", "");
    let files = scratch.files();
    for spec in [
        "bytes=10-",
        "bytes=10-20",
        "bytes=-0",
        "bytes=99999999999999999999999-",
    ] {
        let (out, status) = range(&files, &[&format!("Range: {spec}")]);
        assert_eq!(status, 416, "{spec}");
        let out = text(&out);
        assert!(out.starts_with("HTTP/1.1 416 Range Not Satisfiable\r\n"));
        assert!(out.contains("Content-Range: bytes */10\r\n"));
        assert!(out.ends_with("Content-Length: 0\r\n\r\n"));
    }
    let (out, status) = serve(&files, &get("/empty.txt", &["Range: bytes=0-"]));
    assert_eq!(status, 416);
    assert!(text(&out).contains("Content-Range: bytes */0\r\n"));
}

#[test]
fn several_or_malformed_ranges_send_the_whole_file() {
    let scratch = Scratch::new("multi");
    scratch.write("root/d.txt", DIGITS);
    let files = scratch.files();
    for spec in [
        "bytes=0-1,3-4",
        "bytes=0-1, 20-",
        "bytes=5-1",
        "bytes=x-",
        "bytes=-",
        "bytes=1-2-3",
        "items=0-1",
        "bytes 0-1",
    ] {
        let (out, status) = range(&files, &[&format!("Range: {spec}")]);
        assert_eq!(status, 200, "{spec}");
        assert!(!text(&out).contains("Content-Range"));
        assert_eq!(body_of(&out), DIGITS.as_bytes(), "{spec}");
    }
    // Two Range lines are not one range.
    assert_eq!(
        range(&files, &["Range: bytes=0-1", "Range: bytes=2-3"]).1,
        200
    );
    // HEAD has no ranges (RFC 9110 §14.2).
    let (out, status) = serve(
        &files,
        "HEAD /d.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1",
    );
    assert_eq!(status, 200);
    assert!(text(&out).ends_with("Content-Length: 10\r\n\r\n"));
}

#[test]
fn if_range_honours_the_range_only_for_the_current_date() {
    let scratch = Scratch::new("if-range");
    scratch.write("root/d.txt", DIGITS);
    let files = scratch.files();
    let (out, status) = range(
        &files,
        &["Range: bytes=0-1", &format!("If-Range: {MTIME_TEXT}")],
    );
    assert_eq!(status, 206);
    assert_eq!(body_of(&out), b"01");
    let stale = httpdate::fmt_http_date(mtime() - Duration::from_secs(1));
    for if_range in [
        stale,
        etag(10),
        etag(10).trim_start_matches("W/").to_owned(),
        "junk".into(),
    ] {
        let (out, status) = range(
            &files,
            &["Range: bytes=0-1", &format!("If-Range: {if_range}")],
        );
        assert_eq!(status, 200, "{if_range}");
        assert_eq!(body_of(&out), DIGITS.as_bytes());
    }
    // If-Range without Range changes nothing.
    assert_eq!(range(&files, &[&format!("If-Range: {MTIME_TEXT}")]).1, 200);
}

#[test]
fn revalidation_comes_before_ranges() {
    let scratch = Scratch::new("304-range");
    scratch.write("root/d.txt", DIGITS);
    let files = scratch.files();
    let headers = ["Range: bytes=0-1", &format!("If-None-Match: {}", etag(10))];
    assert_eq!(range(&files, &headers).1, 304);
}

#[test]
fn content_types_come_from_the_extension() {
    let scratch = Scratch::new("types");
    let files = scratch.files();
    for (name, expected) in [
        ("a.html", "text/html; charset=utf-8"),
        ("a.HTM", "text/html; charset=utf-8"),
        ("a.css", "text/css; charset=utf-8"),
        ("a.js", "text/javascript; charset=utf-8"),
        ("a.mjs", "text/javascript; charset=utf-8"),
        ("a.json", "application/json"),
        ("a.js.map", "application/json"),
        ("a.txt", "text/plain; charset=utf-8"),
        ("a.md", "text/markdown; charset=utf-8"),
        ("a.csv", "text/csv; charset=utf-8"),
        ("a.xml", "text/xml; charset=utf-8"),
        ("a.svg", "image/svg+xml"),
        ("a.png", "image/png"),
        ("a.JPG", "image/jpeg"),
        ("a.jpeg", "image/jpeg"),
        ("a.gif", "image/gif"),
        ("a.webp", "image/webp"),
        ("a.avif", "image/avif"),
        ("a.ico", "image/x-icon"),
        ("a.wasm", "application/wasm"),
        ("a.pdf", "application/pdf"),
        ("a.zip", "application/zip"),
        ("a.tar.gz", "application/gzip"),
        ("a.mp4", "video/mp4"),
        ("a.webm", "video/webm"),
        ("a.mp3", "audio/mpeg"),
        ("a.ogg", "audio/ogg"),
        ("a.wav", "audio/wav"),
        ("a.woff", "font/woff"),
        ("a.woff2", "font/woff2"),
        ("a.ttf", "font/ttf"),
        ("a.otf", "font/otf"),
    ] {
        scratch.write(&format!("root/{name}"), "x");
        let answer = answer(&files, &get(&format!("/{name}"), &[]));
        assert_eq!(
            answer.response().get_header("Content-Type"),
            Some(expected),
            "{name}"
        );
        assert_eq!(
            answer.response().get_header("Content-Disposition"),
            None,
            "{name}"
        );
    }
    assert_eq!(mime_type("averyveryverylongextension"), None);
    assert_eq!(mime_type(""), None);
}

#[test]
fn unknown_types_are_octet_stream_attachments() {
    let scratch = Scratch::new("octet");
    scratch.write("root/data.bin", [0u8, 1, 2]);
    scratch.write("root/README", "plain");
    scratch.write("root/é.dat", "x");
    let files = scratch.files();
    let (out, _) = serve(&files, &get("/data.bin", &[]));
    let out = text(&out);
    assert!(out.contains("Content-Disposition: attachment; filename=\"data.bin\"\r\n"));
    assert!(out.contains("Content-Type: application/octet-stream\r\n"));
    let response = answer(&files, &get("/README", &[])).into_parts().0;
    assert_eq!(
        response.get_header("Content-Disposition"),
        Some("attachment; filename=\"README\"")
    );
    let response = answer(&files, &get("/%C3%A9.dat", &[])).into_parts().0;
    assert_eq!(
        response.get_header("Content-Disposition"),
        Some("attachment; filename=\"_.dat\"; filename*=UTF-8''%C3%A9.dat")
    );
}

#[cfg(unix)]
#[test]
fn a_quote_in_a_file_name_cannot_end_the_disposition() {
    let scratch = Scratch::new("quote");
    scratch.write("root/a\"b;c.bin", "x");
    let response = answer(&scratch.files(), &get("/a%22b;c.bin", &[]))
        .into_parts()
        .0;
    assert_eq!(
        response.get_header("Content-Disposition"),
        Some("attachment; filename=\"a\\\"b;c.bin\"")
    );
}

#[test]
fn a_large_file_goes_out_in_bounded_pieces() {
    let scratch = Scratch::new("large");
    let contents: Vec<u8> = (0..3 * DEFAULT_PIECE_SIZE + 123)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    scratch.write("root/big.bin", &contents);
    let files = scratch.files();
    let (out, status, largest) = serve_with(&files, &get("/big.bin", &[]), DEFAULT_PIECE_SIZE);
    assert_eq!(status, 200);
    assert_eq!(largest, DEFAULT_PIECE_SIZE);
    assert!(text(&out[..300]).contains(&format!("Content-Length: {}\r\n", contents.len())));
    assert_eq!(body_of(&out), &contents[..]);

    let (out, _, largest) = serve_with(&files, &get("/big.bin", &[]), 1000);
    assert_eq!(largest, 1000);
    assert_eq!(body_of(&out), &contents[..]);

    // The iterator reads default pieces; a range is read from its offset.
    let (_, body) = answer(&files, &get("/big.bin", &["Range: bytes=100000-"])).into_parts();
    let mut body = body.unwrap();
    assert_eq!(body.offset(), 100_000);
    let first = body.next().unwrap().unwrap();
    assert_eq!(first.len(), DEFAULT_PIECE_SIZE);
    assert_eq!(&first[..], &contents[100_000..100_000 + DEFAULT_PIECE_SIZE]);
    let rest: Vec<u8> = body.flat_map(|piece| piece.unwrap().to_vec()).collect();
    assert_eq!(rest, &contents[100_000 + DEFAULT_PIECE_SIZE..]);
}

#[test]
fn a_zero_piece_size_still_makes_progress() {
    let scratch = Scratch::new("zero-piece");
    scratch.write("root/a.txt", "abc");
    let (_, body) = answer(&scratch.files(), &get("/a.txt", &[])).into_parts();
    let mut body = body.unwrap();
    assert_eq!(&body.next_chunk(0).unwrap().unwrap()[..], b"a");
    assert_eq!(body.remaining(), 2);
}

#[test]
fn small_files_can_be_read_into_the_response() {
    let scratch = Scratch::new("in-memory");
    scratch.write("root/a.txt", "small");
    scratch.write("root/empty.txt", "");
    let files = scratch.files();
    let (response, body) = answer(&files, &get("/a.txt", &[]))
        .into_response(DEFAULT_MAX_IN_MEMORY)
        .unwrap();
    assert!(body.is_none());
    assert_eq!(&response.get_body()[..], b"small");
    let (mut http, _) = decode(&get("/a.txt", &[]));
    let mut out = BytesMut::new();
    http.encode(response, &mut out).unwrap();
    assert!(!http.streaming());
    assert!(out.ends_with(b"Content-Length: 5\r\n\r\nsmall"));

    let (response, body) = answer(&files, &get("/a.txt", &[]))
        .into_response(4)
        .unwrap();
    assert!(response.get_body().is_empty());
    assert_eq!(body.unwrap().remaining(), 5);

    let (response, body) = answer(&files, &get("/empty.txt", &[]))
        .into_response(0)
        .unwrap();
    assert!(body.is_none());
    let (mut http, _) = decode(&get("/empty.txt", &[]));
    let mut out = BytesMut::new();
    http.encode(response, &mut out).unwrap();
    assert!(out.ends_with(b"Content-Length: 0\r\n\r\n"));

    // For HEAD the length is right and nothing is sent.
    let (response, _) = answer(&files, "HEAD /a.txt HTTP/1.1\r\nHost: h")
        .into_response(DEFAULT_MAX_IN_MEMORY)
        .unwrap();
    let (mut http, _) = decode("HEAD /a.txt HTTP/1.1\r\nHost: h");
    let mut out = BytesMut::new();
    http.encode(response, &mut out).unwrap();
    assert!(out.ends_with(b"Content-Length: 5\r\n\r\n"));
    assert!(!http.streaming());
}

#[test]
fn a_file_that_shrinks_while_sent_is_an_error_not_a_short_body() {
    let scratch = Scratch::new("shrink");
    let path = scratch.write("root/a.txt", "0123456789");
    let (_, body) = answer(&scratch.files(), &get("/a.txt", &[])).into_parts();
    let mut body = body.unwrap();
    assert_eq!(&body.next_chunk(4).unwrap().unwrap()[..], b"0123");
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(6)
        .unwrap();
    let error = body.next_chunk(100).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::UnexpectedEof);
    assert!(body.next().is_none(), "abandoned after the error");
}

#[test]
fn an_mtime_before_1970_has_no_last_modified_and_no_panic() {
    let scratch = Scratch::new("pre-epoch");
    let path = scratch.write("root/old.txt", "old");
    set_mtime(&path, UNIX_EPOCH - Duration::from_secs(86_400));
    if fs::metadata(&path).unwrap().modified().unwrap() >= UNIX_EPOCH {
        return; // the file system cannot hold the date
    }
    let files = scratch.files();
    let (out, status) = serve(
        &files,
        &get("/old.txt", &[&format!("If-Modified-Since: {MTIME_TEXT}")]),
    );
    assert_eq!(status, 200);
    assert!(!text(&out).contains("Last-Modified"));
    assert!(text(&out).contains("ETag: W/\"3-0\"\r\n"));
    let (_, status) = serve(
        &files,
        &get(
            "/old.txt",
            &[
                "Range: bytes=0-0",
                "If-Range: Thu, 01 Jan 1970 00:00:00 GMT",
            ],
        ),
    );
    assert_eq!(status, 200);
}

#[test]
fn workermans_explicit_offset_and_length() {
    let scratch = Scratch::new("with-file");
    let path = scratch.write("d.txt", DIGITS);

    let (response, body) = file_response(&path, 0, 0).unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.get_header("Content-Range"), None);
    assert_eq!(body.remaining(), 10);

    let (mut http, _) = decode(&get("/d.txt", &[]));
    let (response, body) = file_response(&path, 3, 4).unwrap();
    let mut out = BytesMut::new();
    http.encode(response, &mut out).unwrap();
    for piece in body {
        http.encode(Chunk::new(piece.unwrap()), &mut out).unwrap();
    }
    assert_eq!(
        text(&out),
        format!(
            "HTTP/1.1 206 Partial Content\r\nLast-Modified: {MTIME_TEXT}\r\nETag: {}\r\n\
             Accept-Ranges: bytes\r\nContent-Range: bytes 3-6/10\r\nConnection: keep-alive\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Length: 4\r\n\r\n3456",
            etag(10)
        )
    );

    for (offset, length, content_range, remaining) in [
        (4, 0, "bytes 4-9/10", 6),
        (0, 3, "bytes 0-2/10", 3),
        (8, 100, "bytes 8-9/10", 2),
        (9, 1, "bytes 9-9/10", 1),
    ] {
        let (response, body) = file_response(&path, offset, length).unwrap();
        assert_eq!(response.status(), 206);
        assert_eq!(response.get_header("Content-Range"), Some(content_range));
        assert_eq!(body.remaining(), remaining);
        assert_eq!(body.offset(), offset);
    }
    assert!(matches!(
        file_response(&path, 10, 0),
        Err(FileError::RangeNotSatisfiable { size: 10 })
    ));
    let missing = file_response(scratch.0.join("missing"), 0, 0).unwrap_err();
    assert!(matches!(missing, FileError::NotFound));
    assert_eq!(
        missing.response().get_body().as_ref(),
        b"<h3>404 Not Found</h3>"
    );
    // A directory is not a file.
    assert!(matches!(
        file_response(scratch.root(), 0, 0),
        Err(FileError::NotFound)
    ));
}

#[test]
fn the_root_must_be_an_existing_directory() {
    let scratch = Scratch::new("bad-root");
    let file = scratch.write("file.txt", "x");
    assert!(StaticFiles::new(&file).is_err());
    assert!(StaticFiles::new(scratch.0.join("missing")).is_err());
}

#[test]
fn error_answers_carry_their_status() {
    for (error, status) in [
        (FileError::MethodNotAllowed, 405),
        (FileError::MalformedPath("x"), 400),
        (FileError::RefusedPath("x"), 404),
        (FileError::NotFound, 404),
        (FileError::RangeNotSatisfiable { size: 3 }, 416),
        (
            FileError::Io(std::io::ErrorKind::PermissionDenied.into()),
            403,
        ),
        (FileError::Io(std::io::ErrorKind::Other.into()), 500),
    ] {
        assert_eq!(error.status(), status);
        let answer = FileAnswer::from(error);
        assert_eq!(answer.status(), status);
        assert!(answer.body().is_none());
    }
}

/// A tree with a file inside the root and a file next to it, for the properties.
fn property_tree() -> (Scratch, StaticFiles, Vec<u8>) {
    let scratch = Scratch::new("prop");
    let contents: Vec<u8> = (0..1000u32).map(|i| (i % 256) as u8).collect();
    scratch.write("root/d.bin", &contents);
    scratch.write("root/sub/in.txt", "in");
    scratch.write("out.txt", "out");
    let files = scratch.files();
    (scratch, files, contents)
}

proptest! {
    #[test]
    fn any_single_range_sends_exactly_its_bytes(a in 0u64..1200, b in 0u64..1200, suffix: bool) {
        let (_scratch, files, contents) = property_tree();
        let spec = if suffix { format!("-{a}") } else { format!("{}-{}", a.min(b), a.max(b)) };
        let (out, status) = serve(&files, &get("/d.bin", &[&format!("Range: bytes={spec}")]));
        let (start, end) = if suffix {
            (1000u64.saturating_sub(a), 1000)
        } else {
            (a.min(b), (a.max(b) + 1).min(1000))
        };
        if start >= end {
            prop_assert_eq!(status, 416);
        } else {
            prop_assert_eq!(status, 206);
            prop_assert_eq!(body_of(&out), &contents[start as usize..end as usize]);
        }
    }

    #[test]
    fn no_path_reaches_outside_the_root(
        segments in prop::collection::vec(
            prop::sample::select(vec![
                "..", ".", "%2e%2e", "%2E.", ".%2e", "sub", "in.txt", "out.txt", "%2f", "%5c",
                "", "d.bin", "%00", "%", "%2", "root", "%2e",
            ]),
            0..8,
        )
    ) {
        let (_scratch, files, contents) = property_tree();
        let path = format!("/{}", segments.join("/"));
        let mut http = Http::default();
        let mut wire = BytesMut::from(format!("GET {path} HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes());
        let Ok(Some(request)) = http.decode(&mut wire) else {
            return Ok(());
        };
        if let Ok(answer) = files.resolve(&request) {
            let (_, body) = answer.into_parts();
            let served: Vec<u8> = body.unwrap().flat_map(|p| p.unwrap().to_vec()).collect();
            prop_assert!(served == b"in" || served == contents, "{} served {:?}", path, served);
        }
    }
}

#[cfg(unix)]
#[test]
fn a_link_to_a_hidden_directory_is_refused() {
    // Regression: only the request's own segments were checked for a leading dot.
    use std::os::unix::fs::symlink;
    let scratch = Scratch::new("hidden-link");
    scratch.write("root/.git/config", "secret");
    let root = scratch.root();
    symlink(root.join(".git"), root.join("pub")).unwrap();
    let files = scratch.files();
    let (_, status) = serve(&files, &get("/pub/config", &[]));
    assert_eq!(status, 404);
}

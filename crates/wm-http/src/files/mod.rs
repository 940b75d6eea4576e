//! Files as responses: a static-file server confined to a root ([`StaticFiles`]), with
//! `Last-Modified`/`ETag` revalidation (304) and single byte ranges (206, 416), and
//! Workerman's `withFile` with an explicit offset and length ([`file_response`]).
//!
//! Both give a [`Response`] head whose `Content-Length` is declared with
//! [`Response::content_length`], and the bytes to send after it as a [`FileBody`], read
//! in bounded pieces so a large file is never held in memory. Small files can be read
//! into the response instead ([`FileAnswer::into_response`]; Workerman sends files under
//! 2 MiB in one write).
//!
//! This is plain blocking `std::fs`: an async driver runs it where blocking is allowed.

use std::borrow::Cow;
use std::fs::{File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};

use bytes::{Bytes, BytesMut};

use crate::request::{Method, Request};
use crate::response::Response;

mod conditional;
mod mime;

use conditional::{answer_conditionally, Validators};
pub use mime::mime_type;

/// The piece size [`FileBody`]'s iterator reads: 64 KiB.
pub const DEFAULT_PIECE_SIZE: usize = 64 * 1024;

/// Workerman's threshold for sending a file in one write: 2 MiB. A suggested
/// `max_in_memory` for [`FileAnswer::into_response`].
pub const DEFAULT_MAX_IN_MEMORY: u64 = 2 * 1024 * 1024;

/// The file a directory is answered with: `index.html`.
pub const DEFAULT_INDEX: &str = "index.html";

/// The type of a file with no known extension (and the reason for a
/// `Content-Disposition: attachment`).
const OCTET_STREAM: &str = "application/octet-stream";

/// Workerman's body for a missing file.
const NOT_FOUND_BODY: &str = "<h3>404 Not Found</h3>";

/// The latest time an HTTP-date can hold (9999-12-31T23:59:59Z); `httpdate` panics past
/// it, and before the epoch.
const LAST_HTTP_DATE_SECS: u64 = 253_402_300_799;

/// Why a file is not served. [`status`](Self::status) names the answer and
/// [`response`](Self::response) builds it; `FileAnswer::from(error)` does both.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// A method other than GET and HEAD (405, with `Allow: GET, HEAD`).
    #[error("static files answer GET and HEAD only")]
    MethodNotAllowed,
    /// A path that cannot be decoded (400): what was wrong.
    #[error("malformed path: {0}")]
    MalformedPath(&'static str),
    /// A path refused before the file system is asked (404, so that nothing is revealed):
    /// a `..` segment, a backslash, an encoded slash, a NUL, a hidden file, or a file that
    /// resolves outside the root.
    #[error("refused path: {0}")]
    RefusedPath(&'static str),
    /// No such file, or a directory with no index (404).
    #[error("not found")]
    NotFound,
    /// A byte range that starts past the end of the file (416, with
    /// `Content-Range: bytes */<size>`).
    #[error("range not satisfiable for a file of {size} bytes")]
    RangeNotSatisfiable {
        /// The file's size.
        size: u64,
    },
    /// The file exists but cannot be opened or read (403 when permission is denied, as
    /// Workerman answers, else 500).
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl FileError {
    /// The status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Self::MethodNotAllowed => 405,
            Self::MalformedPath(_) => 400,
            Self::RefusedPath(_) | Self::NotFound => 404,
            Self::RangeNotSatisfiable { .. } => 416,
            Self::Io(error) if error.kind() == io::ErrorKind::PermissionDenied => 403,
            Self::Io(_) => 500,
        }
    }

    /// The answer: the status with what RFC 9110 asks of it (`Allow` for 405,
    /// `Content-Range` for 416) and Workerman's body for 404.
    pub fn response(&self) -> Response {
        let response = Response::new(self.status());
        match self {
            Self::MethodNotAllowed => response.header("Allow", "GET, HEAD"),
            Self::RefusedPath(_) | Self::NotFound => response.body(NOT_FOUND_BODY),
            Self::RangeNotSatisfiable { size } => response
                .header("Accept-Ranges", "bytes")
                .header("Content-Range", format!("bytes */{size}")),
            _ => response,
        }
    }
}

/// What to send for a file request: a response head and, when it has a body, the part
/// of the file that follows it.
#[derive(Debug)]
pub struct FileAnswer {
    response: Response,
    body: Option<FileBody>,
}

impl FileAnswer {
    /// The response (its `Content-Length` declared when a [`FileBody`] follows).
    pub fn response(&self) -> &Response {
        &self.response
    }

    /// The status.
    pub fn status(&self) -> u16 {
        self.response.status()
    }

    /// The part of the file to send after the head, if any (none for 304 and errors).
    pub fn body(&self) -> Option<&FileBody> {
        self.body.as_ref()
    }

    /// The head and the body to send as [`Chunk`](crate::Chunk)s after it.
    pub fn into_parts(self) -> (Response, Option<FileBody>) {
        (self.response, self.body)
    }

    /// Reads a body of at most `max_in_memory` bytes into the response, so that it goes
    /// out in one write; a longer one is returned to be sent in pieces. See
    /// [`DEFAULT_MAX_IN_MEMORY`].
    pub fn into_response(self, max_in_memory: u64) -> io::Result<(Response, Option<FileBody>)> {
        match self.body {
            Some(body) if body.remaining() <= max_in_memory => {
                let bytes = body.read_to_end()?;
                Ok((self.response.body(bytes), None))
            }
            body => Ok((self.response, body)),
        }
    }
}

impl From<FileError> for FileAnswer {
    fn from(error: FileError) -> Self {
        Self {
            response: error.response(),
            body: None,
        }
    }
}

/// A stretch of an open file, read in pieces of bounded size, to send as
/// [`Chunk`](crate::Chunk)s after a head that declared its length.
///
/// The file was opened when the answer was made; a file that shrinks meanwhile gives an
/// [`io::ErrorKind::UnexpectedEof`] error, after which the connection must close (its
/// head promised more bytes). Iterating reads [`DEFAULT_PIECE_SIZE`] pieces.
///
/// After a HEAD request the stretch is empty: the encoder sends no body, and the file is
/// not read.
#[derive(Debug)]
pub struct FileBody {
    file: File,
    offset: u64,
    remaining: u64,
}

impl FileBody {
    /// `length` bytes of `file` from `offset`.
    fn new(mut file: File, offset: u64, length: u64) -> io::Result<Self> {
        if length > 0 {
            file.seek(SeekFrom::Start(offset))?;
        }
        Ok(Self {
            file,
            offset,
            remaining: length,
        })
    }

    /// Where in the file the next piece starts.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// How many bytes are still to be sent.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// Reads the next piece, at most `max` bytes (at least one), or `None` once the
    /// stretch has been read. Memory is reserved for the piece only.
    pub fn next_chunk(&mut self, max: usize) -> io::Result<Option<Bytes>> {
        if self.remaining == 0 {
            return Ok(None);
        }
        let want = usize::try_from(self.remaining).unwrap_or(usize::MAX);
        let length = want.min(max.max(1));
        let mut piece = BytesMut::zeroed(length);
        let mut filled = 0;
        while filled < length {
            match self.file.read(&mut piece[filled..]) {
                Ok(0) => {
                    self.remaining = 0;
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the file is shorter than when its response was made",
                    ));
                }
                Ok(n) => filled += n,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    self.remaining = 0;
                    return Err(error);
                }
            }
        }
        self.advance(length);
        Ok(Some(piece.freeze()))
    }

    fn advance(&mut self, length: usize) {
        self.offset += length as u64;
        self.remaining -= length as u64;
    }

    /// The rest of the stretch in one buffer (the caller has bounded its size).
    fn read_to_end(mut self) -> io::Result<Bytes> {
        let length = usize::try_from(self.remaining)
            .map_err(|_| io::Error::new(io::ErrorKind::OutOfMemory, "body too large"))?;
        Ok(self.next_chunk(length)?.unwrap_or_default())
    }
}

impl Iterator for FileBody {
    type Item = io::Result<Bytes>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_chunk(DEFAULT_PIECE_SIZE).transpose()
    }
}

/// Static files under a root directory, answered to GET and HEAD.
///
/// The request path is percent-decoded (`+` stays a plus) and refused with 404 if it
/// holds a `..` segment, a backslash, an encoded slash (`%2F`), a NUL or, unless
/// [`serve_hidden`](Self::serve_hidden), a segment starting with a dot; a malformed
/// escape is a 400. The file is then found through its canonical path, which must lie
/// under the canonical root: a symbolic link that leads out of the root is a 404, as is
/// anything that is not a regular file. A directory is answered with its index file
/// ([`DEFAULT_INDEX`]), never a listing. Every refusal that depends on the file system
/// is the same 404, so nothing outside the root can be probed.
///
/// The answer carries `Content-Type` by extension (text types in UTF-8; an unknown type
/// is `application/octet-stream` with `Content-Disposition: attachment`, as Workerman
/// sends), `Last-Modified`, a weak `ETag` and `Accept-Ranges: bytes`. It is:
///
/// * 304 for `If-None-Match` with a matching tag, or (only without `If-None-Match`, RFC
///   9110 §13.2.2) `If-Modified-Since` not older than the file, to the second;
/// * 206 for a GET with one satisfiable `Range: bytes=` range (`a-b`, `a-`, `-n`) and no
///   `If-Range`, or an `If-Range` date equal to `Last-Modified`; 416 for a range starting
///   past the end; 200 with the whole file for several ranges, a malformed range, a
///   HEAD, or an `If-Range` that does not match (a weak tag never does, §13.1.5);
/// * else 200.
///
/// `If-Match` and `If-Unmodified-Since` are not evaluated.
///
/// Files are opened by path after the checks: whoever can write under the root can race
/// them, so the root must not be writable by those the server distrusts.
///
/// ```
/// use bytes::BytesMut;
/// use wm_http::{Chunk, Encode, Http, Protocol, StaticFiles};
///
/// let root = std::env::temp_dir().join(format!("wm-http-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&root).unwrap();
/// std::fs::write(root.join("hello.txt"), "hello, world").unwrap();
/// let files = StaticFiles::new(&root).unwrap();
///
/// let mut http = Http::default();
/// let mut wire = BytesMut::from(&b"GET /hello.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=7-\r\n\r\n"[..]);
/// let request = http.decode(&mut wire).unwrap().unwrap();
/// let (head, body) = files.answer(&request).into_parts();
/// assert_eq!(head.status(), 206);
/// assert_eq!(head.get_header("Content-Range"), Some("bytes 7-11/12"));
///
/// let mut out = BytesMut::new();
/// http.encode(head, &mut out).unwrap();
/// for piece in body.unwrap() {
///     http.encode(Chunk::new(piece.unwrap()), &mut out).unwrap();
/// }
/// assert!(out.ends_with(b"Content-Length: 5\r\n\r\nworld"));
/// std::fs::remove_dir_all(&root).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct StaticFiles {
    root: PathBuf,
    index: Option<String>,
    hidden: bool,
}

impl StaticFiles {
    /// Files under `root`, which is canonicalised now (it must exist and be a
    /// directory); the index file is [`DEFAULT_INDEX`] and hidden files are refused.
    pub fn new(root: impl AsRef<Path>) -> io::Result<Self> {
        let root = std::fs::canonicalize(root)?;
        if !std::fs::metadata(&root)?.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the root of static files is not a directory",
            ));
        }
        Ok(Self {
            root,
            index: Some(DEFAULT_INDEX.to_owned()),
            hidden: false,
        })
    }

    /// The file that answers for a directory, or `None` for directories to be 404s. A
    /// name that is not one plain path component (`a/b`, `..`) is never found.
    pub fn index(mut self, name: Option<&str>) -> Self {
        self.index = name.map(str::to_owned);
        self
    }

    /// Whether files and directories whose names start with a dot are served (default:
    /// no, so `.git` or `.env` under the root stay private; `.well-known` needs this).
    pub fn serve_hidden(mut self, serve: bool) -> Self {
        self.hidden = serve;
        self
    }

    /// The canonical root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Answers `request`, or says why the file is not served (turn that into its answer
    /// with `FileAnswer::from`, or use [`answer`](Self::answer)).
    pub fn resolve(&self, request: &Request) -> Result<FileAnswer, FileError> {
        let head = match request.method() {
            Method::Get => false,
            Method::Head => true,
            _ => return Err(FileError::MethodNotAllowed),
        };
        let (requested, path, metadata) = self.locate(request.path())?;
        let file = open(&path)?;
        answer_conditionally(file, &metadata, &requested, request.headers(), head)
    }

    /// [`resolve`](Self::resolve), with a refusal turned into its answer.
    pub fn answer(&self, request: &Request) -> FileAnswer {
        self.resolve(request).unwrap_or_else(FileAnswer::from)
    }

    /// The file a request path names: the path as asked for (for its name and
    /// extension), its canonical path, and its metadata.
    fn locate(&self, target_path: &str) -> Result<(PathBuf, PathBuf, Metadata), FileError> {
        let decoded = percent_decode(target_path)?;
        let decoded = std::str::from_utf8(&decoded)
            .map_err(|_| FileError::RefusedPath("a path that is not UTF-8"))?;
        let mut requested = self.root.clone();
        for segment in decoded.split('/') {
            match segment {
                "" | "." => continue,
                ".." => return Err(FileError::RefusedPath("a `..` segment")),
                _ if segment.starts_with('.') && !self.hidden => {
                    return Err(FileError::RefusedPath("a hidden file"))
                }
                _ => {}
            }
            if !is_plain_component(segment) {
                return Err(FileError::RefusedPath("a segment that is not a plain name"));
            }
            requested.push(segment);
        }
        let (path, metadata) = self.canonical(&requested)?;
        if metadata.is_file() {
            return Ok((requested, path, metadata));
        }
        if !metadata.is_dir() {
            return Err(FileError::NotFound);
        }
        let index = match &self.index {
            Some(index) if is_plain_component(index) => index,
            _ => return Err(FileError::NotFound),
        };
        let requested = requested.join(index);
        let (path, metadata) = self.canonical(&path.join(index))?;
        if !metadata.is_file() {
            return Err(FileError::NotFound);
        }
        Ok((requested, path, metadata))
    }

    /// The canonical form of `path` if it exists under the root, with its metadata. A
    /// path that cannot be resolved (missing, or a component that is not a directory,
    /// or not searchable) is simply not found.
    fn canonical(&self, path: &Path) -> Result<(PathBuf, Metadata), FileError> {
        let path = std::fs::canonicalize(path).map_err(|_| FileError::NotFound)?;
        let Ok(inside) = path.strip_prefix(&self.root) else {
            return Err(FileError::RefusedPath("a link that leads out of the root"));
        };
        // What was resolved, not only what was asked for, must not be hidden: a link to
        // `.git`, or a short name like `GIT~1` on Windows, leads there too.
        if !self.hidden
            && inside
                .components()
                .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
        {
            return Err(FileError::RefusedPath("a hidden file"));
        }
        let metadata = std::fs::metadata(&path).map_err(|_| FileError::NotFound)?;
        Ok((path, metadata))
    }
}

/// Workerman's `withFile(path, offset, length)`: the file from `offset`, `length` bytes
/// of it or (with 0) the rest. With an offset or a length the answer is a 206 with
/// `Content-Range`, else a 200; either way with `Content-Type` (and, for
/// `application/octet-stream`, `Content-Disposition: attachment`), `Last-Modified`,
/// `ETag` and `Accept-Ranges: bytes`. A length past the end is cut at the end; an offset
/// at or past it is [`FileError::RangeNotSatisfiable`]. The path is used as given: this
/// is for paths the application chose, not for request paths ([`StaticFiles`]).
///
/// ```
/// let path = std::env::temp_dir().join(format!("wm-http-doc-{}.bin", std::process::id()));
/// std::fs::write(&path, b"0123456789").unwrap();
/// let (head, mut body) = wm_http::files::file_response(&path, 2, 3).unwrap();
/// assert_eq!(head.status(), 206);
/// assert_eq!(head.get_header("Content-Range"), Some("bytes 2-4/10"));
/// assert_eq!(head.get_header("Content-Type"), Some("application/octet-stream"));
/// assert_eq!(&body.next_chunk(1024).unwrap().unwrap()[..], b"234");
/// std::fs::remove_file(&path).unwrap();
/// ```
pub fn file_response(
    path: impl AsRef<Path>,
    offset: u64,
    length: u64,
) -> Result<(Response, FileBody), FileError> {
    let path = path.as_ref();
    let file = open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(FileError::NotFound);
    }
    let size = metadata.len();
    let validators = Validators::of(&metadata);
    let (response, start, length) = if offset == 0 && length == 0 {
        (representation(200, path, &validators), 0, size)
    } else if offset >= size {
        return Err(FileError::RangeNotSatisfiable { size });
    } else {
        let rest = size - offset;
        let length = if length == 0 { rest } else { length.min(rest) };
        let response = partial(representation(206, path, &validators), offset, length, size);
        (response, offset, length)
    };
    let body = FileBody::new(file, start, length)?;
    Ok((response.content_length(length), body))
}

/// Opens a file for reading; a file that vanished since it was found is not found.
fn open(path: &Path) -> Result<File, FileError> {
    File::open(path).map_err(|error| match error.kind() {
        io::ErrorKind::NotFound => FileError::NotFound,
        _ => FileError::Io(error),
    })
}

/// A response with the headers that describe the file, in Workerman's spirit: type,
/// disposition for unknown types, date, tag, ranges accepted.
fn representation(status: u16, requested: &Path, validators: &Validators) -> Response {
    let name = requested
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let content_type = Path::new(name.as_ref())
        .extension()
        .and_then(|e| e.to_str())
        .and_then(mime_type)
        .unwrap_or(OCTET_STREAM);
    let mut response = Response::new(status).header("Content-Type", content_type);
    if content_type == OCTET_STREAM {
        response = response.header("Content-Disposition", attachment(&name));
    }
    if let Some(date) = validators.last_modified() {
        response = response.header("Last-Modified", date);
    }
    response
        .header("ETag", &validators.etag)
        .header("Accept-Ranges", "bytes")
}

/// Adds the `Content-Range` of `length` bytes from `start` of `size`.
fn partial(response: Response, start: u64, length: u64, size: u64) -> Response {
    response.header(
        "Content-Range",
        format!("bytes {start}-{}/{size}", start + length - 1),
    )
}

/// `attachment; filename="…"`: quotes and backslashes escaped, control characters
/// dropped, other non-ASCII replaced by `_` there and given exactly in `filename*`
/// (RFC 6266, RFC 8187).
fn attachment(name: &str) -> String {
    let name: String = name.chars().filter(|c| !c.is_control()).collect();
    let mut value = String::from("attachment; filename=\"");
    for c in name.chars() {
        match c {
            '"' | '\\' => {
                value.push('\\');
                value.push(c);
            }
            c if c.is_ascii() => value.push(c),
            _ => value.push('_'),
        }
    }
    value.push('"');
    if !name.is_ascii() {
        value.push_str("; filename*=UTF-8''");
        for &b in name.as_bytes() {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                value.push(char::from(b));
            } else {
                value.push_str(&format!("%{b:02X}"));
            }
        }
    }
    value
}

/// Decodes `%XX` escapes (not `+`). An escaped `/`, `\` or NUL, or a literal `\`, is
/// refused: none can name a file under the root.
fn percent_decode(path: &str) -> Result<Cow<'_, [u8]>, FileError> {
    let bytes = path.as_bytes();
    if bytes.contains(&b'\\') {
        return Err(FileError::RefusedPath("a backslash"));
    }
    // A slash decoded is indistinguishable from one written: look before decoding.
    if bytes.windows(3).any(|w| w.eq_ignore_ascii_case(b"%2f")) {
        return Err(FileError::RefusedPath("an encoded slash"));
    }
    let decoded = crate::form::percent_decode_strict(bytes).ok_or(FileError::MalformedPath(
        "a `%` not followed by two hex digits",
    ))?;
    if decoded.contains(&b'\\') {
        return Err(FileError::RefusedPath("a backslash"));
    }
    if decoded.contains(&0) {
        return Err(FileError::RefusedPath("a NUL"));
    }
    Ok(decoded)
}

/// One ordinary file name: not empty, `.`, `..`, a root or a drive prefix.
fn is_plain_component(name: &str) -> bool {
    let mut components = Path::new(name).components();
    matches!(
        (components.next(), components.next()),
        (Some(Component::Normal(n)), None) if n == name
    )
}

#[cfg(test)]
mod tests {
    use super::conditional::{entity_tags, parse_range, Range};
    use super::*;

    #[test]
    fn range_forms() {
        use Range::*;
        let r = |v: &str| parse_range(v.as_bytes(), 100);
        assert_eq!(
            r("bytes=0-9"),
            Bytes {
                start: 0,
                length: 10
            }
        );
        assert_eq!(
            r("Bytes=90-"),
            Bytes {
                start: 90,
                length: 10
            }
        );
        assert_eq!(
            r("bytes=-5"),
            Bytes {
                start: 95,
                length: 5
            }
        );
        assert_eq!(
            r("bytes=-500"),
            Bytes {
                start: 0,
                length: 100
            }
        );
        assert_eq!(
            r("bytes=50-5000"),
            Bytes {
                start: 50,
                length: 50
            }
        );
        assert_eq!(
            r(" bytes= 1-1 "),
            Bytes {
                start: 1,
                length: 1
            }
        );
        assert_eq!(r("bytes=100-"), Unsatisfiable);
        assert_eq!(r("bytes=100-200"), Unsatisfiable);
        assert_eq!(r("bytes=-0"), Unsatisfiable);
        assert_eq!(r("bytes=99999999999999999999999-"), Unsatisfiable);
        assert_eq!(parse_range(b"bytes=0-", 0), Unsatisfiable);
        assert_eq!(parse_range(b"bytes=-1", 0), Unsatisfiable);
        for ignored in [
            "bytes=5-1",
            "bytes=0-1,3-4",
            "bytes=-",
            "bytes=",
            "bytes",
            "items=0-1",
            "bytes=a-b",
            "bytes=+1-2",
            "bytes=1-2-3",
            "bytes=0x1-2",
            "",
        ] {
            assert_eq!(r(ignored), Ignore, "{ignored}");
        }
    }

    #[test]
    fn entity_tag_lists() {
        let tags: Vec<_> = entity_tags(br#"W/"a", "b,c" ,"d""#).collect();
        assert_eq!(
            tags,
            [
                (true, &br#""a""#[..]),
                (false, &br#""b,c""#[..]),
                (false, &br#""d""#[..])
            ]
        );
        assert_eq!(entity_tags(br#""a", junk, "b""#).count(), 1);
        assert_eq!(entity_tags(br#""unterminated"#).count(), 0);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(&*percent_decode("/a%20b+c").unwrap(), b"/a b+c");
        assert_eq!(&*percent_decode("/%e2%82%AC").unwrap(), "/€".as_bytes());
        assert!(matches!(
            percent_decode("/a%2"),
            Err(FileError::MalformedPath(_))
        ));
        assert!(matches!(
            percent_decode("/a%g0"),
            Err(FileError::MalformedPath(_))
        ));
        for refused in ["/a%2fb", "/a%2F", "/a%5cb", "/a\\b", "/a%00"] {
            assert!(
                matches!(percent_decode(refused), Err(FileError::RefusedPath(_))),
                "{refused}"
            );
        }
    }

    #[test]
    fn attachment_names_cannot_break_the_header() {
        assert_eq!(attachment("a.bin"), r#"attachment; filename="a.bin""#);
        assert_eq!(
            attachment("a\"b\\c\r\n\u{7f}.bin"),
            r#"attachment; filename="a\"b\\c.bin""#
        );
        assert_eq!(
            attachment("é x.bin"),
            r#"attachment; filename="_ x.bin"; filename*=UTF-8''%C3%A9%20x.bin"#
        );
    }

    #[test]
    fn plain_components() {
        assert!(is_plain_component("a.txt"));
        for not_plain in ["", ".", "..", "a/b", "/a"] {
            assert!(!is_plain_component(not_plain), "{not_plain}");
        }
    }
}

//! `multipart/form-data` request bodies (RFC 7578, framed as RFC 2046 §5.1 says), parsed
//! incrementally as they arrive.
//!
//! Workerman reads the whole body into memory, then searches it for `\r\n--boundary` and
//! writes each file to a temp file. [`MultipartParser`] is sans-IO instead: it is fed body
//! bytes in whatever pieces they come and hands out [`MultipartEvent`]s, each part's data
//! as soon as it cannot be the start of a delimiter. What it keeps between calls is at
//! most a part's head (limited) or the start of a delimiter (under 75 bytes), never a
//! part's data, so a file can go to disk, or anywhere else, as it arrives (spec §11.6).
//!
//! [`parse_form_data`] does the whole job for a body that is in memory anyway (wm-http
//! collects bodies up to 10 MiB by default): fields and files, the data of each a slice of
//! the body.
//!
//! Every limit ([`MultipartLimits`]) has a default and a typed error, and each error has
//! the status a server answers with ([`MultipartError::status`]).
//!
//! # Streaming files to disk
//!
//! Each file part goes to a fresh file under [`std::env::temp_dir`] as it arrives, and
//! each field is kept in memory. The name a client gave its file is not trusted with a
//! path: the files are named by the server, and opened with `create_new` so that nothing
//! existing is overwritten.
//!
//! ```
//! use std::fs::{File, OpenOptions};
//! use std::io::Write;
//! use std::path::PathBuf;
//!
//! use bytes::BytesMut;
//! use wm_http::multipart::{MultipartEvent, MultipartLimits, MultipartParser};
//!
//! let body: &[u8] = b"--XyZ\r\n\
//!     Content-Disposition: form-data; name=\"f1\"\r\n\r\nv1\r\n--XyZ\r\n\
//!     Content-Disposition: form-data; name=\"up\"; filename=\"a.txt\"\r\n\
//!     Content-Type: text/plain\r\n\r\nFILEDATA\r\n--XyZ--\r\n";
//!
//! let mut parser = MultipartParser::new("XyZ", MultipartLimits::default())?;
//! let mut fields: Vec<(String, Vec<u8>)> = Vec::new();
//! let mut saved: Vec<(String, PathBuf)> = Vec::new();
//! let mut file: Option<File> = None;
//! let mut buf = BytesMut::new();
//! for read in body.chunks(7) {
//!     // What the socket (or `RequestPart::Body`) delivered.
//!     buf.extend_from_slice(read);
//!     while let Some(event) = parser.feed(&mut buf)? {
//!         match event {
//!             MultipartEvent::PartStart(head) if head.is_file() => {
//!                 let path = std::env::temp_dir().join(format!(
//!                     "wm-upload-{}-{}",
//!                     std::process::id(),
//!                     saved.len()
//!                 ));
//!                 file = Some(OpenOptions::new().write(true).create_new(true).open(&path)?);
//!                 saved.push((head.name().to_owned(), path));
//!             }
//!             MultipartEvent::PartStart(head) => {
//!                 fields.push((head.name().to_owned(), Vec::new()));
//!             }
//!             MultipartEvent::Data(data) => match &mut file {
//!                 Some(file) => file.write_all(&data)?,
//!                 None => fields.last_mut().unwrap().1.extend_from_slice(&data),
//!             },
//!             MultipartEvent::PartEnd => file = None,
//!             MultipartEvent::End => {}
//!         }
//!     }
//! }
//! // The body ended: an error unless the closing delimiter was there.
//! parser.finish()?;
//!
//! assert_eq!(fields, [("f1".to_owned(), b"v1".to_vec())]);
//! assert_eq!(std::fs::read(&saved[0].1)?, b"FILEDATA");
//! for (_, path) in saved {
//!     std::fs::remove_file(path)?;
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use bytes::{Buf, Bytes, BytesMut};
use memchr::memmem::Finder;
use wm_protocol::http1::{find_blank_line, HeadTooLarge};

use crate::request::Headers;

mod form_data;
mod head;

pub use form_data::{parse_form_data, FormData, Part};
use head::{parameters, parse_part_head, split_type};

/// Default cap on the number of parts: Workerman's `Request::$maxFileUploads`, 1024.
/// Over it: [`MultipartError::TooManyParts`].
pub const DEFAULT_MAX_PARTS: usize = 1024;

/// Default cap on a part's head (its header lines and the blank line): 8 KiB. Over it:
/// [`MultipartError::PartHeadTooLarge`].
pub const DEFAULT_MAX_PART_HEAD_SIZE: usize = 8 * 1024;

/// Default cap on a part's header lines. Browsers send two (`Content-Disposition`,
/// `Content-Type`). Over it: [`MultipartError::TooManyPartHeaders`].
pub const DEFAULT_MAX_PART_HEADERS: usize = 16;

/// Default cap on the data of a field (a part without a `filename`): 1 MiB. Over it:
/// [`MultipartError::FieldTooLarge`].
pub const DEFAULT_MAX_FIELD_SIZE: usize = 1024 * 1024;

/// Default cap on the data of a file part: none, as the request body's own limit
/// ([`Config::max_body_size`](crate::Config::max_body_size), 10 MiB by default) bounds it.
/// Over a limit that is set: [`MultipartError::FileTooLarge`].
pub const DEFAULT_MAX_FILE_SIZE: u64 = u64::MAX;

/// The longest boundary RFC 2046 §5.1.1 allows.
pub const MAX_BOUNDARY_LENGTH: usize = 70;

/// What one multipart body may hold. Each limit is checked before the bytes it limits are
/// kept or handed out.
///
/// ```
/// use wm_http::multipart::MultipartLimits;
/// let limits = MultipartLimits::default().max_parts(10).max_file_size(1 << 20);
/// assert_eq!((limits.max_parts, limits.max_file_size), (10, 1 << 20));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MultipartLimits {
    /// Most parts ([`DEFAULT_MAX_PARTS`]).
    pub max_parts: usize,
    /// Largest part head, blank line included ([`DEFAULT_MAX_PART_HEAD_SIZE`]).
    pub max_part_head_size: usize,
    /// Most header lines in a part head ([`DEFAULT_MAX_PART_HEADERS`]).
    pub max_part_headers: usize,
    /// Largest field data ([`DEFAULT_MAX_FIELD_SIZE`]).
    pub max_field_size: usize,
    /// Largest file data ([`DEFAULT_MAX_FILE_SIZE`]: no limit of its own).
    pub max_file_size: u64,
}

impl Default for MultipartLimits {
    fn default() -> Self {
        Self {
            max_parts: DEFAULT_MAX_PARTS,
            max_part_head_size: DEFAULT_MAX_PART_HEAD_SIZE,
            max_part_headers: DEFAULT_MAX_PART_HEADERS,
            max_field_size: DEFAULT_MAX_FIELD_SIZE,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
        }
    }
}

impl MultipartLimits {
    /// Sets [`max_parts`](Self::max_parts).
    pub fn max_parts(mut self, limit: usize) -> Self {
        self.max_parts = limit;
        self
    }

    /// Sets [`max_part_head_size`](Self::max_part_head_size).
    pub fn max_part_head_size(mut self, limit: usize) -> Self {
        self.max_part_head_size = limit;
        self
    }

    /// Sets [`max_part_headers`](Self::max_part_headers).
    pub fn max_part_headers(mut self, limit: usize) -> Self {
        self.max_part_headers = limit;
        self
    }

    /// Sets [`max_field_size`](Self::max_field_size).
    pub fn max_field_size(mut self, limit: usize) -> Self {
        self.max_field_size = limit;
        self
    }

    /// Sets [`max_file_size`](Self::max_file_size).
    pub fn max_file_size(mut self, limit: u64) -> Self {
        self.max_file_size = limit;
        self
    }
}

/// Why a multipart body is refused. Each variant names its status
/// ([`MultipartError::status`]): 413 for a limit, 415 for a body that is not
/// `multipart/form-data`, 400 for the rest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MultipartError {
    /// The Content-Type is not `multipart/form-data` (415).
    #[error("Content-Type is not multipart/form-data")]
    NotFormData,
    /// The Content-Type has no `boundary`, or one RFC 2046 does not allow: empty, longer
    /// than 70 characters, ending in a space, or with a character that is not printable
    /// ASCII (400).
    #[error("missing or invalid multipart boundary")]
    InvalidBoundary,
    /// More parts than [`MultipartLimits::max_parts`] (413).
    #[error("more than {limit} parts")]
    TooManyParts {
        /// [`MultipartLimits::max_parts`].
        limit: usize,
    },
    /// A part head that has not ended within [`MultipartLimits::max_part_head_size`]
    /// bytes (413).
    #[error("part head over the limit of {limit} bytes")]
    PartHeadTooLarge {
        /// [`MultipartLimits::max_part_head_size`].
        limit: usize,
    },
    /// A part head with more header lines than [`MultipartLimits::max_part_headers`]
    /// (413).
    #[error("part head with more than {limit} header lines")]
    TooManyPartHeaders {
        /// [`MultipartLimits::max_part_headers`].
        limit: usize,
    },
    /// A field's data over [`MultipartLimits::max_field_size`] (413).
    #[error("field over the limit of {limit} bytes")]
    FieldTooLarge {
        /// [`MultipartLimits::max_field_size`].
        limit: usize,
    },
    /// A file's data over [`MultipartLimits::max_file_size`] (413).
    #[error("file over the limit of {limit} bytes")]
    FileTooLarge {
        /// [`MultipartLimits::max_file_size`].
        limit: u64,
    },
    /// A boundary delimiter followed by something other than `--` (the end) or optional
    /// spaces and tabs then CRLF (another part) (400). The delimiter was then part of the
    /// data, which RFC 2046 §5.1.1 forbids a sender to do.
    #[error("boundary delimiter followed by something other than CRLF or \"--\"")]
    MalformedBoundaryLine,
    /// A part head that is not header lines each ending in CRLF, or a `Content-Disposition`
    /// that is not `form-data` with a `name` (400): what was wrong.
    #[error("malformed part head: {0}")]
    MalformedPartHead(&'static str),
    /// A part without a `Content-Disposition` header (400), which RFC 7578 §4.2 requires.
    #[error("part without Content-Disposition")]
    MissingContentDisposition,
    /// The body ended before the closing delimiter `--boundary--` (400).
    #[error("body ended before the closing boundary delimiter")]
    UnexpectedEnd,
}

impl MultipartError {
    /// The status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            Self::NotFormData => 415,
            Self::TooManyParts { .. }
            | Self::PartHeadTooLarge { .. }
            | Self::TooManyPartHeaders { .. }
            | Self::FieldTooLarge { .. }
            | Self::FileTooLarge { .. } => 413,
            Self::InvalidBoundary
            | Self::MalformedBoundaryLine
            | Self::MalformedPartHead(_)
            | Self::MissingContentDisposition
            | Self::UnexpectedEnd => 400,
        }
    }
}

/// The `boundary` of a `multipart/form-data` Content-Type (case-insensitive type and
/// parameter name, quotes trimmed: Workerman #614), if it has a valid one
/// ([`MultipartError::InvalidBoundary`] says which are).
///
/// ```
/// use wm_http::multipart::boundary_from_content_type;
/// let ct = "multipart/form-data; boundary=\"----WebKitFormBoundary7MA4YWxk\"";
/// assert_eq!(boundary_from_content_type(ct), Some("----WebKitFormBoundary7MA4YWxk"));
/// assert_eq!(boundary_from_content_type("text/plain; boundary=x"), None);
/// ```
pub fn boundary_from_content_type(content_type: &str) -> Option<&str> {
    form_data_boundary(content_type).ok()
}

fn form_data_boundary(content_type: &str) -> Result<&str, MultipartError> {
    let (media_type, rest) = split_type(content_type.as_bytes());
    if !media_type.eq_ignore_ascii_case(b"multipart/form-data") {
        return Err(MultipartError::NotFormData);
    }
    let params = parameters(rest).map_err(|_| MultipartError::InvalidBoundary)?;
    let boundary = params
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(b"boundary"))
        .ok_or(MultipartError::InvalidBoundary)?;
    // A valid boundary has no `\` or `"`, so the raw value is the value.
    let boundary =
        std::str::from_utf8(boundary.value).map_err(|_| MultipartError::InvalidBoundary)?;
    if !valid_boundary(boundary) {
        return Err(MultipartError::InvalidBoundary);
    }
    Ok(boundary)
}

/// RFC 2046 §5.1.1: 1 to 70 characters, not ending in a space. Its `bchars` are letters,
/// digits, space and `'()+_,-./:=?`; other printable ASCII but `"` and `\` is taken too,
/// since clients use it (`*****` is common in Java examples). What matters here is that
/// a boundary has no CR: the delimiter then has a CR only at its start, so a partial
/// match that fails can never hide the start of another.
fn valid_boundary(boundary: &str) -> bool {
    (1..=MAX_BOUNDARY_LENGTH).contains(&boundary.len())
        && !boundary.ends_with(' ')
        && boundary
            .bytes()
            .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
}

/// What [`MultipartParser::feed`] found next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultipartEvent {
    /// A part begins: its head. Its data follows, then [`PartEnd`](Self::PartEnd).
    PartStart(PartHead),
    /// The next bytes of the current part's data: a slice of the input, handed out as soon
    /// as it cannot be the start of the delimiter that ends the part. Never empty.
    Data(Bytes),
    /// The current part's data is complete.
    PartEnd,
    /// The closing delimiter `--boundary--`: the body is complete. What follows (the
    /// epilogue) is dropped.
    End,
}

/// A part's head: its `Content-Disposition` (`form-data; name="…"; filename="…"`), its
/// `Content-Type`, and every header line as sent.
///
/// Names and filenames that are not UTF-8 have U+FFFD in place of the bad bytes; the
/// bytes as sent are in [`headers`](Self::headers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartHead {
    name: String,
    filename: Option<String>,
    full_path: Option<String>,
    content_type: Option<String>,
    headers: Headers,
}

impl PartHead {
    /// The form field's name: `Content-Disposition`'s `name`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file's name as the client gave it, for a file part: `Content-Disposition`'s
    /// `filename*` (RFC 5987, when it is UTF-8 or ISO-8859-1), else its `filename`. Browsers
    /// send `filename=""` for a file input left empty.
    ///
    /// It is whatever the client sent (HTML's encoding leaves `%22` for `"` undecoded, old
    /// browsers sent a whole Windows path): never use it as a path without checking.
    pub fn filename(&self) -> Option<&str> {
        self.filename.as_deref()
    }

    /// For a file part, the path the client gave it: the `webkitrelativepath` header of a
    /// directory upload, else the [`filename`](Self::filename) (Workerman's `full_path`).
    pub fn full_path(&self) -> Option<&str> {
        self.full_path.as_deref()
    }

    /// The part's `Content-Type`, if it has one.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// Every header line of the part, as sent.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// Whether it is a file: its `Content-Disposition` has a `filename`.
    pub fn is_file(&self) -> bool {
        self.filename.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// At the very front of the body, where the first delimiter may come without its CRLF:
    /// this many bytes match `--boundary`.
    Start { matched: usize },
    /// Dropping the preamble up to the first delimiter; the buffer's first `matched`
    /// bytes are the start of one.
    Preamble { matched: usize },
    /// After `--boundary`: `--`, or optional padding then CRLF, must follow. `padded`
    /// once spaces or tabs were skipped, after which `--` may not.
    AfterDelimiter { padded: bool },
    /// A part head; this much of the buffer has been searched for its end.
    Head { examined: usize },
    /// A part's data; the buffer's first `matched` bytes are the start of a delimiter
    /// (all of it when `matched` is the delimiter's length).
    Data { matched: usize },
    /// After the closing delimiter: everything is dropped.
    Epilogue,
    /// An error, returned again by every call.
    Failed(MultipartError),
}

/// Where the next delimiter is in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scan {
    /// It starts at this offset.
    Found(usize),
    /// Not there: the first `safe` bytes cannot be part of one; the rest, `matched` bytes,
    /// is the start of one (or nothing).
    Partial { safe: usize, matched: usize },
}

/// Parses one `multipart/form-data` body, fed in any pieces ([`feed`](Self::feed)), into
/// [`MultipartEvent`]s. Every byte is looked at once, however the body is cut: the search
/// for the delimiter `\r\n--boundary` goes on where it stopped.
///
/// ```
/// use bytes::BytesMut;
/// use wm_http::multipart::{MultipartEvent, MultipartLimits, MultipartParser};
///
/// let mut parser = MultipartParser::new("b", MultipartLimits::default()).unwrap();
/// let mut buf = BytesMut::from(&b"--b\r\nContent-Disposition: form-data; name=f1\r\n\r\nv"[..]);
/// let Some(MultipartEvent::PartStart(head)) = parser.feed(&mut buf).unwrap() else { panic!() };
/// assert_eq!((head.name(), head.is_file()), ("f1", false));
/// assert_eq!(parser.feed(&mut buf).unwrap(), Some(MultipartEvent::Data("v".into())));
/// assert_eq!(parser.feed(&mut buf).unwrap(), None);
///
/// buf.extend_from_slice(b"1\r\n--b--\r\n");
/// assert_eq!(parser.feed(&mut buf).unwrap(), Some(MultipartEvent::Data("1".into())));
/// assert_eq!(parser.feed(&mut buf).unwrap(), Some(MultipartEvent::PartEnd));
/// assert_eq!(parser.feed(&mut buf).unwrap(), Some(MultipartEvent::End));
/// assert_eq!(parser.finish(), Ok(()));
/// ```
#[derive(Debug, Clone)]
pub struct MultipartParser {
    /// Finds `\r\n--boundary`, which is also its needle.
    finder: Finder<'static>,
    limits: MultipartLimits,
    state: State,
    /// Parts begun so far.
    parts: usize,
    /// Data bytes of the current part handed out so far.
    part_size: u64,
    /// Whether the current part is a file (else a field), for its size limit.
    part_is_file: bool,
}

impl MultipartParser {
    /// A parser for the body with this `boundary` (from [`boundary_from_content_type`]).
    /// An invalid boundary is [`MultipartError::InvalidBoundary`].
    pub fn new(boundary: &str, limits: MultipartLimits) -> Result<Self, MultipartError> {
        if !valid_boundary(boundary) {
            return Err(MultipartError::InvalidBoundary);
        }
        let mut delimiter = Vec::with_capacity(boundary.len() + 4);
        delimiter.extend_from_slice(b"\r\n--");
        delimiter.extend_from_slice(boundary.as_bytes());
        Ok(Self {
            finder: Finder::new(&delimiter).into_owned(),
            limits,
            state: State::Start { matched: 0 },
            parts: 0,
            part_size: 0,
            part_is_file: false,
        })
    }

    /// The limits in force.
    pub fn limits(&self) -> &MultipartLimits {
        &self.limits
    }

    /// Whether the closing delimiter was seen.
    pub fn is_finished(&self) -> bool {
        self.state == State::Epilogue
    }

    /// Consumes what it can of `src` up to the next event; `Ok(None)` waits for more
    /// (what is left in `src` is the start of a part head or of a delimiter, to be kept
    /// and added to). After [`End`](MultipartEvent::End), every byte is dropped. After
    /// an error, every call returns it again.
    pub fn feed(&mut self, src: &mut BytesMut) -> Result<Option<MultipartEvent>, MultipartError> {
        self.drive(src)
    }

    /// The body has ended: an [`UnexpectedEnd`](MultipartError::UnexpectedEnd) unless
    /// the closing delimiter was seen (or the error that stopped the parser).
    pub fn finish(&mut self) -> Result<(), MultipartError> {
        match &self.state {
            State::Epilogue => Ok(()),
            State::Failed(error) => Err(error.clone()),
            _ => Err(self.fail(MultipartError::UnexpectedEnd)),
        }
    }

    fn fail(&mut self, error: MultipartError) -> MultipartError {
        self.state = State::Failed(error.clone());
        error
    }

    /// [`feed`](Self::feed) for a buffer whose `chunk` is all of it and whose
    /// `copy_to_bytes` is a slice (`BytesMut` and `Bytes`).
    fn drive<B: Buf>(&mut self, src: &mut B) -> Result<Option<MultipartEvent>, MultipartError> {
        if let State::Failed(error) = &self.state {
            return Err(error.clone());
        }
        self.step(src).map_err(|error| self.fail(error))
    }

    fn step<B: Buf>(&mut self, src: &mut B) -> Result<Option<MultipartEvent>, MultipartError> {
        let delimiter_len = self.finder.needle().len();
        loop {
            let buf = src.chunk();
            match self.state {
                State::Start { matched } => {
                    let dash_boundary = &self.finder.needle()[2..];
                    let matched = extend_match(buf, dash_boundary, matched);
                    if matched == dash_boundary.len() {
                        src.advance(matched);
                        self.state = State::AfterDelimiter { padded: false };
                    } else if matched == buf.len() {
                        self.state = State::Start { matched };
                        return Ok(None);
                    } else {
                        // `--boundary` has no CR, so no delimiter starts within it.
                        src.advance(matched);
                        self.state = State::Preamble { matched: 0 };
                    }
                }
                State::Preamble { matched } => match self.scan(buf, matched) {
                    Scan::Found(at) => {
                        src.advance(at + delimiter_len);
                        self.state = State::AfterDelimiter { padded: false };
                    }
                    Scan::Partial { safe, matched } => {
                        src.advance(safe);
                        self.state = State::Preamble { matched };
                        if safe == 0 {
                            return Ok(None);
                        }
                    }
                },
                State::AfterDelimiter { padded } => {
                    let padding = buf.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
                    if padding > 0 {
                        src.advance(padding);
                        self.state = State::AfterDelimiter { padded: true };
                        continue;
                    }
                    match buf {
                        [] | [b'\r'] => return Ok(None),
                        [b'-'] if !padded => return Ok(None),
                        [b'\r', b'\n', ..] => {
                            if self.parts == self.limits.max_parts {
                                return Err(MultipartError::TooManyParts {
                                    limit: self.limits.max_parts,
                                });
                            }
                            src.advance(2);
                            self.parts += 1;
                            self.state = State::Head { examined: 0 };
                        }
                        [b'-', b'-', ..] if !padded => {
                            src.advance(2);
                            self.state = State::Epilogue;
                            return Ok(Some(MultipartEvent::End));
                        }
                        _ => return Err(MultipartError::MalformedBoundaryLine),
                    }
                }
                State::Head { mut examined } => {
                    let length = match buf {
                        [] | [b'\r'] => return Ok(None),
                        // No header lines: the blank line alone.
                        [b'\r', b'\n', ..] => 2,
                        _ => {
                            let limit = self.limits.max_part_head_size;
                            match find_blank_line(buf, &mut examined, limit) {
                                Ok(Some(length)) => length,
                                Ok(None) => {
                                    self.state = State::Head { examined };
                                    return Ok(None);
                                }
                                Err(HeadTooLarge) => {
                                    return Err(MultipartError::PartHeadTooLarge { limit })
                                }
                            }
                        }
                    };
                    let head = parse_part_head(&src.copy_to_bytes(length), &self.limits)?;
                    self.part_size = 0;
                    self.part_is_file = head.is_file();
                    self.state = State::Data { matched: 0 };
                    return Ok(Some(MultipartEvent::PartStart(head)));
                }
                State::Data { matched } => {
                    let (data, matched) = match self.scan(buf, matched) {
                        Scan::Found(0) => {
                            src.advance(delimiter_len);
                            self.state = State::AfterDelimiter { padded: false };
                            return Ok(Some(MultipartEvent::PartEnd));
                        }
                        // The delimiter is known to be at the front on the next call.
                        Scan::Found(at) => (at, delimiter_len),
                        Scan::Partial { safe, matched } => (safe, matched),
                    };
                    self.state = State::Data { matched };
                    if data == 0 {
                        return Ok(None);
                    }
                    self.count_data(data)?;
                    return Ok(Some(MultipartEvent::Data(src.copy_to_bytes(data))));
                }
                State::Epilogue => {
                    src.advance(buf.len());
                    return Ok(None);
                }
                State::Failed(_) => unreachable!("checked by drive"),
            }
        }
    }

    /// Finds the delimiter in `buf`, whose first `matched` bytes are known to start one.
    /// Only bytes past those are looked at.
    fn scan(&self, buf: &[u8], matched: usize) -> Scan {
        let delimiter = self.finder.needle();
        if matched > 0 {
            let extended = extend_match(buf, delimiter, matched);
            return if extended == delimiter.len() {
                Scan::Found(0)
            } else if extended == buf.len() {
                Scan::Partial {
                    safe: 0,
                    matched: extended,
                }
            } else {
                // The delimiter's only CR is its first byte, so no other delimiter starts
                // within the bytes that matched; the byte that did not is looked at next.
                Scan::Partial {
                    safe: extended,
                    matched: 0,
                }
            };
        }
        if let Some(at) = self.finder.find(buf) {
            return Scan::Found(at);
        }
        // Only the last CR in the final `delimiter.len() - 1` bytes can start one.
        let window = buf.len().saturating_sub(delimiter.len() - 1);
        if let Some(cr) = memchr::memrchr(b'\r', &buf[window..]).map(|at| window + at) {
            if delimiter.starts_with(&buf[cr..]) {
                return Scan::Partial {
                    safe: cr,
                    matched: buf.len() - cr,
                };
            }
        }
        Scan::Partial {
            safe: buf.len(),
            matched: 0,
        }
    }

    /// Counts `length` more bytes of the current part against its limit.
    fn count_data(&mut self, length: usize) -> Result<(), MultipartError> {
        let size = self.part_size.saturating_add(length as u64);
        if self.part_is_file {
            if size > self.limits.max_file_size {
                return Err(MultipartError::FileTooLarge {
                    limit: self.limits.max_file_size,
                });
            }
        } else if size > self.limits.max_field_size as u64 {
            return Err(MultipartError::FieldTooLarge {
                limit: self.limits.max_field_size,
            });
        }
        self.part_size = size;
        Ok(())
    }
}

/// How many bytes of `buf` match `pattern`, given that the first `matched` do: the
/// comparison goes on from there.
/// A caller that did not keep the unconsumed bytes (a new, shorter buffer) gets a fresh
/// match from 0, not a panic; the kept bytes are not compared again (no rescans).
fn extend_match(buf: &[u8], pattern: &[u8], matched: usize) -> usize {
    let matched = if matched <= buf.len().min(pattern.len()) {
        matched
    } else {
        0
    };
    matched
        + buf[matched..]
            .iter()
            .zip(&pattern[matched..])
            .take_while(|(a, b)| a == b)
            .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `wire` one byte at a time and checks after each that what is left in the
    /// buffer is exactly what the parser already examined: the next byte is the only one
    /// the next call looks at.
    #[test]
    fn a_one_byte_drip_examines_each_byte_once() {
        let wire: &[u8] = b"preamble \r\n--bound\r\n--boundary\r\n\
            Content-Disposition: form-data; name=\"a\"\r\n\r\n\
            x\r\n--boun\r\r\n--boundar\r\n-\r\n--boundar-\r\n--boundary \t\r\n\
            Content-Disposition: form-data; name=\"b\"; filename=\"f\"\r\n\r\n\
            \r\n--boundary--\r\nepilogue";
        let mut parser = MultipartParser::new("boundary", MultipartLimits::default()).unwrap();
        let mut buf = BytesMut::new();
        let mut events = Vec::new();
        for &byte in wire {
            buf.extend_from_slice(&[byte]);
            while let Some(event) = parser.feed(&mut buf).unwrap() {
                events.push(event);
            }
            let examined = match parser.state {
                State::Start { matched }
                | State::Preamble { matched }
                | State::Data { matched } => matched,
                State::Head { examined } => examined,
                State::AfterDelimiter { .. } | State::Epilogue => 0,
                State::Failed(_) => unreachable!(),
            };
            // A lone CR or `-` after a delimiter or before a head is waited on as it is.
            let waiting = matches!(&buf[..], b"\r" | b"-");
            assert!(
                examined == buf.len() || (examined == 0 && waiting),
                "{:?} with {buf:?}",
                parser.state
            );
        }
        parser.finish().unwrap();
        let data: Vec<u8> = events
            .iter()
            .filter_map(|event| match event {
                MultipartEvent::Data(data) => Some(&data[..]),
                _ => None,
            })
            .flatten()
            .copied()
            .collect();
        assert_eq!(&data[..], b"x\r\n--boun\r\r\n--boundar\r\n-\r\n--boundar-");
    }

    #[test]
    fn the_tail_kept_is_only_a_delimiter_prefix() {
        let parser = MultipartParser::new("ab", MultipartLimits::default()).unwrap();
        assert_eq!(
            parser.scan(b"xx\r\n-", 0),
            Scan::Partial {
                safe: 2,
                matched: 3
            }
        );
        assert_eq!(
            parser.scan(b"xx\r\n-x", 0),
            Scan::Partial {
                safe: 6,
                matched: 0
            }
        );
        assert_eq!(
            parser.scan(b"\r\n--a\r", 3),
            Scan::Partial {
                safe: 5,
                matched: 0
            }
        );
        assert_eq!(parser.scan(b"\r\n--ab", 4), Scan::Found(0));
    }
}

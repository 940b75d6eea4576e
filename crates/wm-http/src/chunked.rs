//! `Transfer-Encoding: chunked` bodies (RFC 9112 §7.1), decoded incrementally: each byte
//! is looked at once, chunk data moves from the read buffer into the body as it arrives,
//! and every limit is checked before the bytes it limits are kept.

use bytes::{Buf, Bytes, BytesMut};

use crate::config::{Config, MAX_CHUNK_LINE};
use crate::error::HttpError;
use crate::head::find_head_end;
use crate::request::Headers;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Reading a chunk-size line; `examined` bytes of it have been searched for LF.
    Size { examined: usize },
    /// Copying chunk data; this many bytes are still to come.
    Data { remaining: u64 },
    /// The CRLF after a chunk's data.
    DataEnd,
    /// The trailer section; `examined` bytes have been searched for its end.
    Trailers { examined: usize },
}

/// What [`ChunkedDecoder::decode_piece`] found next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkedPiece {
    /// Chunk data, a slice of the read buffer: as much of the current chunk as had arrived.
    Data(Bytes),
    /// The last chunk and the trailer section: the body is complete.
    End(Headers),
}

/// Decodes one chunked body, either collected ([`decode`](Self::decode)) or piece by
/// piece as it arrives ([`decode_piece`](Self::decode_piece)).
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    step: Step,
    /// Data bytes so far, against the body limit.
    received: u64,
    /// The body being collected by `decode`.
    body: BytesMut,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    /// A decoder at the first chunk-size line.
    pub fn new() -> Self {
        Self {
            step: Step::Size { examined: 0 },
            received: 0,
            body: BytesMut::new(),
        }
    }

    /// Consumes what it can of `src`. Returns the body and the trailers once the last
    /// chunk and the trailer section are in, `Ok(None)` to wait for more.
    pub fn decode(
        &mut self,
        src: &mut BytesMut,
        config: &Config,
    ) -> Result<Option<(Bytes, Headers)>, HttpError> {
        loop {
            match self.decode_piece(src, config)? {
                None => return Ok(None),
                Some(ChunkedPiece::Data(data)) => self.body.extend_from_slice(&data),
                Some(ChunkedPiece::End(trailers)) => {
                    return Ok(Some((std::mem::take(&mut self.body).freeze(), trailers)))
                }
            }
        }
    }

    /// Consumes what it can of `src` up to the next piece of the body: chunk data as soon
    /// as any has arrived (so nothing is held back), or the end with the trailers.
    /// `Ok(None)` waits for more. After `End` the decoder is ready for another body.
    pub fn decode_piece(
        &mut self,
        src: &mut BytesMut,
        config: &Config,
    ) -> Result<Option<ChunkedPiece>, HttpError> {
        loop {
            match self.step {
                Step::Size { examined } => {
                    // A caller that swapped buffers mid-line restarts the search.
                    let examined = if examined > src.len() { 0 } else { examined };
                    let Some(lf) = memchr::memchr(b'\n', &src[examined..]).map(|at| examined + at)
                    else {
                        if src.len() > MAX_CHUNK_LINE {
                            return Err(HttpError::BadRequest("chunk-size line too long"));
                        }
                        self.step = Step::Size {
                            examined: src.len(),
                        };
                        return Ok(None);
                    };
                    if lf >= MAX_CHUNK_LINE {
                        return Err(HttpError::BadRequest("chunk-size line too long"));
                    }
                    let size = chunk_size(&src[..lf])?;
                    src.advance(lf + 1);
                    if size == 0 {
                        self.step = Step::Trailers { examined: 0 };
                        continue;
                    }
                    // A size of up to 16 hex digits can wrap the sum: saturate it.
                    let total = self.received.saturating_add(size);
                    if total > config.max_body_size as u64 {
                        return Err(HttpError::BodyTooLarge {
                            length: total,
                            limit: config.max_body_size,
                        });
                    }
                    self.step = Step::Data { remaining: size };
                }
                Step::Data { remaining } => {
                    if src.is_empty() {
                        return Ok(None);
                    }
                    // At most the chunk's rest, which is within the body limit.
                    let take = src
                        .len()
                        .min(usize::try_from(remaining).unwrap_or(usize::MAX));
                    let data = src.split_to(take).freeze();
                    self.received += take as u64;
                    let remaining = remaining - take as u64;
                    self.step = if remaining == 0 {
                        Step::DataEnd
                    } else {
                        Step::Data { remaining }
                    };
                    return Ok(Some(ChunkedPiece::Data(data)));
                }
                Step::DataEnd => match src.get(..2) {
                    None if matches!(src.first(), None | Some(b'\r')) => return Ok(None),
                    Some(b"\r\n") => {
                        src.advance(2);
                        self.step = Step::Size { examined: 0 };
                    }
                    _ => return Err(HttpError::BadRequest("chunk data not followed by CRLF")),
                },
                Step::Trailers { mut examined } => {
                    // No trailers: the section is just the blank line.
                    match src.get(..2) {
                        Some(b"\r\n") => {
                            src.advance(2);
                            return Ok(Some(self.finish(Headers::default())));
                        }
                        None if matches!(src.first(), None | Some(b'\r')) => return Ok(None),
                        _ => {}
                    }
                    let limit = config.max_trailer_size;
                    let end = match find_head_end(src, &mut examined, limit) {
                        Ok(Some(end)) => end,
                        Ok(None) => {
                            self.step = Step::Trailers { examined };
                            return Ok(None);
                        }
                        Err(HttpError::HeadTooLarge { .. }) => {
                            return Err(HttpError::TrailersTooLarge { limit })
                        }
                        Err(error) => return Err(error),
                    };
                    let section = src.split_to(end).freeze();
                    let trailers = parse_trailers(&section, config)?;
                    return Ok(Some(self.finish(trailers)));
                }
            }
        }
    }

    fn finish(&mut self, trailers: Headers) -> ChunkedPiece {
        self.step = Step::Size { examined: 0 };
        self.received = 0;
        ChunkedPiece::End(trailers)
    }
}

/// The size on a chunk-size line (`line` without its LF): 1–16 hex digits, then optional
/// extensions after `;` (ignored), then CR.
fn chunk_size(line: &[u8]) -> Result<u64, HttpError> {
    let Some(line) = line.strip_suffix(b"\r") else {
        return Err(HttpError::BadRequest("chunk-size line ends with a bare LF"));
    };
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 16 {
        return Err(HttpError::BadRequest("invalid chunk size"));
    }
    let rest = line[digits..].trim_ascii_start();
    if !(rest.is_empty() || rest[0] == b';') || rest.iter().any(|&b| b == b'\r' || b == 0) {
        return Err(HttpError::BadRequest("invalid chunk size"));
    }
    let size = line[..digits].iter().fold(0u64, |n, &d| {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            _ => d - b'A' + 10,
        };
        n << 4 | u64::from(v)
    });
    Ok(size)
}

/// Parses a trailer section that `find_head_end` found (so without bare LFs).
fn parse_trailers(section: &Bytes, config: &Config) -> Result<Headers, HttpError> {
    // Trailers are rare: the slots are allocated only when a section has some.
    let mut slots = vec![httparse::EMPTY_HEADER; config.max_headers];
    let headers = match httparse::parse_headers(section, &mut slots) {
        Ok(httparse::Status::Complete((length, headers))) if length == section.len() => headers,
        Err(httparse::Error::TooManyHeaders) => {
            return Err(HttpError::TrailersTooLarge {
                limit: config.max_trailer_size,
            })
        }
        _ => return Err(HttpError::BadRequest("malformed trailer section")),
    };
    let mut trailers = Headers::with_source(section.clone(), headers.len());
    for header in headers.iter() {
        trailers.push(header.name.as_bytes(), header.value);
    }
    Ok(trailers)
}

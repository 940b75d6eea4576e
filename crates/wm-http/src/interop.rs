//! Conversions with the [`http`] crate's types (cargo feature `http`), so that code
//! written against `http::Request` and `http::Response` can sit behind this server.
//!
//! * `http::Request<Bytes>::try_from(request)`: method, target (as the URI), version,
//!   header lines in order (repeated names kept, in order), header values and body
//!   without a copy (they stay slices of the read buffer), and any chunked trailers as a
//!   [`Trailers`] extension, and the peer's [`std::net::SocketAddr`] as an extension
//!   where the request has one ([`Request::remote_addr`]). It is fallible rather than a `From` because the two crates'
//!   rules differ at the edges: a target `http::Uri` refuses (over 64 KiB, say), or more
//!   header lines than a `HeaderMap` holds (32 768), gives an [`InteropError`], never a
//!   panic.
//! * `Response::try_from(http_response)`: status, header lines in order, the body. The
//!   version and extensions are not carried (the server answers in HTTP/1.1), nor are
//!   `Transfer-Encoding` and `Content-Length`: the body is whole, and its framing is the
//!   encoder's, as for any [`Response`].
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use wm_http::{Http, Protocol, Response};
//!
//! let mut buf = BytesMut::from(&b"GET /a?b=1 HTTP/1.1\r\nHost: h\r\nX-Dup: 1\r\nX-Dup: 2\r\n\r\n"[..]);
//! let request = Http::default().decode(&mut buf).unwrap().unwrap();
//! let request = http::Request::<Bytes>::try_from(request).unwrap();
//! assert_eq!(request.uri().query(), Some("b=1"));
//! assert_eq!(request.headers().get_all("x-dup").iter().collect::<Vec<_>>(), ["1", "2"]);
//!
//! let answer = http::Response::builder().status(201).header("X-A", "1").body("made").unwrap();
//! let response = Response::try_from(answer).unwrap();
//! assert_eq!((response.status(), response.get_header("x-a")), (201, Some("1")));
//! ```

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue, InvalidHeaderName, InvalidHeaderValue};
use http::uri::InvalidUri;

use crate::request::{Headers, Method, Request, Version};
use crate::response::Response;

/// Why a value could not be converted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InteropError {
    /// A header name `http` refuses.
    #[error("header name refused by http: {0}")]
    HeaderName(#[from] InvalidHeaderName),
    /// A header value `http` refuses.
    #[error("header value refused by http: {0}")]
    HeaderValue(#[from] InvalidHeaderValue),
    /// A request target `http::Uri` refuses.
    #[error("request target refused by http: {0}")]
    Uri(#[from] InvalidUri),
    /// More header lines than an `http::HeaderMap` can hold.
    #[error("more header lines than an http::HeaderMap holds")]
    TooManyHeaders,
    /// A response header value that is not UTF-8 (a [`Response`] holds text).
    #[error("the value of response header {name} is not UTF-8")]
    NonUtf8HeaderValue {
        /// The header's name.
        name: String,
    },
}

/// A request's chunked trailer fields, in the extensions of the `http::Request` made from
/// it (only when there are some).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trailers(pub HeaderMap);

impl From<Method> for http::Method {
    fn from(method: Method) -> Self {
        match method {
            Method::Get => Self::GET,
            Method::Head => Self::HEAD,
            Method::Post => Self::POST,
            Method::Put => Self::PUT,
            Method::Delete => Self::DELETE,
            Method::Options => Self::OPTIONS,
            Method::Patch => Self::PATCH,
        }
    }
}

impl From<Version> for http::Version {
    fn from(version: Version) -> Self {
        match version {
            Version::Http10 => Self::HTTP_10,
            Version::Http11 => Self::HTTP_11,
        }
    }
}

/// The lines in order; a repeated name keeps its values in order.
fn header_map(headers: &Headers) -> Result<HeaderMap, InteropError> {
    let mut map =
        HeaderMap::try_with_capacity(headers.len()).map_err(|_| InteropError::TooManyHeaders)?;
    for (name, value) in headers.iter_shared() {
        let name = HeaderName::from_bytes(&name)?;
        // A slice of the read buffer becomes the value: no copy.
        let value = HeaderValue::from_maybe_shared(value)?;
        map.try_append(name, value)
            .map_err(|_| InteropError::TooManyHeaders)?;
    }
    Ok(map)
}

impl TryFrom<Request> for http::Request<Bytes> {
    type Error = InteropError;

    fn try_from(request: Request) -> Result<Self, Self::Error> {
        let headers = header_map(&request.headers)?;
        let trailers = if request.trailers().is_empty() {
            None
        } else {
            Some(header_map(request.trailers())?)
        };
        // The target's String becomes the URI's buffer: no copy.
        let uri = http::Uri::from_maybe_shared(request.target_shared())?;
        let mut converted = http::Request::new(request.body);
        *converted.method_mut() = request.method.into();
        *converted.uri_mut() = uri;
        *converted.version_mut() = request.version.into();
        *converted.headers_mut() = headers;
        if let Some(trailers) = trailers {
            converted.extensions_mut().insert(Trailers(trailers));
        }
        if let Some(address) = request.remote_addr {
            converted.extensions_mut().insert(address);
        }
        Ok(converted)
    }
}

impl<B: Into<Bytes>> TryFrom<http::Response<B>> for Response {
    type Error = InteropError;

    fn try_from(response: http::Response<B>) -> Result<Self, Self::Error> {
        let (parts, body) = response.into_parts();
        let mut converted = Response::new(parts.status.as_u16());
        for (name, value) in &parts.headers {
            // The body is whole: its framing is the encoder's, and a `Transfer-Encoding`
            // copied over would stream it with no end (as a proxy's headers often carry).
            if matches!(
                *name,
                http::header::TRANSFER_ENCODING | http::header::CONTENT_LENGTH
            ) {
                continue;
            }
            // Not `to_str`, which refuses any non-ASCII byte even in valid UTF-8.
            let value = std::str::from_utf8(value.as_bytes()).map_err(|_| {
                InteropError::NonUtf8HeaderValue {
                    name: name.as_str().to_owned(),
                }
            })?;
            converted = converted.append_header(name.as_str(), value);
        }
        Ok(converted.body(body.into()))
    }
}

//! A whole `multipart/form-data` body in memory, parsed into fields and files
//! ([`parse_form_data`]), each part's data a slice of the body.

use bytes::{Bytes, BytesMut};

use super::{
    form_data_boundary, MultipartError, MultipartEvent, MultipartLimits, MultipartParser, PartHead,
};

/// One part of a [`FormData`]: its head and all of its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    head: PartHead,
    data: Bytes,
}

impl Part {
    /// The head: name, filename, content type, headers.
    pub fn head(&self) -> &PartHead {
        &self.head
    }

    /// The form field's name.
    pub fn name(&self) -> &str {
        self.head.name()
    }

    /// For a file, its name as the client gave it ([`PartHead::filename`]).
    pub fn filename(&self) -> Option<&str> {
        self.head.filename()
    }

    /// For a file, the path the client gave it ([`PartHead::full_path`]).
    pub fn full_path(&self) -> Option<&str> {
        self.head.full_path()
    }

    /// The part's `Content-Type`, if it has one.
    pub fn content_type(&self) -> Option<&str> {
        self.head.content_type()
    }

    /// The data: a slice of the body.
    pub fn data(&self) -> &Bytes {
        &self.data
    }

    /// The data, if it is UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.data).ok()
    }
}

/// A whole `multipart/form-data` body: its fields and its files, each in the order sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormData {
    fields: Vec<Part>,
    files: Vec<Part>,
}

impl FormData {
    /// The parts without a `filename`.
    pub fn fields(&self) -> &[Part] {
        &self.fields
    }

    /// The parts with a `filename`.
    pub fn files(&self) -> &[Part] {
        &self.files
    }

    /// The value of the first field named `name`, if it is UTF-8.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|part| part.name() == name)
            .and_then(Part::text)
    }

    /// The first file sent under the field `name`.
    pub fn file(&self, name: &str) -> Option<&Part> {
        self.files.iter().find(|part| part.name() == name)
    }
}

impl crate::Request {
    /// The `multipart/form-data` body of this request, parsed with `limits`
    /// ([`parse_form_data`] on its `Content-Type` and body). A request of another type is
    /// [`MultipartError::NotFormData`].
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use wm_http::{Http, MultipartLimits, Protocol};
    ///
    /// let body = "--XyZ\r\nContent-Disposition: form-data; name=\"f1\"\r\n\r\nv1\r\n--XyZ--\r\n";
    /// let wire = format!(
    ///     "POST /up HTTP/1.1\r\nHost: h\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: {}\r\n\r\n{body}",
    ///     body.len()
    /// );
    /// let request = Http::default().decode(&mut BytesMut::from(wire.as_bytes())).unwrap().unwrap();
    /// let form = request.multipart(MultipartLimits::default()).unwrap();
    /// assert_eq!(form.field("f1"), Some("v1"));
    /// ```
    pub fn multipart(&self, limits: MultipartLimits) -> Result<FormData, MultipartError> {
        let content_type = self.header("content-type").unwrap_or_default();
        parse_form_data(content_type, self.body().clone(), limits)
    }
}

/// Parses a whole `multipart/form-data` body, given its request's Content-Type. Each
/// part's data is a slice of `body`. Errors as [`MultipartParser`], plus
/// [`NotFormData`](MultipartError::NotFormData) and
/// [`InvalidBoundary`](MultipartError::InvalidBoundary) for the Content-Type.
///
/// ```
/// use bytes::Bytes;
/// use wm_http::multipart::{parse_form_data, MultipartLimits};
///
/// let body = Bytes::from_static(
///     b"--XyZ\r\nContent-Disposition: form-data; name=\"f1\"\r\n\r\nv1\r\n--XyZ\r\n\
///       Content-Disposition: form-data; name=\"up\"; filename=\"a.txt\"\r\n\
///       Content-Type: text/plain\r\n\r\nFILEDATA\r\n--XyZ--\r\n",
/// );
/// let content_type = "multipart/form-data; boundary=XyZ";
/// let form = parse_form_data(content_type, body, MultipartLimits::default())?;
/// assert_eq!(form.field("f1"), Some("v1"));
/// let up = form.file("up").unwrap();
/// assert_eq!((up.filename(), up.content_type()), (Some("a.txt"), Some("text/plain")));
/// assert_eq!(&up.data()[..], b"FILEDATA");
/// # Ok::<(), wm_http::multipart::MultipartError>(())
/// ```
pub fn parse_form_data(
    content_type: &str,
    mut body: Bytes,
    limits: MultipartLimits,
) -> Result<FormData, MultipartError> {
    let mut parser = MultipartParser::new(form_data_boundary(content_type)?, limits)?;
    let mut form = FormData::default();
    let mut current: Option<(PartHead, Collecting)> = None;
    loop {
        match parser.drive(&mut body)? {
            Some(MultipartEvent::PartStart(head)) => current = Some((head, Collecting::Empty)),
            Some(MultipartEvent::Data(data)) => {
                if let Some((_, collecting)) = &mut current {
                    collecting.push(data);
                }
            }
            Some(MultipartEvent::PartEnd) => {
                if let Some((head, collecting)) = current.take() {
                    let part = Part {
                        data: collecting.into_bytes(),
                        head,
                    };
                    if part.head.is_file() {
                        form.files.push(part);
                    } else {
                        form.fields.push(part);
                    }
                }
            }
            Some(MultipartEvent::End) => return Ok(form),
            None => return parser.finish().map(|()| form),
        }
    }
}

/// A part's data as it comes: with the whole body at hand it comes in one piece, which is
/// kept as the slice it is.
enum Collecting {
    Empty,
    One(Bytes),
    Many(BytesMut),
}

impl Collecting {
    fn push(&mut self, data: Bytes) {
        *self = match std::mem::replace(self, Self::Empty) {
            Self::Empty => Self::One(data),
            Self::One(first) => {
                let mut all = BytesMut::with_capacity(first.len() + data.len());
                all.extend_from_slice(&first);
                all.extend_from_slice(&data);
                Self::Many(all)
            }
            Self::Many(mut all) => {
                all.extend_from_slice(&data);
                Self::Many(all)
            }
        };
    }

    fn into_bytes(self) -> Bytes {
        match self {
            Self::Empty => Bytes::new(),
            Self::One(data) => data,
            Self::Many(all) => all.freeze(),
        }
    }
}

//! `multipart/form-data` bodies: the spec's vector (§10.7), browser layouts, delimiters
//! that almost match, each limit just under, at and over, the boundary line's rules, every
//! body cut at every byte, and a round trip of random forms.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use wm_http::multipart::{
    boundary_from_content_type, parse_form_data, FormData, MultipartError, MultipartEvent,
    MultipartLimits, MultipartParser,
};

/// A part as the tests compare it: its data put together.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Parsed {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    full_path: Option<String>,
    data: Vec<u8>,
}

/// Feeds `pieces` one after the other as reads would come, then ends the body. Checks on
/// the way that events come in order, that no `Data` is empty, and that what the parser
/// leaves in the buffer stays below a part head's limit or a delimiter's length.
fn parse_pieces<'a>(
    boundary: &str,
    limits: MultipartLimits,
    pieces: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<Parsed>, MultipartError> {
    let mut parser = MultipartParser::new(boundary, limits)?;
    let kept = limits.max_part_head_size.max(boundary.len() + 4);
    let mut buf = BytesMut::new();
    let mut parts: Vec<Parsed> = Vec::new();
    let mut in_part = false;
    let mut ended = false;
    for piece in pieces {
        buf.extend_from_slice(piece);
        while let Some(event) = parser.feed(&mut buf)? {
            assert!(!ended, "{event:?} after End");
            match event {
                MultipartEvent::PartStart(head) => {
                    assert!(!in_part);
                    in_part = true;
                    parts.push(Parsed {
                        name: head.name().to_owned(),
                        filename: head.filename().map(str::to_owned),
                        content_type: head.content_type().map(str::to_owned),
                        full_path: head.full_path().map(str::to_owned),
                        data: Vec::new(),
                    });
                }
                MultipartEvent::Data(data) => {
                    assert!(in_part && !data.is_empty());
                    parts.last_mut().unwrap().data.extend_from_slice(&data);
                }
                MultipartEvent::PartEnd => {
                    assert!(in_part);
                    in_part = false;
                }
                MultipartEvent::End => {
                    assert!(!in_part);
                    ended = true;
                }
            }
        }
        assert!(buf.len() <= kept, "{} bytes kept", buf.len());
    }
    parser.finish()?;
    assert!(ended && parser.is_finished());
    Ok(parts)
}

/// Parses `body` in one read, one byte per read and cut in two at every offset, checks
/// that all agree (and with [`parse_form_data`]), and returns the result.
fn parse_every_split(
    boundary: &str,
    limits: MultipartLimits,
    body: &[u8],
) -> Result<Vec<Parsed>, MultipartError> {
    let whole = parse_pieces(boundary, limits, [body]);
    let drip = parse_pieces(boundary, limits, body.chunks(1));
    assert_eq!(drip, whole, "one byte per read differs from one read");
    for cut in 0..=body.len() {
        let split = parse_pieces(boundary, limits, [&body[..cut], &body[cut..]]);
        assert_eq!(split, whole, "cut at {cut} differs from one read");
    }
    let form = parse_form_data(
        &format!("multipart/form-data; boundary={boundary}"),
        Bytes::copy_from_slice(body),
        limits,
    );
    assert_eq!(form.map(|form| flatten(&form)), whole.clone().map(sorted));
    whole
}

fn parse_all(boundary: &str, body: &[u8]) -> Result<Vec<Parsed>, MultipartError> {
    parse_every_split(boundary, MultipartLimits::default(), body)
}

/// Fields first, then files, as [`FormData`] keeps them.
fn sorted(parts: Vec<Parsed>) -> Vec<Parsed> {
    let (files, mut fields): (Vec<_>, Vec<_>) =
        parts.into_iter().partition(|p| p.filename.is_some());
    fields.extend(files);
    fields
}

fn flatten(form: &FormData) -> Vec<Parsed> {
    form.fields()
        .iter()
        .chain(form.files())
        .map(|part| Parsed {
            name: part.name().to_owned(),
            filename: part.filename().map(str::to_owned),
            content_type: part.content_type().map(str::to_owned),
            full_path: part.full_path().map(str::to_owned),
            data: part.data().to_vec(),
        })
        .collect()
}

fn field(name: &str, data: &[u8]) -> Parsed {
    Parsed {
        name: name.to_owned(),
        filename: None,
        content_type: None,
        full_path: None,
        data: data.to_vec(),
    }
}

fn file(name: &str, filename: &str, content_type: Option<&str>, data: &[u8]) -> Parsed {
    Parsed {
        name: name.to_owned(),
        filename: Some(filename.to_owned()),
        content_type: content_type.map(str::to_owned),
        full_path: Some(filename.to_owned()),
        data: data.to_vec(),
    }
}

const SPEC_BODY: &[u8] = b"--XyZ\r\n\
    Content-Disposition: form-data; name=\"f1\"\r\n\
    \r\n\
    v1\r\n\
    --XyZ\r\n\
    Content-Disposition: form-data; name=\"up\"; filename=\"a.txt\"\r\n\
    Content-Type: text/plain\r\n\
    \r\n\
    FILEDATA\r\n\
    --XyZ--\r\n";

#[test]
fn spec_vector_gives_field_f1_and_file_up() {
    assert_eq!(
        parse_all("XyZ", SPEC_BODY).unwrap(),
        [
            field("f1", b"v1"),
            file("up", "a.txt", Some("text/plain"), b"FILEDATA")
        ]
    );
    let form = parse_form_data(
        "multipart/form-data; boundary=XyZ",
        Bytes::from_static(SPEC_BODY),
        MultipartLimits::default(),
    )
    .unwrap();
    assert_eq!(form.field("f1"), Some("v1"));
    assert_eq!(form.fields().len(), 1);
    let up = form.file("up").unwrap();
    assert_eq!(
        (up.filename(), up.full_path(), up.content_type()),
        (Some("a.txt"), Some("a.txt"), Some("text/plain"))
    );
    assert_eq!((&up.data()[..], up.data().len()), (&b"FILEDATA"[..], 8));
    assert_eq!(up.head().headers().len(), 2);
    assert!(form.file("f1").is_none() && form.field("up").is_none());
}

#[test]
fn parse_form_data_hands_out_slices_of_the_body() {
    let body = Bytes::from_static(SPEC_BODY);
    let form = parse_form_data(
        "multipart/form-data; boundary=XyZ",
        body.clone(),
        MultipartLimits::default(),
    )
    .unwrap();
    let range = body.as_ptr_range();
    for part in form.fields().iter().chain(form.files()) {
        assert!(range.contains(&part.data().as_ptr()), "{part:?} was copied");
    }
}

#[test]
fn feed_hands_out_slices_of_the_read_buffer() {
    let mut buf = BytesMut::from(SPEC_BODY);
    let range = buf.as_ptr_range();
    let mut parser = MultipartParser::new("XyZ", MultipartLimits::default()).unwrap();
    let mut data = 0;
    while let Some(event) = parser.feed(&mut buf).unwrap() {
        if let MultipartEvent::Data(bytes) = event {
            assert!(range.contains(&bytes.as_ptr()));
            data += 1;
        }
    }
    assert_eq!(data, 2);
}

#[test]
fn browser_layouts_with_preamble_and_epilogue() {
    // Chrome: `----WebKitFormBoundary` and 16 random characters, binary file data.
    let chrome: &[u8] = b"------WebKitFormBoundary7MA4YWxkTrZu0gW\r\n\
        Content-Disposition: form-data; name=\"title\"\r\n\r\n\
        Hello, world\r\n\
        ------WebKitFormBoundary7MA4YWxkTrZu0gW\r\n\
        Content-Disposition: form-data; name=\"photo\"; filename=\"p.png\"\r\n\
        Content-Type: image/png\r\n\r\n\
        \x89PNG\r\n\x1a\n\0\0\0\rIHDR\r\n--\r\n\r\n\
        ------WebKitFormBoundary7MA4YWxkTrZu0gW--\r\n";
    assert_eq!(
        parse_all("----WebKitFormBoundary7MA4YWxkTrZu0gW", chrome).unwrap(),
        [
            field("title", b"Hello, world"),
            file(
                "photo",
                "p.png",
                Some("image/png"),
                b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\r\n--\r\n"
            ),
        ]
    );
    // Firefox: dashes and digits; an empty file input.
    let firefox: &[u8] = b"-----------------------------9051914041544843365972754266\r\n\
        Content-Disposition: form-data; name=\"text\"\r\n\r\n\
        text default\r\n\
        -----------------------------9051914041544843365972754266\r\n\
        Content-Disposition: form-data; name=\"file1\"; filename=\"\"\r\n\
        Content-Type: application/octet-stream\r\n\r\n\
        \r\n\
        -----------------------------9051914041544843365972754266--\r\n";
    assert_eq!(
        parse_all(
            "---------------------------9051914041544843365972754266",
            firefox
        )
        .unwrap(),
        [
            field("text", b"text default"),
            file("file1", "", Some("application/octet-stream"), b""),
        ]
    );
    // RFC 2046 §5.1.1's layout: a preamble, transport padding, an epilogue.
    let rfc: &[u8] = b"This is the preamble.  It is to be ignored.\r\n\
        --simple boundary  \t\r\n\
        Content-Disposition: form-data; name=\"a\"\r\n\r\n\
        This is implicitly typed plain US-ASCII text.\r\n\
        It does NOT end with a linebreak.\r\n\
        --simple boundary\r\n\
        Content-Disposition: form-data; name=\"b\"\r\n\
        Content-type: text/plain; charset=us-ascii\r\n\r\n\
        This is explicitly typed plain US-ASCII text.\r\n\
        It DOES end with a linebreak.\r\n\
        \r\n\
        --simple boundary--\r\n\
        This is the epilogue.  It is also to be ignored.\r\n--simple boundary\r\nx";
    let mut b = field(
        "b",
        b"This is explicitly typed plain US-ASCII text.\r\nIt DOES end with a linebreak.\r\n",
    );
    b.content_type = Some("text/plain; charset=us-ascii".to_owned());
    assert_eq!(
        parse_all("simple boundary", rfc).unwrap(),
        [
            field(
                "a",
                b"This is implicitly typed plain US-ASCII text.\r\nIt does NOT end with a linebreak."
            ),
            b
        ]
    );
}

#[test]
fn a_delimiter_prefix_inside_data_is_data() {
    let body: &[u8] = b"--bound\r\n\
        Content-Disposition: form-data; name=\"a\"\r\n\r\n\
        1\r\n--boun\r\n-\r\n--\r\n\r\r\n--bounD\r\n--bound\r\n\
        Content-Disposition: form-data; name=\"b\"\r\n\r\n\
        \r\n--boun\r\n--bound--";
    assert_eq!(
        parse_all("bound", body).unwrap(),
        [
            field("a", b"1\r\n--boun\r\n-\r\n--\r\n\r\r\n--bounD"),
            field("b", b"\r\n--boun")
        ]
    );
}

#[test]
fn a_boundary_not_after_crlf_is_data() {
    let body: &[u8] = b"--b\r\n\
        Content-Disposition: form-data; name=\"a\"\r\n\r\n\
        --b\n--b\r--b x--b--\r\n--b--\r\n";
    assert_eq!(
        parse_all("b", body).unwrap(),
        [field("a", b"--b\n--b\r--b x--b--")]
    );
}

#[test]
fn empty_parts_and_empty_forms() {
    let body: &[u8] = b"--b\r\n\
        Content-Disposition: form-data; name=\"empty\"\r\n\r\n\
        \r\n--b\r\n\
        Content-Disposition: form-data; name=\"none\"; filename=\"\"\r\n\r\n\
        \r\n--b--";
    assert_eq!(
        parse_all("b", body).unwrap(),
        [field("empty", b""), file("none", "", None, b"")]
    );
    // No parts at all, with or without CRLF, preamble or epilogue.
    for body in [
        &b"--b--"[..],
        b"--b--\r\n",
        b"preamble\r\n--b--",
        b"\r\n--b--epilogue",
    ] {
        assert_eq!(parse_all("b", body).unwrap(), []);
    }
    // A part with no head at all has no Content-Disposition.
    assert_eq!(
        parse_all("b", b"--b\r\n\r\ndata\r\n--b--"),
        Err(MultipartError::MissingContentDisposition)
    );
    // Nothing at all, or only a preamble, never ends.
    for body in [&b""[..], b"preamble", b"-", b"--b"] {
        assert_eq!(parse_all("b", body), Err(MultipartError::UnexpectedEnd));
    }
}

#[test]
fn boundary_from_content_type_follows_rfc_2046() {
    for (content_type, boundary) in [
        ("multipart/form-data; boundary=XyZ", "XyZ"),
        ("multipart/form-data; boundary=\"XyZ\"", "XyZ"),
        ("Multipart/Form-Data;BOUNDARY=XyZ", "XyZ"),
        (
            "multipart/form-data ; charset=utf-8; boundary = \"a b:c\" ;",
            "a b:c",
        ),
        (
            "multipart/form-data; x=\"a;boundary=no\"; boundary=yes",
            "yes",
        ),
        ("multipart/form-data; boundary=*****", "*****"),
    ] {
        assert_eq!(
            boundary_from_content_type(content_type),
            Some(boundary),
            "{content_type}"
        );
    }
    let longest = "a".repeat(70);
    assert_eq!(
        boundary_from_content_type(&format!("multipart/form-data; boundary={longest}")),
        Some(&longest[..])
    );
    for content_type in [
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=\"\"",
        "multipart/form-data; boundary=\"abc",
        "multipart/form-data; boundary=\"ab \"",
        "multipart/form-data; boundary=\"a\\\"b\"",
        "multipart/form-data; boundary=a\u{e9}",
        "multipart/form-data; boundary",
        "multipart/form-data boundary=a",
        "multipart/mixed; boundary=a",
        "text/plain; boundary=a",
        "",
    ] {
        assert_eq!(
            boundary_from_content_type(content_type),
            None,
            "{content_type}"
        );
    }
    let too_long = "a".repeat(71);
    assert_eq!(
        boundary_from_content_type(&format!("multipart/form-data; boundary={too_long}")),
        None
    );
    assert_eq!(
        MultipartParser::new(&too_long, MultipartLimits::default()).unwrap_err(),
        MultipartError::InvalidBoundary
    );
    assert!(MultipartParser::new("a\r\nb", MultipartLimits::default()).is_err());

    let limits = MultipartLimits::default();
    let error = parse_form_data("text/plain", Bytes::new(), limits).unwrap_err();
    assert_eq!(
        (error.clone(), error.status()),
        (MultipartError::NotFormData, 415)
    );
    let error = parse_form_data("multipart/form-data", Bytes::new(), limits).unwrap_err();
    assert_eq!(
        (error.clone(), error.status()),
        (MultipartError::InvalidBoundary, 400)
    );
}

#[test]
fn a_quoted_boundary_parses_the_body() {
    let form = parse_form_data(
        "multipart/form-data; boundary=\"XyZ\"",
        Bytes::from_static(SPEC_BODY),
        MultipartLimits::default(),
    )
    .unwrap();
    assert_eq!(form.field("f1"), Some("v1"));
}

#[test]
fn content_disposition_parameters() {
    let part = |disposition: &str, extra: &str| -> Result<Vec<Parsed>, MultipartError> {
        let body =
            format!("--b\r\nContent-Disposition: {disposition}\r\n{extra}\r\nD\r\n--b--\r\n");
        parse_all("b", body.as_bytes())
    };
    let one = |disposition: &str| part(disposition, "").map(|mut parts| parts.remove(0));

    let quoted = one(r#"form-data; name="a\"b\\c"; filename="x\"y.txt""#).unwrap();
    assert_eq!(
        (&quoted.name[..], quoted.filename.as_deref()),
        ("a\"b\\c", Some("x\"y.txt"))
    );
    // A backslash before anything else is kept, as old browsers sent Windows paths.
    let windows = one(r#"form-data; name="f"; filename="C:\dir\a.txt""#).unwrap();
    assert_eq!(windows.filename.as_deref(), Some(r"C:\dir\a.txt"));
    let loose = one("FORM-DATA;NAME=a b ; Filename = c d.txt").unwrap();
    assert_eq!(
        (&loose.name[..], loose.filename.as_deref()),
        ("a b", Some("c d.txt"))
    );
    let semicolon = one(r#"form-data; name="a;b"; filename="c;d""#).unwrap();
    assert_eq!(
        (&semicolon.name[..], semicolon.filename.as_deref()),
        ("a;b", Some("c;d"))
    );
    let first = one(r#"form-data; name="a"; name="b""#).unwrap();
    assert_eq!(first.name, "a");
    let empty_params = one(r#"form-data;; name="a";"#).unwrap();
    assert_eq!(empty_params.name, "a");

    // RFC 5987 `filename*` wins over `filename` when it decodes.
    let ext = one("form-data; name=f; filename=\"naive.txt\"; filename*=UTF-8''na%C3%AFve%20.txt")
        .unwrap();
    assert_eq!(ext.filename.as_deref(), Some("na\u{ef}ve .txt"));
    let latin1 = one("form-data; name=f; filename*=iso-8859-1'en'%E9t%E9").unwrap();
    assert_eq!(latin1.filename.as_deref(), Some("\u{e9}t\u{e9}"));
    for undecodable in [
        "form-data; name=f; filename=plain; filename*=UTF-8''%C3",
        "form-data; name=f; filename=plain; filename*=UTF-8''%zz",
        "form-data; name=f; filename=plain; filename*=UTF-8''%+1",
        "form-data; name=f; filename=plain; filename*=KOI8-R''abc",
        "form-data; name=f; filename=plain; filename*=noquotes",
    ] {
        assert_eq!(one(undecodable).unwrap().filename.as_deref(), Some("plain"));
    }

    // Raw UTF-8, as browsers send it, and bytes that are not UTF-8.
    let utf8 = one("form-data; name=\"\u{540d}\"; filename=\"\u{6587}.txt\"").unwrap();
    assert_eq!(
        (&utf8.name[..], utf8.filename.as_deref()),
        ("\u{540d}", Some("\u{6587}.txt"))
    );

    // A directory upload's relative path.
    let dir = part(
        r#"form-data; name="f"; filename="a.txt""#,
        "webkitrelativepath: d/e/a.txt\r\n",
    )
    .unwrap();
    assert_eq!(dir[0].full_path.as_deref(), Some("d/e/a.txt"));

    for (disposition, why) in [
        ("attachment; name=a", "Content-Disposition is not form-data"),
        ("form-data", "Content-Disposition has no name"),
        ("form-data; filename=a", "Content-Disposition has no name"),
        ("form-data; name=\"a", "unterminated quoted-string"),
        ("form-data; name", "parameter without a value"),
        ("form-data; =a", "malformed parameter name"),
        ("form-data; n@me=a", "malformed parameter name"),
        ("form-data; name=\"a\" x", "parameters not separated by ';'"),
    ] {
        assert_eq!(
            one(disposition),
            Err(MultipartError::MalformedPartHead(why)),
            "{disposition}"
        );
    }
    assert_eq!(
        part(
            "form-data; name=a",
            "Content-Disposition: form-data; name=b\r\n"
        ),
        Err(MultipartError::MalformedPartHead(
            "more than one Content-Disposition"
        ))
    );
}

#[test]
fn malformed_part_heads() {
    for (head, error) in [
        (
            &b"Content-Type: text/plain\r\n"[..],
            MultipartError::MissingContentDisposition,
        ),
        (
            b"X-A: 1\nContent-Disposition: form-data; name=a\r\n",
            MultipartError::MalformedPartHead("a header line ends with a bare LF"),
        ),
        (
            b"Content-Disposition form-data; name=a\r\n",
            MultipartError::MalformedPartHead("malformed header line"),
        ),
        (
            b"Content-Disposition: form-data; name=a\r\n folded\r\n",
            MultipartError::MalformedPartHead("malformed header line"),
        ),
        (
            b"Bad Name: x\r\nContent-Disposition: form-data; name=a\r\n",
            MultipartError::MalformedPartHead("malformed header line"),
        ),
    ] {
        let mut body = b"--b\r\n".to_vec();
        body.extend_from_slice(head);
        body.extend_from_slice(b"\r\ndata\r\n--b--\r\n");
        let result = parse_all("b", &body);
        assert_eq!(result, Err(error.clone()), "{head:?}");
        assert_eq!(error.status(), 400);
    }
    // A part head cut short by the next delimiter never finds its blank line.
    assert_eq!(
        parse_all(
            "b",
            b"--b\r\nContent-Disposition: form-data; name=a\r\n--b--\r\n"
        ),
        Err(MultipartError::UnexpectedEnd)
    );
}

#[test]
fn the_boundary_line_must_end_with_crlf_or_dashes() {
    let part = b"Content-Disposition: form-data; name=a\r\n\r\nx";
    // Transport padding before the CRLF, on the first delimiter and later ones.
    let mut padded = b"--b \t \r\n".to_vec();
    padded.extend_from_slice(part);
    padded.extend_from_slice(b"\r\n--b\t\r\n");
    padded.extend_from_slice(part);
    padded.extend_from_slice(b"\r\n--b--  junk\r\nmore junk");
    assert_eq!(
        parse_all("b", &padded).unwrap(),
        [field("a", b"x"), field("a", b"x")]
    );

    for line in [
        &b"--bX\r\n"[..],
        b"--b-x",
        b"--b\rx",
        b"--b\n",
        b"--b -- ",
        b"--b \t-",
        b"--b  x\r\n",
        b"--b\r\r\n",
    ] {
        // As the first delimiter, and as the one after a part.
        let mut first = line.to_vec();
        first.extend_from_slice(part);
        first.extend_from_slice(b"\r\n--b--");
        let mut later = b"--b\r\n".to_vec();
        later.extend_from_slice(part);
        later.extend_from_slice(b"\r\n");
        later.extend_from_slice(line);
        later.extend_from_slice(b"\r\n--b--");
        for body in [first, later] {
            let error = parse_all("b", &body).unwrap_err();
            assert_eq!(error, MultipartError::MalformedBoundaryLine, "{line:?}");
            assert_eq!(error.status(), 400);
        }
    }
}

#[test]
fn a_body_without_its_closing_delimiter_fails_at_finish() {
    // Every prefix of the body that stops before `--XyZ--`.
    let close = SPEC_BODY.len() - b"\r\n".len();
    for end in 0..close {
        let mut parser = MultipartParser::new("XyZ", MultipartLimits::default()).unwrap();
        let mut buf = BytesMut::from(&SPEC_BODY[..end]);
        while parser.feed(&mut buf).unwrap().is_some() {}
        assert!(!parser.is_finished());
        assert_eq!(parser.finish(), Err(MultipartError::UnexpectedEnd), "{end}");
        assert_eq!(MultipartError::UnexpectedEnd.status(), 400);
        // Reported again, as is every error.
        assert_eq!(parser.finish(), Err(MultipartError::UnexpectedEnd));
        assert_eq!(
            parser.feed(&mut BytesMut::from(&b"--XyZ--"[..])),
            Err(MultipartError::UnexpectedEnd)
        );
    }
    for end in close..=SPEC_BODY.len() {
        assert!(parse_pieces("XyZ", MultipartLimits::default(), [&SPEC_BODY[..end]]).is_ok());
    }
}

#[test]
fn after_the_end_everything_is_dropped() {
    let mut parser = MultipartParser::new("b", MultipartLimits::default()).unwrap();
    let mut buf = BytesMut::from(&b"--b--\r\nepilogue"[..]);
    assert_eq!(parser.feed(&mut buf), Ok(Some(MultipartEvent::End)));
    assert_eq!(parser.feed(&mut buf), Ok(None));
    assert!(buf.is_empty());
    buf.extend_from_slice(&[b'x'; 100_000]);
    assert_eq!(parser.feed(&mut buf), Ok(None));
    assert!(buf.is_empty());
    assert_eq!(parser.finish(), Ok(()));
}

/// A body of `count` fields named `f0`, `f1`, … each holding `data`.
fn fields_body(count: usize, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for i in 0..count {
        body.extend_from_slice(
            format!("--b\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--b--\r\n");
    body
}

#[test]
fn max_parts_under_at_and_over() {
    let limits = MultipartLimits::default().max_parts(3);
    assert_eq!(
        parse_every_split("b", limits, &fields_body(2, b"x"))
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        parse_every_split("b", limits, &fields_body(3, b"x"))
            .unwrap()
            .len(),
        3
    );
    let error = parse_every_split("b", limits, &fields_body(4, b"x")).unwrap_err();
    assert_eq!(
        (error.clone(), error.status()),
        (MultipartError::TooManyParts { limit: 3 }, 413)
    );
    assert_eq!(MultipartLimits::default().max_parts, 1024);
    // The defaults, on bodies too large to cut at every byte: in one read and in 1000-byte reads.
    let body = fields_body(1024, b"");
    for size in [body.len(), 1000] {
        let parts = parse_pieces("b", MultipartLimits::default(), body.chunks(size));
        assert_eq!(parts.unwrap().len(), 1024);
    }
    assert_eq!(
        parse_pieces(
            "b",
            MultipartLimits::default(),
            [&fields_body(1025, b"")[..]]
        ),
        Err(MultipartError::TooManyParts { limit: 1024 })
    );
}

#[test]
fn max_part_head_size_under_at_and_over() {
    // The head: these two lines and the blank line.
    let head = |pad: usize| {
        format!(
            "Content-Disposition: form-data; name=a\r\nX-Pad: {}\r\n\r\n",
            "p".repeat(pad)
        )
    };
    let size = head(10).len();
    let body = |pad: usize| format!("--b\r\n{}x\r\n--b--\r\n", head(pad)).into_bytes();
    let limits = MultipartLimits::default().max_part_head_size(size);
    assert!(parse_every_split("b", limits, &body(9)).is_ok());
    assert!(parse_every_split("b", limits, &body(10)).is_ok());
    let error = parse_every_split("b", limits, &body(11)).unwrap_err();
    assert_eq!(
        (error.clone(), error.status()),
        (MultipartError::PartHeadTooLarge { limit: size }, 413)
    );
    // A head that never ends is refused once the limit is buffered.
    let mut parser = MultipartParser::new("b", limits).unwrap();
    let mut buf = BytesMut::from(&b"--b\r\n"[..]);
    assert_eq!(parser.feed(&mut buf), Ok(None));
    buf.extend_from_slice(&vec![b'x'; size - 1]);
    assert_eq!(parser.feed(&mut buf), Ok(None));
    buf.extend_from_slice(b"x");
    assert_eq!(
        parser.feed(&mut buf),
        Err(MultipartError::PartHeadTooLarge { limit: size })
    );
    assert_eq!(MultipartLimits::default().max_part_head_size, 8 * 1024);
}

#[test]
fn max_part_headers_under_at_and_over() {
    let body = |lines: usize| {
        let mut body = String::from("--b\r\nContent-Disposition: form-data; name=a\r\n");
        for i in 1..lines {
            body.push_str(&format!("X-{i}: v\r\n"));
        }
        body.push_str("\r\nx\r\n--b--");
        body.into_bytes()
    };
    let limits = MultipartLimits::default().max_part_headers(3);
    assert!(parse_every_split("b", limits, &body(2)).is_ok());
    assert!(parse_every_split("b", limits, &body(3)).is_ok());
    let error = parse_every_split("b", limits, &body(4)).unwrap_err();
    assert_eq!(
        (error.clone(), error.status()),
        (MultipartError::TooManyPartHeaders { limit: 3 }, 413)
    );
    assert_eq!(MultipartLimits::default().max_part_headers, 16);
    assert!(parse_all("b", &body(16)).is_ok());
    assert_eq!(
        parse_all("b", &body(17)),
        Err(MultipartError::TooManyPartHeaders { limit: 16 })
    );
}

#[test]
fn max_field_size_under_at_and_over() {
    let limits = MultipartLimits::default().max_field_size(4);
    // Data ending in a CR or a delimiter prefix is counted as it is handed out.
    for data in [&b"abc"[..], b"abcd", b"ab\r\n", b"\r\n--"] {
        assert!(
            parse_every_split("b", limits, &fields_body(1, data)).is_ok(),
            "{data:?}"
        );
    }
    for data in [&b"abcde"[..], b"abc\r\n", b"\r\n-\r\n", b"\r\n--x\r\n"] {
        let error = parse_every_split("b", limits, &fields_body(1, data)).unwrap_err();
        assert_eq!(
            (error.clone(), error.status()),
            (MultipartError::FieldTooLarge { limit: 4 }, 413),
            "{data:?}"
        );
    }
    // The field limit is not the file limit.
    let file_body =
        b"--b\r\nContent-Disposition: form-data; name=f; filename=a\r\n\r\n0123456789\r\n--b--";
    assert!(parse_every_split("b", limits, file_body).is_ok());
    assert_eq!(MultipartLimits::default().max_field_size, 1 << 20);
    let body = fields_body(1, &vec![b'\r'; 1 << 20]);
    for size in [body.len(), 1000] {
        assert!(parse_pieces("b", MultipartLimits::default(), body.chunks(size)).is_ok());
    }
    assert_eq!(
        parse_pieces(
            "b",
            MultipartLimits::default(),
            [&fields_body(1, &vec![b'x'; (1 << 20) + 1])[..]]
        ),
        Err(MultipartError::FieldTooLarge { limit: 1 << 20 })
    );
}

#[test]
fn max_file_size_under_at_and_over() {
    let body = |size: usize| {
        let mut body =
            b"--b\r\nContent-Disposition: form-data; name=f; filename=a\r\n\r\n".to_vec();
        body.extend(std::iter::repeat(b'\r').take(size));
        body.extend_from_slice(b"\r\n--b--");
        body
    };
    let limits = MultipartLimits::default()
        .max_file_size(5)
        .max_field_size(0);
    assert!(parse_every_split("b", limits, &body(4)).is_ok());
    assert!(parse_every_split("b", limits, &body(5)).is_ok());
    let error = parse_every_split("b", limits, &body(6)).unwrap_err();
    assert_eq!(
        (error.clone(), error.status()),
        (MultipartError::FileTooLarge { limit: 5 }, 413)
    );
    assert_eq!(MultipartLimits::default().max_file_size, u64::MAX);
}

/// A large part dripped one byte at a time, full of almost-delimiters: the data comes out
/// as it arrives (the buffer never holds more than a delimiter's start), and the whole
/// drip takes linear time (a rescan of the kept bytes on every byte would be quadratic in
/// them, which the unit test `a_one_byte_drip_examines_each_byte_once` rules out).
#[test]
fn a_one_byte_drip_hands_data_out_as_it_arrives() {
    let boundary = "b".repeat(70);
    let mut data = Vec::new();
    while data.len() < 200_000 {
        data.extend_from_slice(b"\r\n--");
        data.extend_from_slice(&boundary.as_bytes()[..69]);
        data.extend_from_slice(b"x-\r");
    }
    let mut body =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=f; filename=a\r\n\r\n")
            .into_bytes();
    body.extend_from_slice(&data);
    body.extend_from_slice(format!("\r\n--{boundary}--").as_bytes());

    let mut parser = MultipartParser::new(&boundary, MultipartLimits::default()).unwrap();
    let mut buf = BytesMut::new();
    let mut received = Vec::with_capacity(data.len());
    let mut in_data = false;
    for &byte in &body {
        buf.extend_from_slice(&[byte]);
        while let Some(event) = parser.feed(&mut buf).unwrap() {
            match event {
                MultipartEvent::PartStart(_) => in_data = true,
                MultipartEvent::Data(piece) => received.extend_from_slice(&piece),
                MultipartEvent::PartEnd => in_data = false,
                MultipartEvent::End => {}
            }
        }
        if in_data {
            assert!(buf.len() < boundary.len() + 4, "{} bytes kept", buf.len());
        }
    }
    parser.finish().unwrap();
    assert_eq!(received, data);
}

#[test]
fn statuses() {
    for (error, status) in [
        (MultipartError::NotFormData, 415),
        (MultipartError::InvalidBoundary, 400),
        (MultipartError::TooManyParts { limit: 1 }, 413),
        (MultipartError::PartHeadTooLarge { limit: 1 }, 413),
        (MultipartError::TooManyPartHeaders { limit: 1 }, 413),
        (MultipartError::FieldTooLarge { limit: 1 }, 413),
        (MultipartError::FileTooLarge { limit: 1 }, 413),
        (MultipartError::MalformedBoundaryLine, 400),
        (MultipartError::MalformedPartHead("x"), 400),
        (MultipartError::MissingContentDisposition, 400),
        (MultipartError::UnexpectedEnd, 400),
    ] {
        assert_eq!(error.status(), status, "{error}");
    }
}

/// A form as sent: each part a name, maybe a filename and a content type, and data.
type Form = Vec<(String, Option<String>, Option<String>, Vec<u8>)>;

fn form() -> impl Strategy<Value = Form> {
    let data_byte = prop_oneof![
        any::<u8>(),
        Just(b'\r'),
        Just(b'\n'),
        Just(b'-'),
        Just(b'a'),
    ];
    proptest::collection::vec(
        (
            "[ -~]{0,10}",
            proptest::option::of("[ -~]{0,10}"),
            proptest::option::of("[a-z]{1,5}/[a-z0-9.+-]{1,8}"),
            proptest::collection::vec(data_byte, 0..120),
        ),
        0..5,
    )
}

/// A quoted-string, escaping what must be.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn encode(boundary: &str, preamble: &[u8], padding: &str, form: &Form, epilogue: &[u8]) -> Vec<u8> {
    let mut body = preamble.to_vec();
    if !preamble.is_empty() {
        body.extend_from_slice(b"\r\n");
    }
    for (name, filename, content_type, data) in form {
        body.extend_from_slice(format!("--{boundary}{padding}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name={}", quote(name));
        if let Some(filename) = filename {
            disposition.push_str(&format!("; filename={}", quote(filename)));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        if let Some(content_type) = content_type {
            body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--").as_bytes());
    body.extend_from_slice(epilogue);
    body
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

proptest! {
    #[test]
    fn random_forms_round_trip_however_cut(
        boundary in "[A-Za-z0-9'()+_,./:=?-]{1,8}",
        preamble in proptest::collection::vec(prop_oneof![any::<u8>(), Just(b'-')], 0..20),
        padding in "[ \t]{0,3}",
        form in form(),
        epilogue in proptest::collection::vec(any::<u8>(), 0..20),
        mut cuts in proptest::collection::vec(0usize..2000, 0..12),
    ) {
        let delimiter = format!("\r\n--{boundary}").into_bytes();
        // RFC 2046: the sender picks a boundary that is nowhere in the data; a preamble
        // may not look like the first delimiter either.
        prop_assume!(form.iter().all(|(_, _, _, data)| !contains(data, &delimiter)));
        let mut preamble_line = preamble.clone();
        preamble_line.extend_from_slice(&delimiter);
        prop_assume!(!contains(&preamble_line[..preamble_line.len() - 1], &delimiter[..]));
        prop_assume!(!preamble_line.starts_with(&delimiter[2..]) || preamble.is_empty());

        let body = encode(&boundary, &preamble, &padding, &form, &epilogue);
        cuts.iter_mut().for_each(|cut| *cut %= body.len() + 1);
        cuts.sort_unstable();
        let mut pieces = Vec::new();
        let mut start = 0;
        for &cut in &cuts {
            pieces.push(&body[start..cut]);
            start = cut;
        }
        pieces.push(&body[start..]);

        let expected: Vec<Parsed> = form
            .iter()
            .map(|(name, filename, content_type, data)| Parsed {
                name: name.clone(),
                filename: filename.clone(),
                content_type: content_type.clone(),
                full_path: filename.clone(),
                data: data.clone(),
            })
            .collect();
        let parsed = parse_pieces(&boundary, MultipartLimits::default(), pieces).unwrap();
        prop_assert_eq!(&parsed, &expected);
        let form = parse_form_data(
            &format!("multipart/form-data; boundary=\"{boundary}\""),
            Bytes::from(body),
            MultipartLimits::default(),
        )
        .unwrap();
        prop_assert_eq!(flatten(&form), sorted(expected));
    }
}

#[test]
fn a_parser_given_a_new_buffer_does_not_panic() {
    // Regression: a kept partial delimiter was indexed in the next, shorter buffer.
    let mut parser =
        wm_http::MultipartParser::new("bound", wm_http::MultipartLimits::default()).unwrap();
    let mut first = BytesMut::from(
        &b"--bound\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nxy\r\n--bou"[..],
    );
    while let Ok(Some(_)) = parser.feed(&mut first) {}
    for fresh in [&b""[..], b"n", b"nd--\r\n"] {
        let _ = parser.feed(&mut BytesMut::from(fresh));
    }
    let _ = parser.finish();
}

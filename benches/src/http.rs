//! HTTP inputs (a browser's GET, pipelined) and the raw-httparse floor.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BytesMut};

use crate::websocket::MemoryStream;

/// A GET as Chrome sends it for a page: 400-odd bytes, 12 header lines.
pub const BROWSER_GET: &[u8] = b"GET /articles/2026/11/rust-http-parsing?page=2&sort=new HTTP/1.1\r\n\
Host: www.example.com\r\n\
Connection: keep-alive\r\n\
Cache-Control: max-age=0\r\n\
Upgrade-Insecure-Requests: 1\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n\
Sec-Fetch-Site: same-origin\r\n\
Sec-Fetch-Mode: navigate\r\n\
Sec-Fetch-Dest: document\r\n\
Referer: https://www.example.com/articles/2026/11/\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
\r\n";

/// `count` browser GETs back to back, as a pipelining client sends them.
pub fn pipelined(count: usize) -> Vec<u8> {
    BROWSER_GET.repeat(count)
}

/// The floor: httparse on each request in turn, nothing kept, nothing checked beyond
/// what httparse checks. Returns the count.
pub fn raw_httparse(buf: &mut BytesMut) -> usize {
    let mut count = 0;
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(buf) {
            Ok(httparse::Status::Complete(length)) => {
                std::hint::black_box(&request);
                buf.advance(length);
                count += 1;
            }
            _ => return count,
        }
    }
}

/// What a server without an incremental pre-scan does on a 1-byte drip: httparse on the
/// whole buffer after every read, until the head is complete.
pub fn httparse_drip(wire: &[u8]) -> usize {
    let mut buf = Vec::with_capacity(wire.len());
    for &byte in wire {
        buf.push(byte);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut headers);
        if let Ok(httparse::Status::Complete(length)) = request.parse(&buf) {
            return length;
        }
    }
    0
}

/// [`MemoryStream`] for hyper's own I/O traits.
pub struct HyperStream(pub MemoryStream);

impl hyper::rt::Read for HyperStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let input = &mut self.0.input;
        let n = buf.remaining().min(input.len());
        buf.put_slice(&input[..n]);
        input.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl hyper::rt::Write for HyperStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.0.output.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut n = 0;
        for buf in bufs {
            self.0.output.extend_from_slice(buf);
            n += buf.len();
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

//! The transports a driver runs on: plain and Unix sockets read once they are readable
//! (an idle connection holds no read buffer), TLS streams read into a buffer reserved up
//! front.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::buffers;

/// A stream transport the driver can run: it reads into a `BytesMut` that it grows only
/// once the transport is readable, so an idle connection holds no read buffer.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// Reads into `buf`, with at least about `room` bytes free for the read.
    fn poll_read_into(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
        room: usize,
    ) -> Poll<io::Result<usize>>;
}

macro_rules! ready_then_read {
    ($stream:ty) => {
        impl Io for $stream {
            fn poll_read_into(
                &mut self,
                cx: &mut Context<'_>,
                buf: &mut BytesMut,
                room: usize,
            ) -> Poll<io::Result<usize>> {
                ready!(self.poll_read_ready(cx))?;
                reserve(buf, room);
                // poll_read rather than try_read: a read that does not fill the buffer
                // clears the readiness, which saves the read that would only say
                // EWOULDBLOCK (one system call in three for a request-reply peer).
                tokio_util::io::poll_read_buf(Pin::new(self), cx, buf)
            }
        }
    };
}

ready_then_read!(tokio::net::TcpStream);
#[cfg(unix)]
ready_then_read!(tokio::net::UnixStream);

/// TLS streams: rustls decrypts into its own buffer, so there is no readiness to wait
/// for first; the read buffer is reserved up front.
macro_rules! read_into_reserved {
    ($stream:ty) => {
        impl Io for $stream {
            fn poll_read_into(
                &mut self,
                cx: &mut Context<'_>,
                buf: &mut BytesMut,
                room: usize,
            ) -> Poll<io::Result<usize>> {
                reserve(buf, room);
                tokio_util::io::poll_read_buf(Pin::new(self), cx, buf)
            }
        }
    };
}

read_into_reserved!(tokio_rustls::server::TlsStream<tokio::net::TcpStream>);
read_into_reserved!(tokio_rustls::client::TlsStream<tokio::net::TcpStream>);

fn reserve(buf: &mut BytesMut, room: usize) {
    if buf.capacity() == 0 {
        *buf = buffers::take(room);
    } else if buf.capacity() - buf.len() < room / 4 {
        buf.reserve(room);
    }
}

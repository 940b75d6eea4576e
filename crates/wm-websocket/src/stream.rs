//! The async convenience: `accept` / `connect` run the opening handshake over any tokio
//! stream, and [`WebSocketStream`] then answers pings and closes without waiting for the
//! application to send something.

use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::BytesMut;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::codec::{Framed, FramedParts};

use crate::close::CloseFrame;
use crate::handshake::{ClientRequest, Response, ServerOptions};
use crate::{Config, Error, Message, Protocol, Role, State, WebSocket, WebSocketCodec};

/// Runs the server's opening handshake on `stream` with the default [`Config`], accepting
/// any valid request without a subprotocol.
///
/// Cancel safety: the stream is owned by the future, so dropping it mid-handshake drops
/// the connection; nothing is left half-done.
pub async fn accept<S>(stream: S) -> Result<WebSocketStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    accept_with(stream, Config::default(), ServerOptions::new()).await
}

/// [`accept`] with limits and a way to select a subprotocol or refuse the request. A
/// refused or invalid request is answered (400, 426, 431 or the hook's status) before the
/// error is returned.
pub async fn accept_with<S>(
    stream: S,
    config: Config,
    options: ServerOptions,
) -> Result<WebSocketStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    handshake(stream, WebSocket::accepting(config, options)).await
}

/// Runs the client's opening handshake for `url` (`ws://host:port/path`, or `wss://` over
/// a stream that is already TLS) on a connected `stream`, with the default [`Config`].
/// Returns the open stream and the server's `101`. Frames the server sent right behind
/// its `101` are kept.
///
/// Cancel safety: as for [`accept`].
pub async fn connect<S>(stream: S, url: &str) -> Result<(WebSocketStream<S>, Response), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    connect_with(stream, ClientRequest::new(url)?, Config::default()).await
}

/// [`connect`] with a prepared request (origin, subprotocols, headers) and limits.
pub async fn connect_with<S>(
    stream: S,
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocketStream<S>, Response), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let stream = handshake(stream, WebSocket::connecting(config, request)?).await?;
    let response = stream
        .protocol()
        .response()
        .cloned()
        .ok_or(Error::UnexpectedEof { buffered: 0 })?;
    Ok((stream, response))
}

async fn handshake<S>(mut stream: S, mut protocol: WebSocket) -> Result<WebSocketStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut read = BytesMut::with_capacity(4096);
    let mut write = BytesMut::new();
    loop {
        // The request (client) before the first read; the 101 (server) once it is queued.
        if protocol.take_output(&mut write) > 0 {
            stream.write_all_buf(&mut write).await?;
            stream.flush().await?;
        }
        if protocol.state() == State::Open {
            break;
        }
        match protocol.decode_handshake(&mut read) {
            Ok(true) => continue,
            Ok(false) => {}
            Err(error) => {
                // The HTTP answer to a bad request, best effort: the error is what matters.
                if protocol.take_output(&mut write) > 0 {
                    let _ = stream.write_all_buf(&mut write).await;
                    let _ = stream.shutdown().await;
                }
                return Err(error);
            }
        }
        if stream.read_buf(&mut read).await? == 0 {
            return Err(Error::UnexpectedEof {
                buffered: read.len(),
            });
        }
    }
    let mut parts = FramedParts::new::<Message>(stream, WebSocketCodec::from(protocol));
    parts.read_buf = read;
    Ok(WebSocketStream {
        framed: Framed::from_parts(parts),
        shut_down: false,
    })
}

/// An open WebSocket over a tokio stream: a `Stream` of received [`Message`]s and a `Sink`
/// of messages to send.
///
/// Pongs and close echoes are written while the stream is polled, without waiting for the
/// application to send. After the close handshake (or a protocol error, whose close frame
/// it writes) the stream flushes, shuts its write side and ends.
///
/// Cancel safety: `next()` is cancel-safe, since a partial message stays in the buffer.
/// A `send` that is cancelled may have queued its message; the next flush writes it.
#[derive(Debug)]
pub struct WebSocketStream<S> {
    framed: Framed<S, WebSocketCodec>,
    shut_down: bool,
}

impl<S> WebSocketStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Wraps a stream whose handshake is already done, for `role`.
    pub fn from_raw(stream: S, role: Role, config: Config) -> Self {
        Self {
            framed: Framed::new(stream, WebSocketCodec::from(WebSocket::new(role, config))),
            shut_down: false,
        }
    }

    /// The protocol state (role, [`State`], the handshake's request or response).
    pub fn protocol(&self) -> &WebSocket {
        self.framed.codec().get_ref()
    }

    /// The transport.
    pub fn get_ref(&self) -> &S {
        self.framed.get_ref()
    }

    /// The transport, for use with another driver (a `Framed` with
    /// [`WebSocketCodec`]). Bytes already read or not yet written are lost, so call this
    /// only between messages, right after a handshake or a flush.
    pub fn into_inner(self) -> S {
        self.framed.into_inner()
    }

    /// Starts the close handshake and waits, up to `timeout`, for the peer's close;
    /// messages that arrive meanwhile are dropped. Then shuts the write side down.
    pub async fn close(
        &mut self,
        close: Option<CloseFrame>,
        timeout: Duration,
    ) -> Result<(), Error> {
        if self.protocol().state() == State::Open {
            self.send(Message::Close(close)).await?;
        }
        let drain = async {
            while let Some(item) = self.next().await {
                item?;
            }
            Ok::<(), Error>(())
        };
        let result = match tokio::time::timeout(timeout, drain).await {
            Ok(result) => result,
            Err(_) => Ok(()),
        };
        if !self.shut_down {
            self.shut_down = true;
            let _ = SinkExt::<Message>::close(&mut self.framed).await;
        }
        result
    }

    /// Moves what the protocol queued (a pong, a close echo) into the write buffer and
    /// writes as much as the transport takes now. While the write buffer is over
    /// [`OUTPUT_HIGH_WATER`] (a peer that does not read), the protocol's output stays where
    /// it is, and there, past [`MAX_QUEUED_PONGS`](crate::MAX_QUEUED_PONGS), later pings
    /// replace an unsent pong instead of adding to it.
    fn poll_output(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.protocol().has_output() && self.framed.write_buffer().len() < OUTPUT_HIGH_WATER {
            let mut output = BytesMut::new();
            self.framed.codec_mut().get_mut().take_output(&mut output);
            self.framed.write_buffer_mut().extend_from_slice(&output);
        }
        SinkExt::<Message>::poll_flush_unpin(&mut self.framed, cx)
    }

    /// Writes and flushes everything, the protocol's output included.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        loop {
            ready!(self.poll_output(cx))?;
            if !self.protocol().has_output() {
                return Poll::Ready(Ok(()));
            }
        }
    }
}

/// How many unsent bytes may wait in the write buffer before the protocol's own output
/// (pongs) is held back.
const OUTPUT_HIGH_WATER: usize = 64 * 1024;

impl<S> Stream for WebSocketStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.shut_down {
            return Poll::Ready(None);
        }
        if this.protocol().state() == State::Closed {
            // Everything after the close handshake: flush, shut down, end.
            let shut = match ready!(this.poll_drain(cx)) {
                Ok(()) => ready!(SinkExt::<Message>::poll_close_unpin(&mut this.framed, cx)),
                Err(error) => Err(error),
            };
            this.shut_down = true;
            return match shut {
                Ok(()) => Poll::Ready(None),
                Err(error) => Poll::Ready(Some(Err(error))),
            };
        }
        // Pending output is written as far as the transport takes it; the rest is retried
        // on the next poll or send. A transport that fails ends the stream.
        if let Poll::Ready(Err(error)) = this.poll_output(cx) {
            this.shut_down = true;
            return Poll::Ready(Some(Err(error)));
        }
        let item = ready!(this.framed.poll_next_unpin(cx));
        if let Some(Err(_)) | Some(Ok(Message::Ping(_) | Message::Close(_))) = &item {
            // Answer now; a failed write shows on the next poll.
            let _ = this.poll_output(cx);
        }
        Poll::Ready(item)
    }
}

impl<S> Sink<Message> for WebSocketStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        SinkExt::<Message>::poll_ready_unpin(&mut self.get_mut().framed, cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        self.get_mut().framed.start_send_unpin(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_drain(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        this.shut_down = true;
        SinkExt::<Message>::poll_close_unpin(&mut this.framed, cx)
    }
}

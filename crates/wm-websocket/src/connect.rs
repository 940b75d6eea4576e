//! The client's front door by URL (feature `net`): open the TCP connection (and, feature
//! `rustls`, TLS for `wss://`) and run the handshake, as tokio-tungstenite's
//! `connect_async` does. The URL goes through [`wm_protocol::url`], the parser wm-server's
//! clients use.

use std::io;
use std::pin::Pin;
#[cfg(feature = "rustls")]
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::handshake::{ClientRequest, HandshakeError, Response};
use crate::{connect_with, Config, Error, WebSocketStream};

/// A client's transport: TCP for `ws://`, TLS over TCP for `wss://` (feature `rustls`).
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientStream {
    /// `ws://`.
    Plain(TcpStream),
    /// `wss://`.
    #[cfg(feature = "rustls")]
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl ClientStream {
    /// The TCP connection underneath.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Self::Plain(tcp) => tcp,
            #[cfg(feature = "rustls")]
            Self::Tls(tls) => tls.get_ref().0,
        }
    }
}

macro_rules! each {
    ($self:ident, $stream:ident => $call:expr) => {
        match $self.get_mut() {
            ClientStream::Plain($stream) => $call,
            #[cfg(feature = "rustls")]
            ClientStream::Tls($stream) => $call,
        }
    };
}

impl AsyncRead for ClientStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        each!(self, stream => Pin::new(stream).poll_read(cx, buf))
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        each!(self, stream => Pin::new(stream).poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, stream => Pin::new(stream).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, stream => Pin::new(stream).poll_shutdown(cx))
    }
}

/// Connects to `url` (`ws://host[:port]/path`, or `wss://` with feature `rustls`, which
/// trusts the Mozilla roots), runs the handshake with the default [`Config`], and returns
/// the open stream and the server's `101`.
///
/// ```no_run
/// use futures_util::{SinkExt, StreamExt};
/// use wm_websocket::{connect_url, Message};
///
/// # async fn run() -> Result<(), wm_websocket::Error> {
/// let (mut ws, _response) = connect_url("ws://127.0.0.1:2345/chat").await?;
/// ws.send(Message::Text("hello".into())).await?;
/// let reply = ws.next().await;
/// # Ok(())
/// # }
/// ```
pub async fn connect_url(url: &str) -> Result<(WebSocketStream<ClientStream>, Response), Error> {
    connect_url_with(ClientRequest::new(url)?, Config::default()).await
}

/// [`connect_url`] with a prepared request (origin, subprotocols, headers) and limits.
pub async fn connect_url_with(
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocketStream<ClientStream>, Response), Error> {
    #[cfg(feature = "rustls")]
    if request.is_secure() {
        return connect_url_with_tls(request, config, default_tls()).await;
    }
    if request.is_secure() {
        return Err(HandshakeError::InvalidUrl(
            "wss:// needs wm-websocket's `rustls` feature".to_owned(),
        )
        .into());
    }
    let tcp = open(&request).await?;
    connect_with(ClientStream::Plain(tcp), request, config).await
}

/// [`connect_url_with`] for `wss://` with a TLS configuration of your own (a private CA,
/// client certificates). A `ws://` request ignores `tls`.
#[cfg(feature = "rustls")]
pub async fn connect_url_with_tls(
    request: ClientRequest,
    config: Config,
    tls: Arc<rustls::ClientConfig>,
) -> Result<(WebSocketStream<ClientStream>, Response), Error> {
    let tcp = open(&request).await?;
    if !request.is_secure() {
        return connect_with(ClientStream::Plain(tcp), request, config).await;
    }
    let name =
        rustls::pki_types::ServerName::try_from(request.host().to_owned()).map_err(|_| {
            HandshakeError::InvalidUrl(format!("{:?} is not a TLS server name", request.host()))
        })?;
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await?;
    connect_with(ClientStream::Tls(Box::new(stream)), request, config).await
}

/// The TCP connection to the request's host and port, without Nagle's delay (a handshake
/// and small messages go out at once).
async fn open(request: &ClientRequest) -> Result<TcpStream, Error> {
    let tcp = TcpStream::connect((request.host(), request.port())).await?;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

/// The Mozilla roots, with ring as the provider; made once.
#[cfg(feature = "rustls")]
fn default_tls() -> Arc<rustls::ClientConfig> {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}

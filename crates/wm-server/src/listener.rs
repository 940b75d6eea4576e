//! What each worker thread runs: the accept loop for a stream listener (TCP, TLS, Unix),
//! or the receive loop for UDP, until the worker stops.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use socket2::Socket;
use tokio::sync::watch;

use crate::connection::{EndpointShared, Kind, PeerAddr};
use crate::driver::Driver;
use crate::registry::Transport;
use crate::stats::Counters;
use crate::worker::Signal;
use crate::{Connection, ConnectionError, TlsServer, WorkerThread};

/// The largest UDP datagram.
const MAX_DATAGRAM: usize = 65_536;

/// What one thread serves: a socket of the listener.
pub(crate) struct Listener {
    /// The thread's number among the worker's (`WorkerThread::id`).
    pub(crate) id: usize,
    pub(crate) socket: Socket,
    pub(crate) transport: Transport,
    pub(crate) tls: Option<TlsServer>,
    pub(crate) endpoint: Arc<EndpointShared>,
    pub(crate) signal: watch::Receiver<Signal>,
}

impl Listener {
    /// The thread's event loop: `on_worker_start`, accept (or receive datagrams) until
    /// told to stop, `on_worker_stop` and the end of the thread's timers, then let the
    /// connections close until told to exit.
    pub(crate) async fn serve(self) {
        let Self {
            id,
            socket,
            transport,
            tls,
            endpoint,
            mut signal,
        } = self;
        let thread = WorkerThread::new(id, endpoint.clone());
        // The thread's callbacks and timers find it; served on the calling thread
        // (`run_all`), the guard lives as long as this future is polled there.
        let _entered = thread.enter();
        endpoint.threads_serving.fetch_add(1, Ordering::AcqRel);
        thread.started();
        let accepting = async {
            let result = match transport {
                Transport::Tcp => accept_tcp(socket, tls, &endpoint).await,
                #[cfg(unix)]
                Transport::Unix => accept_unix(socket, &endpoint).await,
                Transport::Udp => receive_udp(socket, &endpoint).await,
                #[cfg(not(unix))]
                Transport::Unix => Ok(()),
            };
            if let Err(error) = result {
                tracing::error!(name = %endpoint.name, %error, "listener failed");
            }
        };
        tokio::select! {
            () = accepting => {}
            _ = signal.wait_for(|s| *s != Signal::Run) => {}
        }
        // Stop accepting first; then the stop waits for this before closing connections.
        let _ = signal.wait_for(|s| *s != Signal::Run).await;
        thread.stopped();
        endpoint.threads_serving.fetch_sub(1, Ordering::AcqRel);
        let _ = signal.wait_for(|s| *s == Signal::Exit).await;
    }
}

async fn accept_tcp(
    socket: Socket,
    tls: Option<TlsServer>,
    endpoint: &Arc<EndpointShared>,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::from_std(std::net::TcpListener::from(socket))?;
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let local = stream.local_addr().ok().map(PeerAddr::Inet);
                let Some(tls) = &tls else {
                    if let Some(connection) =
                        Connection::new(endpoint.clone(), Kind::Stream, PeerAddr::Inet(peer), local)
                    {
                        tokio::spawn(Driver::new(stream, connection).run());
                    }
                    continue;
                };
                let acceptor = tls.0.clone();
                let endpoint = endpoint.clone();
                tokio::spawn(async move {
                    // The TLS handshake is bounded by the handshake timeout too.
                    let limit = endpoint.options.handshake_timeout.unwrap_or(Duration::MAX);
                    match tokio::time::timeout(limit, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            if let Some(connection) =
                                Connection::new(endpoint, Kind::Stream, PeerAddr::Inet(peer), local)
                            {
                                Driver::new(stream, connection).run().await;
                            }
                        }
                        Ok(Err(error)) => {
                            Counters::add(&endpoint.counters.protocol_errors, 1);
                            tracing::debug!(%peer, %error, "TLS handshake failed");
                        }
                        Err(_) => {
                            Counters::add(&endpoint.counters.timeouts, 1);
                            tracing::debug!(%peer, "TLS handshake timeout");
                        }
                    }
                });
            }
            Err(error) => accept_failed(error).await,
        }
    }
}

#[cfg(unix)]
async fn accept_unix(socket: Socket, endpoint: &Arc<EndpointShared>) -> std::io::Result<()> {
    let listener =
        tokio::net::UnixListener::from_std(std::os::unix::net::UnixListener::from(socket))?;
    let local = listener
        .local_addr()
        .ok()
        .map(|a| PeerAddr::Unix(a.as_pathname().map(ToOwned::to_owned)));
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let peer = PeerAddr::Unix(peer.as_pathname().map(ToOwned::to_owned));
                if let Some(connection) =
                    Connection::new(endpoint.clone(), Kind::Stream, peer, local.clone())
                {
                    tokio::spawn(Driver::new(stream, connection).run());
                }
            }
            Err(error) => accept_failed(error).await,
        }
    }
}

/// Out of file descriptors, say: log, breathe, go on.
async fn accept_failed(error: std::io::Error) {
    tracing::warn!(%error, "accept failed");
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// UDP: each datagram decoded on its own, and handed out with a connection whose sends
/// go back to its sender. No connect or close events.
async fn receive_udp(socket: Socket, endpoint: &Arc<EndpointShared>) -> std::io::Result<()> {
    let socket = Arc::new(tokio::net::UdpSocket::from_std(std::net::UdpSocket::from(
        socket,
    ))?);
    let local = socket.local_addr().ok().map(PeerAddr::Inet);
    let mut buffer = BytesMut::with_capacity(MAX_DATAGRAM);
    loop {
        buffer.clear();
        buffer.reserve(MAX_DATAGRAM);
        let (length, peer) = match socket.recv_buf_from(&mut buffer).await {
            Ok(received) => received,
            Err(error) => {
                // An ICMP error from an earlier send shows up here on some systems.
                tracing::debug!(%error, "udp receive failed");
                continue;
            }
        };
        let counters = &endpoint.counters;
        Counters::add(&counters.bytes_read, length as u64);
        let Some(connection) = Connection::new(
            endpoint.clone(),
            Kind::Datagram {
                socket: socket.clone(),
                peer,
            },
            PeerAddr::Inet(peer),
            local.clone(),
        ) else {
            continue;
        };
        // Copied out, so that a message the handler keeps pins its own bytes, not the
        // 64 KiB receive buffer.
        let mut datagram = BytesMut::from(&buffer[..length]);
        loop {
            let decoded = crate::protocols::decode_guarded(
                &mut *crate::connection::lock(&connection.0.state).protocol,
                &mut datagram,
                true,
                counters,
            );
            match decoded {
                Ok(Some(message)) => {
                    Counters::add(&counters.messages_received, 1);
                    connection.callback(|handler, conn| handler.on_message(conn, message));
                }
                Ok(None) => break,
                Err(error) => {
                    Counters::add(&counters.protocol_errors, 1);
                    let error = ConnectionError::Protocol(error);
                    connection.callback(|handler, conn| handler.on_error(conn, &error));
                    break;
                }
            }
        }
    }
}

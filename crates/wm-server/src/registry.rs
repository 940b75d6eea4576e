//! Scheme → protocol: Workerman looks up a class named after the scheme; here a table,
//! filled with the built-in protocols, that applications add to.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use wm_websocket::handshake::ServerOptions;

use crate::protocols::{
    DynProtocol, FrameProtocol, HttpServerProtocol, JsonNlServerProtocol, ProtocolContext,
    RawProtocol, TextProtocol, WebSocketProtocol,
};
use crate::ConfigError;

/// Builds the protocol of one new connection.
pub type ProtocolFactory = Arc<dyn Fn(&ProtocolContext) -> Box<dyn DynProtocol> + Send + Sync>;

/// The socket a listener or client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// TCP.
    Tcp,
    /// UDP: each datagram is decoded on its own; no connect or close events.
    Udp,
    /// A Unix stream socket.
    Unix,
}

impl Transport {
    /// The transport's scheme name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
            Self::Unix => "unix",
        }
    }
}

#[derive(Clone)]
struct Entry {
    factory: ProtocolFactory,
    /// A stream protocol that needs the connection's state across reads (everything
    /// but raw bytes and the stateless framings) cannot run over UDP.
    datagrams: bool,
}

/// The schemes a [`Worker`](crate::Worker) or [`Client`](crate::Client) can be built
/// from: `text`, `frame`, `jsonnl`, `websocket` (`ws` for clients), `http`, and the bare
/// transports `tcp`, `udp`, `unix`, plus any the application registers. Scheme names are
/// case-insensitive, as `JsonNL://` is in Workerman.
#[derive(Clone)]
pub struct Registry {
    schemes: HashMap<String, Entry>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<_> = self.schemes.keys().collect();
        names.sort();
        f.debug_struct("Registry").field("schemes", &names).finish()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

/// The schemes that are transports, not protocols.
const TRANSPORTS: [(&str, Transport); 3] = [
    ("tcp", Transport::Tcp),
    ("udp", Transport::Udp),
    ("unix", Transport::Unix),
];

impl Registry {
    /// The built-in schemes.
    pub fn new() -> Self {
        let mut registry = Self {
            schemes: HashMap::new(),
        };
        registry.insert("text", true, |c| Box::new(TextProtocol::new(c)));
        registry.insert("frame", true, |c| Box::new(FrameProtocol::new(c)));
        registry.insert("jsonnl", true, |c| Box::new(JsonNlServerProtocol::new(c)));
        registry.insert("http", false, |c| Box::new(HttpServerProtocol::new(c)));
        registry.insert("websocket", false, |c| {
            Box::new(WebSocketProtocol::server(c, ServerOptions::new()))
        });
        registry
    }

    fn insert(
        &mut self,
        scheme: &str,
        datagrams: bool,
        factory: impl Fn(&ProtocolContext) -> Box<dyn DynProtocol> + Send + Sync + 'static,
    ) {
        self.schemes.insert(
            scheme.to_ascii_lowercase(),
            Entry {
                factory: Arc::new(factory),
                datagrams,
            },
        );
    }

    /// Registers (or replaces) a stream protocol under `scheme`, which must match
    /// `^[a-zA-Z][a-zA-Z0-9]*$` as Workerman's schemes do and must not be a transport
    /// name. Replacing a built-in changes its options (a WebSocket subprotocol list, an
    /// subprotocols a WebSocket server speaks, say).
    ///
    /// # Panics
    ///
    /// If the name is not a valid scheme: a programming error, like a bad regex.
    pub fn register(
        &mut self,
        scheme: &str,
        factory: impl Fn(&ProtocolContext) -> Box<dyn DynProtocol> + Send + Sync + 'static,
    ) -> &mut Self {
        assert!(
            wm_protocol::url::valid_scheme(scheme) && transport(scheme).is_none(),
            "{scheme:?} is not a scheme a protocol can be registered under"
        );
        self.insert(scheme, false, factory);
        self
    }

    /// As [`register`](Self::register), for a protocol that decodes each UDP datagram on
    /// its own (it keeps no state between messages).
    pub fn register_datagram(
        &mut self,
        scheme: &str,
        factory: impl Fn(&ProtocolContext) -> Box<dyn DynProtocol> + Send + Sync + 'static,
    ) -> &mut Self {
        self.register(scheme, factory);
        if let Some(entry) = self.schemes.get_mut(&scheme.to_ascii_lowercase()) {
            entry.datagrams = true;
        }
        self
    }

    /// Whether `scheme` names a protocol or a transport.
    pub fn contains(&self, scheme: &str) -> bool {
        let scheme = scheme.to_ascii_lowercase();
        self.schemes.contains_key(&scheme) || transport(&scheme).is_some()
    }

    /// The factory for a server's `scheme` over `transport`.
    pub(crate) fn server(
        &self,
        scheme: &str,
        transport: Transport,
    ) -> Result<ProtocolFactory, ConfigError> {
        let lower = scheme.to_ascii_lowercase();
        if let Some(bare) = self::transport(&lower) {
            let name = bare.name();
            return Ok(Arc::new(move |_: &ProtocolContext| {
                Box::new(RawProtocol::new(name)) as Box<dyn DynProtocol>
            }));
        }
        if lower == "ws" {
            return Err(ConfigError::WrongSide {
                scheme: scheme.to_owned(),
                side: "clients",
            });
        }
        let entry = self
            .schemes
            .get(&lower)
            .ok_or_else(|| ConfigError::UnknownScheme(scheme.to_owned()))?;
        if transport == Transport::Udp && !entry.datagrams {
            return Err(ConfigError::UnsupportedTransport {
                scheme: scheme.to_owned(),
                transport: "udp",
            });
        }
        Ok(entry.factory.clone())
    }

    /// The factory for a client's `scheme` (`ws` is the WebSocket client).
    pub(crate) fn client(&self, scheme: &str) -> Result<ProtocolFactory, ConfigError> {
        let lower = scheme.to_ascii_lowercase();
        if let Some(bare) = self::transport(&lower) {
            let name = bare.name();
            return Ok(Arc::new(move |_: &ProtocolContext| {
                Box::new(RawProtocol::new(name)) as Box<dyn DynProtocol>
            }));
        }
        match lower.as_str() {
            "websocket" | "http" => Err(ConfigError::WrongSide {
                scheme: scheme.to_owned(),
                side: "servers",
            }),
            _ => self
                .schemes
                .get(&lower)
                .map(|entry| entry.factory.clone())
                .ok_or_else(|| ConfigError::UnknownScheme(scheme.to_owned())),
        }
    }
}

/// The transport a bare transport scheme names.
pub(crate) fn transport(scheme: &str) -> Option<Transport> {
    TRANSPORTS
        .iter()
        .find(|(name, _)| scheme.eq_ignore_ascii_case(name))
        .map(|&(_, transport)| transport)
}

//! `scheme://host:port/target`, and `scheme:///path` for a Unix socket: the URLs Workerman
//! listens on (`websocket://0.0.0.0:2345`, `unix:///tmp/app.sock`) and its clients connect
//! to (`ws://example.com/chat?room=1`). One parser for every wm crate, so that a URL means
//! the same to a listener, a client and a WebSocket handshake.
//!
//! ```
//! use wm_protocol::url::{Address, Url};
//!
//! let url = Url::parse("ws://[::1]:8080/chat?room=1", Some(80))?;
//! assert_eq!(url.scheme, "ws");
//! assert_eq!(url.address, Address::Inet { host: "::1".into(), port: 8080 });
//! assert_eq!(url.target, "/chat?room=1");
//! assert_eq!(url.address.to_string(), "[::1]:8080");
//! # Ok::<(), wm_protocol::url::UrlError>(())
//! ```

use std::path::PathBuf;

/// Where a URL points.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    /// A host (a name, IPv4, or IPv6 without its brackets) and a port.
    Inet {
        /// The host, IPv6 without brackets.
        host: String,
        /// The port (0 is left to the caller: a listener may bind it, a client may not).
        port: u16,
    },
    /// A Unix socket path (`unix:///tmp/app.sock`).
    Unix(PathBuf),
}

impl std::fmt::Display for Address {
    /// `host:port`, IPv6 in brackets; or the path.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Inet { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Self::Inet { host, port } => write!(f, "{host}:{port}"),
            Self::Unix(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A parsed URL.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Url {
    /// The scheme as written (a letter, then letters and digits).
    pub scheme: String,
    /// The host and port, or the Unix socket path.
    pub address: Address,
    /// What followed the authority (`/chat?room=1`); `/` if nothing did.
    pub target: String,
}

/// Why a URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
#[non_exhaustive]
pub struct UrlError {
    /// What was wrong, in a few words.
    pub reason: &'static str,
}

fn invalid(reason: &'static str) -> UrlError {
    UrlError { reason }
}

/// Whether `scheme` is one as Workerman writes them: a letter, then letters and digits.
pub fn valid_scheme(scheme: &str) -> bool {
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric())
}

impl Url {
    /// Parses `url`; `default_port` applies when the authority has none (80 for `ws://`,
    /// say; `None` makes a port required).
    pub fn parse(url: &str, default_port: Option<u16>) -> Result<Self, UrlError> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or(invalid("expected scheme://address"))?;
        if !valid_scheme(scheme) {
            return Err(invalid("a scheme is a letter, then letters and digits"));
        }
        if rest.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err(invalid(
                "spaces, control or non-ASCII characters (percent-encode them)",
            ));
        }
        if rest.contains('#') {
            return Err(invalid("a fragment (#) has no meaning here"));
        }
        if rest.starts_with('/') {
            if rest.len() == 1 {
                return Err(invalid("empty Unix socket path"));
            }
            return Ok(Self {
                scheme: scheme.to_owned(),
                address: Address::Unix(PathBuf::from(rest)),
                target: "/".to_owned(),
            });
        }
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(split);
        let target = match target {
            "" => "/".to_owned(),
            t if t.starts_with('?') => format!("/{t}"),
            t => t.to_owned(),
        };
        if authority.contains('@') {
            return Err(invalid("user information is not supported"));
        }
        let (host, port) = match authority.strip_prefix('[') {
            Some(bracketed) => {
                let (host, after) = bracketed
                    .split_once(']')
                    .ok_or(invalid("unclosed [ in an IPv6 address"))?;
                if !host.contains(':') {
                    return Err(invalid("brackets hold an IPv6 address"));
                }
                match after {
                    "" => (host, None),
                    p if p.starts_with(':') => (host, Some(&p[1..])),
                    _ => return Err(invalid("junk after an IPv6 address")),
                }
            }
            None => match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        if host.contains(':') && !authority.starts_with('[') {
            return Err(invalid("an IPv6 host goes in brackets"));
        }
        let port = match port {
            Some(port) => port
                .parse::<u16>()
                .ok()
                .filter(|_| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
                .ok_or(invalid("the port is not a number from 0 to 65535"))?,
            None => default_port.ok_or(invalid("no port"))?,
        };
        Ok(Self {
            scheme: scheme.to_owned(),
            address: Address::Inet {
                host: host.to_owned(),
                port,
            },
            target,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inet(host: &str, port: u16) -> Address {
        Address::Inet {
            host: host.to_owned(),
            port,
        }
    }

    #[test]
    fn workerman_and_client_urls() {
        let url = Url::parse("websocket://0.0.0.0:2345", None).unwrap();
        assert_eq!(
            (url.scheme.as_str(), &url.address),
            ("websocket", &inet("0.0.0.0", 2345))
        );
        let url = Url::parse("JsonNL://[::1]:80", None).unwrap();
        assert_eq!(
            (url.scheme.as_str(), &url.address),
            ("JsonNL", &inet("::1", 80))
        );
        let url = Url::parse("unix:///tmp/app.sock", None).unwrap();
        assert_eq!(url.address, Address::Unix("/tmp/app.sock".into()));
        let url = Url::parse("ws://example.com/chat?room=1", Some(80)).unwrap();
        assert_eq!(url.address, inet("example.com", 80));
        assert_eq!(url.target, "/chat?room=1");
        assert_eq!(Url::parse("ws://h:1?x", None).unwrap().target, "/?x");
        assert_eq!(
            Url::parse("text://h:0", None).unwrap().address,
            inet("h", 0)
        );
        assert_eq!(inet("::1", 1).to_string(), "[::1]:1");
    }

    #[test]
    fn bad_urls_say_why() {
        for (url, why) in [
            ("0.0.0.0:2345", "expected scheme://address"),
            (
                "web socket://0.0.0.0:1",
                "a scheme is a letter, then letters and digits",
            ),
            ("1ws://h:1", "a scheme is a letter, then letters and digits"),
            ("text://:1", "no host"),
            ("text://h", "no port"),
            ("text://h:65536", "the port is not a number from 0 to 65535"),
            ("text://h:+1", "the port is not a number from 0 to 65535"),
            ("text://h:", "the port is not a number from 0 to 65535"),
            ("text://[::1", "unclosed [ in an IPv6 address"),
            ("text://[::1]x", "junk after an IPv6 address"),
            ("text://[h]:1", "brackets hold an IPv6 address"),
            ("text://::1:80", "an IPv6 host goes in brackets"),
            ("ws://u@h:1/", "user information is not supported"),
            (
                "ws://h:1/a b",
                "spaces, control or non-ASCII characters (percent-encode them)",
            ),
            ("ws://h:1/#x", "a fragment (#) has no meaning here"),
            ("unix:///", "empty Unix socket path"),
        ] {
            assert_eq!(
                Url::parse(url, None),
                Err(UrlError { reason: why }),
                "{url}"
            );
        }
    }
}

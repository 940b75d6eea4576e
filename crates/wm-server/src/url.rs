//! `scheme://address` as Workerman splits it: the scheme up to the first `:`, then a
//! host and port, or a path for a Unix socket (`unix:///tmp/app.sock`,
//! `text:///tmp/app.sock`).

use std::path::PathBuf;

use crate::registry::valid_scheme;
use crate::ConfigError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Address {
    /// A host (name, IPv4, or IPv6 without its brackets) and a port.
    Inet { host: String, port: u16 },
    /// A Unix socket path.
    Unix(PathBuf),
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Inet { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Self::Inet { host, port } => write!(f, "{host}:{port}"),
            Self::Unix(path) => write!(f, "{}", path.display()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Url {
    pub(crate) scheme: String,
    pub(crate) address: Address,
    /// What followed the authority (`/chat?room=1`), `/` if nothing did.
    pub(crate) target: String,
}

fn invalid(url: &str, reason: &'static str) -> ConfigError {
    ConfigError::InvalidUrl {
        url: url.to_owned(),
        reason,
    }
}

/// Parses `url`; `default_port` applies when the authority has none (clients' `ws://`).
pub(crate) fn parse(url: &str, default_port: Option<u16>) -> Result<Url, ConfigError> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| invalid(url, "expected scheme://address"))?;
    if !valid_scheme(scheme) {
        return Err(invalid(
            url,
            "a scheme is a letter, then letters and digits",
        ));
    }
    if rest.starts_with('/') {
        if rest.len() == 1 {
            return Err(invalid(url, "empty Unix socket path"));
        }
        return Ok(Url {
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
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or_else(|| invalid(url, "unclosed [ in an IPv6 address"))?;
        match after {
            "" => (host, None),
            p if p.starts_with(':') => (host, Some(&p[1..])),
            _ => return Err(invalid(url, "junk after an IPv6 address")),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(invalid(url, "no host"));
    }
    let port = match port {
        Some(port) => port
            .parse::<u16>()
            .map_err(|_| invalid(url, "the port is not a number from 0 to 65535"))?,
        None => default_port.ok_or_else(|| invalid(url, "no port"))?,
    };
    Ok(Url {
        scheme: scheme.to_owned(),
        address: Address::Inet {
            host: host.to_owned(),
            port,
        },
        target,
    })
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
    fn workerman_urls() {
        let url = parse("websocket://0.0.0.0:2345", None).unwrap();
        assert_eq!(
            (url.scheme.as_str(), url.address),
            ("websocket", inet("0.0.0.0", 2345))
        );
        let url = parse("JsonNL://[::1]:80", None).unwrap();
        assert_eq!(
            (url.scheme.as_str(), url.address),
            ("JsonNL", inet("::1", 80))
        );
        let url = parse("unix:///tmp/app.sock", None).unwrap();
        assert_eq!(url.address, Address::Unix("/tmp/app.sock".into()));
        let url = parse("ws://example.com/chat?room=1", Some(80)).unwrap();
        assert_eq!(url.address, inet("example.com", 80));
        assert_eq!(url.target, "/chat?room=1");
        assert_eq!(parse("ws://h:1?x", None).unwrap().target, "/?x");
    }

    #[test]
    fn bad_urls_are_config_errors() {
        for url in [
            "0.0.0.0:2345",
            "web socket://0.0.0.0:1",
            "1ws://h:1",
            "text://:1",
            "text://h",
            "text://h:65536",
            "text://h:x",
            "text://[::1",
            "text://[::1]x",
            "unix:///",
        ] {
            assert!(
                matches!(parse(url, None), Err(ConfigError::InvalidUrl { .. })),
                "{url}"
            );
        }
    }
}

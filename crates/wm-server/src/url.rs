//! Listener and client URLs, as Workerman writes them: [`wm_protocol::url`], the parser
//! every wm crate uses (a `ws://` client's handshake request included), with its errors
//! as [`ConfigError`]s.

pub(crate) use wm_protocol::url::{Address, Url};

use crate::ConfigError;

/// Parses `url`; `default_port` applies when the authority has none (clients' `ws://`).
pub(crate) fn parse(url: &str, default_port: Option<u16>) -> Result<Url, ConfigError> {
    Url::parse(url, default_port).map_err(|error| ConfigError::InvalidUrl {
        url: url.to_owned(),
        reason: error.reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_urls_are_config_errors_with_the_reason() {
        assert!(matches!(
            parse("text://h", None),
            Err(ConfigError::InvalidUrl {
                reason: "no port",
                ..
            })
        ));
        assert_eq!(
            parse("unix:///tmp/app.sock", None).unwrap().address,
            Address::Unix("/tmp/app.sock".into())
        );
    }
}

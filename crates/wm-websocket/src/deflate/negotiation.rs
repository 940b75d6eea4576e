//! `Sec-WebSocket-Extensions` for permessage-deflate (RFC 7692 §5, §7.1): the extension
//! list parsed, an offer's and an answer's parameters checked, and how each end picks.
//!
//! Pure functions on header values: no I/O, no compression. The server declines what it
//! cannot accept (a bad offer is never a failed handshake: the next offer is tried, and
//! without one the connection opens uncompressed); the client fails the connection on an
//! answer its offer did not allow, as §5 and §7.1 require.

use std::fmt;

/// The extension's registered name.
pub const NAME: &str = "permessage-deflate";

/// The smallest LZ77 window a peer may name, as a power of two (256 bytes).
pub const MIN_WINDOW_BITS: u8 = 8;

/// The largest LZ77 window, as a power of two (32 KiB), which applies when none is named.
pub const MAX_WINDOW_BITS: u8 = 15;

/// Why an extension list, an offer or an answer is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NegotiationError {
    /// The header breaks the extension-list grammar (RFC 6455 §9.1) at this byte offset.
    #[error("malformed Sec-WebSocket-Extensions at byte {offset}")]
    Syntax {
        /// Where in the header value the grammar broke.
        offset: usize,
    },
    /// A parameter RFC 7692 does not define for this direction.
    #[error("unknown permessage-deflate parameter {0:?}")]
    UnknownParameter(String),
    /// A parameter given twice.
    #[error("permessage-deflate parameter {0:?} given twice")]
    DuplicateParameter(String),
    /// A parameter whose value is missing, present where none is allowed, or out of range.
    #[error("permessage-deflate parameter {name:?} has an invalid value {value:?}")]
    InvalidValue {
        /// The parameter.
        name: String,
        /// Its value as received (`None`: no value).
        value: Option<String>,
    },
    /// The server answered with permessage-deflate although the client did not offer it,
    /// or selected it twice.
    #[error("the server selected permessage-deflate, which was not offered (or twice)")]
    NotOffered,
    /// The answer breaks a limit the offer set (RFC 7692 §7.1).
    #[error("the server's permessage-deflate answer does not match the offer: {0}")]
    Mismatch(&'static str),
}

/// One element of an extension list: a name and its parameters, quoted values unquoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// The extension's name, as sent.
    pub name: String,
    /// The parameters in order; `None` for one without a value.
    pub params: Vec<(String, Option<String>)>,
}

/// Parses `Sec-WebSocket-Extensions` values (each header line a comma-separated list;
/// several lines form one list). Each element is parsed on its own: a malformed element is
/// an `Err` in its place, and the elements around it still count. Empty elements (`a,,b`)
/// are skipped, as the `#` rule allows.
pub fn parse_extensions<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Vec<Result<Extension, NegotiationError>> {
    let mut out = Vec::new();
    for value in values {
        let mut parser = Parser {
            bytes: value.as_bytes(),
            at: 0,
        };
        loop {
            parser.skip_spaces();
            match parser.peek() {
                None => break,
                Some(b',') => {
                    parser.at += 1;
                    continue;
                }
                Some(_) => {}
            }
            let element = parser.element();
            if element.is_err() {
                parser.skip_element();
            }
            out.push(element);
        }
    }
    out
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
}

/// `tchar` of RFC 9110 §5.6.2.
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    fn error(&self) -> NegotiationError {
        NegotiationError::Syntax { offset: self.at }
    }

    fn token(&mut self) -> Result<String, NegotiationError> {
        let start = self.at;
        while self.peek().is_some_and(is_tchar) {
            self.at += 1;
        }
        if self.at == start {
            return Err(self.error());
        }
        // Only ASCII was taken.
        Ok(String::from_utf8_lossy(&self.bytes[start..self.at]).into_owned())
    }

    /// A quoted-string, unescaped; its content must itself be a token (RFC 6455 §9.1).
    fn quoted(&mut self) -> Result<String, NegotiationError> {
        let start = self.at;
        self.at += 1;
        let mut value = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.error()),
                Some(b'"') => {
                    self.at += 1;
                    break;
                }
                Some(b'\\') => {
                    self.at += 1;
                    let Some(escaped) = self.peek() else {
                        return Err(self.error());
                    };
                    value.push(escaped);
                    self.at += 1;
                }
                Some(byte) => {
                    value.push(byte);
                    self.at += 1;
                }
            }
        }
        if value.is_empty() || !value.iter().copied().all(is_tchar) {
            return Err(NegotiationError::Syntax { offset: start });
        }
        Ok(String::from_utf8_lossy(&value).into_owned())
    }

    /// `extension-token *( OWS ";" OWS extension-param )`, up to the next `,` or the end.
    fn element(&mut self) -> Result<Extension, NegotiationError> {
        let name = self.token()?;
        let mut params = Vec::new();
        loop {
            self.skip_spaces();
            match self.peek() {
                None | Some(b',') => break,
                Some(b';') => self.at += 1,
                Some(_) => return Err(self.error()),
            }
            self.skip_spaces();
            let param = self.token()?;
            self.skip_spaces();
            let value = if self.peek() == Some(b'=') {
                self.at += 1;
                self.skip_spaces();
                Some(if self.peek() == Some(b'"') {
                    self.quoted()?
                } else {
                    self.token()?
                })
            } else {
                None
            };
            params.push((param, value));
        }
        Ok(Extension { name, params })
    }

    /// After an error: on to the next `,` that is not inside quotes.
    fn skip_element(&mut self) {
        let mut quoted = false;
        while let Some(byte) = self.peek() {
            match byte {
                b'"' => quoted = !quoted,
                b'\\' if quoted => self.at += 1,
                b',' if !quoted => return,
                _ => {}
            }
            self.at += 1;
        }
    }
}

/// `client_max_window_bits` in an offer: absent, present without a value (the client can
/// take a limit from the server), or a limit the client sets for itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientWindowOffer {
    /// Not in the offer: the server may not name one.
    #[default]
    Absent,
    /// Present without a value.
    Supported,
    /// Present with this value.
    Max(u8),
}

/// A client's permessage-deflate offer, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Offer {
    /// The client asks the server to reset its compressor after every message.
    pub server_no_context_takeover: bool,
    /// The client says it resets its compressor after every message.
    pub client_no_context_takeover: bool,
    /// The largest window the server may compress with.
    pub server_max_window_bits: Option<u8>,
    /// What the client says of its own window.
    pub client_max_window_bits: ClientWindowOffer,
}

/// Window bits as §7.1.2 writes them: 8 to 15, decimal, no leading zero.
fn window_bits(name: &str, value: Option<&str>) -> Result<u8, NegotiationError> {
    let invalid = || NegotiationError::InvalidValue {
        name: name.to_owned(),
        value: value.map(str::to_owned),
    };
    let text = value.ok_or_else(invalid)?;
    if text.starts_with('0') || text.len() > 2 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let bits: u8 = text.parse().map_err(|_| invalid())?;
    if (MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&bits) {
        Ok(bits)
    } else {
        Err(invalid())
    }
}

/// The parameters of one permessage-deflate element, each at most once, as `(name in
/// lower case, value)`.
fn params(extension: &Extension) -> Result<Vec<(String, Option<&str>)>, NegotiationError> {
    let mut seen: Vec<(String, Option<&str>)> = Vec::with_capacity(extension.params.len());
    for (name, value) in &extension.params {
        let lower = name.to_ascii_lowercase();
        if seen.iter().any(|(n, _)| *n == lower) {
            return Err(NegotiationError::DuplicateParameter(name.clone()));
        }
        seen.push((lower, value.as_deref()));
    }
    Ok(seen)
}

fn flag(name: &str, value: Option<&str>) -> Result<bool, NegotiationError> {
    match value {
        None => Ok(true),
        Some(value) => Err(NegotiationError::InvalidValue {
            name: name.to_owned(),
            value: Some(value.to_owned()),
        }),
    }
}

impl Offer {
    /// The offer in `extension`, which must be named permessage-deflate (ignoring case);
    /// `None` for another extension.
    pub fn parse(extension: &Extension) -> Option<Result<Self, NegotiationError>> {
        if !extension.name.eq_ignore_ascii_case(NAME) {
            return None;
        }
        Some(Self::parse_params(extension))
    }

    fn parse_params(extension: &Extension) -> Result<Self, NegotiationError> {
        let mut offer = Self::default();
        for (name, value) in params(extension)? {
            match name.as_str() {
                "server_no_context_takeover" => {
                    offer.server_no_context_takeover = flag(&name, value)?;
                }
                "client_no_context_takeover" => {
                    offer.client_no_context_takeover = flag(&name, value)?;
                }
                "server_max_window_bits" => {
                    offer.server_max_window_bits = Some(window_bits(&name, value)?);
                }
                "client_max_window_bits" => {
                    offer.client_max_window_bits = match value {
                        None => ClientWindowOffer::Supported,
                        Some(_) => ClientWindowOffer::Max(window_bits(&name, value)?),
                    };
                }
                _ => return Err(NegotiationError::UnknownParameter(name)),
            }
        }
        Ok(offer)
    }
}

impl fmt::Display for Offer {
    /// The offer as a `Sec-WebSocket-Extensions` element.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(NAME)?;
        if self.server_no_context_takeover {
            f.write_str("; server_no_context_takeover")?;
        }
        if self.client_no_context_takeover {
            f.write_str("; client_no_context_takeover")?;
        }
        if let Some(bits) = self.server_max_window_bits {
            write!(f, "; server_max_window_bits={bits}")?;
        }
        match self.client_max_window_bits {
            ClientWindowOffer::Absent => {}
            ClientWindowOffer::Supported => f.write_str("; client_max_window_bits")?,
            ClientWindowOffer::Max(bits) => write!(f, "; client_max_window_bits={bits}")?,
        }
        Ok(())
    }
}

/// What both ends agreed: the parameters of the server's answer, with the windows that
/// were not named at their largest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreement {
    /// The server resets its compressor (and the client its decompressor) after every
    /// message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor (and the server its decompressor) after every
    /// message.
    pub client_no_context_takeover: bool,
    /// The server's compression window (the client's decompression window), 8 to 15.
    pub server_max_window_bits: u8,
    /// The client's compression window (the server's decompression window), 8 to 15.
    pub client_max_window_bits: u8,
}

impl Default for Agreement {
    /// Every parameter at RFC 7692's default: context takeover both ways, 32 KiB windows
    /// (what a bare `permessage-deflate` answer means).
    fn default() -> Self {
        Self {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
        }
    }
}

impl fmt::Display for Agreement {
    /// The server's answer as a `Sec-WebSocket-Extensions` value: parameters at their
    /// defaults are left out. Written as an offer with the same parameters is.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let named = |bits: u8| (bits < MAX_WINDOW_BITS).then_some(bits);
        Offer {
            server_no_context_takeover: self.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover,
            server_max_window_bits: named(self.server_max_window_bits),
            client_max_window_bits: named(self.client_max_window_bits)
                .map_or(ClientWindowOffer::Absent, ClientWindowOffer::Max),
        }
        .fmt(f)
    }
}

/// The zlib level messages are compressed at by default: zlib's own default, which Node's
/// `ws` and Python's `websockets` also use.
pub const DEFAULT_LEVEL: u32 = 6;

/// Messages shorter than this go out uncompressed (RSV1 clear) by default. Below it,
/// DEFLATE's block header and the flush leave little to gain on a message that is not
/// compressed against the ones before, for the cost of a compressor's reset.
pub const DEFAULT_THRESHOLD: usize = 128;

/// What one end wants of permessage-deflate: the server's policy for the offers it
/// receives, or what a client offers; and, for either, how it compresses what it sends
/// (level, threshold), which is not negotiated.
///
/// The defaults are a server's: no compression state kept between messages in either
/// direction (each side's context is reset after every message), so that an idle
/// connection holds none: Node's `ws` documents the memory cost and fragmentation of
/// per-connection zlib contexts kept for the connection's life. Context takeover
/// compresses a stream of similar messages better; turn it on where the memory is there.
/// A client offers [`DeflateConfig::client`].
///
/// ```
/// use wm_websocket::deflate::DeflateConfig;
/// // A server that compresses with a 4 KiB window and lets clients keep their context.
/// let config = DeflateConfig {
///     server_max_window_bits: 12,
///     client_no_context_takeover: false,
///     ..DeflateConfig::default()
/// };
/// assert_eq!(config.level, 6);
/// // What a client offers by default: what browsers offer.
/// assert_eq!(
///     DeflateConfig::client().offer().to_string(),
///     "permessage-deflate; client_max_window_bits"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateConfig {
    /// The server resets its compressor after every message: the server says so in its
    /// answer even when the client did not ask; a client asks for it in its offer.
    /// Default `true`.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after every message: a server requires it in its
    /// answer, so its decompressor need not outlive a message; a client says so in its
    /// offer, and resets whatever the answer. Default `true`.
    pub client_no_context_takeover: bool,
    /// The largest window the server compresses with (a client asks for it). Default 15.
    pub server_max_window_bits: u8,
    /// The largest window the client may compress with, which bounds the server's
    /// decompression window; the server can name it only where the client's offer has
    /// `client_max_window_bits`. Default 15.
    pub client_max_window_bits: u8,
    /// zlib's compression level for what this end sends, 0 (stored) to 9. Default
    /// [`DEFAULT_LEVEL`].
    pub level: u32,
    /// Messages shorter than this many bytes are sent uncompressed. Default
    /// [`DEFAULT_THRESHOLD`]; 0 compresses every message.
    pub threshold: usize,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        Self {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
            level: DEFAULT_LEVEL,
            threshold: DEFAULT_THRESHOLD,
        }
    }
}

impl DeflateConfig {
    /// What a client offers by default: `permessage-deflate; client_max_window_bits`, as
    /// browsers do, which every server can accept as it is, Workerman's included (its
    /// bare `permessage-deflate` answer keeps its compressor's context, which an offer
    /// with `server_no_context_takeover` would have to refuse). The client compresses
    /// with context takeover where the answer allows it.
    pub fn client() -> Self {
        Self {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            ..Self::default()
        }
    }

    /// Server side: the agreement for the first offer in `offers` (the client's order of
    /// preference) that can be accepted, or `None` to go on without compression. Offers
    /// that break RFC 7692 (an unknown or repeated parameter, a bad value) are declined,
    /// and so are those of other extensions.
    pub fn accept<'a>(
        &self,
        offers: impl IntoIterator<Item = &'a Result<Extension, NegotiationError>>,
    ) -> Option<Agreement> {
        offers
            .into_iter()
            .filter_map(|offer| match offer {
                Ok(extension) => Offer::parse(extension)?.ok(),
                Err(_) => None,
            })
            .map(|offer| self.agree(&offer))
            .next()
    }

    /// The agreement for one valid offer: every offer can be met, since each limit a
    /// client sets can be honoured by compressing with less.
    pub fn agree(&self, offer: &Offer) -> Agreement {
        let own = self
            .server_max_window_bits
            .clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS);
        let wanted = self
            .client_max_window_bits
            .clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS);
        Agreement {
            server_no_context_takeover: offer.server_no_context_takeover
                || self.server_no_context_takeover,
            client_no_context_takeover: offer.client_no_context_takeover
                || self.client_no_context_takeover,
            server_max_window_bits: offer.server_max_window_bits.map_or(own, |n| n.min(own)),
            client_max_window_bits: match offer.client_max_window_bits {
                // Without the parameter the client keeps 15, whatever we would like.
                ClientWindowOffer::Absent => MAX_WINDOW_BITS,
                ClientWindowOffer::Supported => wanted,
                ClientWindowOffer::Max(n) => n.min(wanted),
            },
        }
    }

    /// Client side: the offer this configuration makes.
    pub fn offer(&self) -> Offer {
        let server_bits = self
            .server_max_window_bits
            .clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS);
        let client_bits = self
            .client_max_window_bits
            .clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS);
        Offer {
            server_no_context_takeover: self.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover,
            server_max_window_bits: (server_bits < MAX_WINDOW_BITS).then_some(server_bits),
            client_max_window_bits: if client_bits < MAX_WINDOW_BITS {
                ClientWindowOffer::Max(client_bits)
            } else {
                ClientWindowOffer::Supported
            },
        }
    }

    /// Client side: the agreement in the server's answer (`answer`: its parsed
    /// `Sec-WebSocket-Extensions`), `Ok(None)` if it did not select permessage-deflate.
    /// Any other extension in the answer is not ours to judge here.
    ///
    /// # Errors
    ///
    /// An answer that selects permessage-deflate more than once, breaks the grammar, or
    /// does not keep within what [`offer`](Self::offer) allowed (RFC 7692 §7.1): the
    /// client must then fail the connection.
    pub fn check_answer<'a>(
        &self,
        answer: impl IntoIterator<Item = &'a Result<Extension, NegotiationError>>,
    ) -> Result<Option<Agreement>, NegotiationError> {
        let offer = self.offer();
        let mut agreed = None;
        for element in answer {
            let extension = element.as_ref().map_err(Clone::clone)?;
            if !extension.name.eq_ignore_ascii_case(NAME) {
                continue;
            }
            if agreed.is_some() {
                return Err(NegotiationError::NotOffered);
            }
            agreed = Some(answer_agreement(&offer, extension)?);
        }
        Ok(agreed)
    }
}

/// The agreement in one answer element, checked against `offer`.
fn answer_agreement(offer: &Offer, extension: &Extension) -> Result<Agreement, NegotiationError> {
    // The same parameters as an offer's, each with the rules of an answer.
    let answer = Offer::parse_params(extension)?;
    let client_max_window_bits = match (answer.client_max_window_bits, offer.client_max_window_bits)
    {
        (ClientWindowOffer::Absent, _) => MAX_WINDOW_BITS,
        // An answer must give a value, and may only where the offer had the parameter.
        (ClientWindowOffer::Supported, _) => {
            return Err(NegotiationError::InvalidValue {
                name: "client_max_window_bits".to_owned(),
                value: None,
            })
        }
        (ClientWindowOffer::Max(_), ClientWindowOffer::Absent) => {
            return Err(NegotiationError::Mismatch(
                "client_max_window_bits was not offered",
            ))
        }
        (ClientWindowOffer::Max(bits), ClientWindowOffer::Max(most)) if bits > most => {
            return Err(NegotiationError::Mismatch(
                "client_max_window_bits above the offered value",
            ))
        }
        (ClientWindowOffer::Max(bits), _) => bits,
    };
    if offer.server_no_context_takeover && !answer.server_no_context_takeover {
        return Err(NegotiationError::Mismatch(
            "server_no_context_takeover was asked for and not granted",
        ));
    }
    match (offer.server_max_window_bits, answer.server_max_window_bits) {
        (Some(_), None) => {
            return Err(NegotiationError::Mismatch(
                "server_max_window_bits was asked for and not granted",
            ))
        }
        (Some(most), Some(bits)) if bits > most => {
            return Err(NegotiationError::Mismatch(
                "server_max_window_bits above the offered value",
            ))
        }
        _ => {}
    }
    Ok(Agreement {
        server_no_context_takeover: answer.server_no_context_takeover,
        client_no_context_takeover: answer.client_no_context_takeover,
        server_max_window_bits: answer.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS),
        client_max_window_bits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: &str) -> Vec<Result<Extension, NegotiationError>> {
        parse_extensions([value])
    }

    fn offer(value: &str) -> Result<Offer, NegotiationError> {
        let list = parse(value);
        assert_eq!(list.len(), 1, "{value}");
        Offer::parse(list[0].as_ref().unwrap()).unwrap()
    }

    #[test]
    fn a_list_with_quoted_values_spaces_and_empty_elements() {
        let list = parse_extensions([
            "permessage-deflate ; client_max_window_bits=\"10\" ;server_no_context_takeover,, x-foo",
            "permessage-deflate",
        ]);
        let names: Vec<_> = list
            .iter()
            .map(|e| e.as_ref().unwrap().name.as_str())
            .collect();
        assert_eq!(names, ["permessage-deflate", "x-foo", "permessage-deflate"]);
        assert_eq!(
            list[0].as_ref().unwrap().params,
            [
                ("client_max_window_bits".to_owned(), Some("10".to_owned())),
                ("server_no_context_takeover".to_owned(), None),
            ]
        );
    }

    #[test]
    fn a_malformed_element_is_an_error_in_its_place_and_the_rest_still_count() {
        let list =
            parse("permessage-deflate; a=\"x,y\" z, permessage-deflate; =1, permessage-deflate");
        assert!(matches!(list[0], Err(NegotiationError::Syntax { .. })));
        assert!(matches!(list[1], Err(NegotiationError::Syntax { .. })));
        assert_eq!(list[2].as_ref().unwrap().name, NAME);
        assert_eq!(list.len(), 3);
        // A quoted value must be a token once unquoted; an unterminated quote is an error.
        assert!(parse("permessage-deflate; a=\"1 0\"")[0].is_err());
        assert!(parse("permessage-deflate; a=\"10")[0].is_err());
        assert!(parse("permessage-deflate; a=\"\"")[0].is_err());
    }

    #[test]
    fn offers_with_every_parameter_in_both_forms() {
        assert_eq!(offer("permessage-deflate").unwrap(), Offer::default());
        assert_eq!(
            offer("permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits").unwrap(),
            Offer {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                server_max_window_bits: Some(10),
                client_max_window_bits: ClientWindowOffer::Supported,
            }
        );
        assert_eq!(
            offer("PerMessage-Deflate; Client_Max_Window_Bits=\"8\"")
                .unwrap()
                .client_max_window_bits,
            ClientWindowOffer::Max(8)
        );
    }

    #[test]
    fn invalid_offers_are_refused_with_the_reason() {
        for (value, expected) in [
            (
                "permessage-deflate; foo",
                NegotiationError::UnknownParameter("foo".into()),
            ),
            (
                "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
                NegotiationError::DuplicateParameter("server_no_context_takeover".into()),
            ),
            (
                "permessage-deflate; client_max_window_bits=10; CLIENT_MAX_WINDOW_BITS",
                NegotiationError::DuplicateParameter("CLIENT_MAX_WINDOW_BITS".into()),
            ),
        ] {
            assert_eq!(offer(value).unwrap_err(), expected, "{value}");
        }
        for value in [
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=010",
            "permessage-deflate; client_max_window_bits=0x9",
            "permessage-deflate; client_max_window_bits=100",
        ] {
            assert!(
                matches!(offer(value), Err(NegotiationError::InvalidValue { .. })),
                "{value}"
            );
        }
    }

    #[test]
    fn the_server_takes_the_first_offer_it_can_and_skips_bad_ones() {
        let config = DeflateConfig::default();
        let offers = parse(
            "x-webkit-deflate-frame, permessage-deflate; bogus, permessage-deflate; client_max_window_bits, permessage-deflate",
        );
        let agreed = config.accept(&offers).unwrap();
        assert_eq!(
            agreed,
            Agreement {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                server_max_window_bits: 15,
                client_max_window_bits: 15,
            }
        );
        assert_eq!(
            agreed.to_string(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        );
        assert_eq!(
            config.accept(&parse("permessage-deflate; x=1, x-other")),
            None
        );
        assert_eq!(config.accept(&parse("")), None);
    }

    #[test]
    fn window_limits_are_met_by_compressing_with_less() {
        let config = DeflateConfig {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 12,
            client_max_window_bits: 10,
            ..DeflateConfig::default()
        };
        let agree = |value: &str| config.agree(&offer(value).unwrap());
        // The client's limit on the server, and the server's own, whichever is smaller.
        assert_eq!(
            agree("permessage-deflate; server_max_window_bits=9").server_max_window_bits,
            9
        );
        assert_eq!(
            agree("permessage-deflate; server_max_window_bits=14").server_max_window_bits,
            12
        );
        assert_eq!(agree("permessage-deflate").server_max_window_bits, 12);
        // The server names the client's window only where the offer lets it.
        assert_eq!(agree("permessage-deflate").client_max_window_bits, 15);
        assert_eq!(
            agree("permessage-deflate; client_max_window_bits").client_max_window_bits,
            10
        );
        assert_eq!(
            agree("permessage-deflate; client_max_window_bits=9").client_max_window_bits,
            9
        );
        let both = agree("permessage-deflate; client_max_window_bits; server_max_window_bits=8");
        assert_eq!(
            both.to_string(),
            "permessage-deflate; server_max_window_bits=8; client_max_window_bits=10"
        );
        // Context takeover is given up where the client asks.
        assert!(agree("permessage-deflate; server_no_context_takeover").server_no_context_takeover);
        assert!(!agree("permessage-deflate").server_no_context_takeover);
    }

    #[test]
    fn what_a_client_offers_and_accepts() {
        let config = DeflateConfig::default();
        assert_eq!(
            config.offer().to_string(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits"
        );
        let check = |answer: &str| config.check_answer(&parse(answer));
        assert_eq!(check("x-other").unwrap(), None);
        let agreed =
            check("permessage-deflate; server_no_context_takeover; client_max_window_bits=9")
                .unwrap()
                .unwrap();
        assert_eq!(agreed.client_max_window_bits, 9);
        assert_eq!(agreed.server_max_window_bits, 15);
        // The server must grant server_no_context_takeover once asked.
        assert!(matches!(
            check("permessage-deflate"),
            Err(NegotiationError::Mismatch(_))
        ));
        assert!(matches!(
            check("permessage-deflate; server_no_context_takeover, permessage-deflate; server_no_context_takeover"),
            Err(NegotiationError::NotOffered)
        ));
        assert!(matches!(
            check("permessage-deflate; server_no_context_takeover; client_max_window_bits"),
            Err(NegotiationError::InvalidValue { .. })
        ));
        assert!(matches!(
            check("permessage-deflate; server_no_context_takeover; x=1"),
            Err(NegotiationError::UnknownParameter(_))
        ));
        assert!(matches!(
            check("permessage-deflate; ="),
            Err(NegotiationError::Syntax { .. })
        ));
    }

    #[test]
    fn a_client_holds_the_server_to_the_windows_it_offered() {
        let config = DeflateConfig {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 10,
            client_max_window_bits: 12,
            ..DeflateConfig::default()
        };
        assert_eq!(
            config.offer().to_string(),
            "permessage-deflate; server_max_window_bits=10; client_max_window_bits=12"
        );
        let check = |answer: &str| config.check_answer(&parse(answer));
        assert_eq!(
            check("permessage-deflate; server_max_window_bits=9; client_max_window_bits=12")
                .unwrap()
                .unwrap(),
            Agreement {
                server_no_context_takeover: false,
                client_no_context_takeover: false,
                server_max_window_bits: 9,
                client_max_window_bits: 12,
            }
        );
        for bad in [
            "permessage-deflate",
            "permessage-deflate; server_max_window_bits=11",
            "permessage-deflate; server_max_window_bits=10; client_max_window_bits=13",
        ] {
            assert!(
                matches!(check(bad), Err(NegotiationError::Mismatch(_))),
                "{bad}"
            );
        }
        // Without client_max_window_bits in the offer, the server may not name it.
        let plain = DeflateConfig {
            client_max_window_bits: 15,
            ..config
        };
        assert!(plain
            .offer()
            .to_string()
            .ends_with("client_max_window_bits"));
    }

    #[test]
    fn a_bare_answer_means_context_takeover_and_full_windows() {
        let config = DeflateConfig::client();
        // Workerman's server answers a bare `permessage-deflate` whatever was offered.
        assert_eq!(
            config.check_answer(&parse("permessage-deflate")).unwrap(),
            Some(Agreement::default())
        );
        assert_eq!(Agreement::default().to_string(), NAME);
    }
}

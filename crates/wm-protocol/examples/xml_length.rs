//! A protocol of your own, written the Workerman way: the manual's `XmlProtocol`, whose
//! packets start with their total length as 10 ASCII digits (`0000000022<a>hello</a>`
//! is 22 bytes in all). [`PacketFormat`] says how long a packet is once that can be told
//! and how to decode one; [`EncodePacket`] encodes one; `PacketProtocol` does the rest,
//! incrementally and within the package size; `Codec` puts it on a socket with `Framed`.
//! The server echoes each document back.
//!
//! ```sh
//! cargo run -p wm-protocol --example xml_length            # listens on 127.0.0.1:2349
//! cargo run -p wm-protocol --example xml_length -- 127.0.0.1:9000
//! printf '0000000019<a>hi</a>' | nc 127.0.0.1 2349         # answers 0000000019<a>hi</a>
//! ```

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_util::codec::Framed;
use wm_protocol::packet::{EncodePacket, Input, PacketFormat, PacketProtocol};
use wm_protocol::{Codec, Error};

/// The header: the packet's total length, header included, in 10 decimal digits.
const HEADER: usize = 10;

struct XmlLength;

impl PacketFormat for XmlLength {
    type Message = Bytes;

    fn input(&mut self, buf: &[u8], _examined: usize) -> Result<Input, Error> {
        let Some(header) = buf.get(..HEADER) else {
            return Ok(Input::NeedMore);
        };
        if !header.iter().all(u8::is_ascii_digit) {
            return Err(Error::malformed("the length header is not 10 digits"));
        }
        // Ten digits fit a u64; PacketProtocol checks the length against the limit
        // before it buffers the packet.
        let length = header
            .iter()
            .fold(0u64, |n, digit| n * 10 + u64::from(digit - b'0'));
        match usize::try_from(length) {
            Ok(length) if length >= HEADER => Ok(Input::Packet(length)),
            Ok(_) => Err(Error::malformed("a length shorter than its header")),
            Err(_) => Err(Error::malformed("a length this machine cannot hold")),
        }
    }

    fn decode(&mut self, packet: Bytes) -> Result<Option<Bytes>, Error> {
        Ok(Some(packet.slice(HEADER..)))
    }
}

impl EncodePacket<Bytes> for XmlLength {
    fn encode(&mut self, document: Bytes, dst: &mut BytesMut) -> Result<(), Error> {
        let total = HEADER + document.len();
        if total >= 10_000_000_000 {
            return Err(Error::malformed("a document too long for 10 digits"));
        }
        dst.extend_from_slice(format!("{total:010}").as_bytes());
        dst.extend_from_slice(&document);
        Ok(())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:2349".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("xml-length echo listening on {}", listener.local_addr()?);
    loop {
        let (stream, peer) = listener.accept().await?;
        tokio::spawn(async move {
            // 1 MiB documents at most, header included.
            let protocol = PacketProtocol::with_max_package_size(XmlLength, 1 << 20);
            let mut documents = Framed::new(stream, Codec::from(protocol));
            while let Some(document) = documents.next().await {
                let result = match document {
                    Ok(document) => documents.send(document).await,
                    Err(error) => Err(error),
                };
                if let Err(error) = result {
                    eprintln!("{peer}: {error}");
                    break;
                }
            }
        });
    }
}

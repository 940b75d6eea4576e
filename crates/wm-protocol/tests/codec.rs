//! The tokio-util adapter: `Framed` over any `Protocol`, and output the protocol queues
//! on its own.

use bytes::{BufMut, BytesMut};
use futures_util::{SinkExt, StreamExt};
use tokio_util::codec::{Decoder, Encoder, Framed};
use wm_protocol::{Codec, Encode, Error, Protocol};

/// Byte-per-message protocol that acknowledges every message it decodes with `+`, the
/// way a WebSocket answers a ping without asking the application.
#[derive(Default)]
struct Acking {
    acks: usize,
}

impl Protocol for Acking {
    type Message = u8;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<u8>, Error> {
        if src.is_empty() {
            return Ok(None);
        }
        self.acks += 1;
        Ok(Some(bytes::Buf::get_u8(src)))
    }

    fn take_output(&mut self, dst: &mut BytesMut) -> usize {
        let n = std::mem::take(&mut self.acks);
        dst.put_bytes(b'+', n);
        n
    }
}

impl Encode<u8> for Acking {
    fn encode(&mut self, item: u8, dst: &mut BytesMut) -> Result<(), Error> {
        dst.put_u8(item);
        Ok(())
    }
}

#[test]
fn queued_output_goes_out_before_the_next_item() {
    let mut codec = Codec::<Acking>::new();
    let mut src = BytesMut::from(&b"ab"[..]);
    assert_eq!(codec.decode(&mut src).unwrap(), Some(b'a'));
    assert_eq!(codec.decode(&mut src).unwrap(), Some(b'b'));
    assert_eq!(codec.decode(&mut src).unwrap(), None);
    let mut dst = BytesMut::new();
    codec.encode(b'x', &mut dst).unwrap();
    codec.encode(b'y', &mut dst).unwrap();
    assert_eq!(&dst[..], b"++xy");
}

#[test]
fn default_decode_eof_reports_leftover_bytes() {
    struct Pairs;
    impl Protocol for Pairs {
        type Message = [u8; 2];
        type Error = Error;
        fn decode(&mut self, src: &mut BytesMut) -> Result<Option<[u8; 2]>, Error> {
            if src.len() < 2 {
                return Ok(None);
            }
            let pair = src.split_to(2);
            Ok(Some([pair[0], pair[1]]))
        }
    }
    let mut codec = Codec::from(Pairs);
    let mut src = BytesMut::from(&b"abc"[..]);
    assert_eq!(codec.decode_eof(&mut src).unwrap(), Some(*b"ab"));
    match codec.decode_eof(&mut src) {
        Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof),
        other => panic!("expected UnexpectedEof, got {other:?}"),
    }
}

#[tokio::test]
async fn framed_over_a_stream_runs_both_directions() {
    let (a, b) = tokio::io::duplex(16);
    let mut a = Framed::new(a, Codec::<Acking>::new());
    let mut b = Framed::new(b, Codec::<Acking>::new());
    a.send(7).await.unwrap();
    assert_eq!(b.next().await.unwrap().unwrap(), 7);
    b.send(9).await.unwrap();
    // b acknowledged the 7 ahead of its own 9.
    assert_eq!(a.next().await.unwrap().unwrap(), b'+');
    assert_eq!(a.next().await.unwrap().unwrap(), 9);
    // a has queued two acknowledgements (for b's '+' and 9) that go out with its next send.
    assert_eq!(a.codec().get_ref().acks, 2);
    a.send(1).await.unwrap();
    assert_eq!(b.next().await.unwrap().unwrap(), b'+');
    assert_eq!(b.next().await.unwrap().unwrap(), b'+');
    assert_eq!(b.next().await.unwrap().unwrap(), 1);
}

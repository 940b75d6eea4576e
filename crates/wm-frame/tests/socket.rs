//! `Framed` with the frame codec over a real TCP connection on 127.0.0.1.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;
use wm_frame::{Error, FrameCodec};

const DEADLINE: Duration = Duration::from_secs(10);

#[tokio::test]
async fn echo_over_tcp() {
    tokio::time::timeout(DEADLINE, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut framed = Framed::new(stream, FrameCodec::new());
            while let Some(body) = framed.next().await {
                framed.send(body.unwrap()).await.unwrap();
            }
        });
        let mut client = Framed::new(TcpStream::connect(addr).await.unwrap(), FrameCodec::new());
        let bodies: Vec<Bytes> = (0..100u32)
            .map(|i| Bytes::from(vec![i as u8; (i * 997 % 70_000) as usize]))
            .collect();
        for body in &bodies {
            client.feed(body.clone()).await.unwrap();
        }
        SinkExt::<Bytes>::flush(&mut client).await.unwrap();
        for body in &bodies {
            assert_eq!(&client.next().await.unwrap().unwrap(), body);
        }
        drop(client);
        server.await.unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn bad_length_from_a_peer_ends_the_stream_with_the_error() {
    tokio::time::timeout(DEADLINE, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream
                .write_all(b"\x00\x00\x00\x06ok\x00\x00\x00\x00")
                .await
                .unwrap();
            stream
        });
        let (stream, _) = listener.accept().await.unwrap();
        let mut framed = Framed::new(stream, FrameCodec::new());
        assert_eq!(framed.next().await.unwrap().unwrap(), "ok");
        assert!(matches!(
            framed.next().await.unwrap(),
            Err(Error::LengthBelowHeader {
                length: 0,
                header: 4
            })
        ));
        drop(peer.await.unwrap());
    })
    .await
    .unwrap();
}

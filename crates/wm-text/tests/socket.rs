//! `Framed` with the text codecs over a real TCP connection on 127.0.0.1.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;
use wm_text::{Error, Text, TextBytesCodec, TextCodec};

const DEADLINE: Duration = Duration::from_secs(10);

#[tokio::test]
async fn echo_over_tcp() {
    tokio::time::timeout(DEADLINE, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut framed = Framed::new(stream, TextBytesCodec::new());
            while let Some(line) = framed.next().await {
                framed.send(line.unwrap()).await.unwrap();
            }
        });
        let mut client = Framed::new(TcpStream::connect(addr).await.unwrap(), TextCodec::new());
        let lines: Vec<String> = (0..200)
            .map(|i| format!("line {i} {}", "é".repeat(i)))
            .collect();
        for line in &lines {
            client.feed(line.as_str()).await.unwrap();
        }
        // The codec encodes anything `AsRef<str>`, so name the item type to flush.
        SinkExt::<&str>::flush(&mut client).await.unwrap();
        for line in &lines {
            assert_eq!(&client.next().await.unwrap().unwrap(), line);
        }
        drop(client);
        server.await.unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn over_long_line_from_a_peer_ends_the_stream_with_the_error() {
    tokio::time::timeout(DEADLINE, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(b"short\n").await.unwrap();
            // Never sends a newline; the server must give up at its limit.
            let _ = stream.write_all(&[b'x'; 4096]).await;
            stream
        });
        let (stream, _) = listener.accept().await.unwrap();
        let mut framed = Framed::new(stream, TextCodec::from(Text::with_max_line_length(1000)));
        assert_eq!(framed.next().await.unwrap().unwrap(), "short");
        assert!(matches!(
            framed.next().await.unwrap(),
            Err(Error::LineTooLong { limit: 1000 })
        ));
        drop(peer.await.unwrap());
    })
    .await
    .unwrap();
}

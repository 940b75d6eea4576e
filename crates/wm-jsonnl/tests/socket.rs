//! `Framed` with the JSON-lines codec over a real TCP connection on 127.0.0.1.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;
use wm_jsonnl::{JsonNlCodec, JsonNlError, Value};

const DEADLINE: Duration = Duration::from_secs(10);

#[tokio::test]
async fn echo_over_tcp_survives_a_bad_line() {
    tokio::time::timeout(DEADLINE, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut framed = Framed::new(stream, JsonNlCodec::<Value>::new());
            while let Some(item) = framed.next().await {
                let reply: Value = match item.unwrap() {
                    Ok(value) => json!({ "echo": value }),
                    Err(JsonNlError::Malformed { .. }) => json!({ "error": "malformed" }),
                    Err(other) => json!({ "error": other.to_string() }),
                };
                framed.send(reply).await.unwrap();
            }
        });
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"{\"n\":1}\nnot json\n{\"n\":2}\n")
            .await
            .unwrap();
        let mut client: Framed<TcpStream, JsonNlCodec> = Framed::new(stream, JsonNlCodec::new());
        let replies: Vec<Value> = [
            client.next().await,
            client.next().await,
            client.next().await,
        ]
        .into_iter()
        .map(|r| r.unwrap().unwrap().unwrap())
        .collect();
        assert_eq!(
            replies,
            [
                json!({"echo": {"n": 1}}),
                json!({"error": "malformed"}),
                json!({"echo": {"n": 2}})
            ]
        );
        drop(client);
        server.await.unwrap();
    })
    .await
    .unwrap();
}

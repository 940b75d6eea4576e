//! `Framed` with `HttpCodec` over a real socket on 127.0.0.1: pipelined requests answered
//! in order, and the connection closed after a `Connection: close` request.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tokio_util::codec::Framed;
use wm_http::{HttpCodec, Response};

#[tokio::test]
async fn pipelined_requests_over_tcp() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut framed = Framed::new(tcp, HttpCodec::new());
        while let Some(request) = framed.next().await {
            let request = request.unwrap();
            let body = format!("{} {}", request.method().as_str(), request.target());
            framed.send(Response::new(200).body(body)).await.unwrap();
            if framed.codec().get_ref().closing() {
                break;
            }
        }
    });
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    timeout(Duration::from_secs(10), tcp.read_to_string(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        answer,
        "HTTP/1.1 200 OK\r\nContent-Type: text/html;charset=utf-8\r\nContent-Length: 6\r\nConnection: keep-alive\r\n\r\nGET /a\
         HTTP/1.1 200 OK\r\nContent-Type: text/html;charset=utf-8\r\nContent-Length: 7\r\nConnection: close\r\n\r\nPOST /b"
    );
    timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap();
}

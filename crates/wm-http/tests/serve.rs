//! `serve`, the async front door, over real sockets on 127.0.0.1: what a client sees.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wm_http::{serve_with, Config, HttpError, Request, Response, ServeOptions};

const LIMIT: Duration = Duration::from_secs(10);

/// A listener that serves each connection with `options`, answering with the path;
/// returns its address and a channel of how each connection ended.
async fn server(
    options: ServeOptions,
) -> (
    SocketAddr,
    tokio::sync::mpsc::UnboundedReceiver<Result<(), HttpError>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (ended, endings) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let ended = ended.clone();
            tokio::spawn(async move {
                let config = Config::default().max_body_size(1024);
                let result = serve_with(tcp, config, options, |request: Request| async move {
                    Response::new(200).body(format!("{} {}", request.path(), request.body().len()))
                })
                .await;
                let _ = ended.send(result);
            });
        }
    });
    (address, endings)
}

async fn read_all(tcp: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    tokio::time::timeout(LIMIT, tcp.read_to_end(&mut answer))
        .await
        .expect("the server closes")
        .unwrap();
    String::from_utf8(answer).unwrap()
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order_then_close_closes() {
    let (address, mut endings) = server(ServeOptions::default()).await;
    let mut tcp = TcpStream::connect(address).await.unwrap();
    tcp.write_all(
        b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc\
          GET /3 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\nHost: h\r\n\r\n",
    )
    .await
    .unwrap();
    let answers = read_all(&mut tcp).await;
    let bodies: Vec<&str> = answers
        .split("\r\n\r\n")
        .skip(1)
        .map(|b| &b[..b.find("HTTP/").unwrap_or(b.len())])
        .collect();
    assert_eq!(bodies, ["/1 0", "/2 3", "/3 0"], "{answers}");
    assert_eq!(answers.matches("HTTP/1.1 200 OK").count(), 3);
    assert!(answers.contains("Connection: close"));
    assert!(endings.recv().await.unwrap().is_ok());
}

#[tokio::test]
async fn refusals_are_answered_with_their_status() {
    let (address, mut endings) = server(ServeOptions::default()).await;
    for (request, status) in [
        (&b"GET / HTTP/1.1\r\n\r\n"[..], "400 Bad Request"),
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 20000000\r\n\r\n",
            "413 ",
        ),
        (b"GET / HTTP/2.0\r\nHost: h\r\n\r\n", "505 "),
    ] {
        let mut tcp = TcpStream::connect(address).await.unwrap();
        tcp.write_all(request).await.unwrap();
        let answer = read_all(&mut tcp).await;
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{answer}"
        );
        assert!(matches!(endings.recv().await.unwrap(), Err(e) if e.status().is_some()));
    }
    // A head over the limit: 431 before its end arrives.
    let mut tcp = TcpStream::connect(address).await.unwrap();
    let mut head = b"GET / HTTP/1.1\r\nHost: h\r\n".to_vec();
    head.extend(
        std::iter::repeat_n(
            b"X-Fill: 0123456789012345678901234567890123456789\r\n"
                .iter()
                .copied(),
            400,
        )
        .flatten(),
    );
    let _ = tcp.write_all(&head).await;
    assert!(read_all(&mut tcp).await.starts_with("HTTP/1.1 431 "));
}

#[tokio::test]
async fn a_client_that_expects_100_continue_gets_it_before_sending_the_body() {
    let (address, _endings) = server(ServeOptions::default()).await;
    let mut tcp = TcpStream::connect(address).await.unwrap();
    tcp.write_all(
        b"PUT /up HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    )
    .await
    .unwrap();
    let mut interim = [0; 25];
    tokio::time::timeout(LIMIT, tcp.read_exact(&mut interim))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    tcp.write_all(b"hello").await.unwrap();
    let mut buf = vec![0; 512];
    let n = tokio::time::timeout(LIMIT, tcp.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(
        answer.starts_with("HTTP/1.1 200 OK\r\n") && answer.ends_with("/up 5"),
        "{answer}"
    );
}

#[tokio::test]
async fn http_1_0_closes_after_its_answer_unless_kept_alive() {
    let (address, _endings) = server(ServeOptions::default()).await;
    let mut tcp = TcpStream::connect(address).await.unwrap();
    tcp.write_all(b"GET /old HTTP/1.0\r\n\r\n").await.unwrap();
    let answer = read_all(&mut tcp).await;
    assert!(
        answer.starts_with("HTTP/1.0 200 OK\r\n") || answer.starts_with("HTTP/1.1 200 OK\r\n"),
        "{answer}"
    );
    assert!(answer.ends_with("/old 0"));
}

#[tokio::test]
async fn a_slowloris_head_is_cut_off_at_the_header_timeout_from_its_first_byte() {
    let options = ServeOptions::default().header_timeout(Some(Duration::from_millis(300)));
    let (address, mut endings) = server(options).await;
    let mut tcp = TcpStream::connect(address).await.unwrap();
    let started = Instant::now();
    // A byte every 100 ms: each read is quick, the head never ends.
    let trickle = async {
        for byte in b"GET / HTTP/1.1\r\nHost: h\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter()
        {
            if tcp.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(3), trickle).await;
    let ending = tokio::time::timeout(LIMIT, endings.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(ending, Err(HttpError::Io(ref e)) if e.kind() == std::io::ErrorKind::TimedOut),
        "{ending:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_idle_connection_is_closed_at_the_idle_timeout() {
    let options = ServeOptions::default().idle_timeout(Some(Duration::from_millis(200)));
    let (address, mut endings) = server(options).await;
    let mut tcp = TcpStream::connect(address).await.unwrap();
    tcp.write_all(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n")
        .await
        .unwrap();
    // Answered, then nothing: closed after the idle timeout.
    let answer = read_all(&mut tcp).await;
    assert!(answer.ends_with("/a 0"), "{answer}");
    let ending = tokio::time::timeout(LIMIT, endings.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(ending, Err(HttpError::Io(_))), "{ending:?}");
}

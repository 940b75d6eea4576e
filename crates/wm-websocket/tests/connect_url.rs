//! `connect_url`: the client opens the connection itself from a `ws://` URL (and, with the
//! `rustls` feature, a `wss://` one), over real sockets on 127.0.0.1.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::time::timeout;
use wm_websocket::handshake::{ClientRequest, HandshakeError};
use wm_websocket::{accept, connect_url, connect_url_with, Config, Error, Message};

const LIMIT: Duration = Duration::from_secs(10);

/// Accepts one WebSocket on `listener` and echoes its data messages.
async fn echo_one(listener: TcpListener) {
    let (tcp, _) = listener.accept().await.unwrap();
    let mut ws = accept(tcp).await.unwrap();
    while let Some(Ok(message)) = ws.next().await {
        if message.is_data() {
            ws.send(message).await.unwrap();
        }
    }
}

#[tokio::test]
async fn connect_url_opens_the_tcp_connection_itself() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/chat?room=1", listener.local_addr().unwrap());
    let server = tokio::spawn(echo_one(listener));
    let (mut ws, response) = timeout(LIMIT, connect_url(&url)).await.unwrap().unwrap();
    assert_eq!(response.protocol(), None);
    assert!(ws.get_ref().tcp().nodelay().unwrap());
    ws.send(Message::Text("hello".into())).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::Text("hello".into())
    );
    ws.close(None, LIMIT).await.unwrap();
    timeout(LIMIT, server).await.unwrap().unwrap();
}

#[tokio::test]
async fn connect_url_over_ipv6_loopback_with_a_prepared_request() {
    let Ok(listener) = TcpListener::bind("[::1]:0").await else {
        eprintln!("skipped: no IPv6 loopback here");
        return;
    };
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(echo_one(listener));
    let request = ClientRequest::new(&url)
        .unwrap()
        .origin("http://example.test");
    let (mut ws, _) = timeout(LIMIT, connect_url_with(request, Config::default()))
        .await
        .unwrap()
        .unwrap();
    ws.send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::Binary(vec![1, 2, 3].into())
    );
    ws.close(None, LIMIT).await.unwrap();
    timeout(LIMIT, server).await.unwrap().unwrap();
}

#[tokio::test]
async fn a_bad_url_or_a_closed_port_is_an_error_not_a_hang() {
    for url in [
        "http://127.0.0.1:1/",
        "ws://127.0.0.1:0/",
        "ws://u@h/",
        "ws:///tmp/x.sock",
    ] {
        assert!(
            matches!(
                connect_url(url).await,
                Err(Error::Handshake(HandshakeError::InvalidUrl(_)))
            ),
            "{url}"
        );
    }
    // A port nobody listens on: refused at once.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let result = timeout(LIMIT, connect_url(&format!("ws://127.0.0.1:{port}/")))
        .await
        .unwrap();
    assert!(matches!(result, Err(Error::Io(_))), "{result:?}");
}

#[cfg(not(feature = "rustls"))]
#[tokio::test]
async fn wss_without_the_rustls_feature_says_so() {
    match connect_url("wss://127.0.0.1:1/").await {
        Err(Error::Handshake(HandshakeError::InvalidUrl(why))) => {
            assert!(why.contains("rustls"), "{why}")
        }
        other => panic!("{other:?}"),
    }
}

#[cfg(feature = "rustls")]
#[tokio::test]
async fn wss_with_a_private_root_and_the_default_roots_refusing_it() {
    use std::sync::Arc;
    use wm_websocket::connect_url_with_tls;

    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server_config = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        // The first connection trusts the Mozilla roots, which refuse the certificate.
        let (tcp, _) = listener.accept().await.unwrap();
        assert!(acceptor.accept(tcp).await.is_err());
        let (tcp, _) = listener.accept().await.unwrap();
        let tls = acceptor.accept(tcp).await.unwrap();
        let mut ws = accept(tls).await.unwrap();
        while let Some(Ok(message)) = ws.next().await {
            if message.is_data() {
                ws.send(message).await.unwrap();
            }
        }
    });
    let url = format!("wss://localhost:{port}/secure");
    assert!(matches!(connect_url(&url).await, Err(Error::Io(_))));

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der().clone()).unwrap();
    let client_config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let request = ClientRequest::new(&url).unwrap();
    let (mut ws, _) = timeout(
        LIMIT,
        connect_url_with_tls(request, Config::default(), Arc::new(client_config)),
    )
    .await
    .unwrap()
    .unwrap();
    ws.send(Message::Text("over tls".into())).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::Text("over tls".into())
    );
    ws.close(None, LIMIT).await.unwrap();
    timeout(LIMIT, server).await.unwrap().unwrap();
}

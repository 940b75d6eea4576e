//! TLS over 127.0.0.1: `wss://`, `https://` (curl as the client), any TCP scheme with
//! `Worker::tls`, and clients that check the certificate.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wm_server::{Client, ConfigError, Message, TlsClient, TlsServer, Worker};

/// A self-signed certificate for 127.0.0.1 and localhost: (certificate PEM, key PEM).
fn certificate() -> (String, String) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    (certified.cert.pem(), certified.key_pair.serialize_pem())
}

fn tls_echo(url: &str, cert: &(String, String)) -> wm_server::WorkerHandle {
    Worker::new(url)
        .unwrap()
        .tls(TlsServer::from_pem(cert.0.as_bytes(), cert.1.as_bytes()).unwrap())
        .on_message(echo)
        .start()
        .unwrap()
}

async fn round_trip(url: String, tls: TlsClient, message: Message) -> Message {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let outgoing = std::sync::Mutex::new(Some(message));
    let client = Client::new(&url)
        .unwrap()
        .tls(tls)
        .on_connect(move |connection| {
            let _ = connection.send(outgoing.lock().unwrap().take().unwrap());
        })
        .on_message(move |_, message| drop(tx.send(message)))
        .start();
    let echoed = within("echo", rx.recv()).await.unwrap();
    within("stop", client.stop()).await;
    echoed
}

#[tokio::test]
async fn wss_echo_with_a_checked_certificate() {
    let cert = certificate();
    let server = tls_echo("wss://127.0.0.1:0", &cert);
    let roots = TlsClient::with_root_pem(cert.0.as_bytes()).unwrap();
    let echoed = round_trip(
        format!("wss://127.0.0.1:{}/secure", addr(&server).port()),
        roots,
        Message::Text("over TLS".into()),
    )
    .await;
    assert_eq!(echoed.as_text(), Some("over TLS"));
    eventually("closed", || server.stats().open_connections == 0).await;
    assert_eq!(server.stop().messages_received, 1);
}

#[tokio::test]
async fn any_tcp_scheme_runs_over_tls() {
    let cert = certificate();
    let server = tls_echo("frame://127.0.0.1:0", &cert);
    let roots = TlsClient::with_root_pem(cert.0.as_bytes()).unwrap();
    let echoed = round_trip(
        format!("frame://127.0.0.1:{}", addr(&server).port()),
        roots,
        Message::Binary(bytes::Bytes::from_static(b"\x00\x01secret")),
    )
    .await;
    assert_eq!(echoed.as_bytes(), Some(&b"\x00\x01secret"[..]));
}

#[tokio::test]
async fn a_client_refuses_a_certificate_it_does_not_trust() {
    let cert = certificate();
    let server = tls_echo("wss://127.0.0.1:0", &cert);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    // The Mozilla roots do not include our self-signed certificate.
    let client = Client::new(&format!("wss://127.0.0.1:{}/", addr(&server).port()))
        .unwrap()
        .on_error(move |_, error| drop(tx.send(error.to_string())))
        .start();
    let error = within("error", rx.recv()).await.unwrap();
    assert!(error.contains("connect failed"), "{error}");
    assert!(error.to_lowercase().contains("certificate"), "{error}");
    within("end", client.join()).await;
}

#[tokio::test]
async fn plaintext_to_a_tls_listener_fails_its_handshake_without_a_connection() {
    let cert = certificate();
    let server = tls_echo("wss://127.0.0.1:0", &cert);
    let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = within("closed", stream.read_to_end(&mut buf)).await;
    eventually("counted", || server.stats().protocol_errors == 1).await;
    assert_eq!(
        server.stats().connections,
        0,
        "no connection reached the handler"
    );
}

#[test]
fn tls_schemes_need_a_certificate() {
    for url in [
        "wss://127.0.0.1:0",
        "https://127.0.0.1:0",
        "ssl://127.0.0.1:0",
    ] {
        let error = Worker::new(url).unwrap().start().unwrap_err();
        assert!(matches!(error, ConfigError::Tls(_)), "{url}: {error}");
    }
    let error = TlsServer::from_pem(b"not pem", b"not pem").unwrap_err();
    assert!(matches!(error, ConfigError::Tls(_)), "{error}");
    let cert = certificate();
    let other = certificate();
    let error = TlsServer::from_pem(cert.0.as_bytes(), other.1.as_bytes()).unwrap_err();
    assert!(
        matches!(error, ConfigError::Tls(_)),
        "a key that is not the certificate's: {error}"
    );
}

#[tokio::test]
async fn curl_fetches_over_https() {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(std::env::var_os("CI").is_none(), "curl is required in CI");
        eprintln!("skipped: curl not found");
        return;
    }
    let cert = certificate();
    let server = Worker::new("https://127.0.0.1:0")
        .unwrap()
        .tls(TlsServer::from_pem(cert.0.as_bytes(), cert.1.as_bytes()).unwrap())
        .on_message(|connection, message| {
            if let Message::Request(request) = message {
                let _ = connection.send(format!("secure {}", request.path()));
            }
        })
        .start()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("wm-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &cert.0).unwrap();
    let url = format!("https://127.0.0.1:{}/hello", addr(&server).port());
    let output = within(
        "curl",
        tokio::process::Command::new("curl")
            .args(["-sS", "--max-time", "5", "--cacert"])
            .arg(&ca)
            .arg(&url)
            .output(),
    )
    .await
    .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), "secure /hello");
}

#[tokio::test]
async fn a_large_tls_answer_to_a_slow_reader_arrives_whole() {
    let cert = certificate();
    let server = Worker::new("frame://127.0.0.1:0")
        .unwrap()
        .tls(TlsServer::from_pem(cert.0.as_bytes(), cert.1.as_bytes()).unwrap())
        .options(wm_server::ConnectionOptions::default().send_watermarks(8 << 20, 0))
        .on_message(|connection, _| {
            for i in 0..4u8 {
                connection.send(vec![i; 1 << 20]).unwrap();
            }
        })
        .start()
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(rcgen_der(&cert.0)))
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = TcpStream::connect(addr(&server)).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap();
    tls.write_all(&frame(b"go")).await.unwrap();
    // Read nothing for a while: the server's TLS buffer and socket fill up, and its last
    // bytes wait for a flush that must still happen once the socket drains.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut got = vec![0; 4 * ((1 << 20) + 4)];
    within("4 MiB over TLS", tls.read_exact(&mut got))
        .await
        .unwrap();
    for i in 0..4 {
        let start = i * ((1 << 20) + 4);
        assert_eq!(&got[start..start + 4], &((1u32 << 20) + 4).to_be_bytes());
        assert!(got[start + 4..start + 4 + (1 << 20)]
            .iter()
            .all(|&b| b == i as u8));
    }
}

/// The DER bytes of a PEM certificate.
fn rcgen_der(pem: &str) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .to_vec()
}

//! A whole `wm_websocket` connection as an echo peer: arbitrary bytes in arbitrary chunks,
//! small limits, each data message sent back, pongs and closes queued by the protocol.
//! No panic; the messages, the error and (for a server, whose frames are not masked) every
//! byte it sends are the same however the input is cut. With permessage-deflate agreed
//! (with or without context takeover), compressed frames are inflated and every echo is
//! compressed; then what a peer reads from the output is compared instead of its bytes,
//! since a compressor from the thread's pool may pick other (equally valid) matches than a
//! new one.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use wm_websocket::deflate::{Agreement, DeflateConfig};
use wm_websocket::{Config, Encode, Protocol, Role, WebSocket};

fn run(role: Role, deflate: Option<bool>, data: &[u8], cuts: &[usize]) -> (Vec<String>, Vec<u8>) {
    let config = Config::default()
        .max_frame_size(64)
        .max_message_size(200)
        .max_fragments(5);
    let mut ws = WebSocket::new(role, config);
    if let Some(takeover) = deflate {
        let agreement = Agreement {
            server_no_context_takeover: !takeover,
            client_no_context_takeover: !takeover,
            ..Agreement::default()
        };
        let compress_all = DeflateConfig {
            threshold: 0,
            ..DeflateConfig::client()
        };
        ws = ws.with_deflate(agreement, &compress_all);
    }
    let mut buf = BytesMut::new();
    let mut sent = BytesMut::new();
    let mut log = Vec::new();
    let mut start = 0;
    for end in cuts.iter().copied().chain([data.len()]) {
        buf.extend_from_slice(&data[start..end]);
        start = end;
        loop {
            match ws.decode(&mut buf) {
                Ok(Some(message)) => {
                    log.push(format!("{message:?}"));
                    ws.take_output(&mut sent);
                    if message.is_data() {
                        if let Err(error) = ws.encode(message, &mut sent) {
                            log.push(format!("send: {error}"));
                        }
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    log.push(format!("error: {error:?}"));
                    ws.take_output(&mut sent);
                    return (log, sent.to_vec());
                }
            }
        }
        ws.take_output(&mut sent);
    }
    if let Err(error) = ws.decode_eof(&mut buf) {
        log.push(format!("eof: {error:?}"));
    }
    (log, sent.to_vec())
}

/// What a peer with the same agreement reads from `wire`, up to its first error.
fn read_as_peer(role: Role, deflate: bool, wire: &[u8]) -> Vec<String> {
    let agreement = Agreement {
        server_no_context_takeover: !deflate,
        client_no_context_takeover: !deflate,
        ..Agreement::default()
    };
    let mut peer = WebSocket::new(role.peer(), Config::default())
        .with_deflate(agreement, &DeflateConfig::client());
    let mut buf = BytesMut::from(wire);
    let mut read = Vec::new();
    loop {
        match peer.decode(&mut buf) {
            Ok(Some(message)) => read.push(format!("{message:?}")),
            Ok(None) => return read,
            Err(error) => {
                read.push(format!("error: {error:?}"));
                return read;
            }
        }
    }
}

fuzz_target!(|input: (&[u8], u8, Vec<u16>)| {
    let (data, flags, cuts) = input;
    let role = if flags & 1 != 0 {
        Role::Client
    } else {
        Role::Server
    };
    let deflate = (flags & 2 != 0).then_some(flags & 4 != 0);
    let mut cuts: Vec<usize> = cuts
        .iter()
        .map(|&c| usize::from(c) % (data.len() + 1))
        .collect();
    cuts.sort_unstable();
    let (whole_log, whole_sent) = run(role, deflate, data, &[]);
    let (split_log, split_sent) = run(role, deflate, data, &cuts);
    assert_eq!(split_log, whole_log, "cuts {cuts:?}");
    match (role, deflate) {
        (_, Some(takeover)) => assert_eq!(
            read_as_peer(role, takeover, &split_sent),
            read_as_peer(role, takeover, &whole_sent)
        ),
        (Role::Server, None) => assert_eq!(split_sent, whole_sent),
        (Role::Client, None) => assert_eq!(split_sent.len(), whole_sent.len()),
    }
});

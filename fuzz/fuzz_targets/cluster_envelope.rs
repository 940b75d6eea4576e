//! `wm_server::cluster::check_envelope` on arbitrary bytes: what a node reads from its Redis
//! channels, where anyone may publish. An envelope or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = wm_server::cluster::check_envelope(bytes::Bytes::copy_from_slice(data));
});

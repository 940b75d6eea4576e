//! `wm_websocket::deflate::negotiation`: any `Sec-WebSocket-Extensions` value parses without
//! panicking, both ends' checks run on it, and a valid offer reads back the same from its
//! own rendering.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wm_websocket::deflate::negotiation::{parse_extensions, DeflateConfig, Offer};

fuzz_target!(|value: &str| {
    let list = parse_extensions([value]);
    let config = DeflateConfig::default();
    let _ = config.accept(&list);
    let _ = config.check_answer(&list);
    for offer in list.iter().flatten().filter_map(Offer::parse).flatten() {
        let again = parse_extensions([offer.to_string().as_str()]);
        let reread = Offer::parse(again[0].as_ref().unwrap()).unwrap().unwrap();
        assert_eq!(reread, offer);
    }
});

//! Decodes 256 KiB of JSON lines once with one contender, for instruction counts that the
//! noise of a shared machine cannot blur:
//!
//! ```sh
//! cargo build --release -p wm-benches --example jsonnl_callgrind
//! for c in none wm lines hand wm-s lines-s hand-s; do
//!   valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$c \
//!     target/release/examples/jsonnl_callgrind $c 2>&1 | grep Collected
//! done
//! ```
//!
//! `none` only builds the input; subtract it from the others. `-s` is the typed struct.

use bytes::BytesMut;
use serde_json::Value;
use wm_benches::*;
use wm_jsonnl::JsonNlCodec;
fn main() {
    let which = std::env::args().nth(1).unwrap_or_default();
    let (data, _) = json_lines(256 * 1024);
    let mut buf = BytesMut::from(&data[..]);
    let n = match which.as_str() {
        "wm" => decode_buffer(&mut JsonNlCodec::<Value>::new(), &mut buf),
        "lines" => decode_buffer(&mut LinesThenJson::<Value>::default(), &mut buf),
        "hand" => decode_buffer(&mut HandJsonLines::<Value>::default(), &mut buf),
        "wm-s" => decode_buffer(&mut JsonNlCodec::<ChatMessage>::new(), &mut buf),
        "lines-s" => decode_buffer(&mut LinesThenJson::<ChatMessage>::default(), &mut buf),
        "hand-s" => decode_buffer(&mut HandJsonLines::<ChatMessage>::default(), &mut buf),
        _ => 0,
    };
    println!("{n}");
}

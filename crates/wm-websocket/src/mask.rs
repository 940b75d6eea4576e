//! The XOR mask every client-to-server payload carries (RFC 6455 §5.3).
//!
//! Applied eight bytes at a time: a `u64` made of the key repeated twice, rotated to the
//! payload offset, XORed over `chunks_exact_mut(8)`, in safe code. (Issue 3's benches are
//! to measure it against the other WebSocket crates before anything faster is tried.)

/// XORs `payload` with `key`, as if `payload` started `offset` bytes into the masked data
/// (so a payload can be unmasked in pieces as it arrives).
#[inline]
pub fn apply_mask(payload: &mut [u8], key: [u8; 4], offset: usize) {
    // The key as it lines up with `payload[0]`.
    let key = rotate_key(key, offset);
    let word = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = payload.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ word).to_ne_bytes());
    }
    for (i, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte ^= key[i % 4];
    }
}

/// The key starting at byte `offset % 4` of itself.
#[inline]
fn rotate_key(key: [u8; 4], offset: usize) -> [u8; 4] {
    // Rotating the little-endian word right by one byte moves key[1] to the front.
    u32::from_le_bytes(key)
        .rotate_right(8 * (offset % 4) as u32)
        .to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn byte_by_byte(payload: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= key[(offset + i) % 4];
        }
    }

    #[test]
    fn rfc_6455_hello() {
        // RFC 6455 §5.7: masked "Hello" with key 37 fa 21 3d.
        let mut payload = *b"\x7f\x9f\x4d\x51\x58";
        apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(&payload, b"Hello");
    }

    #[test]
    fn matches_the_byte_loop_at_every_length_and_offset() {
        let key = [0x01, 0x80, 0xfe, 0x37];
        for len in 0..70 {
            for offset in 0..9 {
                let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
                let mut fast = data.clone();
                let mut slow = data.clone();
                apply_mask(&mut fast, key, offset);
                byte_by_byte(&mut slow, key, offset);
                assert_eq!(fast, slow, "len {len} offset {offset}");
            }
        }
    }

    #[test]
    fn unmasking_in_pieces_equals_unmasking_at_once() {
        let key = [9, 8, 7, 6];
        let data: Vec<u8> = (0..100u8).collect();
        let mut whole = data.clone();
        apply_mask(&mut whole, key, 0);
        for cut in 0..data.len() {
            let mut pieces = data.clone();
            let (a, b) = pieces.split_at_mut(cut);
            apply_mask(a, key, 0);
            apply_mask(b, key, cut);
            assert_eq!(pieces, whole, "cut at {cut}");
        }
    }
}

//! A small per-thread pool of I/O buffers.
//!
//! An idle connection holds no read or send buffer (10 000 idle WebSockets should cost a
//! few hundred megabytes less than 8 KiB each), but a busy one would then allocate and free
//! one per batch of messages, and glibc's allocator consolidates its free lists on each
//! such allocation. So a connection going idle gives its empty buffers back here, and the
//! next connection with something to do takes one: at most [`POOL_SIZE`] buffers per
//! thread, whatever the number of connections.

use std::cell::RefCell;

use bytes::BytesMut;

/// Buffers kept per thread.
const POOL_SIZE: usize = 128;

/// How many of the most recently given back buffers `take` looks through for one that
/// fits.
const FIT_SEARCH: usize = 8;

/// Buffers larger than this are freed rather than kept (a 16 MiB message's buffer).
const MAX_POOLED: usize = 256 * 1024;

thread_local! {
    static POOL: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
}

/// Buffers given back must regain at least this much room to be kept.
const MIN_POOLED: usize = crate::driver::READ_SIZE;

/// An empty buffer with at least `room` bytes of capacity, from the pool if it has one.
pub(crate) fn take(room: usize) -> BytesMut {
    let mut buf = POOL
        .with(|pool| {
            let mut pool = pool.borrow_mut();
            // Most often the last one given back fits.
            if pool.last().is_some_and(|buf| buf.capacity() >= room) {
                return pool.pop();
            }
            // Among the last few given back, the first large enough (reads and sends
            // of different sizes share the pool); else the last, grown.
            let fits = pool
                .iter()
                .rev()
                .take(FIT_SEARCH)
                .position(|buf| buf.capacity() >= room)
                .map(|from_end| pool.len() - 1 - from_end);
            match fits {
                Some(index) => Some(pool.swap_remove(index)),
                None => pool.pop(),
            }
        })
        .unwrap_or_default();
    buf.reserve(room);
    buf
}

/// Gives `buf` back (it must be empty). Its whole allocation is reclaimed first, which
/// works only if no slice handed out still shares it; a buffer that cannot regain
/// [`MIN_POOLED`] bytes is dropped instead, as is one that is too large, or one too many.
pub(crate) fn give(mut buf: BytesMut) {
    debug_assert!(buf.is_empty());
    if buf.capacity() > MAX_POOLED || !buf.try_reclaim(MIN_POOLED) {
        return;
    }
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.len() < POOL_SIZE {
            pool.push(buf);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_given_back_is_taken_again_whole() {
        let mut buf = take(8192);
        let pointer = buf.as_ptr();
        buf.extend_from_slice(&[7; 3000]);
        drop(buf.split());
        // The 3000 bytes were handed out and dropped: the whole buffer comes back.
        give(buf);
        let again = take(8192);
        assert_eq!(again.as_ptr(), pointer);
        assert!(again.capacity() >= 8192);
    }

    #[test]
    fn a_buffer_whose_slices_live_on_is_not_kept() {
        POOL.with(|pool| pool.borrow_mut().clear());
        let mut buf = take(8192);
        buf.extend_from_slice(&[7; 3000]);
        let message = buf.split().freeze();
        give(buf);
        // The message still shares the allocation: lending it out again would let the
        // next read overwrite the message.
        POOL.with(|pool| assert!(pool.borrow().is_empty()));
        assert_eq!(&message[..], &[7; 3000][..]);
        // Once the message is gone, a buffer given back is kept.
        drop(message);
        give(take(8192));
        POOL.with(|pool| assert_eq!(pool.borrow().len(), 1));
    }

    #[test]
    fn buffers_too_large_are_freed_not_kept() {
        give(BytesMut::with_capacity(MAX_POOLED + 1));
        assert!(take(MAX_POOLED + 1).capacity() > MAX_POOLED);
        POOL.with(|pool| assert!(pool.borrow().iter().all(|b| b.capacity() <= MAX_POOLED)));
    }
}

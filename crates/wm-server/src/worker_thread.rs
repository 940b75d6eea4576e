//! One thread of a worker (Workerman's worker process): its id and name for
//! `on_worker_start` / `on_worker_stop`, and the timers it owns.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crate::connection::EndpointShared;
use crate::stats::Counters;
use crate::timer::TimerSet;
use crate::Endpoint;

thread_local! {
    /// The worker thread this OS thread is, while it serves.
    static CURRENT: RefCell<Option<WorkerThread>> = const { RefCell::new(None) };
}

/// One of a worker's `count` threads, as `on_worker_start` and `on_worker_stop` see it
/// (Workerman's `$worker` in `onWorkerStart`, one per process there): its
/// [`id`](Self::id) from 0 to `count - 1`, the worker's name, the worker's connections.
/// Set up per-thread state and [`Timer`](crate::Timer)s in `on_worker_start`.
#[derive(Debug, Clone)]
pub struct WorkerThread {
    id: usize,
    endpoint: Endpoint,
    timers: Arc<TimerSet>,
}

impl WorkerThread {
    pub(crate) fn new(id: usize, endpoint: Arc<EndpointShared>) -> Self {
        Self {
            id,
            endpoint: Endpoint(endpoint),
            timers: Arc::default(),
        }
    }

    /// The thread's number among the worker's threads, from 0 (Workerman's
    /// `$worker->id`): stable across the worker's life, so thread 0 can be the one that
    /// runs a job once per worker.
    pub fn id(&self) -> usize {
        self.id
    }

    /// The worker's name ([`Worker::name`](crate::Worker::name); default its URL).
    pub fn name(&self) -> &str {
        self.endpoint.name()
    }

    /// The worker's connections (every thread's) and counters.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// How many timers this thread runs.
    pub fn timer_count(&self) -> usize {
        self.timers.len()
    }

    /// The worker thread the caller runs on: in a connection's callbacks, a timer's, a
    /// task spawned from them; `None` elsewhere (a client's callbacks on an
    /// application's runtime, a thread of the application's own).
    pub fn current() -> Option<Self> {
        CURRENT.with(|current| current.borrow().clone())
    }

    pub(crate) fn timers(&self) -> &Arc<TimerSet> {
        &self.timers
    }

    /// Makes this the current worker thread until the guard drops.
    pub(crate) fn enter(&self) -> Entered {
        let previous = CURRENT.with(|current| current.replace(Some(self.clone())));
        Entered { previous }
    }

    /// `on_worker_start`; a panic in it is logged and counted, and the thread serves on.
    pub(crate) fn started(&self) {
        self.hook("on_worker_start", |handler| handler.on_worker_start(self));
    }

    /// `on_worker_stop`, then the thread's timers end.
    pub(crate) fn stopped(&self) {
        self.hook("on_worker_stop", |handler| handler.on_worker_stop(self));
        self.timers.cancel_all();
    }

    fn hook(&self, name: &str, f: impl FnOnce(&dyn crate::Handler)) {
        let shared = &self.endpoint.0;
        if catch_unwind(AssertUnwindSafe(|| f(&*shared.handler))).is_err() {
            Counters::add(&shared.counters.handler_panics, 1);
            tracing::error!(worker = %shared.name, thread = self.id, "{name} panicked");
        }
    }
}

/// Restores the thread's previous current worker thread.
pub(crate) struct Entered {
    previous: Option<WorkerThread>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|current| *current.borrow_mut() = previous);
    }
}

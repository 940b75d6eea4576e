//! Workerman's `Timer::add` / `Timer::del`: callbacks run every interval (or once, after a
//! delay) on the runtime of the thread that added them, and ended with the worker.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::AbortHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::connection::lock;
use crate::stats::Counters;
use crate::worker_thread::WorkerThread;

/// Timer ids increase across the process.
static NEXT_TIMER: AtomicU64 = AtomicU64::new(1);

/// A timer that was added: [`del`](Self::del) ends it, from any thread. Cloning gives
/// another handle to the same timer; dropping the handles does not end it (Workerman's
/// timer ids do not either).
///
/// On a worker thread (in [`on_worker_start`](crate::Worker::on_worker_start), a
/// connection's callback, a task the callback spawned), a timer belongs to that thread's
/// worker and ends when it stops, after `on_worker_stop`. Elsewhere on a tokio runtime
/// (a [`Client`](crate::Client)'s callbacks, an application's own task) it runs on that
/// runtime until it is deleted or the runtime ends.
///
/// ```
/// use std::time::Duration;
/// use wm_server::{Timer, Worker};
///
/// let worker = Worker::new("websocket://127.0.0.1:0")?
///     .on_worker_start(|thread| {
///         // A broadcast every 10 s to the thread's worker, and a one-shot after 1 s.
///         let endpoint = thread.endpoint().clone();
///         Timer::add(Duration::from_secs(10), move || {
///             endpoint.broadcast("tick");
///         })
///         .expect("on a worker thread");
///         Timer::once(Duration::from_secs(1), || println!("a second after the start"))
///             .expect("on a worker thread");
///     })
///     .start()?;
/// drop(worker); // stops gracefully: the timers end with it
/// # Ok::<(), wm_server::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Timer {
    id: u64,
    task: AbortHandle,
}

/// Why a timer could not be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimerError {
    /// Not called on a worker thread nor within a tokio runtime: there is nothing to run
    /// the timer on.
    #[error(
        "no runtime to run the timer on: add timers on a worker thread or within a tokio runtime"
    )]
    NoRuntime,
    /// A periodic timer's interval was zero (it would never let anything else run).
    #[error("a timer interval of zero")]
    ZeroInterval,
    /// The interval or delay is over [`MAX_TIMEOUT`](crate::MAX_TIMEOUT) (a year).
    #[error("a timer interval over a year")]
    TooLong,
}

impl Timer {
    /// Runs `callback` every `interval`, the first time one interval from now
    /// (Workerman's `Timer::add($interval, $callback)`). A callback that runs late does
    /// not make the next ones bunch up: the next run is one interval after it. A
    /// callback that panics is logged and counted in the worker's
    /// [`Stats::handler_panics`](crate::Stats::handler_panics), and ends its timer.
    pub fn add(
        interval: Duration,
        mut callback: impl FnMut() + Send + 'static,
    ) -> Result<Self, TimerError> {
        if interval.is_zero() {
            return Err(TimerError::ZeroInterval);
        }
        check(interval)?;
        Self::spawn(move |owner| async move {
            let mut ticks = tokio::time::interval_at(Instant::now() + interval, interval);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if !owner.run(&mut callback) {
                    return;
                }
            }
        })
    }

    /// Runs `callback` once, after `delay` (Workerman's `Timer::add($delay, $callback,
    /// [], false)`).
    pub fn once(
        delay: Duration,
        callback: impl FnOnce() + Send + 'static,
    ) -> Result<Self, TimerError> {
        check(delay)?;
        Self::spawn(move |owner| async move {
            tokio::time::sleep(delay).await;
            let mut callback = Some(callback);
            owner.run(&mut || {
                if let Some(callback) = callback.take() {
                    callback();
                }
            });
        })
    }

    /// Ends the timer (Workerman's `Timer::del($id)`); a callback already running
    /// finishes. Nothing happens if it ended already.
    pub fn del(&self) {
        self.task.abort();
    }

    /// Ends every timer of the worker thread this is called on (Workerman's
    /// `Timer::delAll()`); returns how many there were. Off a worker thread, none.
    pub fn del_all() -> usize {
        WorkerThread::current().map_or(0, |thread| thread.timers().cancel_all())
    }

    /// Whether the timer will still run: not deleted, not ended with its worker, and
    /// (for a one-shot) not run yet.
    pub fn is_active(&self) -> bool {
        !self.task.is_finished()
    }

    /// The timer's id, unique in the process.
    pub fn id(&self) -> u64 {
        self.id
    }

    fn spawn<F, Fut>(body: F) -> Result<Self, TimerError>
    where
        F: FnOnce(Owner) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| TimerError::NoRuntime)?;
        let id = NEXT_TIMER.fetch_add(1, Ordering::Relaxed);
        let Some(thread) = WorkerThread::current() else {
            let task = runtime
                .spawn(body(Owner { id, endpoint: None }))
                .abort_handle();
            return Ok(Self { id, task });
        };
        let owner = Owner {
            id,
            endpoint: Some(thread.endpoint().0.clone()),
        };
        // The entry leaves the worker's list when the task ends, however it ends (its
        // last run, a del, the worker's stop): the list holds live timers only.
        let registered = Registered {
            id,
            timers: thread.timers().clone(),
        };
        let future = body(owner);
        let task = runtime
            .spawn(async move {
                let _registered = registered;
                future.await;
            })
            .abort_handle();
        thread.timers().insert(id, &task);
        Ok(Self { id, task })
    }
}

fn check(duration: Duration) -> Result<(), TimerError> {
    if duration > crate::MAX_TIMEOUT {
        return Err(TimerError::TooLong);
    }
    Ok(())
}

/// Whose a timer is: its id, and the worker that counts its panics.
struct Owner {
    id: u64,
    endpoint: Option<Arc<crate::connection::EndpointShared>>,
}

impl Owner {
    /// Runs the callback; `false` if it panicked (logged and counted).
    fn run(&self, callback: &mut dyn FnMut()) -> bool {
        if catch_unwind(AssertUnwindSafe(callback)).is_ok() {
            return true;
        }
        if let Some(endpoint) = &self.endpoint {
            Counters::add(&endpoint.counters.handler_panics, 1);
        }
        tracing::error!(timer = self.id, "a timer callback panicked; the timer ends");
        false
    }
}

/// The live timers of one worker thread, ended when it stops.
#[derive(Debug, Default)]
pub(crate) struct TimerSet(Mutex<HashMap<u64, AbortHandle>>);

impl TimerSet {
    fn insert(&self, id: u64, task: &AbortHandle) {
        let mut timers = lock(&self.0);
        // A worker thread's runtime runs one task at a time, on this thread: the timer's
        // task has not run yet. It can only have ended already if the runtime is shutting
        // down and dropped it unrun; then it is not listed.
        if !task.is_finished() {
            timers.insert(id, task.clone());
        }
    }

    /// Ends every timer; returns how many there were.
    pub(crate) fn cancel_all(&self) -> usize {
        let timers = std::mem::take(&mut *lock(&self.0));
        for task in timers.values() {
            task.abort();
        }
        timers.len()
    }

    pub(crate) fn len(&self) -> usize {
        lock(&self.0).len()
    }
}

/// Takes a timer off its worker's list when its task ends.
struct Registered {
    id: u64,
    timers: Arc<TimerSet>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        lock(&self.timers.0).remove(&self.id);
    }
}

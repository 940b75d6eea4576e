//! Serving until a signal: Workerman's `Worker::runAll()` and the SIGINT / SIGTERM that
//! stop it gracefully.

use crate::listener::Listener;
use crate::{ConfigError, Stats, Worker, WorkerHandle};

/// Starts every worker, serves until SIGINT or SIGTERM, and stops them all gracefully:
/// Workerman's `Worker::runAll()`. Returns each worker's counters, in order.
pub fn run_all(workers: impl IntoIterator<Item = Worker>) -> Result<Vec<Stats>, ConfigError> {
    run_all_with(workers, |_| {})
}

/// [`run_all`], calling `ready` with the workers' handles once every one is bound and
/// before any is served (to print the addresses, say: a SIGINT or SIGTERM from then on
/// stops them gracefully).
///
/// When there is one thread in all (one worker, `count` 1) it is the calling thread: in
/// a process with a single thread, Linux takes no reference on the descriptor table and
/// glibc skips the cancellation bookkeeping around each socket call, which is a few per
/// cent of a small message's cost.
pub fn run_all_with(
    workers: impl IntoIterator<Item = Worker>,
    ready: impl FnOnce(&[WorkerHandle]),
) -> Result<Vec<Stats>, ConfigError> {
    let signals = StopSignals::install()?;
    let (mut handles, mut listeners): (Vec<_>, Vec<_>) = workers
        .into_iter()
        .map(Worker::prepare)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .unzip();
    if let ([handle], [lone]) = (&mut handles[..], &mut listeners[..]) {
        if lone.len() == 1 {
            let listener = lone.remove(0);
            ready(std::slice::from_ref(handle));
            signals.serve_here(listener, handle);
            return Ok(vec![handle.stats()]);
        }
    }
    for (handle, listeners) in handles.iter_mut().zip(listeners) {
        handle.spawn(listeners)?;
    }
    ready(&handles);
    signals.wait()?;
    Ok(WorkerHandle::stop_all(handles))
}

/// SIGINT and SIGTERM, caught from the moment [`install`](Self::install) returns: make
/// one before telling the world the server is up, so that a SIGTERM sent at once stops
/// it gracefully instead of killing it.
pub struct StopSignals {
    runtime: tokio::runtime::Runtime,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl std::fmt::Debug for StopSignals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StopSignals")
    }
}

impl StopSignals {
    /// Sets the handlers now.
    pub fn install() -> Result<Self, ConfigError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(ConfigError::Runtime)?;
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let _context = runtime.enter();
            let interrupt = signal(SignalKind::interrupt()).map_err(ConfigError::Runtime)?;
            let terminate = signal(SignalKind::terminate()).map_err(ConfigError::Runtime)?;
            Ok(Self {
                runtime,
                interrupt,
                terminate,
            })
        }
        #[cfg(not(unix))]
        Ok(Self { runtime })
    }

    /// Serves `listener` on this thread, in the runtime that watches the signals, until
    /// one comes; then stops `handle` gracefully, still serving while connections close.
    fn serve_here(self, listener: Listener, handle: &mut WorkerHandle) {
        let (runtime, signal) = self.into_parts();
        runtime.block_on(async {
            let serving = tokio::spawn(listener.serve());
            // Without signal handling (not on Unix, failed), stop as on a signal.
            let _ = signal.await;
            handle.shutdown_here().await;
            let _ = serving.await;
        });
    }

    /// Blocks until SIGINT or SIGTERM (Ctrl-C elsewhere).
    pub fn wait(self) -> Result<(), ConfigError> {
        let (runtime, signal) = self.into_parts();
        runtime.block_on(signal)
    }

    /// The runtime, and the future that ends with the first signal.
    fn into_parts(
        self,
    ) -> (
        tokio::runtime::Runtime,
        impl std::future::Future<Output = Result<(), ConfigError>>,
    ) {
        #[cfg(unix)]
        {
            let Self {
                runtime,
                mut interrupt,
                mut terminate,
            } = self;
            let signal = async move {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
                Ok(())
            };
            (runtime, signal)
        }
        #[cfg(not(unix))]
        {
            let signal = async { tokio::signal::ctrl_c().await.map_err(ConfigError::Runtime) };
            (self.runtime, signal)
        }
    }
}

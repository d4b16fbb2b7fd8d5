//! How a server stops. SIGTERM (a service manager, a rolling restart, Kubernetes) first
//! *drains*: `/readyz` answers 503 so that load balancers stop sending new requests,
//! while everything sent meanwhile is still served. Then it *stops*: the listener
//! closes, in-flight requests finish, WebSockets get a close frame (1001, going away),
//! background work (outbox relay, escalation) finishes its round, and the process exits
//! 0 — or 1 when that took longer than the timeout. SIGINT (Ctrl-C at a terminal) skips
//! the drain.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tokio_util::task::TaskTracker;

/// The signal that asked the server to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM: drain first.
    Terminate,
    /// SIGINT (Ctrl-C): stop at once.
    Interrupt,
}

/// The phases of a stop, shared by the listener, the handlers and the background work.
#[derive(Clone, Default)]
pub struct Shutdown {
    draining: CancellationToken,
    stopping: CancellationToken,
    served: CancellationToken,
    tasks: TaskTracker,
}

impl Shutdown {
    /// A server that is not stopping.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the server is draining or stopping (readiness says no).
    pub fn draining(&self) -> bool {
        self.draining.is_cancelled()
    }

    /// Completes when the server stops: the listener closes, sockets and background
    /// work end.
    pub fn stopping(&self) -> WaitForCancellationFutureOwned {
        self.stopping.clone().cancelled_owned()
    }

    /// Completes once the listener has closed and every request it took has been
    /// answered: from then on no request writes anything, so work that carries writes
    /// on (the outbox relay) can make its last round.
    pub fn served(&self) -> WaitForCancellationFutureOwned {
        self.served.clone().cancelled_owned()
    }

    /// Says that every request has been answered (see [`Shutdown::served`]).
    pub fn mark_served(&self) {
        self.served.cancel();
    }

    /// Runs `work` until it ends; the stop waits for it (within its timeout).
    pub fn spawn<F>(&self, work: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tasks.spawn(work);
    }

    /// `work`, counted among what the stop waits for while it runs.
    pub fn track<F: Future>(&self, work: F) -> impl Future<Output = F::Output> + use<F> {
        self.tasks.track_future(work)
    }

    /// Drains for `drain` (none after SIGINT), then stops.
    pub async fn begin(&self, signal: Signal, drain: Duration) {
        self.draining.cancel();
        if signal == Signal::Terminate && !drain.is_zero() {
            tracing::info!(drain_secs = drain.as_secs_f64(), "draining: not ready, still serving");
            tokio::time::sleep(drain).await;
        }
        tracing::info!("stopping: no new connections; finishing requests, sockets and background work");
        self.stopping.cancel();
    }

    /// Completes when every tracked task has ended (call after [`Shutdown::begin`]).
    pub async fn finished(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }
}

/// Completes on SIGTERM or SIGINT, saying which.
pub async fn signal() -> Signal {
    let interrupt = async {
        match tokio::signal::ctrl_c().await {
            Ok(()) => Signal::Interrupt,
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
                Signal::Terminate
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<Signal>();
    tokio::select! {
        signal = interrupt => signal,
        signal = terminate => signal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_interrupt_skips_the_drain() {
        let shutdown = Shutdown::new();
        shutdown.begin(Signal::Interrupt, Duration::from_secs(3600)).await;
        assert!(shutdown.draining());
        assert!(shutdown.stopping.is_cancelled());
    }

    #[tokio::test]
    async fn the_stop_waits_for_the_work_it_tracks() {
        let shutdown = Shutdown::new();
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let stopping = shutdown.stopping();
        shutdown.spawn(async move {
            stopping.await;
            let _ = released.await;
        });
        let socket = shutdown.track(std::future::ready(()));
        shutdown.begin(Signal::Interrupt, Duration::ZERO).await;
        let mut finished = std::pin::pin!(shutdown.finished());
        assert!(
            futures::poll!(finished.as_mut()).is_pending(),
            "a tracked task is still running"
        );
        socket.await;
        assert!(release.send(()).is_ok());
        finished.await;
    }
}

//! What the test servers (the ARM emulator, the Logs Ingestion endpoint) share: an axum app served
//! on a bound loopback listener in the current tokio runtime, stopped gracefully by `shutdown` or
//! at once when dropped, and the lock their shared state uses.

use axum::Router;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Resolves when a server started by [`Loopback::spawn`] is asked to stop.
pub type StopSignal = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// A server task; dropping it aborts the task.
pub struct Loopback {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Loopback {
    /// Serves `app` on `listener`; `name` is the server's name in the warning if serving fails.
    pub fn serve(listener: TcpListener, app: Router, name: &'static str) -> Loopback {
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!("{name} stopped: {e}");
            }
        });
        Loopback {
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Runs `serve` (given the signal to stop gracefully) as the server task, for servers that
    /// are not a plain `axum::serve` of a TCP listener.
    pub fn spawn<F>(name: &'static str, serve: impl FnOnce(StopSignal) -> F) -> Loopback
    where
        F: std::future::IntoFuture<Output = std::io::Result<()>>,
        F::IntoFuture: Send + 'static,
    {
        let (stop, stopped) = oneshot::channel::<()>();
        let serve = serve(Box::pin(async {
            let _ = stopped.await;
        }))
        .into_future();
        let task = tokio::spawn(async move {
            if let Err(e) = serve.await {
                tracing::warn!("{name} stopped: {e}");
            }
        });
        Loopback {
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops accepting connections and waits (briefly) for in-flight requests.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            // Clients holding keep-alive connections can delay a graceful stop; do not let them
            // hang the caller.
            if tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A poisoned lock only means another request panicked mid-update of a log or counter; the data
/// is still usable and the server must keep answering.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

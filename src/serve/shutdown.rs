//! Graceful shutdown: SIGTERM (what a container runtime sends) or Ctrl-C stops accepting
//! connections, lets requests in flight finish, and abandons a running scan before it writes
//! anything (its lease is released on the way out).

use tokio::sync::watch;

/// A shutdown signal every task can wait on; cheap to clone.
#[derive(Clone)]
pub struct Shutdown {
    receiver: watch::Receiver<bool>,
}

/// Requests the shutdown (the signal handler, or a test).
pub struct Trigger {
    sender: watch::Sender<bool>,
}

pub fn channel() -> (Trigger, Shutdown) {
    let (sender, receiver) = watch::channel(false);
    (Trigger { sender }, Shutdown { receiver })
}

impl Trigger {
    pub fn request(&self) {
        let _ = self.sender.send(true);
    }
}

impl Shutdown {
    /// Resolves once shutdown is requested (at once if it already was).
    pub async fn requested(&self) {
        let mut receiver = self.receiver.clone();
        // An error means the trigger is gone: nobody can ask any more, so wait forever is wrong
        // and so is returning at once; the trigger lives as long as `serve`, so treat it as asked.
        let _ = receiver.wait_for(|asked| *asked).await;
    }

    pub fn is_requested(&self) -> bool {
        *self.receiver.borrow()
    }
}

/// Waits for SIGTERM or Ctrl-C, then pulls `trigger`.
pub async fn on_signal(trigger: Trigger) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops serve");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("interrupt: shutting down"),
        _ = term => tracing::info!("SIGTERM: shutting down"),
    }
    trigger.request();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiters_wake_when_asked_and_later_ones_return_at_once() {
        let (trigger, shutdown) = channel();
        assert!(!shutdown.is_requested());
        let waiter = tokio::spawn({
            let shutdown = shutdown.clone();
            async move { shutdown.requested().await }
        });
        trigger.request();
        waiter.await.unwrap();
        assert!(shutdown.is_requested());
        tokio::time::timeout(std::time::Duration::from_secs(1), shutdown.requested())
            .await
            .expect("returns at once after the request");
    }
}

//! An effect is a future run as its own task: whatever happens to it (a result, no answer within
//! its limit, a panic) comes back to the event loop as one message, so the loop never waits and
//! never misses an outcome.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

/// Why an effect has no result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// No answer within the limit; the task was stopped.
    TimedOut(Duration),
    /// The task panicked (the panic's text; the log has the rest).
    Panicked(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::TimedOut(limit) => write!(f, "no answer within {}", seconds(*limit)),
            Failure::Panicked(text) => write!(f, "internal error ({text}); see the log"),
        }
    }
}

fn seconds(limit: Duration) -> String {
    if limit.subsec_millis() == 0 {
        format!("{} s", limit.as_secs())
    } else {
        format!("{:.1} s", limit.as_secs_f64())
    }
}

/// Runs `work` as a task for at most `limit`; sends `to_msg` of its output, or of why there is
/// none, on `tx`. A task past its limit is aborted (its future dropped, so a `Lease` it holds
/// discards its connection). Nothing is sent once the receiver is gone (the program is ending).
pub fn spawn_effect<T, M, F>(
    tx: &UnboundedSender<M>,
    limit: Duration,
    work: F,
    to_msg: impl FnOnce(Result<T, Failure>) -> M + Send + 'static,
) -> JoinHandle<()>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
    M: Send + 'static,
{
    let tx = tx.clone();
    tokio::spawn(async move {
        let outcome = run_bounded(limit, work).await;
        if let Err(failure) = &outcome {
            tracing::warn!("an effect failed: {failure}");
        }
        let _ = tx.send(to_msg(outcome));
    })
}

/// `work` as its own task (so that its panic is caught), for at most `limit`.
pub async fn run_bounded<T, F>(limit: Duration, work: F) -> Result<T, Failure>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let mut task = tokio::spawn(work);
    match tokio::time::timeout(limit, &mut task).await {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(join_error)) => Err(Failure::Panicked(panic_text(join_error))),
        Err(_elapsed) => {
            task.abort();
            Err(Failure::TimedOut(limit))
        }
    }
}

fn panic_text(error: tokio::task::JoinError) -> String {
    if !error.is_panic() {
        return error.to_string();
    }
    let payload = error.into_panic();
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a task panicked".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    #[tokio::test]
    async fn a_result_comes_back_as_the_message() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        spawn_effect(&tx, Duration::from_secs(5), async { 41 + 1 }, |r| r);
        assert_eq!(rx.recv().await, Some(Ok(42)));
    }

    #[tokio::test]
    async fn no_answer_within_the_limit_comes_back_as_timed_out_and_stops_the_task() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (dropped_tx, dropped_rx) = tokio::sync::oneshot::channel::<()>();
        let work = async move {
            let _tell_when_dropped = dropped_tx;
            std::future::pending::<()>().await
        };
        spawn_effect(&tx, Duration::from_millis(100), work, |r| r);
        assert_eq!(
            rx.recv().await,
            Some(Err(Failure::TimedOut(Duration::from_millis(100))))
        );
        // The aborted task dropped its future (and what it held).
        assert!(dropped_rx.await.is_err());
    }

    #[tokio::test]
    async fn a_panic_comes_back_as_a_message_with_its_text() {
        let (tx, mut rx) = mpsc::unbounded_channel::<Result<(), Failure>>();
        spawn_effect(
            &tx,
            Duration::from_secs(5),
            async { panic!("the figures did not add up") },
            |r| r,
        );
        assert_eq!(
            rx.recv().await,
            Some(Err(Failure::Panicked("the figures did not add up".into())))
        );
    }

    #[test]
    fn failures_read_as_sentences() {
        assert_eq!(
            Failure::TimedOut(Duration::from_millis(1500)).to_string(),
            "no answer within 1.5 s"
        );
        assert_eq!(
            Failure::TimedOut(Duration::from_secs(5)).to_string(),
            "no answer within 5 s"
        );
        assert_eq!(
            Failure::Panicked("boom".into()).to_string(),
            "internal error (boom); see the log"
        );
    }
}

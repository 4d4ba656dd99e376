//! `GET /v1/events`: server-sent events fed by the database's LISTEN/NOTIFY. One listening
//! connection per server (not per client) relays every notice to every open stream.
//!
//! Events: `ready` (the listener is in place: from now on no sale is missed; sent first, and
//! again after the server reconnected to the database, when a client should refresh),
//! `purchase` (`{"purchase_id", "supermarket_id"}`, or `{}` when the server reads a standby,
//! which only sees that sales arrived; at most one per database session per 200 ms, so a
//! client refreshes on it rather than counting them; a notice that is not a sale's is dropped), `catalog`
//! (`{"table"}`: products, prices or branches changed) and `lagged` (this client fell behind
//! and missed some events: refresh).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use store_core::db::live::{self, CATALOG_CHANNEL, LISTENING, Notice, PURCHASE_CHANNEL};
use store_core::db::target::ConnectSettings;
use store_core::retry::RetryPolicy;
use tokio::sync::{Semaphore, broadcast, mpsc, watch};

use super::AppState;
use super::auth::Role;
use super::problem::Problem;

const CHANNELS: &[&str] = &[PURCHASE_CHANNEL, CATALOG_CHANNEL];

/// Events buffered per client before it counts as lagging.
pub const BUFFERED_EVENTS: usize = 256;

/// Event streams open at once; one more is answered 503.
pub const MAX_EVENT_STREAMS: usize = 256;

/// The waits between attempts to listen again after the connection was lost.
const RELISTEN: RetryPolicy = RetryPolicy::new(Duration::from_millis(250), Duration::from_secs(5));

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveEvent {
    pub name: &'static str,
    pub data: String,
}

impl LiveEvent {
    fn ready() -> LiveEvent {
        LiveEvent {
            name: "ready",
            data: "{}".into(),
        }
    }

    fn from_notice(notice: Notice) -> Option<LiveEvent> {
        match notice.channel.as_str() {
            LISTENING => Some(LiveEvent::ready()),
            PURCHASE_CHANNEL => Some(LiveEvent {
                name: "purchase",
                data: purchase_data(&notice.payload)?,
            }),
            CATALOG_CHANNEL => Some(LiveEvent {
                name: "catalog",
                data: serde_json::json!({ "table": notice.payload }).to_string(),
            }),
            _ => None,
        }
    }
}

/// What a sale's notice says, as the checkout's trigger writes it.
#[derive(serde::Deserialize, serde::Serialize)]
struct PurchaseNotice {
    purchase_id: i64,
    supermarket_id: String,
}

/// A purchase event's data from a notice's payload. Any role may `pg_notify` on the channel,
/// so the payload is read and written anew, never relayed: a payload that is not a purchase's
/// is dropped. A standby's notice has no payload (it only sees that sales were replayed): `{}`.
fn purchase_data(payload: &str) -> Option<String> {
    if payload.is_empty() {
        return Some("{}".into());
    }
    let notice: PurchaseNotice = serde_json::from_str(payload).ok()?;
    let branch_is_an_id = store_core::domain::input::branch_id(&notice.supermarket_id)
        .is_ok_and(|id| id == notice.supermarket_id);
    if !branch_is_an_id {
        return None;
    }
    serde_json::to_string(&notice).ok()
}

/// What the handlers subscribe to.
#[derive(Clone)]
pub struct Relay {
    events: broadcast::Sender<LiveEvent>,
    listening: watch::Receiver<bool>,
    stop: watch::Receiver<bool>,
    /// A permit per open stream.
    streams: Arc<Semaphore>,
}

impl Relay {
    /// Starts listening (and listening again whenever the connection is lost) until `stop`
    /// turns true; every stream ends then (a graceful shutdown does not wait for them).
    pub fn start(settings: ConnectSettings, mut stop: watch::Receiver<bool>) -> Relay {
        let (events, _) = broadcast::channel(BUFFERED_EVENTS);
        let (listening_tx, listening) = watch::channel(false);
        let relay = Relay {
            events: events.clone(),
            listening,
            stop: stop.clone(),
            streams: Arc::new(Semaphore::new(MAX_EVENT_STREAMS)),
        };
        tokio::spawn(async move {
            let mut failures = 0;
            loop {
                tokio::select! {
                    _ = stopped(&mut stop) => break,
                    result = listen_once(&settings, &events, &listening_tx) => {
                        listening_tx.send_replace(false);
                        failures = match result {
                            // It was listening: try again at once.
                            Ok(true) => 0,
                            _ => failures + 1,
                        };
                        if failures > 0 {
                            tokio::select! {
                                _ = stopped(&mut stop) => break,
                                _ = tokio::time::sleep(RELISTEN.delay(failures)) => {}
                            }
                        }
                    }
                }
            }
        });
        relay
    }

    fn subscribe(&self) -> (bool, broadcast::Receiver<LiveEvent>) {
        // Subscribed before looking: a `ready` sent in between is then received, not lost.
        let receiver = self.events.subscribe();
        (*self.listening.borrow(), receiver)
    }
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopping| *stopping).await;
}

/// One listening connection until it is lost; Ok(true) when it got as far as listening.
async fn listen_once(
    settings: &ConnectSettings,
    events: &broadcast::Sender<LiveEvent>,
    listening: &watch::Sender<bool>,
) -> Result<bool, store_core::Error> {
    let (notices_tx, mut notices) = mpsc::unbounded_channel();
    let listener = live::listen(settings.clone(), CHANNELS, notices_tx);
    tokio::pin!(listener);
    let mut listened = false;
    loop {
        tokio::select! {
            result = &mut listener => {
                if let Err(e) = &result {
                    tracing::warn!("events: listening for notices: {e}");
                }
                return result.map(|()| listened);
            }
            Some(notice) = notices.recv() => {
                if notice.channel == LISTENING {
                    listened = true;
                    listening.send_replace(true);
                }
                if let Some(event) = LiveEvent::from_notice(notice) {
                    // No subscriber is not an error.
                    let _ = events.send(event);
                }
            }
        }
    }
}

/// The event stream (for a clerk or an owner).
#[utoipa::path(get, path = "/v1/events", tag = "v1",
    responses(
        (status = 200, content_type = "text/event-stream", description = "events `ready`, `purchase`, `catalog`, `lagged`"),
        (status = 401, body = Problem),
        (status = 503, body = Problem, description = "too many event streams are open"),
    ),
    security(("bearer" = [])))]
pub async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Problem> {
    state
        .access
        .require_any(&headers, &[Role::Clerk, Role::Owner])?;
    let permit = state
        .relay
        .streams
        .clone()
        .try_acquire_owned()
        .map_err(|_| {
            tracing::warn!("{MAX_EVENT_STREAMS} event streams open already: one more refused");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{MAX_EVENT_STREAMS} event streams are open already; try again later"),
            )
        })?;
    let (listening, receiver) = state.relay.subscribe();
    let first = listening.then(LiveEvent::ready);
    let live = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let event = match receiver.recv().await {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(missed)) => LiveEvent {
                name: "lagged",
                data: serde_json::json!({ "missed": missed }).to_string(),
            },
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((event, receiver))
    });
    let mut stop = state.relay.stop.clone();
    let stopping = async move { stopped(&mut stop).await };
    let stream = futures_util::stream::iter(first)
        .chain(live)
        .take_until(stopping)
        .map(move |e| {
            // The stream holds its permit until it ends.
            let _open = &permit;
            Ok(Event::default().event(e.name).data(e.data))
        });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn purchase(payload: &str) -> Option<String> {
        LiveEvent::from_notice(Notice {
            channel: PURCHASE_CHANNEL.into(),
            payload: payload.into(),
        })
        .map(|e| e.data)
    }

    #[test]
    fn a_purchase_notice_is_read_and_written_anew_and_anything_else_dropped() {
        assert_eq!(
            purchase(r#"{"purchase_id": 7, "supermarket_id": "SMKT001", "x": "<script>"}"#)
                .as_deref(),
            Some(r#"{"purchase_id":7,"supermarket_id":"SMKT001"}"#)
        );
        assert_eq!(purchase("").as_deref(), Some("{}"));
        assert_eq!(purchase("not json"), None);
        assert_eq!(
            purchase(r#"{"purchase_id": "7", "supermarket_id": "S"}"#),
            None
        );
        assert_eq!(
            purchase(r#"{"purchase_id": 7, "supermarket_id": "a b\nevent: x"}"#),
            None
        );
        assert_eq!(purchase(r#"{"purchase_id": 7}"#), None);
    }
}

//! Live updates: committed purchases are announced on a PostgreSQL channel (see
//! record_purchase in schema.sql), and catalog changes on another; listeners learn of them
//! without polling.

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::AsyncMessage;

use crate::db::store::{ADDRESS_CONNECT_TIMEOUT, connect_deadline};
use crate::db::target::ConnectSettings;
use crate::error::{Error, Result};

/// A purchase was committed (at most one notice per database session per 200 ms: a listener
/// should refresh once more shortly after the last notice it got).
pub const PURCHASE_CHANNEL: &str = "icash_purchase";
/// Products, prices or branches changed.
pub const CATALOG_CHANNEL: &str = "icash_catalog";
/// Not a database channel: `listen` sends one notice with this channel once its LISTEN is in
/// place, the moment from which no announcement can be missed (refresh then).
pub const LISTENING: &str = "listening";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub channel: String,
    pub payload: String,
}

/// How often a listener on a hot standby reads the replay position.
pub const REPLAY_WATCH_INTERVAL: std::time::Duration = std::time::Duration::from_millis(200);

const IN_RECOVERY: &str = "SELECT pg_is_in_recovery()";
const REPLAY_POSITION: &str = "SELECT pg_last_wal_replay_lsn()::text, pg_is_in_recovery()";

/// Listens on `channels` and forwards every notice until the connection is lost (an error) or
/// the receiver is gone (Ok).
///
/// On a hot standby, where NOTIFY never arrives, it watches the replay position instead (one
/// cheap query every [`REPLAY_WATCH_INTERVAL`]) and sends a notice on [`PURCHASE_CHANNEL`],
/// with an empty payload, whenever the standby has replayed more of the primary's changes (if
/// `channels` has it; catalog changes are not told apart). A standby promoted meanwhile ends
/// the watch with an error, so that the caller reconnects and LISTENs. The caller reconnects as it sees fit, and refreshes after
/// reconnecting: notices sent while it was away are lost.
///
/// `settings` is `store.config()`, so that the connection is made with the store's TLS settings
/// (a bare `&tokio_postgres::Config` connects with its own sslmode, unverified).
pub async fn listen(
    settings: impl Into<ConnectSettings>,
    channels: &[&str],
    notices: mpsc::UnboundedSender<Notice>,
) -> Result<()> {
    let mut settings: ConnectSettings = settings.into();
    if settings.get_connect_timeout().is_none() {
        settings.connect_timeout(ADDRESS_CONNECT_TIMEOUT);
    }
    let tls = settings.connector()?;
    let deadline = connect_deadline(&settings.config);
    let (client, mut connection) = tokio::time::timeout(deadline, settings.config.connect(tls))
        .await
        .map_err(|_| Error::Unreachable {
            target: crate::db::target::describe_config(&settings.config),
            elapsed: deadline,
            reason: "timed out".into(),
        })??;
    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
    let in_recovery: bool = drive(&mut messages, client.query_one(IN_RECOVERY, &[]))
        .await?
        .try_get(0)?;
    if in_recovery {
        return watch_replay(&client, &mut messages, channels, &notices).await;
    }
    let statement: String = channels
        .iter()
        .filter(|c| c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_'))
        .map(|c| format!("LISTEN {c};"))
        .collect();
    let listen = client.batch_execute(&statement);
    // The connection must be polled for LISTEN to complete.
    tokio::pin!(listen);
    loop {
        tokio::select! {
            done = &mut listen => { done?; break; }
            msg = messages.next() => match msg {
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => return Err(Error::Invalid("the listening connection closed".into())),
            }
        }
    }
    let ready = Notice {
        channel: LISTENING.to_string(),
        payload: String::new(),
    };
    if notices.send(ready).is_err() {
        return Ok(());
    }
    while let Some(message) = messages.next().await {
        if let AsyncMessage::Notification(n) = message? {
            let notice = Notice {
                channel: n.channel().to_string(),
                payload: n.payload().to_string(),
            };
            if notices.send(notice).is_err() {
                return Ok(());
            }
        }
    }
    // `client` lived until here: dropping it would end the LISTEN.
    Err(Error::Invalid("the listening connection closed".into()))
}

/// Runs `work` on a connection whose messages come through `messages`, which must be polled
/// for the work to progress.
async fn drive<T>(
    messages: &mut (
             impl futures_util::Stream<Item = Result<AsyncMessage, tokio_postgres::Error>> + Unpin
         ),
    work: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T> {
    tokio::pin!(work);
    loop {
        tokio::select! {
            done = &mut work => return Ok(done?),
            msg = messages.next() => match msg {
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => return Err(Error::Invalid("the listening connection closed".into())),
            }
        }
    }
}

/// A standby's stand-in for LISTEN: a notice whenever the replay position moves.
async fn watch_replay(
    client: &tokio_postgres::Client,
    messages: &mut (
             impl futures_util::Stream<Item = Result<AsyncMessage, tokio_postgres::Error>> + Unpin
         ),
    channels: &[&str],
    notices: &mpsc::UnboundedSender<Notice>,
) -> Result<()> {
    let ready = Notice {
        channel: LISTENING.to_string(),
        payload: String::new(),
    };
    if notices.send(ready).is_err() {
        return Ok(());
    }
    let tells_purchases = channels.contains(&PURCHASE_CHANNEL);
    let statement = drive(messages, client.prepare(REPLAY_POSITION)).await?;
    let mut last: Option<String> = None;
    let mut ticks = tokio::time::interval(REPLAY_WATCH_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = notices.closed() => return Ok(()),
        }
        let row = drive(messages, client.query_one(&statement, &[])).await?;
        let position: Option<String> = row.try_get(0)?;
        if !row.try_get::<_, bool>(1)? {
            return Err(Error::Invalid(
                "the standby was promoted: reconnect to listen on the new primary".into(),
            ));
        }
        if tells_purchases && last.is_some() && position != last {
            let moved = Notice {
                channel: PURCHASE_CHANNEL.to_string(),
                payload: String::new(),
            };
            if notices.send(moved).is_err() {
                return Ok(());
            }
        }
        last = position;
    }
}

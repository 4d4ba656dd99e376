//! Live updates: committed purchases are announced on a PostgreSQL channel (see
//! record_purchase in schema.sql), and catalog changes on another; listeners learn of them
//! without polling.

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::AsyncMessage;

use crate::db::store::CONNECT_TIMEOUT;
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

/// Listens on `channels` and forwards every notice until the connection is lost (an error) or
/// the receiver is gone (Ok). The caller reconnects as it sees fit, and refreshes after
/// reconnecting: notices sent while it was away are lost.
///
/// `settings` is `store.config()`, so that the connection is made with the store's TLS settings
/// (a bare `&tokio_postgres::Config` connects with its own sslmode, unverified).
pub async fn listen(
    settings: impl Into<ConnectSettings>,
    channels: &[&str],
    notices: mpsc::UnboundedSender<Notice>,
) -> Result<()> {
    let settings: ConnectSettings = settings.into();
    let tls = settings.connector()?;
    let (client, mut connection) =
        tokio::time::timeout(CONNECT_TIMEOUT, settings.config.connect(tls))
            .await
            .map_err(|_| Error::Unreachable {
                target: crate::db::target::describe_config(&settings.config),
                elapsed: CONNECT_TIMEOUT,
                reason: "timed out".into(),
            })??;
    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
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

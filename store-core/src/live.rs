//! Live updates: committed purchases are announced on a PostgreSQL channel (see
//! record_purchase in schema.sql); listeners learn of new sales without polling.

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::error::{Error, Result};
use crate::pool::CONNECT_TIMEOUT;

pub const PURCHASE_CHANNEL: &str = "icash_purchase";

/// One announcement: its payload is JSON with the purchase id and branch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PurchaseNotice {
    pub payload: String,
}

/// Listens on the purchase channel and forwards every notice until the connection is lost
/// (an error) or the receiver is gone (Ok). The caller reconnects as it sees fit.
pub async fn listen_for_purchases(
    config: &tokio_postgres::Config,
    notices: mpsc::UnboundedSender<PurchaseNotice>,
) -> Result<()> {
    let (client, mut connection) = tokio::time::timeout(CONNECT_TIMEOUT, config.connect(NoTls))
        .await
        .map_err(|_| Error::Unreachable {
            target: crate::config::describe_config(config),
            seconds: CONNECT_TIMEOUT.as_secs(),
            reason: "timed out".into(),
        })??;
    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
    let statement = format!("LISTEN {PURCHASE_CHANNEL}");
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
    while let Some(message) = messages.next().await {
        match message? {
            AsyncMessage::Notification(n) if n.channel() == PURCHASE_CHANNEL => {
                if notices
                    .send(PurchaseNotice {
                        payload: n.payload().to_string(),
                    })
                    .is_err()
                {
                    return Ok(());
                }
            }
            _ => {}
        }
    }
    // `client` lived until here: dropping it would end the LISTEN.
    Err(Error::Invalid("the listening connection closed".into()))
}

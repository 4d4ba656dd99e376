//! A TCP proxy on 127.0.0.1 in front of a test server's socket that can stall: it stops
//! forwarding in both directions without closing anything, as a link that silently drops
//! packets looks to the programs (no reset, no error, just silence). What was in flight is held
//! and delivered when it forwards again, as TCP's retransmissions would deliver it once the link
//! is back. Shared by pos-tui's and owner-tui's fault tests.
#![allow(dead_code)]

use std::path::PathBuf;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UnixStream};
use tokio::sync::watch;

pub struct Proxy {
    pub port: u16,
    forwarding: watch::Sender<bool>,
}

impl Proxy {
    /// Listens on a free port of 127.0.0.1 and forwards each connection to the PostgreSQL
    /// socket of a server (`socket_dir`, `port`), on `runtime`.
    pub fn start(runtime: &tokio::runtime::Runtime, socket_dir: PathBuf, port: u16) -> Proxy {
        let socket = socket_dir.join(format!(".s.PGSQL.{port}"));
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("a free port on 127.0.0.1");
        let port = listener.local_addr().unwrap().port();
        let (forwarding, watching) = watch::channel(true);
        runtime.spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let Ok(server) = UnixStream::connect(&socket).await else {
                    continue; // the client sees its connection closed
                };
                let (from_client, to_client) = tcp.into_split();
                let (from_server, to_server) = server.into_split();
                tokio::spawn(pump(from_client, to_server, watching.clone()));
                tokio::spawn(pump(from_server, to_client, watching.clone()));
            }
        });
        Proxy { port, forwarding }
    }

    /// A connection string for `dbname` through the proxy.
    pub fn url(&self, dbname: &str) -> String {
        format!(
            "postgresql://postgres@127.0.0.1:{}/{dbname}?sslmode=disable",
            self.port
        )
    }

    /// Stops forwarding, silently: sockets stay open, nothing is answered.
    pub fn stall(&self) {
        self.forwarding.send_replace(false);
    }

    pub fn forward(&self) {
        self.forwarding.send_replace(true);
    }
}

async fn pump(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    mut forwarding: watch::Receiver<bool>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        if forwarding.wait_for(|on| *on).await.is_err() {
            return;
        }
        let read = tokio::select! {
            read = from.read(&mut buffer) => read,
            // Stalled while waiting: stop reading until it forwards again.
            _ = forwarding.wait_for(|on| !*on) => continue,
        };
        let n = match read {
            Ok(0) | Err(_) => {
                let _ = to.shutdown().await;
                return;
            }
            Ok(n) => n,
        };
        // Bytes read just before a stall are held until it forwards again.
        if forwarding.wait_for(|on| *on).await.is_err() {
            return;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

//! A local primary and its hot standby, for failover and read-replica tests: both run as the
//! `postgres` account on Unix sockets in throwaway directories, the standby made with
//! `pg_basebackup -R` and replicating synchronously (a commit the primary confirms is on the
//! standby too, as a failover that loses no confirmed sale needs). Both are stopped and removed
//! on drop, or when the process ends.

use std::time::{Duration, Instant};

use store_core::db::bootstrap::create_database_if_missing;
use store_core::db::embedded::{DATABASE_NAME, LocalServer};
use store_core::db::store::{ConnectOptions, Store, connect_one};

/// How long the pair waits for a server to catch up or to answer before the test fails.
const PATIENCE: Duration = Duration::from_secs(30);

pub struct StandbyPair {
    pub primary: LocalServer,
    pub standby: LocalServer,
}

impl StandbyPair {
    /// A primary with the `icash` database (schema applied, roles created), and a hot standby
    /// that has caught up with it.
    pub async fn start() -> StandbyPair {
        let primary = LocalServer::in_temp_dir("icash-primary-")
            .expect("PostgreSQL binaries")
            .throwaway()
            .with_setting("synchronous_commit", "on");
        primary.ensure_started().expect("starting the primary");
        super::watch_for_exit(&primary);
        create_database_if_missing(&primary, DATABASE_NAME)
            .await
            .expect("creating the database");
        let admin = connect_one(&primary.config(DATABASE_NAME))
            .await
            .expect("connecting to the primary");
        let mut migrator = Store::from_config(primary.config(DATABASE_NAME), "migrate".into(), 1)
            .expect("a pool")
            .client()
            .await
            .expect("connecting to migrate");
        store_core::db::schema::migrate(&mut migrator)
            .await
            .expect("migrating the primary");
        store_core::db::roles::create_roles(&migrator, Default::default())
            .await
            .expect("creating the roles");
        drop(migrator);

        let standby = LocalServer::in_temp_dir("icash-standby-")
            .expect("PostgreSQL binaries")
            .throwaway();
        let primary_for_copy = primary.clone();
        let standby_to_make = standby.clone();
        tokio::task::spawn_blocking(move || {
            standby_to_make.create_standby_of(&primary_for_copy)?;
            standby_to_make.start()
        })
        .await
        .expect("the standby's thread")
        .expect("making and starting the standby");
        super::watch_for_exit(&standby);
        // From now on the primary confirms a commit once the standby has it.
        for statement in [
            "ALTER SYSTEM SET synchronous_standby_names = '*'",
            "SELECT pg_reload_conf()",
        ] {
            admin
                .batch_execute(statement)
                .await
                .expect("making replication synchronous");
        }
        let pair = StandbyPair { primary, standby };
        pair.wait_until_standby_is_synchronous().await;
        pair
    }

    /// Both servers, the primary first, as one connection string for whichever is the primary
    /// (`target_session_attrs=read-write`), as the tills are configured.
    pub fn url(&self) -> String {
        format!(
            "host={},{} port={},{} user=postgres dbname={DATABASE_NAME} \
             target_session_attrs=read-write",
            self.primary.socket_dir().display(),
            self.standby.socket_dir().display(),
            self.primary.port(),
            self.standby.port()
        )
    }

    /// The standby alone (a dashboard reading it).
    pub fn standby_url(&self) -> String {
        server_url(&self.standby)
    }

    /// The primary alone.
    pub fn primary_url(&self) -> String {
        server_url(&self.primary)
    }

    /// A pool through [`StandbyPair::url`], the way the programs connect.
    pub async fn store(&self) -> Store {
        store_core::startup::open(&ConnectOptions {
            database_url: Some(self.url()),
            max_size: 16,
            ..ConnectOptions::default()
        })
        .await
        .expect("connecting to the primary")
    }

    /// Stops the primary abruptly (`pg_ctl stop -m immediate`), as a crash does.
    pub fn stop_primary_abruptly(&self) {
        self.primary.stop(true).expect("stopping the primary");
    }

    /// Promotes the standby; returns once it takes writes.
    pub fn promote_standby(&self) {
        self.standby.promote().expect("promoting the standby");
    }

    /// Waits until the primary reports the standby as its synchronous standby.
    async fn wait_until_standby_is_synchronous(&self) {
        let admin = connect_one(&self.primary.config("postgres"))
            .await
            .expect("connecting to the primary");
        let started = Instant::now();
        loop {
            let row = admin
                .query_one(
                    "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync' \
                     AND state = 'streaming'",
                    &[],
                )
                .await
                .expect("reading pg_stat_replication");
            if row.get::<_, i64>(0) > 0 {
                return;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "the standby did not become synchronous within {PATIENCE:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn server_url(server: &LocalServer) -> String {
    format!(
        "host={} port={} user=postgres dbname={DATABASE_NAME}",
        server.socket_dir().display(),
        server.port()
    )
}

impl Drop for StandbyPair {
    fn drop(&mut self) {
        for server in [&self.standby, &self.primary] {
            let _ = server.stop(true);
            let _ = std::fs::remove_dir_all(server.home());
        }
    }
}

//! The schema: numbered migrations (`store-core/migrations/NNNN_name.sql`, embedded in the
//! binary), applied in order, each in one transaction under an advisory lock, and recorded in
//! `schema_migration`. The schema version is the number of the last migration file.
//!
//! `schema.sql` at the repository's top is the same schema written out in one piece to be read;
//! a test checks that it and the migrations give the same database.

use deadpool_postgres::GenericClient;

use crate::error::{Error, Result};

/// One numbered migration file.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    /// The file name without `.sql`: `0003_trust_the_database`.
    pub name: &'static str,
    pub sql: &'static str,
}

impl Migration {
    /// The number the file name starts with.
    pub const fn version(&self) -> i32 {
        leading_number(self.name)
    }
}

const fn leading_number(name: &str) -> i32 {
    let bytes = name.as_bytes();
    let mut i = 0;
    let mut n = 0;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        n = n * 10 + (bytes[i] - b'0') as i32;
        i += 1;
    }
    n
}

macro_rules! migration {
    ($name:literal) => {
        Migration {
            name: $name,
            sql: include_str!(concat!("../../migrations/", $name, ".sql")),
        }
    };
}

/// The readable picture of the whole schema (not applied by any program; see the module's doc).
pub const SCHEMA_SQL: &str = include_str!("../../../schema.sql");

/// Every migration, in order (a test checks this list against the folder).
pub const MIGRATIONS: &[Migration] = &[
    migration!("0001_initial"),
    migration!("0002_partial_sale_key_index"),
    migration!("0003_trust_the_database"),
    migration!("0004_tills_cashiers_catalog"),
    migration!("0005_payment_voids_refunds_shifts"),
    migration!("0006_day_counters"),
];

/// The version the migrations bring a database to: the last file's number.
pub const SCHEMA_VERSION: i32 = MIGRATIONS[MIGRATIONS.len() - 1].version();

/// Serialises concurrent migrations (two programs starting at once).
const MIGRATION_LOCK: i64 = 0x1CA5_0001;

/// The runner's own tables. `schema_version` is what the programs from before numbered
/// migrations read (and wrote): kept at the latest version, it makes them refuse a newer
/// database instead of applying their own schema over it.
pub const BOOKKEEPING_SQL: &str = "
CREATE TABLE IF NOT EXISTS public.schema_migration (
    version integer PRIMARY KEY CHECK (version > 0),
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS public.schema_version (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version integer NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
";

const TABLES_PRESENT: &str = "SELECT to_regclass('public.schema_migration') IS NOT NULL, \
     to_regclass('public.schema_version') IS NOT NULL";
const LATEST_APPLIED: &str = "SELECT coalesce(max(version), 0) FROM public.schema_migration";
const LEGACY_VERSION: &str = "SELECT coalesce(max(version), 0) FROM public.schema_version";
const RECORD: &str = "INSERT INTO public.schema_migration (version, name) VALUES ($1, $2)";
const RECORD_VERSION: &str = "INSERT INTO public.schema_version (version) VALUES ($1) \
     ON CONFLICT (singleton) DO UPDATE SET version = excluded.version, applied_at = now()";

/// The database's schema version: the last migration applied; for a database of the program
/// from before numbered migrations, its `schema_version`; 0 for an empty database.
pub async fn current_version(client: &impl GenericClient) -> Result<i32> {
    let row = client.query_one(TABLES_PRESENT, &[]).await?;
    let (has_migrations, has_legacy): (bool, bool) = (row.try_get(0)?, row.try_get(1)?);
    let query = match (has_migrations, has_legacy) {
        (true, _) => LATEST_APPLIED,
        (false, true) => LEGACY_VERSION,
        (false, false) => return Ok(0),
    };
    Ok(client.query_one(query, &[]).await?.try_get(0)?)
}

/// For every program but `store-core migrate` on a named server: the database must be at
/// exactly this program's version; nothing is changed.
pub async fn check_version(client: &impl GenericClient) -> Result<()> {
    let found = current_version(client).await?;
    match found.cmp(&SCHEMA_VERSION) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Less => Err(Error::SchemaTooOld {
            found,
            needed: SCHEMA_VERSION,
        }),
        std::cmp::Ordering::Greater => Err(Error::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        }),
    }
}

/// Brings the database to `SCHEMA_VERSION`, one migration per transaction. Returns the names of
/// the migrations applied (none when it was there already).
pub async fn migrate(client: &mut deadpool_postgres::Object) -> Result<Vec<&'static str>> {
    let found = current_version(&*client).await?;
    if found == SCHEMA_VERSION {
        return Ok(Vec::new());
    }
    if found > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    let mut applied = Vec::new();
    loop {
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        let found = start_bookkeeping(&tx).await?;
        if found > SCHEMA_VERSION {
            return Err(Error::SchemaTooNew {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        let Some(next) = MIGRATIONS.iter().find(|m| m.version() > found) else {
            tx.commit().await?;
            return Ok(applied);
        };
        tx.batch_execute(next.sql).await.map_err(|e| {
            Error::Invalid(format!(
                "migration {} failed, nothing of it was applied: {}",
                next.name,
                crate::error::describe_db_error(&e)
            ))
        })?;
        tx.execute(RECORD, &[&next.version(), &next.name]).await?;
        tx.execute(RECORD_VERSION, &[&next.version()]).await?;
        tx.commit().await?;
        tracing::info!("applied migration {}", next.name);
        applied.push(next.name);
    }
}

/// Under the lock: creates the runner's tables if missing and returns the version reached. A
/// database of the program from before numbered migrations (`schema_version` N, no
/// `schema_migration`) had exactly migrations 1..=N: they are recorded as applied.
async fn start_bookkeeping(tx: &deadpool_postgres::Transaction<'_>) -> Result<i32> {
    let row = tx.query_one(TABLES_PRESENT, &[]).await?;
    let (has_migrations, has_legacy): (bool, bool) = (row.try_get(0)?, row.try_get(1)?);
    if has_migrations {
        return Ok(tx.query_one(LATEST_APPLIED, &[]).await?.try_get(0)?);
    }
    let legacy = if has_legacy {
        tx.query_one(LEGACY_VERSION, &[]).await?.try_get(0)?
    } else {
        0
    };
    tx.batch_execute(BOOKKEEPING_SQL).await?;
    for m in MIGRATIONS.iter().filter(|m| m.version() <= legacy) {
        tx.execute(RECORD, &[&m.version(), &m.name]).await?;
    }
    Ok(legacy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_the_folder_numbered_one_by_one() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        files.sort();
        let listed: Vec<String> = MIGRATIONS
            .iter()
            .map(|m| format!("{}.sql", m.name))
            .collect();
        assert_eq!(listed, files);
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version(), i as i32 + 1, "{}", m.name);
            assert_eq!(&m.name[..5], &format!("{:04}_", i + 1), "{}", m.name);
        }
        assert_eq!(SCHEMA_VERSION, MIGRATIONS.len() as i32);
    }
}

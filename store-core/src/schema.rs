//! The schema: `schema.sql`, versioned and applied idempotently.

use deadpool_postgres::GenericClient;

use crate::error::{Error, Result};

pub const SCHEMA_SQL: &str = include_str!("../../schema.sql");
/// The version `schema.sql` brings a database to; bump it with every change to that file.
pub const SCHEMA_VERSION: i32 = 2;

/// Serialises concurrent migrations (two programs starting at once).
const MIGRATION_LOCK: i64 = 0x1CA5_0001;

const HAS_VERSION_TABLE: &str = "SELECT to_regclass('schema_version') IS NOT NULL";
const CURRENT_VERSION: &str = "SELECT max(version) FROM schema_version";

pub async fn current_version(client: &impl GenericClient) -> Result<Option<i32>> {
    if !client
        .query_one(HAS_VERSION_TABLE, &[])
        .await?
        .get::<_, bool>(0)
    {
        return Ok(None);
    }
    Ok(client.query_one(CURRENT_VERSION, &[]).await?.get(0))
}

/// Brings the database to `SCHEMA_VERSION`. Returns true when something was applied.
pub async fn migrate(client: &mut deadpool_postgres::Object) -> Result<bool> {
    if let Some(found) = current_version(&*client).await? {
        if found == SCHEMA_VERSION {
            return Ok(false);
        }
        if found > SCHEMA_VERSION {
            return Err(Error::SchemaTooNew {
                found,
                supported: SCHEMA_VERSION,
            });
        }
    }
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    if current_version(&tx).await? == Some(SCHEMA_VERSION) {
        return Ok(false);
    }
    tx.batch_execute(SCHEMA_SQL).await?;
    tx.commit().await?;
    Ok(true)
}

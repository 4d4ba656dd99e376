//! Least privilege: a clerk role that can read the catalog and customers and record purchases,
//! voids, refunds and shift closes (through their SECURITY DEFINER functions only), an owner role that can only read: it executes nothing
//! that writes (its dashboards add the queued sales to the counters read-only; `store-core fold`
//! folds them, as the tables' owner), and a manager role that changes the catalog and the
//! cashiers (through their SECURITY DEFINER functions only). The tables and functions belong to
//! `icash_app` (see the migrations), which nobody logs in as. Nobody but the clerk's roster
//! function reads the cashiers' PIN hashes.

use deadpool_postgres::GenericClient;

use crate::error::Result;
use crate::retry::RetryPolicy;

pub const CLERK_ROLE: &str = "icash_clerk";
pub const OWNER_ROLE: &str = "icash_owner";
pub const MANAGER_ROLE: &str = "icash_manager";

/// Idempotent: creates the roles if missing and (re)grants exactly these privileges.
const GRANTS: &str = "
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'icash_clerk') THEN
        CREATE ROLE icash_clerk LOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'icash_owner') THEN
        CREATE ROLE icash_owner LOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'icash_manager') THEN
        CREATE ROLE icash_manager LOGIN;
    END IF;
END
$$;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM icash_clerk, icash_owner, icash_manager;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC, icash_clerk, icash_owner, icash_manager;
-- Nobody but the schema's owner creates objects where the iCash functions and tables live (the
-- default up to PostgreSQL 14, and kept by upgraded clusters, lets every role create there).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO icash_clerk, icash_owner, icash_manager;
GRANT SELECT ON public.product, public.supermarket, public.customer, public.schema_migration,
    public.schema_version TO icash_clerk;
GRANT EXECUTE ON FUNCTION
    public.record_purchase(uuid, text, uuid, boolean, integer[], numeric, timestamptz, text, integer, bigint, boolean, text, numeric),
    public.last_receipt_no(text),
    public.cashier_roster(),
    public.void_purchase(uuid, bigint, text, integer, integer, text, text),
    public.refund_purchase(uuid, bigint, integer[], text, integer, integer, text, text),
    public.find_purchase(text, bigint),
    public.current_shift(text),
    public.close_shift(text, integer),
    public.till_shifts(text, timestamptz, timestamptz)
    TO icash_clerk;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO icash_owner;
-- The cashiers, but not their PIN hashes; no manager's confirmation secret either (only the
-- functions' owner reads it).
REVOKE SELECT ON public.cashier FROM icash_owner;
REVOKE ALL ON public.manager_secret FROM icash_owner;
GRANT SELECT (number, name, has_pin, added_at, retired_at, is_manager) ON public.cashier TO icash_owner;
-- The owner executes nothing: it reads the shifts' rows (a closed shift's figures as stored),
-- through its SELECT on every table.
-- The manager reads the catalog and the cashiers (not their PIN hashes) and changes them
-- through these functions only.
GRANT SELECT ON public.product, public.supermarket, public.schema_migration,
    public.schema_version TO icash_manager;
GRANT SELECT (number, name, has_pin, added_at, retired_at, is_manager) ON public.cashier TO icash_manager;
GRANT EXECUTE ON FUNCTION
    public.add_branch(text, text, text),
    public.rename_branch(text, text),
    public.add_product(text, numeric),
    public.set_product_price(integer, numeric),
    public.set_product_retired(integer, boolean),
    public.add_cashier(integer, text, text, boolean, text),
    public.retire_cashier(integer)
    TO icash_manager;
-- Large objects are writable by PUBLIC by default: a read-only role could still store data.
-- (From a role that does not own these functions, this is a warning and changes nothing.)
REVOKE EXECUTE ON FUNCTION pg_catalog.lo_creat(integer), pg_catalog.lo_create(oid),
    pg_catalog.lo_from_bytea(oid, bytea) FROM PUBLIC;
";

/// CONNECT for the two roles; no temporary objects for anyone but superusers and the
/// database's owner (a temporary object is how a caller shadows a type or a table).
const DATABASE_GRANTS: &str = "SELECT format('GRANT CONNECT ON DATABASE %1$I TO icash_clerk, icash_owner, icash_manager; \
     REVOKE TEMPORARY ON DATABASE %1$I FROM PUBLIC', current_database())";
/// `$2` is a SCRAM verifier computed here, never the password itself: the statement is logged
/// by tokio-postgres at debug level and by servers with `log_statement = ddl`.
const SET_PASSWORD: &str = "SELECT format('ALTER ROLE %I PASSWORD %L', $1::text, $2::text)";

/// Waits before trying the grants again when another database's run changed the roles.
const CONCURRENT_UPDATE_RETRY: RetryPolicy = RetryPolicy::new(
    std::time::Duration::from_millis(20),
    std::time::Duration::from_millis(160),
);

/// The passwords `create_roles` sets: a role given one can log in with it.
#[derive(Clone, Copy, Debug, Default)]
pub struct RolePasswords<'a> {
    pub clerk: Option<&'a str>,
    pub owner: Option<&'a str>,
    pub manager: Option<&'a str>,
}

/// Creates or updates the three roles; a password, when given, lets the role log in with it.
pub async fn create_roles(client: &impl GenericClient, passwords: RolePasswords<'_>) -> Result<()> {
    // Roles belong to the whole server: another database's run may be creating them at the
    // same moment, which the server reports as a conflict; a second try then finds them.
    let mut attempt = 0;
    loop {
        attempt += 1;
        match client.batch_execute(GRANTS).await {
            Ok(()) => break,
            Err(e) if attempt < 5 && is_concurrent_catalog_update(&e) => {
                tokio::time::sleep(CONCURRENT_UPDATE_RETRY.delay(attempt)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    let grant: String = client.query_one(DATABASE_GRANTS, &[]).await?.try_get(0)?;
    client.batch_execute(&grant).await?;
    for (role, password) in [
        (CLERK_ROLE, passwords.clerk),
        (OWNER_ROLE, passwords.owner),
        (MANAGER_ROLE, passwords.manager),
    ] {
        if let Some(password) = password {
            let verifier = postgres_protocol::password::scram_sha_256(password.as_bytes());
            // Utility statements take no parameters: the server quotes the literal.
            let statement: String = client
                .query_one(SET_PASSWORD, &[&role, &verifier])
                .await?
                .try_get(0)?;
            client.batch_execute(&statement).await?;
        }
    }
    Ok(())
}

fn is_concurrent_catalog_update(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    match e.code() {
        Some(code) => {
            *code == SqlState::UNIQUE_VIOLATION
                || *code == SqlState::DUPLICATE_OBJECT
                || (*code == SqlState::INTERNAL_ERROR
                    && e.as_db_error()
                        .is_some_and(|d| d.message().contains("concurrently")))
        }
        None => false,
    }
}

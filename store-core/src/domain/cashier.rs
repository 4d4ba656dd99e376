//! Cashiers: who sells at a till. Each has a number and a name, and may have a PIN, kept only as
//! an argon2 hash (a PHC string). Cashiers are retired, never deleted, so that every sale keeps
//! naming its cashier. An empty roster means the chain records no cashiers (tills skip sign-in).

use std::fmt;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::{Deserialize, Serialize};

use crate::domain::input;
use crate::error::{Error, Result};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cashier {
    pub number: i32,
    pub name: String,
}

/// A cashier who may sign in, with what checks their PIN. Serialisable, so that a till can keep
/// the last roster it loaded and sign cashiers in while the database is unreachable. Its Debug
/// form never shows the PIN's hash.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashierCredential {
    pub cashier: Cashier,
    #[serde(default)]
    pin_hash: Option<String>,
    /// A manager confirms voids and refunds (with their number and PIN).
    #[serde(default)]
    pub is_manager: bool,
}

impl fmt::Debug for CashierCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CashierCredential")
            .field("cashier", &self.cashier)
            .field("pin_hash", &self.pin_hash.as_ref().map(|_| "<redacted>"))
            .field("is_manager", &self.is_manager)
            .finish()
    }
}

/// How every PIN hash begins: the algorithm, version and costs [`hash_pin`] uses. The cashier
/// table's CHECK (migration 0004) holds the same prefix, and [`CashierCredential::verify_pin`]
/// refuses any other: argon2 verifies with the costs written in the hash, so a stored hash with
/// a huge memory or time cost would abort or stall the till that checks it.
pub const PIN_HASH_PREFIX: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

/// The hasher of PINs: argon2id with the crate's recommended costs (those of [`PIN_HASH_PREFIX`]).
fn pin_hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

impl CashierCredential {
    pub fn needs_pin(&self) -> bool {
        self.pin_hash.is_some()
    }

    /// Whether `pin` is this cashier's PIN (always true for a cashier without one). Slow on
    /// purpose (argon2): call it off the input path (an effect, `spawn_blocking`). A stored
    /// hash that cannot be read, or that was not made as [`hash_pin`] makes them (other costs:
    /// see [`PIN_HASH_PREFIX`]), matches no PIN.
    pub fn verify_pin(&self, pin: &str) -> bool {
        let Some(stored) = &self.pin_hash else {
            return true;
        };
        if !stored.starts_with(PIN_HASH_PREFIX) {
            tracing::warn!(
                cashier = self.cashier.number,
                "the stored PIN hash was not made by store-core (its algorithm or costs are not \
                 {PIN_HASH_PREFIX}...): no PIN matches it; set the cashier's PIN again"
            );
            return false;
        }
        match PasswordHash::new(stored) {
            Ok(hash) => pin_hasher().verify_password(pin.as_bytes(), &hash).is_ok(),
            Err(e) => {
                tracing::warn!(
                    cashier = self.cashier.number,
                    "the stored PIN hash cannot be read ({e}): no PIN matches it"
                );
                false
            }
        }
    }
}

/// A PIN as it may be set: 4 to 12 digits. The error says what is wrong.
pub fn check_pin(pin: &str) -> std::result::Result<&str, String> {
    let pin = pin.trim_end_matches(['\r', '\n']);
    if !(4..=12).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err("a PIN is 4 to 12 digits".into());
    }
    Ok(pin)
}

/// The PIN's argon2 hash as a PHC string (with a fresh salt): what the database keeps.
pub fn hash_pin(pin: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    pin_hasher()
        .hash_password(pin.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| Error::Invalid(format!("the PIN could not be hashed: {e}")))
}

const ROSTER: &str = "SELECT number, name, pin_hash, is_manager FROM public.cashier_roster()";

/// The cashiers who may sign in (not retired), by number; empty when the chain records no
/// cashiers. Readable by icash_clerk (through a SECURITY DEFINER function only).
pub async fn load_roster(client: &impl GenericClient) -> Result<Vec<CashierCredential>> {
    client
        .query(ROSTER, &[])
        .await?
        .iter()
        .map(|r| {
            Ok(CashierCredential {
                cashier: Cashier {
                    number: r.try_get(0)?,
                    name: r.try_get(1)?,
                },
                pin_hash: r.try_get(2)?,
                is_manager: r.try_get(3)?,
            })
        })
        .collect()
}

/// A cashier as `store-core cashier list` shows them (never the PIN's hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CashierListing {
    pub number: i32,
    pub name: String,
    pub has_pin: bool,
    pub added_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
    pub is_manager: bool,
}

const LIST: &str = "SELECT number, name, has_pin, added_at, retired_at, is_manager \
     FROM public.cashier ORDER BY number";

/// Every cashier, retired ones included.
pub async fn list_cashiers(client: &impl GenericClient) -> Result<Vec<CashierListing>> {
    client
        .query(LIST, &[])
        .await?
        .iter()
        .map(|r| {
            Ok(CashierListing {
                number: r.try_get(0)?,
                name: r.try_get(1)?,
                has_pin: r.try_get(2)?,
                added_at: r.try_get(3)?,
                retired_at: r.try_get(4)?,
                is_manager: r.try_get(5)?,
            })
        })
        .collect()
}

const ADD: &str = "SELECT public.add_cashier($1, $2, $3, $4, $5)";
const RETIRE: &str = "SELECT public.retire_cashier($1)";

/// Adds a cashier (the name checked as product names are, the PIN hashed first). Numbers are
/// never reused.
pub async fn add_cashier(
    client: &impl GenericClient,
    number: i32,
    name: &str,
    pin: Option<&str>,
) -> Result<()> {
    add_cashier_with(client, number, name, pin, false).await
}

/// [`add_cashier`], as a manager (who confirms voids and refunds) when `is_manager`. A manager
/// needs a PIN: besides the till's argon2 hash (for signing in), the database keeps its own
/// bcrypt hash of it (manager_secret), against which it checks a void's or refund's confirmation.
pub async fn add_cashier_with(
    client: &impl GenericClient,
    number: i32,
    name: &str,
    pin: Option<&str>,
    is_manager: bool,
) -> Result<()> {
    if number < 1 {
        return Err(Error::Invalid(format!(
            "cashier number {number}: numbers start at 1"
        )));
    }
    let name =
        input::display_name(name).map_err(|e| Error::Invalid(format!("cashier name: {e}")))?;
    if is_manager && pin.is_none() {
        return Err(Error::Invalid(
            "a manager needs a PIN (--pin): they confirm voids and refunds with it".into(),
        ));
    }
    let manager_pin = match pin {
        Some(pin) if is_manager => Some(check_pin(pin).map_err(Error::Invalid)?.to_string()),
        _ => None,
    };
    let pin_hash = match pin {
        Some(pin) => {
            let pin = check_pin(pin).map_err(Error::Invalid)?.to_string();
            // Slow on purpose: off the async threads.
            Some(
                tokio::task::spawn_blocking(move || hash_pin(&pin))
                    .await
                    .map_err(|e| Error::Invalid(format!("hashing the PIN: {e}")))??,
            )
        }
        None => None,
    };
    client
        .execute(ADD, &[&number, &name, &pin_hash, &is_manager, &manager_pin])
        .await?;
    Ok(())
}

/// Retires a cashier: they can no longer sign in; their sales keep their number. Returns false
/// when they were retired already.
pub async fn retire_cashier(client: &impl GenericClient, number: i32) -> Result<bool> {
    Ok(client.query_one(RETIRE, &[&number]).await?.try_get(0)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential(pin: Option<&str>) -> CashierCredential {
        CashierCredential {
            cashier: Cashier {
                number: 7,
                name: "Ada".into(),
            },
            pin_hash: pin.map(|p| hash_pin(p).unwrap()),
            is_manager: false,
        }
    }

    #[test]
    fn a_pin_is_checked_against_its_hash_only() {
        let ada = credential(Some("4321"));
        assert!(ada.needs_pin());
        assert!(ada.pin_hash.as_deref().unwrap().starts_with("$argon2"));
        assert!(!ada.pin_hash.as_deref().unwrap().contains("4321"));
        assert!(ada.verify_pin("4321"));
        assert!(!ada.verify_pin("4322"));
        assert!(!ada.verify_pin(""));
    }

    #[test]
    fn a_cashier_without_a_pin_signs_in_without_one() {
        let ada = credential(None);
        assert!(!ada.needs_pin());
        assert!(ada.verify_pin(""));
    }

    #[test]
    fn an_unreadable_stored_hash_matches_nothing() {
        let mut ada = credential(None);
        ada.pin_hash = Some("not a hash".into());
        assert!(!ada.verify_pin("not a hash"));
        assert!(!ada.verify_pin(""));
    }

    #[test]
    fn pin_hashes_have_the_one_prefix_the_database_checks() {
        let hash = hash_pin("1234").unwrap();
        assert!(hash.starts_with(PIN_HASH_PREFIX), "{hash}");
        let migration = include_str!("../../migrations/0004_tills_cashiers_catalog.sql");
        assert!(
            migration.contains(&format!("CHECK (pin_hash LIKE '{PIN_HASH_PREFIX}%')")),
            "the cashier table's CHECK pins another prefix"
        );
    }

    #[test]
    fn a_stored_hash_with_other_costs_matches_nothing_and_is_not_run() {
        // A valid PHC string with costs no till could afford (4 TiB of memory, 2^32-1 passes):
        // running it would abort or stall the till.
        let real = hash_pin("1234").unwrap();
        let tail = real.strip_prefix(PIN_HASH_PREFIX).unwrap();
        let mut ada = credential(None);
        for costs in [
            "m=4294967295,t=2,p=1",
            "m=19456,t=4294967295,p=1",
            "m=19456,t=2,p=255",
        ] {
            ada.pin_hash = Some(format!("$argon2id$v=19${costs}${tail}"));
            assert!(PasswordHash::new(ada.pin_hash.as_deref().unwrap()).is_ok());
            assert!(!ada.verify_pin("1234"), "{costs}");
        }
        ada.pin_hash = Some(format!("$argon2i$v=19$m=19456,t=2,p=1${tail}"));
        assert!(!ada.verify_pin("1234"));
        ada.pin_hash = Some(real);
        assert!(ada.verify_pin("1234"));
    }

    #[test]
    fn debug_never_shows_the_pin_hash() {
        let ada = credential(Some("4321"));
        let hash = ada.pin_hash.clone().unwrap();
        let shown = format!("{ada:?} {:#?}", vec![ada.clone()]);
        assert!(
            !shown.contains(&hash) && !shown.contains("argon2"),
            "{shown}"
        );
        assert!(
            shown.contains("Ada") && shown.contains("<redacted>"),
            "{shown}"
        );
    }

    #[test]
    fn the_roster_kept_beside_the_journal_reads_back_the_same() {
        let ada = credential(Some("123456"));
        let json = serde_json::to_string(&vec![ada.clone()]).unwrap();
        let back: Vec<CashierCredential> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, vec![ada.clone()]);
        assert!(back[0].verify_pin("123456"));
    }

    #[test]
    fn pins_are_four_to_twelve_digits() {
        assert_eq!(check_pin("1234\n"), Ok("1234"));
        assert!(check_pin("123").is_err());
        assert!(check_pin("1234567890123").is_err());
        assert!(check_pin("12a4").is_err());
        assert!(check_pin("").is_err());
    }
}

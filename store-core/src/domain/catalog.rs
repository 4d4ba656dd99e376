//! The catalog: branches, products with prices, and customer look-up.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::input;
use crate::domain::time_zone::{self, Tz};
use crate::error::{Error, Result};

/// Branches, products and catalogs also read back from JSON (a till keeps its last catalog
/// beside its journal): prices as decimal strings, time zones by their IANA names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branch {
    pub id: String,
    pub name: String,
    /// The branch's IANA time zone; None: the chain's (and for a stored name this program's
    /// time zone database does not know).
    pub timezone: Option<Tz>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub id: i32,
    pub name: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub unit_price: Decimal,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    pub branches: Vec<Branch>,
    pub products: Vec<Product>,
}

impl Catalog {
    pub fn product(&self, id: i32) -> Option<&Product> {
        self.products.iter().find(|p| p.id == id)
    }

    /// A product by id or by name, matched as a CSV `items_list` matches it
    /// ([`input::name_key`]: case and surrounding spaces ignored).
    pub fn find_product(&self, id_or_name: &str) -> Option<&Product> {
        if let Some(id) = input::product_id(id_or_name) {
            return self.product(id);
        }
        let key = input::name_key(id_or_name);
        self.products
            .iter()
            .find(|p| input::name_key(&p.name) == key)
    }

    /// A branch by its id, matched exactly, as the seeder matches them (normalise typed text
    /// with [`input::branch_id`] first).
    pub fn find_branch(&self, id: &str) -> Option<&Branch> {
        self.branches.iter().find(|b| b.id == id)
    }

    pub fn has_branch(&self, id: &str) -> bool {
        self.find_branch(id).is_some()
    }
}

const BRANCHES: &str = "SELECT id, name, timezone FROM public.supermarket ORDER BY id";
const PRODUCTS_ON_SALE: &str = "SELECT id, name, unit_price FROM public.product \
     WHERE retired_at IS NULL ORDER BY id";

/// The branches and the products on sale (retired products are left out).
pub async fn load_catalog(client: &impl GenericClient) -> Result<Catalog> {
    let branches = client
        .query(BRANCHES, &[])
        .await?
        .iter()
        .map(|r| {
            Ok(Branch {
                id: r.try_get(0)?,
                name: r.try_get(1)?,
                timezone: r
                    .try_get::<_, Option<String>>(2)?
                    .and_then(|name| time_zone::parse(&name).ok()),
            })
        })
        .collect::<Result<_>>()?;
    let products = client
        .query(PRODUCTS_ON_SALE, &[])
        .await?
        .iter()
        .map(|r| {
            Ok(Product {
                id: r.try_get(0)?,
                name: r.try_get(1)?,
                unit_price: r.try_get(2)?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Catalog { branches, products })
}

/// A product as `store-core product list` shows it: retired ones included, and marked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProductListing {
    pub id: i32,
    pub name: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub unit_price: Decimal,
    /// Since when it is no longer sold; None: on sale.
    pub retired_at: Option<DateTime<Utc>>,
}

const ALL_PRODUCTS: &str =
    "SELECT id, name, unit_price, retired_at FROM public.product ORDER BY id";

/// Every product, retired ones included.
pub async fn list_products(client: &impl GenericClient) -> Result<Vec<ProductListing>> {
    client
        .query(ALL_PRODUCTS, &[])
        .await?
        .iter()
        .map(|r| {
            Ok(ProductListing {
                id: r.try_get(0)?,
                name: r.try_get(1)?,
                unit_price: r.try_get(2)?,
                retired_at: r.try_get(3)?,
            })
        })
        .collect()
}

/// The highest unit price a product may have (the column is `numeric(10, 2)`).
const MAX_UNIT_PRICE: Decimal = Decimal::from_parts(999_999_999, 0, 0, false, 2);

/// A unit price as the seeder accepts it: a plain decimal amount, above 0, at most 9999999.99.
pub fn unit_price(text: &str) -> Result<Decimal> {
    let price = input::money(text).map_err(|e| Error::Invalid(format!("price: {e}")))?;
    if price <= Decimal::ZERO || price > MAX_UNIT_PRICE {
        return Err(Error::Invalid(format!(
            "price: {price} is not a unit price (above 0, at most {MAX_UNIT_PRICE})"
        )));
    }
    Ok(price)
}

/// A product named by its id or by its name (matched as everywhere: [`input::name_key`]),
/// retired ones included.
pub async fn resolve_product(
    client: &impl GenericClient,
    id_or_name: &str,
) -> Result<ProductListing> {
    let products = list_products(client).await?;
    let found = match input::product_id(id_or_name) {
        Some(id) => products.into_iter().find(|p| p.id == id),
        None => {
            let key = input::name_key(id_or_name);
            products
                .into_iter()
                .find(|p| input::name_key(&p.name) == key)
        }
    };
    found.ok_or_else(|| {
        Error::Invalid(format!(
            "no product {} (by id or name; `store-core product list` shows them)",
            input::quote(id_or_name.trim())
        ))
    })
}

const ADD_BRANCH: &str = "SELECT public.add_branch($1, $2, $3)";
const RENAME_BRANCH: &str = "SELECT public.rename_branch($1, $2)";
const ADD_PRODUCT: &str = "SELECT public.add_product($1, $2)";
const SET_PRICE: &str = "SELECT public.set_product_price($1, $2)";
const SET_RETIRED: &str = "SELECT public.set_product_retired($1, $2)";

fn branch_name(name: &str) -> Result<&str> {
    input::display_name(name).map_err(|e| Error::Invalid(format!("branch name: {e}")))
}

/// Adds a branch (id and name checked as the seeder checks them; the time zone an IANA name the
/// database knows, None: the chain's).
pub async fn add_branch(
    client: &impl GenericClient,
    id: &str,
    name: &str,
    timezone: Option<&str>,
) -> Result<()> {
    let id = input::branch_id(id).map_err(Error::Invalid)?;
    let name = branch_name(name)?;
    let timezone = timezone.map(str::trim);
    client.execute(ADD_BRANCH, &[&id, &name, &timezone]).await?;
    Ok(())
}

pub async fn rename_branch(client: &impl GenericClient, id: &str, name: &str) -> Result<()> {
    let id = input::branch_id(id).map_err(Error::Invalid)?;
    let name = branch_name(name)?;
    client.execute(RENAME_BRANCH, &[&id, &name]).await?;
    Ok(())
}

/// Adds a product on sale; returns its id. A name that matches another product's
/// ([`input::name_key`]: case and surrounding spaces ignored) is refused.
pub async fn add_product(client: &impl GenericClient, name: &str, price: Decimal) -> Result<i32> {
    let name = input::product_name(name).map_err(Error::Invalid)?;
    let key = input::name_key(name);
    if let Some(same) = list_products(client)
        .await?
        .into_iter()
        .find(|p| input::name_key(&p.name) == key)
    {
        return Err(Error::Invalid(format!(
            "product {} exists already (id {}{})",
            input::quote(&same.name),
            same.id,
            if same.retired_at.is_some() {
                ", retired: `store-core product restore` puts it back on sale"
            } else {
                ""
            }
        )));
    }
    Ok(client
        .query_one(ADD_PRODUCT, &[&name, &price])
        .await?
        .try_get(0)?)
}

pub async fn set_product_price(client: &impl GenericClient, id: i32, price: Decimal) -> Result<()> {
    client.execute(SET_PRICE, &[&id, &price]).await?;
    Ok(())
}

/// Retires a product (`retired`) or puts it back on sale; returns false when it already was.
pub async fn set_product_retired(
    client: &impl GenericClient,
    id: i32,
    retired: bool,
) -> Result<bool> {
    Ok(client
        .query_one(SET_RETIRED, &[&id, &retired])
        .await?
        .try_get(0)?)
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CustomerSummary {
    pub user_id: Uuid,
    pub purchases: i32,
    pub last_purchase_at: DateTime<Utc>,
}

/// The smallest and largest UUIDs that start with these hex digits (dashes ignored), so that a
/// prefix search is a range scan of the customer key.
pub fn uuid_prefix_range(prefix: &str) -> Result<(Uuid, Uuid)> {
    let digits: String = prefix
        .trim()
        .chars()
        .filter(|c| *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if digits.is_empty() {
        return Err(Error::Invalid(
            "type the first characters of the customer id".into(),
        ));
    }
    if digits.len() > 32 {
        return Err(Error::Invalid(
            "a customer id has 32 hex digits; this is longer".into(),
        ));
    }
    if let Some(bad) = digits.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(Error::Invalid(format!(
            "customer ids are hex digits (0-9, a-f); {bad:?} is not one"
        )));
    }
    let pad = |fill: char| {
        let mut s = digits.clone();
        while s.len() < 32 {
            s.push(fill);
        }
        Uuid::parse_str(&s).expect("32 hex digits are a UUID")
    };
    Ok((pad('0'), pad('f')))
}

const CUSTOMERS_BY_PREFIX: &str = "SELECT user_id, purchases, last_purchase_at FROM customer \
     WHERE user_id BETWEEN $1 AND $2 ORDER BY user_id LIMIT $3";

/// Known customers whose id starts with `prefix` (an index range scan, fast at any size).
pub async fn search_customers(
    client: &impl GenericClient,
    prefix: &str,
    limit: i64,
) -> Result<Vec<CustomerSummary>> {
    let (low, high) = uuid_prefix_range(prefix)?;
    client
        .query(CUSTOMERS_BY_PREFIX, &[&low, &high, &limit])
        .await?
        .iter()
        .map(|r| {
            Ok(CustomerSummary {
                user_id: r.try_get(0)?,
                purchases: r.try_get(1)?,
                last_purchase_at: r.try_get(2)?,
            })
        })
        .collect()
}

const SAMPLE_CUSTOMERS: &str = "SELECT user_id FROM customer ORDER BY random() LIMIT $1";

/// Up to `limit` known customers chosen at random (reads every customer: not for a hot path).
pub async fn sample_customers(client: &impl GenericClient, limit: i64) -> Result<Vec<Uuid>> {
    let rows = client.query(SAMPLE_CUSTOMERS, &[&limit]).await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_range_spans_every_uuid_with_that_prefix() {
        let (lo, hi) = uuid_prefix_range("01E1-e1").unwrap();
        assert_eq!(lo.to_string(), "01e1e100-0000-0000-0000-000000000000");
        assert_eq!(hi.to_string(), "01e1e1ff-ffff-ffff-ffff-ffffffffffff");
    }

    #[test]
    fn prefix_range_rejects_what_is_not_hex() {
        let err = uuid_prefix_range("01x").unwrap_err().to_string();
        assert!(err.contains("'x'"), "{err}");
        assert!(uuid_prefix_range("").is_err());
        assert!(uuid_prefix_range(&"a".repeat(33)).is_err());
        assert!(uuid_prefix_range("'; DROP TABLE customer; --").is_err());
    }

    #[test]
    fn products_are_found_by_id_or_name() {
        let catalog = Catalog {
            branches: vec![],
            products: vec![Product {
                id: 7,
                name: "orange juice".into(),
                unit_price: Decimal::new(280, 2),
            }],
        };
        assert_eq!(catalog.find_product("7").unwrap().name, "orange juice");
        assert_eq!(catalog.find_product(" Orange Juice ").unwrap().id, 7);
        assert_eq!(catalog.find_product("ORANGE JUICE").unwrap().id, 7);
        assert!(catalog.find_product("8").is_none());
        assert!(catalog.find_product("orangejuice").is_none());
    }

    #[test]
    fn branches_are_found_by_their_exact_id() {
        let catalog = Catalog {
            branches: vec![Branch {
                id: "SMKT001".into(),
                name: String::new(),
                timezone: None,
            }],
            products: vec![],
        };
        assert!(catalog.has_branch("SMKT001"));
        assert!(catalog.find_branch("smkt001").is_none());
    }
}

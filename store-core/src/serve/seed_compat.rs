//! The seed system's endpoints, same paths and shapes (its cashier and dashboard web pages
//! and other services keep working): `/cashier/catalog`, `/cashier/create_purchase`,
//! `/dashboard/analytics`. Where the original answered 500 or stored wrong data, these answer
//! 400/409/422 with a problem body naming the field.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Serialize, Serializer};
use serde_json::Value;
use store_core::domain::checkout::{self, CustomerChoice, Receipt, Sale};
use store_core::domain::{analytics, catalog, input};
use uuid::Uuid;

use super::AppState;
use super::auth::Role;
use super::body;
use super::problem::{Problem, bad_query};

/// Customers listed by `/cashier/catalog` when `?limit=` is not given, and the most it lists.
pub const CATALOG_USERS_DEFAULT: i64 = 100;
pub const CATALOG_USERS_MAX: i64 = 1000;

/// The seed's prices are JSON numbers (`1.5`). A price has at most two decimals and a dozen
/// digits, so the nearest double prints back as the same decimal; `/v1` gives exact strings.
fn as_number<S: Serializer>(amount: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
    match amount.to_f64() {
        Some(f) => serializer.serialize_f64(f),
        None => serializer.serialize_str(&amount.to_string()),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SeedCatalog {
    /// Branch ids.
    pub supermarkets: Vec<String>,
    /// Known customers, by id, at most `limit` of them (after `after`, if given).
    pub users: Vec<Uuid>,
    pub products: Vec<SeedProduct>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SeedProduct {
    pub id: i32,
    pub name: String,
    #[serde(serialize_with = "as_number")]
    #[schema(value_type = f64)]
    pub unit_price: Decimal,
}

const CUSTOMERS_PAGE: &str = "SELECT user_id FROM public.customer \
     WHERE $1::uuid IS NULL OR user_id > $1 ORDER BY user_id LIMIT $2";

/// Branches, known customers (bounded: `limit`, paged with `after`) and products.
#[utoipa::path(get, path = "/cashier/catalog", tag = "seed",
    params(
        ("limit" = Option<i64>, Query, description = "customers listed: default 100, at most 1000"),
        ("after" = Option<Uuid>, Query, description = "list the customers after this id (the last of the previous page)"),
    ),
    responses(
        (status = 200, body = SeedCatalog),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = [])))]
pub async fn catalog(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<SeedCatalog>, Problem> {
    state.access.require(&headers, Role::Clerk)?;
    let Query(query) = query.map_err(bad_query)?;
    let limit = body::query_int(
        &query,
        "limit",
        CATALOG_USERS_DEFAULT,
        0..=CATALOG_USERS_MAX,
    )?;
    let after = query
        .get("after")
        .map(|a| body::uuid(a, "after"))
        .transpose()?;
    let client = state.client().await?;
    let catalog = catalog::load_catalog(&client)
        .await
        .map_err(|e| Problem::from_error(&e, "query"))?;
    let users = client
        .query(CUSTOMERS_PAGE, &[&after, &limit])
        .await
        .map_err(|e| Problem::from_error(&e.into(), "query"))?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()
        .map_err(|e| Problem::internal(&e))?;
    Ok(Json(SeedCatalog {
        supermarkets: catalog.branches.into_iter().map(|b| b.id).collect(),
        users,
        products: catalog
            .products
            .into_iter()
            .map(|p| SeedProduct {
                id: p.id,
                name: p.name,
                unit_price: p.unit_price,
            })
            .collect(),
    }))
}

/// The body of `POST /cashier/create_purchase`.
#[allow(dead_code)] // Only the OpenAPI schema: the body is read field by field (`body.rs`).
#[derive(utoipa::ToSchema)]
pub struct SeedPurchaseRequest {
    #[schema(example = "SMKT001")]
    supermarket_id: String,
    /// The customer: a known one's id, or a new UUID the cashier page made for a new customer.
    user_id: Uuid,
    /// Product ids, each once: numbers, or strings of digits.
    #[schema(value_type = Vec<i32>)]
    items_list: Vec<Value>,
    /// The total the page showed: the sale is refused (409) unless current prices make it.
    #[schema(value_type = f64)]
    total_amount: Value,
}

/// A recorded purchase, in the seed's names (`id`, `timestamp`, `items_list`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SeedPurchase {
    pub id: i64,
    pub supermarket_id: String,
    pub timestamp: DateTime<Utc>,
    pub user_id: Uuid,
    pub items_list: Vec<i32>,
    #[serde(serialize_with = "as_number")]
    #[schema(value_type = f64)]
    pub total_amount: Decimal,
    /// The sale key (the `Idempotency-Key` header, or one the server chose).
    pub sale_key: Uuid,
    /// This request repeated a recorded sale key: nothing new was written.
    pub replayed: bool,
}

impl From<Receipt> for SeedPurchase {
    fn from(r: Receipt) -> SeedPurchase {
        SeedPurchase {
            id: r.purchase_id,
            supermarket_id: r.supermarket_id,
            timestamp: r.created_at,
            user_id: r.user_id,
            items_list: r.lines.iter().map(|l| l.product_id).collect(),
            total_amount: r.total_amount,
            sale_key: r.sale_key,
            replayed: r.replayed,
        }
    }
}

/// Records a purchase through the real checkout: the database computes the total from current
/// prices, `total_amount` is only the check. 201 with the purchase; a retry under the same
/// `Idempotency-Key` writes nothing and answers 200 with the stored purchase.
#[utoipa::path(post, path = "/cashier/create_purchase", tag = "seed",
    request_body = SeedPurchaseRequest,
    params(("Idempotency-Key" = Option<Uuid>, Header, description = "the sale key: a retry with the same key never makes a second purchase")),
    responses(
        (status = 201, body = SeedPurchase, description = "recorded"),
        (status = 200, body = SeedPurchase, description = "already recorded under this Idempotency-Key"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem, description = "prices changed, or the key was used for another sale"),
        (status = 422, body = Problem, description = "a field is missing or wrong (the problem's `field`)"),
        (status = 503, body = Problem),
    ),
    security(("bearer" = [])))]
pub async fn create_purchase(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    state.access.require(&headers, Role::Clerk)?;
    let request = body::bytes(request)?;
    let sale = seed_sale(&request, body::idempotency_key(&headers)?)?;
    let receipt = checkout::submit(&state.store, &sale)
        .await
        .map_err(|e| Problem::from_checkout(&e))?;
    let status = if receipt.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(SeedPurchase::from(receipt))).into_response())
}

fn seed_sale(request: &[u8], sale_key: Option<Uuid>) -> Result<Sale, Problem> {
    let fields = body::object(request)?;
    let branch = body::string(&fields, "supermarket_id")?;
    let branch = input::branch_id(branch)
        .map_err(|m| Problem::invalid("supermarket_id", format!("supermarket_id: {m}")))?;
    let user = body::uuid(body::string(&fields, "user_id")?, "user_id")?;
    let items = body::required(&fields, "items_list")?
        .as_array()
        .ok_or_else(|| {
            Problem::invalid("items_list", "items_list must be a list of product ids")
        })?;
    let total = body::amount(body::required(&fields, "total_amount")?, "total_amount")?;
    // The seed's pages send the customer's id whether new or known: a new id makes the
    // customer, a known one is that customer (the database tells which).
    let mut sale = Sale::open(branch, CustomerChoice::New(user));
    if let Some(key) = sale_key {
        sale.sale_key = key;
    }
    for (i, item) in items.iter().enumerate() {
        let id = match item {
            Value::Number(n) => n.as_i64().and_then(|n| i32::try_from(n).ok()),
            Value::String(s) => input::product_id(s),
            _ => None,
        }
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            Problem::invalid(
                "items_list",
                format!("items_list[{i}]: {item} is not a product id (a positive whole number)"),
            )
        })?;
        if sale.product_ids.contains(&id) {
            return Err(Problem::invalid(
                "items_list",
                format!(
                    "items_list[{i}]: product {id} is listed twice; a purchase holds one unit of each product"
                ),
            ));
        }
        sale.product_ids.push(id);
    }
    if sale.product_ids.is_empty() {
        return Err(Problem::invalid(
            "items_list",
            "items_list is empty: a purchase holds at least one product",
        ));
    }
    sale.expected_total = Some(total);
    Ok(sale)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SeedAnalytics {
    pub unique_buyers: i64,
    pub loyal_buyers: Vec<SeedLoyalBuyer>,
    pub top_products: Vec<SeedTopProduct>,
    pub generated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SeedLoyalBuyer {
    pub user_id: Uuid,
    pub purchase_count: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SeedTopProduct {
    pub name: String,
    pub times_sold: i64,
}

/// Unique buyers, every loyal buyer (at least `min_purchases` purchases over all branches) and
/// the top products by units (ties included), read live: every call sees every committed sale.
#[utoipa::path(get, path = "/dashboard/analytics", tag = "seed",
    params(("min_purchases" = Option<i32>, Query, description = "purchases that make a loyal buyer (at least 1); default: the server's MIN_PURCHASES")),
    responses(
        (status = 200, body = SeedAnalytics),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = [])))]
pub async fn analytics(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<SeedAnalytics>, Problem> {
    state.access.require(&headers, Role::Owner)?;
    let Query(query) = query.map_err(bad_query)?;
    let min_purchases = body::min_purchases(&query, state.min_purchases)?;
    let client = state.owner_client().await?;
    let report = analytics::report(&client, min_purchases)
        .await
        .map_err(|e| Problem::from_error(&e, "min_purchases"))?;
    Ok(Json(SeedAnalytics {
        unique_buyers: report.unique_buyers,
        loyal_buyers: report
            .loyal_buyers
            .into_iter()
            .map(|b| SeedLoyalBuyer {
                user_id: b.user_id,
                purchase_count: b.purchases,
            })
            .collect(),
        top_products: report
            .top_products
            .into_iter()
            .map(|p| SeedTopProduct {
                name: p.name,
                times_sold: p.units,
            })
            .collect(),
        generated_at: report.generated_at,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_numbers_or_numeric_strings_each_once() {
        let sale = seed_sale(
            br#"{"supermarket_id": " SMKT001 ", "user_id": "01e1e159-8045-43c2-88dd-5682b18bd680",
                 "items_list": [1, "3"], "total_amount": 4.5}"#,
            None,
        )
        .unwrap();
        assert_eq!(sale.supermarket_id, "SMKT001");
        assert_eq!(sale.product_ids, [1, 3]);
        assert_eq!(sale.expected_total, Some(Decimal::new(45, 1)));
        let refused = |body: &str| seed_sale(body.as_bytes(), None).unwrap_err();
        let user = r#""user_id": "01e1e159-8045-43c2-88dd-5682b18bd680""#;
        let p = refused(&format!(
            r#"{{"supermarket_id": "S", {user}, "items_list": [1, 1], "total_amount": 1}}"#
        ));
        assert_eq!((p.status, p.field.as_deref()), (422, Some("items_list")));
        let p = refused(&format!(
            r#"{{"supermarket_id": "S", {user}, "items_list": [1.5], "total_amount": 1}}"#
        ));
        assert_eq!((p.status, p.field.as_deref()), (422, Some("items_list")));
        let p = refused(&format!(
            r#"{{"supermarket_id": "S", {user}, "items_list": [1]}}"#
        ));
        assert_eq!((p.status, p.field.as_deref()), (422, Some("total_amount")));
        let p = refused(
            r#"{"supermarket_id": "S", "user_id": "x", "items_list": [1], "total_amount": 1}"#,
        );
        assert_eq!((p.status, p.field.as_deref()), (422, Some("user_id")));
        let p = refused("[1]");
        assert_eq!((p.status, p.field.as_deref()), (400, Some("body")));
    }

    #[test]
    fn prices_print_as_the_seed_printed_them() {
        let p = SeedProduct {
            id: 1,
            name: "milk".into(),
            unit_price: "1.50".parse().unwrap(),
        };
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"id":1,"name":"milk","unit_price":1.5}"#
        );
    }
}

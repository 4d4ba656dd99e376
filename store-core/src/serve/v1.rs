//! `/v1`: our own API, in the shapes of `store-core ... --json` (catalog, purchase, analytics
//! with branch and period filters, customer search).

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use store_core::domain::analytics::{self, Dashboard, Filter, Period};
use store_core::domain::catalog::{self, Catalog, CustomerSummary};
use store_core::domain::checkout::{self, CustomerChoice, Receipt, Sale};
use store_core::domain::input;
use uuid::Uuid;

use super::AppState;
use super::auth::Role;
use super::body;
use super::problem::{Problem, bad_query};

/// The checkout's field names (the seed's) as `/v1`'s body names them.
const V1_FIELDS: &[(&str, &str)] = &[
    ("items_list", "items"),
    ("user_id", "user"),
    ("total_amount", "expected_total"),
];

/// Branches and products with prices (`store-core catalog --json`).
#[utoipa::path(get, path = "/v1/catalog", tag = "v1",
    responses((status = 200, body = super::openapi::CatalogSchema), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn catalog(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Catalog>, Problem> {
    state
        .access
        .require_any(&headers, &[Role::Clerk, Role::Owner])?;
    let client = state.client().await?;
    let catalog = catalog::load_catalog(&client)
        .await
        .map_err(|e| Problem::from_error(&e, "query"))?;
    Ok(Json(catalog))
}

/// Customers whose id starts with `prefix` (hex digits, dashes ignored).
#[utoipa::path(get, path = "/v1/customers", tag = "v1",
    params(
        ("prefix" = String, Query, description = "the first hex digits of the customer id"),
        ("limit" = Option<i64>, Query, description = "at most this many (default 20, at most 100)"),
    ),
    responses((status = 200, body = Vec<super::openapi::CustomerSchema>), (status = 401, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn customers(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<Vec<CustomerSummary>>, Problem> {
    state.access.require(&headers, Role::Clerk)?;
    let Query(query) = query.map_err(bad_query)?;
    let limit = body::query_int(&query, "limit", 20, 1..=100)?;
    let prefix = query.get("prefix").map(String::as_str).unwrap_or("");
    let client = state.client().await?;
    let found = catalog::search_customers(&client, prefix, limit)
        .await
        .map_err(|e| Problem::from_error(&e, "prefix"))?;
    Ok(Json(found))
}

/// The body of `POST /v1/purchases`: what `store-core purchase` takes.
#[allow(dead_code)] // Only the OpenAPI schema: the body is read field by field (`body.rs`).
#[derive(utoipa::ToSchema)]
pub struct PurchaseRequest {
    #[schema(example = "SMKT001")]
    supermarket_id: String,
    /// `new` for a first-time customer, or a known customer's UUID. With an `Idempotency-Key`,
    /// the new customer's id follows from the key: the same request again replays the sale.
    #[schema(example = "new")]
    user: String,
    /// Products by name or id, each once.
    #[schema(value_type = Vec<String>, example = json!(["milk", 3]))]
    items: Vec<Value>,
    /// Refuse the sale (409) unless current prices make this total.
    #[schema(value_type = Option<String>, example = "7.30")]
    expected_total: Option<Value>,
}

/// Records a purchase through the real checkout (`store-core purchase --json`). The
/// `Idempotency-Key` header is the sale key: the same request again answers 200 with the
/// stored purchase (`replayed: true`) and writes nothing.
#[utoipa::path(post, path = "/v1/purchases", tag = "v1",
    request_body = PurchaseRequest,
    params(("Idempotency-Key" = Option<Uuid>, Header, description = "the sale key")),
    responses(
        (status = 201, body = super::openapi::ReceiptSchema, description = "recorded"),
        (status = 200, body = super::openapi::ReceiptSchema, description = "already recorded under this key"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem),
    ),
    security(("bearer" = [])))]
pub async fn purchase(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    state.access.require(&headers, Role::Clerk)?;
    let sale_key = body::idempotency_key(&headers)?;
    let fields = body::object(&body::bytes(request)?)?;
    let client = state.client().await?;
    let catalog = catalog::load_catalog(&client)
        .await
        .map_err(|e| Problem::from_error(&e, "body"))?;
    drop(client);
    let sale = v1_sale(&catalog, &fields, sale_key)?;
    let receipt: Receipt = checkout::submit(&state.store, &sale)
        .await
        .map_err(|e| Problem::from_checkout(&e).renamed(V1_FIELDS))?;
    let status = if receipt.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(receipt)).into_response())
}

fn v1_sale(
    catalog: &Catalog,
    fields: &serde_json::Map<String, Value>,
    sale_key: Option<Uuid>,
) -> Result<Sale, Problem> {
    let branch = input::branch_id(body::string(fields, "supermarket_id")?)
        .map_err(|m| Problem::invalid("supermarket_id", format!("supermarket_id: {m}")))?;
    if !catalog.has_branch(branch) {
        return Err(Problem::invalid(
            "supermarket_id",
            format!(
                "unknown branch {} (branch ids are matched exactly)",
                input::quote(branch)
            ),
        ));
    }
    let user = body::string(fields, "user")?;
    let customer = if user.trim().eq_ignore_ascii_case("new") {
        match sale_key {
            Some(key) => CustomerChoice::New(Uuid::new_v5(
                &crate::cli::NEW_CUSTOMER_FROM_SALE_KEY,
                key.as_bytes(),
            )),
            None => CustomerChoice::new_customer(),
        }
    } else {
        CustomerChoice::Returning(body::uuid(user, "user").map_err(|_| {
            Problem::invalid(
                "user",
                format!("user: {} is neither `new` nor a UUID", input::quote(user)),
            )
        })?)
    };
    let mut sale = Sale::open(branch, customer);
    if let Some(key) = sale_key {
        sale.sale_key = key;
    }
    let items = body::required(fields, "items")?
        .as_array()
        .ok_or_else(|| Problem::invalid("items", "items must be a list of product names or ids"))?;
    for (i, item) in items.iter().enumerate() {
        let text = match item {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        let product = catalog.find_product(&text).ok_or_else(|| {
            Problem::invalid(
                "items",
                format!(
                    "items[{i}]: unknown product {item} (give a name or an id from /v1/catalog)"
                ),
            )
        })?;
        sale.product_ids.push(product.id);
    }
    if sale.product_ids.is_empty() {
        return Err(Problem::invalid(
            "items",
            "items is empty: a purchase holds at least one product",
        ));
    }
    sale.expected_total = match fields.get("expected_total") {
        None | Some(Value::Null) => None,
        Some(value) => Some(body::amount(value, "expected_total")?),
    };
    Ok(sale)
}

/// The owner's dashboard figures (`Dashboard`), for one branch or all and a period: from the
/// counters when unfiltered, from the rows otherwise; every figure from one snapshot.
#[utoipa::path(get, path = "/v1/analytics", tag = "v1",
    params(
        ("min_purchases" = Option<i32>, Query, description = "purchases that make a loyal buyer (at least 1); default: the server's"),
        ("supermarket_id" = Option<String>, Query, description = "one branch; default all"),
        ("period" = Option<String>, Query, description = "all_time (default), today, last7_days or last30_days (as `filter.period` spells them)"),
        ("loyal_limit" = Option<i64>, Query, description = "loyal buyers listed (default 50, at most 10000); `loyal_buyers` counts them all"),
    ),
    responses((status = 200, body = super::openapi::DashboardSchema), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn analytics(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<Dashboard>, Problem> {
    state.access.require(&headers, Role::Owner)?;
    let Query(query) = query.map_err(bad_query)?;
    let min_purchases = body::min_purchases(&query, state.min_purchases)?;
    let loyal_limit = body::query_int(&query, "loyal_limit", 50, 0..=10_000)?;
    let period = match query.get("period").map(|p| p.trim()) {
        None | Some("all_time") => Period::AllTime,
        Some("today") => Period::Today,
        // As the answer's `filter.period` spells them, and with the digits set apart.
        Some("last7_days" | "last_7_days") => Period::Last7Days,
        Some("last30_days" | "last_30_days") => Period::Last30Days,
        Some(other) => {
            return Err(Problem::invalid(
                "period",
                format!(
                    "period={}: one of all_time, today, last7_days, last30_days",
                    input::quote(other)
                ),
            ));
        }
    };
    let client = state.owner_client().await?;
    let supermarket_id = match query.get("supermarket_id") {
        None => None,
        Some(text) => {
            let branch = input::branch_id(text)
                .map_err(|m| Problem::invalid("supermarket_id", format!("supermarket_id: {m}")))?;
            let known = catalog::load_catalog(&client)
                .await
                .map_err(|e| Problem::from_error(&e, "supermarket_id"))?;
            if !known.has_branch(branch) {
                return Err(Problem::invalid(
                    "supermarket_id",
                    format!("unknown branch {}", input::quote(branch)),
                ));
            }
            Some(branch.to_string())
        }
    };
    let filter = Filter {
        supermarket_id,
        period,
        zone: state.zone,
    };
    let dashboard = analytics::dashboard(&client, &filter, min_purchases, loyal_limit)
        .await
        .map_err(|e| Problem::from_error(&e, "query"))?;
    Ok(Json(dashboard))
}

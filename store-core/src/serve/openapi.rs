//! The OpenAPI document at `/v1/openapi.json`, generated from the handlers' annotations and
//! the types they answer with. The library's own types (catalog, receipt, dashboard) are
//! described by the schemas below, which name the same fields; a test checks every answer's
//! fields against the document, so the two cannot drift apart unnoticed.

#![allow(dead_code)] // The schema types are never built: they only describe the library's.

use chrono::{DateTime, Utc};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use uuid::Uuid;

use super::{events, health, problem, seed_compat, v1};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "iCash API",
        description = "The seed system's endpoints (`/cashier`, `/dashboard`) and our own (`/v1`). \
                       Bearer tokens per role: a clerk sells and reads the catalog, an owner reads analytics. \
                       Errors are RFC 9457 problem details naming the field."
    ),
    paths(
        seed_compat::catalog, seed_compat::create_purchase, seed_compat::analytics,
        v1::catalog, v1::customers, v1::purchase, v1::analytics, events::events,
        health::healthz, health::readyz, openapi_json,
    ),
    components(schemas(problem::Problem)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "v1",
    responses((status = 200, description = "the OpenAPI document", content_type = "application/json")),
    security(("bearer" = [])))]
pub async fn openapi_json(
    axum::extract::State(state): axum::extract::State<super::AppState>,
    headers: axum::http::HeaderMap,
) -> Result<axum::Json<utoipa::openapi::OpenApi>, problem::Problem> {
    use super::auth::Role;
    state
        .access
        .require_any(&headers, &[Role::Clerk, Role::Owner])?;
    Ok(axum::Json(ApiDoc::openapi()))
}

/// `store_core::domain::catalog::Catalog`.
#[derive(ToSchema)]
#[schema(as = Catalog)]
pub struct CatalogSchema {
    branches: Vec<BranchSchema>,
    products: Vec<ProductSchema>,
}

#[derive(ToSchema)]
#[schema(as = Branch)]
pub struct BranchSchema {
    id: String,
    name: String,
    /// The branch's own IANA time zone; null: the chain's.
    #[schema(example = "Europe/Paris")]
    timezone: Option<String>,
}

#[derive(ToSchema)]
#[schema(as = Product)]
pub struct ProductSchema {
    id: i32,
    name: String,
    /// Exact, as a decimal string.
    #[schema(example = "1.50")]
    unit_price: String,
}

/// `store_core::domain::catalog::CustomerSummary`.
#[derive(ToSchema)]
#[schema(as = CustomerSummary)]
pub struct CustomerSchema {
    user_id: Uuid,
    purchases: i32,
    last_purchase_at: DateTime<Utc>,
}

/// `store_core::domain::checkout::Receipt`: the purchase as the database holds it.
#[derive(ToSchema)]
#[schema(as = Receipt)]
pub struct ReceiptSchema {
    purchase_id: i64,
    sale_key: Uuid,
    supermarket_id: String,
    user_id: Uuid,
    /// This purchase made the customer's row.
    new_customer: bool,
    created_at: DateTime<Utc>,
    lines: Vec<ReceiptLineSchema>,
    #[schema(example = "7.30")]
    total_amount: String,
    /// This sale key had been recorded before: this is that purchase, not a new one.
    replayed: bool,
    /// The till that sold it (null for sales not made at a till, such as the API's).
    till: Option<String>,
    /// The signed-in cashier's number, if the chain records cashiers.
    cashier: Option<i32>,
    /// The till's gapless receipt number (printed `T03-000124`).
    receipt_no: Option<i64>,
    /// How it was paid: `cash`, `card`, or null (no payment step, as for the API's sales).
    #[schema(example = "cash")]
    payment_method: Option<String>,
    /// Cash: the amount tendered (null when unknown or not cash).
    #[schema(example = "10.00")]
    tendered: Option<String>,
    /// Cash: the change given, computed by the database.
    #[schema(example = "2.70")]
    change_due: Option<String>,
}

#[derive(ToSchema)]
#[schema(as = ReceiptLine)]
pub struct ReceiptLineSchema {
    product_id: i32,
    name: String,
    unit_price: String,
}

/// `store_core::domain::analytics::Dashboard`.
#[derive(ToSchema)]
#[schema(as = Dashboard)]
pub struct DashboardSchema {
    filter: FilterSchema,
    min_purchases: i32,
    unique_buyers: i64,
    /// How many loyal buyers there are (`loyal_page` lists the first `loyal_limit`).
    loyal_buyers: i64,
    loyal_page: Vec<LoyalBuyerSchema>,
    /// By units sold, every product of rank 3 or better (ties included).
    top_products: Vec<TopProductSchema>,
    branches: Vec<BranchSalesSchema>,
    generated_at: DateTime<Utc>,
}

#[derive(ToSchema)]
#[schema(as = Filter)]
pub struct FilterSchema {
    supermarket_id: Option<String>,
    #[schema(example = "all_time")]
    period: String,
    /// The IANA time zone the period's days are cut in.
    #[schema(example = "Europe/Paris")]
    zone: String,
}

#[derive(ToSchema)]
#[schema(as = LoyalBuyer)]
pub struct LoyalBuyerSchema {
    user_id: Uuid,
    purchases: i64,
}

#[derive(ToSchema)]
#[schema(as = TopProduct)]
pub struct TopProductSchema {
    product_id: i32,
    name: String,
    units: i64,
}

#[derive(ToSchema)]
#[schema(as = BranchSales)]
pub struct BranchSalesSchema {
    supermarket_id: String,
    purchases: i64,
    /// Net of refunds; voided purchases are not in it.
    revenue: String,
    /// Refund slips of the branch's purchases, and the money they paid back.
    refunds: i64,
    refunded: String,
}

//! `/healthz` (the process answers) and `/readyz` (it can reach the database): no token needed.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::AppState;
use super::problem::Problem;

/// How long `/readyz` waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "the server runs", body = Object, example = json!({"status": "ok"}))))]
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "the database answers", body = Object, example = json!({"status": "ready"})),
        (status = 503, body = Problem, description = "the database does not answer"),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, Problem> {
    let ping = async {
        for store in [&state.store, &state.owner_store] {
            store.client().await?.simple_query("SELECT 1").await?;
        }
        Ok::<_, store_core::Error>(())
    };
    match tokio::time::timeout(READY_TIMEOUT, ping).await {
        Ok(Ok(())) => Ok(Json(json!({ "status": "ready" }))),
        Ok(Err(e)) => Err(Problem::unavailable(&e)),
        Err(_) => Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the database did not answer in time",
        )),
    }
}

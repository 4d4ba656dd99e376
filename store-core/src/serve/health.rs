//! `/healthz` (the process answers) and `/readyz` (it can reach the database): no token needed.

use std::time::{Duration, Instant};

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
    state.readiness.check(&state).await?;
    Ok(Json(json!({ "status": "ready" })))
}

/// How long one look at the database answers `/readyz` for.
const READY_FRESH_FOR: Duration = Duration::from_secs(1);

/// The last look at the database, shared by every `/readyz`: one request at a time looks
/// (taking a connection from each pool), the others meanwhile get its answer, so a flood of
/// probes does not compete with sales for connections.
#[derive(Default)]
pub struct Readiness {
    last: tokio::sync::Mutex<Option<(Instant, Result<(), Problem>)>>,
}

impl Readiness {
    async fn check(&self, state: &AppState) -> Result<(), Problem> {
        let look = async {
            let mut last = self.last.lock().await;
            if let Some((at, answer)) = last.as_ref()
                && at.elapsed() < READY_FRESH_FOR
            {
                return answer.clone();
            }
            let answer = ping(state).await;
            *last = Some((Instant::now(), answer.clone()));
            answer
        };
        tokio::time::timeout(READY_TIMEOUT, look)
            .await
            .unwrap_or_else(|_| Err(not_in_time()))
    }
}

async fn ping(state: &AppState) -> Result<(), Problem> {
    let ping = async {
        for store in [&state.store, &state.owner_store] {
            store.client().await?.simple_query("SELECT 1").await?;
        }
        Ok::<_, store_core::Error>(())
    };
    match tokio::time::timeout(READY_TIMEOUT, ping).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(Problem::unavailable(&e)),
        Err(_) => Err(not_in_time()),
    }
}

fn not_in_time() -> Problem {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "the database did not answer in time",
    )
}

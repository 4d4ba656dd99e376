//! Error answers as RFC 9457 problem details (`application/problem+json`): what went wrong,
//! and for bad input the field it was in. Nothing of the server's inside (SQL text, a stack,
//! a database's own message) is ever put in one: such failures are logged, and the client
//! gets a plain sentence.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use store_core::error::{CheckoutError, Error};
use tokio_postgres::error::SqlState;

/// One problem. `type` is always `about:blank` (the status code and title say it all), so the
/// title is the status's own phrase, as RFC 9457 asks for that type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub status: u16,
    /// What was wrong, in words for a person.
    pub detail: String,
    /// The request's field (body, query or header) that was wrong, when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Problem {
        Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
        }
    }

    /// Bad input in `field`: 422 (the request was understood, its content is refused).
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, detail).at(field)
    }

    pub fn at(mut self, field: impl Into<String>) -> Problem {
        self.field = Some(field.into());
        self
    }

    pub fn unauthorized() -> Problem {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "this needs a bearer token (Authorization: Bearer ...)",
        )
        .at("Authorization")
    }

    pub fn forbidden(role: &str) -> Problem {
        Problem::new(
            StatusCode::FORBIDDEN,
            format!("this token may not do this: it needs the {role} role"),
        )
        .at("Authorization")
    }

    pub fn not_found() -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "no such resource")
    }

    /// A failure of ours or of the database: logged in full, answered in general words.
    pub fn internal(error: &dyn std::fmt::Display) -> Problem {
        tracing::error!("request failed: {error}");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server failed to answer; the failure is in its log",
        )
    }

    pub fn unavailable(error: &dyn std::fmt::Display) -> Problem {
        tracing::warn!("database unavailable: {error}");
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the database is unavailable; try again shortly",
        )
    }

    /// A library error met while reading: the database away, a read cancelled by a standby's
    /// replay or by the statement timeout is 503, bad input 422, anything else 500.
    pub fn from_error(error: &Error, field: &str) -> Problem {
        match error {
            Error::Invalid(message) => Problem::invalid(field, message.clone()),
            Error::Checkout(c) => Problem::from_checkout(c),
            Error::Db(e) if e.code() == Some(&SqlState::QUERY_CANCELED) => {
                tracing::warn!("query cancelled: {e}");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "the database took longer than {} s to answer; try again later",
                        super::STATEMENT_TIMEOUT.as_secs()
                    ),
                )
            }
            // A standby cancels a read that conflicts with the replay (a serialization
            // failure or a deadlock): the same read succeeds when tried again.
            Error::Db(e)
                if e.code() == Some(&SqlState::T_R_SERIALIZATION_FAILURE)
                    || e.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED) =>
            {
                Problem::unavailable(e)
            }
            e if e.is_connection_problem() => Problem::unavailable(e),
            e => Problem::internal(e),
        }
    }

    /// The checkout's refusals say what was wrong with the sale and where; a conflict with
    /// what the database holds (prices changed, a sale key used for another sale) is 409.
    pub fn from_checkout(error: &CheckoutError) -> Problem {
        let message = error.to_string();
        match error {
            CheckoutError::UnknownBranch(_) => Problem::invalid("supermarket_id", message),
            CheckoutError::UnknownProduct(_)
            | CheckoutError::DuplicateProduct
            | CheckoutError::EmptyCart => Problem::invalid("items_list", message),
            CheckoutError::RetiredProduct(_) => Problem::invalid("items_list", message),
            CheckoutError::UnknownCustomer(_) => Problem::invalid("user_id", message),
            CheckoutError::UnknownCashier(_) => Problem::invalid("cashier", message),
            CheckoutError::ReceiptNumberOutOfRange(_) => Problem::invalid("receipt_no", message),
            CheckoutError::ReceiptNumberTaken(_) => {
                Problem::new(StatusCode::CONFLICT, message).at("receipt_no")
            }
            CheckoutError::ImplausibleTime(_) => Problem::invalid("sold_at", message),
            CheckoutError::TenderedTooLittle { .. } | CheckoutError::BadPayment(_) => {
                Problem::invalid("payment", message)
            }
            CheckoutError::TotalMismatch { .. } => {
                Problem::new(StatusCode::CONFLICT, message).at("total_amount")
            }
            CheckoutError::SaleKeyReused(_) => {
                Problem::new(StatusCode::CONFLICT, message).at("Idempotency-Key")
            }
            CheckoutError::Unavailable(_) | CheckoutError::Conflict(_) => {
                Problem::unavailable(error)
            }
            CheckoutError::Refused(_) | CheckoutError::Journal(_) => Problem::internal(error),
        }
    }

    /// The same problem with the body's field names of `/v1` instead of the seed API's.
    pub fn renamed(mut self, renames: &[(&str, &str)]) -> Problem {
        if let Some(field) = &self.field
            && let Some((_, to)) = renames.iter().find(|(from, _)| from == field)
        {
            self.field = Some(to.to_string());
        }
        self
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(&self)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Any error answer not already a problem (the body limit's 413, the timeout's 503, ...) made
/// one, so that every error a client sees has the same shape.
pub async fn every_error_a_problem(response: Response) -> Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/problem+json");
    if is_problem || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => Problem::new(
            status,
            format!("the body is larger than {} KiB", super::BODY_LIMIT / 1024),
        )
        .at("body"),
        StatusCode::SERVICE_UNAVAILABLE => Problem::new(
            status,
            format!(
                "the answer took longer than {} s",
                super::REQUEST_TIMEOUT.as_secs()
            ),
        ),
        _ => Problem::new(status, status.canonical_reason().unwrap_or("error")),
    }
    .into_response()
}

/// The answer to a handler's panic: the panic's message goes to the log only.
pub fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into());
    Problem::internal(&format!("a handler panicked: {message}")).into_response()
}

/// A query string that is not `name=value&...`.
pub fn bad_query(rejection: axum::extract::rejection::QueryRejection) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, rejection.body_text()).at("query")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_failure_says_nothing_of_the_database() {
        let p = Problem::from_checkout(&CheckoutError::Refused(
            "syntax error at or near \"SELECT\" (INSERT INTO purchase ...)".into(),
        ));
        assert_eq!(p.status, 500);
        assert!(!p.detail.contains("SELECT") && !p.detail.contains("purchase"));
    }

    #[test]
    fn a_panic_is_a_plain_500() {
        let response = panicked(Box::new("index out of bounds: SELECT * FROM customer"));
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }

    #[test]
    fn refusals_name_the_field() {
        let p = Problem::from_checkout(&CheckoutError::DuplicateProduct);
        assert_eq!((p.status, p.field.as_deref()), (422, Some("items_list")));
        let p = Problem::from_checkout(&CheckoutError::TotalMismatch {
            expected: 1.into(),
            actual: 2.into(),
        });
        assert_eq!((p.status, p.field.as_deref()), (409, Some("total_amount")));
    }
}

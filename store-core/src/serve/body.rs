//! Reading a JSON request body field by field, so that every refusal names its field (a
//! derived deserializer stops at the first problem and words it for programmers).

use axum::http::{HeaderMap, StatusCode};
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use store_core::domain::input;
use uuid::Uuid;

use super::problem::Problem;

/// The body as a JSON object, or 400.
pub fn object(body: &[u8]) -> Result<Map<String, Value>, Problem> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => {
            Err(Problem::new(StatusCode::BAD_REQUEST, "the body must be a JSON object").at("body"))
        }
        Err(e) => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            format!("the body is not JSON: {e}"),
        )
        .at("body")),
    }
}

pub fn required<'a>(fields: &'a Map<String, Value>, name: &str) -> Result<&'a Value, Problem> {
    match fields.get(name) {
        None | Some(Value::Null) => Err(Problem::invalid(name, format!("{name} is missing"))),
        Some(value) => Ok(value),
    }
}

pub fn string<'a>(fields: &'a Map<String, Value>, name: &str) -> Result<&'a str, Problem> {
    required(fields, name)?
        .as_str()
        .ok_or_else(|| Problem::invalid(name, format!("{name} must be a string")))
}

pub fn uuid(text: &str, name: &str) -> Result<Uuid, Problem> {
    Uuid::try_parse(text.trim()).map_err(|_| {
        Problem::invalid(
            name,
            format!("{name}: {} is not a UUID", input::quote(text)),
        )
    })
}

/// An amount given as a JSON number (`7.3`) or a string (`"7.30"`), read exactly.
pub fn amount(value: &Value, name: &str) -> Result<Decimal, Problem> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return Err(Problem::invalid(name, format!("{name} must be a number"))),
    };
    input::money(&text).map_err(|m| Problem::invalid(name, format!("{name}: {m}")))
}

/// The `Idempotency-Key` header: the sale key, a UUID; None when absent.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<Uuid>, Problem> {
    const NAME: &str = "Idempotency-Key";
    let Some(value) = headers.get(NAME) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| {
        Problem::new(StatusCode::BAD_REQUEST, "Idempotency-Key is not text").at(NAME)
    })?;
    Uuid::try_parse(text.trim()).map(Some).map_err(|_| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            format!(
                "Idempotency-Key: {} is not a UUID (it is the sale key)",
                input::quote(text)
            ),
        )
        .at(NAME)
    })
}

/// A query parameter as a whole number in `range`, or `default` when absent.
pub fn query_int(
    query: &std::collections::HashMap<String, String>,
    name: &str,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, Problem> {
    let Some(text) = query.get(name) else {
        return Ok(default);
    };
    match text.trim().parse::<i64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(Problem::invalid(
            name,
            format!(
                "{name}={}: it must be a whole number from {} to {}",
                input::quote(text),
                range.start(),
                range.end()
            ),
        )),
    }
}

/// The `min_purchases` parameter (at least 1), or the server's threshold when absent.
pub fn min_purchases(
    query: &std::collections::HashMap<String, String>,
    default: i32,
) -> Result<i32, Problem> {
    let n = query_int(query, "min_purchases", default.into(), 1..=i32::MAX.into())?;
    Ok(i32::try_from(n).expect("within the range checked"))
}

/// The request's body, or a problem saying why it could not be read (too large: 413).
pub fn bytes(
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<axum::body::Bytes, Problem> {
    body.map_err(|rejection| Problem::new(rejection.status(), rejection.body_text()).at("body"))
}

//! Reading a request body: bounded by the size limit (chunked bodies included), then parsed as JSON.

use axum::body::Body;
use axum::http::HeaderMap;
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use serde_json::Value;

use crate::error::GatewayError;

/// Reads at most `limit` bytes and parses them as JSON; the raw bytes are kept for byte-exact forwarding.
pub async fn read_json(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
) -> Result<(Bytes, Value), GatewayError> {
    let raw = read_limited(body, headers, limit).await?;
    let value =
        serde_json::from_slice(&raw).map_err(|e| GatewayError::InvalidJson(e.to_string()))?;
    Ok((raw, value))
}

/// Reads at most `limit` bytes; a declared or actual larger body is a 413.
pub async fn read_limited(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Bytes, GatewayError> {
    let declared = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(GatewayError::PayloadTooLarge { limit });
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(GatewayError::PayloadTooLarge { limit })
        }
        Err(e) => Err(GatewayError::InvalidRequest {
            field: None,
            message: format!("could not read the request body: {e}"),
        }),
    }
}

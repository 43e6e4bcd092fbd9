//! Cleaning the free-text fields of requests.

use forecourt_core::msg;
use forecourt_core::{Error, Result};

/// Trims a required text field, 422 when empty or too long.
pub fn required(field: &str, value: &str, max: usize) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Error::invalid(field, msg!("must not be empty")));
    }
    if v.chars().count() > max {
        return Err(Error::invalid(field, msg!("at most {max} characters", max)));
    }
    Ok(v.to_string())
}

/// Trims an optional text field; empty becomes absent.
pub fn optional(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => required(field, v, max).map(Some),
        None => Ok(None),
    }
}

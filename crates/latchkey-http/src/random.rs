//! Randomness from the OS CSPRNG.

use crate::error::ApiError;

pub fn random<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| ApiError::Internal(format!("OS random failed: {e}")))?;
    Ok(buf)
}

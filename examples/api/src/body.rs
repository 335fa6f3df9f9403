//! Bodies that stream: hashing one as it arrives, producing one chunk by
//! chunk. Neither ever holds a whole body in memory.

use std::time::Duration;

use aws_lc_rs::digest;
use axum::body::{Body, Bytes};
use futures_util::StreamExt;
use futures_util::stream;
use http_body_util::BodyExt;

/// SHA-256 (lowercase hex) and length of a body, read frame by frame.
pub async fn digest_body(mut body: Body) -> Result<(String, u64), axum::Error> {
    let mut context = digest::Context::new(&digest::SHA256);
    let mut length: u64 = 0;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            context.update(&data);
            length += data.len() as u64;
        }
    }
    Ok((hex(context.finish().as_ref()), length))
}

/// SHA-256 of `bytes` in lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, bytes).as_ref())
}

/// The byte at `offset` of `/stream`'s pattern: `abc…xyz` repeated.
pub fn pattern_byte(offset: u64) -> u8 {
    // `offset % 26` is below 26, so the cast is exact.
    b'a' + (offset % 26) as u8
}

/// `total` bytes of the pattern in chunks of `chunk` bytes, each chunk
/// produced only when the previous one was sent, after `delay`.
pub(crate) fn pattern_stream(total: u64, chunk: u64, delay: Duration) -> Body {
    let chunk = chunk.max(1);
    let offsets = (0..total.div_ceil(chunk)).map(move |index| index * chunk);
    let chunks = stream::iter(offsets).then(move |start| async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let end = start.saturating_add(chunk).min(total);
        let data: Vec<u8> = (start..end).map(pattern_byte).collect();
        Ok::<_, std::convert::Infallible>(Bytes::from(data))
    });
    Body::from_stream(chunks)
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_abc_is_the_fips_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[tokio::test]
    async fn the_pattern_stream_has_exactly_the_requested_bytes() {
        let body = pattern_stream(100_003, 4096, Duration::ZERO);
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        assert_eq!(bytes.len(), 100_003);
        assert!(bytes.iter().zip(0..).all(|(b, i)| *b == pattern_byte(i)));
        let (hash, len) = digest_body(Body::from(bytes.clone())).await.unwrap();
        assert_eq!((hash, len), (sha256_hex(&bytes), 100_003));
    }
}

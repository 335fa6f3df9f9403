//! Header decoding on arbitrary input must never panic, and any header it
//! accepts must name a supported algorithm and a well-formed `kid`.
//!
//! Each input is tried as a whole token and as the raw JSON of a header
//! (base64url-encoded here, with a placeholder payload and signature).

#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_tokens::{Algorithm, Header, Kid};
use libfuzzer_sys::fuzz_target;

fn check_accepted(header: &Header) {
    assert!(Algorithm::ALL.contains(&header.alg()));
    let kid = header.kid().as_str();
    assert!(Kid::parse(kid).is_ok(), "accepted a malformed kid");
}

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = std::str::from_utf8(data)
        && let Ok(header) = Header::decode_unverified(token)
    {
        check_accepted(&header);
    }
    let token = format!("{}.e30.AA", URL_SAFE_NO_PAD.encode(data));
    if let Ok(header) = Header::decode_unverified(&token) {
        check_accepted(&header);
    }
});

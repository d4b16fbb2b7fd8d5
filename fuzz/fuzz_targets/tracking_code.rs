//! What a citizen types as a tracking code: a parsed code is canonical (eight characters
//! of the alphabet) and parses to itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mati_domain::tracking::{ALPHABET, LEN, TrackingCode};

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(code) = TrackingCode::parse("trackingCode", raw) {
        assert_eq!(code.as_str().len(), LEN);
        assert!(code.as_str().bytes().all(|b| ALPHABET.contains(&b)), "{code}");
        assert_eq!(
            TrackingCode::parse("trackingCode", code.as_str()).ok(),
            Some(code.clone())
        );
        assert_eq!(
            TrackingCode::parse("trackingCode", &code.as_str().to_lowercase()).ok(),
            Some(code)
        );
    }
});

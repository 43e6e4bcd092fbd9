//! Fuzzes the ADF parser: whatever the bytes, `parse` must return (an error is fine) without
//! panicking, overflowing the stack or running away in time or memory.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = forecourt_connectors::adf::parse(data, None);
});

//! ICMPv4: the message view, `Icmpv4Repr::parse` under both checksum modes, the round
//! trip through `emit`, and `quoted_ipv4` on the invoking packet of error messages
//! (checked against the strict IPv4 parser). Input: the message itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    layer4_fuzz::check_icmpv4(data);
    // The quote reader on arbitrary bytes too.
    let _ = layer4_fuzz::check_quoted_ipv4(data);
});

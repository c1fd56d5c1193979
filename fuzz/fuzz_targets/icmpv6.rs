//! ICMPv6: the message view, `Icmpv6Repr::parse` under both checksum modes, the round
//! trip through `emit`, and `quoted_ipv6` on the invoking packet of error messages
//! (checked against `walk_chain`). Input: source and destination IPv6 address (32
//! bytes, for the pseudo-header), then the message.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((addrs, message)) = layer4_fuzz::split_v6_addrs(data) {
        layer4_fuzz::check_icmpv6(message, &addrs);
        // The quote reader on arbitrary bytes too.
        let _ = layer4_fuzz::check_quoted_ipv6(message);
    }
});

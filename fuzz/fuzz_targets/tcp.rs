//! TCP: the segment view, the option iterator, `TcpRepr::parse` under both checksum
//! modes, and the round trip through `emit`. Input: byte 0 bit 0 picks IPv4 (clear)
//! or IPv6 (set); then source and destination address (8 or 32 bytes); then the
//! segment.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((addrs, segment)) = layer4_fuzz::split_addrs(data) {
        layer4_fuzz::check_tcp(segment, &addrs);
        // The option iterator on bytes longer than a header can hold.
        layer4_fuzz::check_tcp_options(segment);
    }
});

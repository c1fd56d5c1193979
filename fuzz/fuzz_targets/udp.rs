//! UDP: the datagram view, `UdpRepr::parse` under both checksum modes (zero checksum
//! over IPv4 and IPv6 included), and the round trip through `emit`. Input: byte 0
//! bit 0 picks IPv4 (clear) or IPv6 (set); then source and destination address (8 or
//! 32 bytes); then the datagram.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((addrs, datagram)) = layer4_fuzz::split_addrs(data) {
        layer4_fuzz::check_udp(datagram, &addrs);
    }
});

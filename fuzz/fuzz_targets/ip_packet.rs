//! A whole IP packet as a stack receives it: the version nibble picks IPv4 or IPv6,
//! then (unless it is a fragment) TCP, UDP, ICMPv4 or ICMPv6 with the packet's own
//! addresses, every layer with the checks of its own target. Input: the packet
//! itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    layer4_fuzz::check_ip_packet(data);
});

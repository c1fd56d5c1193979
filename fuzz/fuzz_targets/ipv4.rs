//! IPv4 header: view getters, `Ipv4Repr::parse` under both checksum modes, and the
//! round trip `parse(emit(parse(x))) == parse(x)`. Input: the packet itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    layer4_fuzz::check_ipv4(data);
});

//! IPv6: the fixed header (view, `Ipv6Repr` round trip), `walk_chain` over the
//! extension headers, each walked header re-read on its own (`Ipv6ExtHeader`,
//! `Ipv6RoutingHeader`, the TLV option iterator, `Ipv6FragmentRepr`), and the
//! extension-header parsers on the raw payload. Input: the packet itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    layer4_fuzz::check_ipv6(data);
    // The option iterator and the header views over arbitrary bytes too.
    let _ = layer4_fuzz::check_ipv6_options(data);
    layer4_fuzz::check_ipv6_ext_header(data);
    layer4_fuzz::check_ipv6_fragment(data);
});

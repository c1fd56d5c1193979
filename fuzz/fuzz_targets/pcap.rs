//! pcap: `PcapReader` over the input as a file (at most 64 records), `ip_payload` for
//! every link type on each record, the file's own link type's IP packet checked as
//! the `ip_packet` target does, and the records written back with `PcapWriter` and
//! read again. Input: the file itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    layer4_fuzz::check_pcap(data);
});

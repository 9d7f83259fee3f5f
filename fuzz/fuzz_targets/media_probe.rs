//! Every byte sequence an upload can be, through what uploads go through: `sniff` on the head,
//! then the probe (header check, full decode or MP4 box walk, thumbnail). A refusal is the
//! right answer to junk; a panic, hang or out-of-memory is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = picscripter::media::probe::probe_bytes(data, "upload.bin");
});

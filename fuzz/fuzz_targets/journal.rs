#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// One scratch directory per fuzzing process; each input overwrites the files of the last.
fn dir() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    // In memory where there is a tmpfs: every input writes its files.
    let shm = std::path::Path::new("/dev/shm");
    DIR.get_or_init(|| {
        if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }
            .expect("a scratch directory")
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = oms_fuzz::journal::run(dir().path(), data);
});

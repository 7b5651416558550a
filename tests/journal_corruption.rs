//! Corruption: random damage to a three-segment journal (flipped bytes, garbage, truncation,
//! empty files, wrong magic or version, a segment missing from the middle) never makes the
//! reader or the `oms` binary panic, never makes them accept a damaged record, and is reported
//! as corruption (exit 1, naming the file) whenever it touches published data.

mod journal_common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use journal_common::*;
use oms::journal::SyncPolicy;
use oms::journal::{Journal, segment_path};
use proptest::prelude::*;

const RECORDS: u64 = 2500; // 960 + 960 + 580
const CAP: u64 = 960;
const HEADER: usize = 4096;
const SEG: usize = 65536;

/// File contents and record bytes of the pristine journal.
type Pristine = (Vec<Vec<u8>>, Vec<[u8; 64]>);

/// The pristine journal: file contents and records.
fn pristine() -> &'static Pristine {
    static P: OnceLock<Pristine> = OnceLock::new();
    P.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("oms.journal");
        write_journal(&base, RECORDS, SMALL_SEGMENT, SyncPolicy::OnLogout);
        let files: Vec<Vec<u8>> = (0..3).map(|i| std::fs::read(segment_path(&base, i)).unwrap()).collect();
        let records = Journal::open(&base).unwrap().records().map(|r| r.unwrap().to_bytes()).collect();
        (files, records)
    })
}

#[derive(Clone, Debug)]
enum Damage {
    Flip { file: usize, at: usize, xor: u8 },
    Garbage { file: usize, at: usize, bytes: Vec<u8> },
    Truncate { file: usize, len: usize },
    Empty { file: usize },
    RemoveMiddle,
    Magic { file: usize },
    Version { file: usize, version: u16 },
}

fn damage() -> impl Strategy<Value = Damage> {
    let file = 0usize..3;
    // Bias offsets toward the used record slots and the header.
    let at = prop_oneof![0usize..128, HEADER..HEADER + 40 * 64, 0usize..SEG];
    prop_oneof![
        4 => (file.clone(), at.clone(), 1u8..=255).prop_map(|(file, at, xor)| Damage::Flip { file, at, xor }),
        2 => (file.clone(), at, proptest::collection::vec(any::<u8>(), 1..200))
            .prop_map(|(file, at, bytes)| Damage::Garbage { file, at, bytes }),
        1 => (file.clone(), 0usize..SEG).prop_map(|(file, len)| Damage::Truncate { file, len }),
        1 => file.clone().prop_map(|file| Damage::Empty { file }),
        1 => Just(Damage::RemoveMiddle),
        1 => file.clone().prop_map(|file| Damage::Magic { file }),
        1 => (file, 2u16..u16::MAX).prop_map(|(file, version)| Damage::Version { file, version }),
    ]
}

/// Applies the damage; returns whether it must be reported as corruption.
fn apply(files: &mut [Option<Vec<u8>>], d: &Damage) -> bool {
    // Global slot index of a byte, if it is inside a published record other than the last.
    let used_slot = |file: usize, at: usize| {
        at >= HEADER && {
            let slot = ((at - HEADER) / 64) as u64 + file as u64 * CAP;
            slot < RECORDS - 1
        }
    };
    match d {
        Damage::Flip { file, at, xor } => match &mut files[*file] {
            Some(b) if *at < b.len() => {
                b[*at] ^= xor;
                used_slot(*file, *at) || (*at < 88)
            }
            _ => false,
        },
        Damage::Garbage { file, at, bytes } => match &mut files[*file] {
            Some(b) => {
                let mut hit = false;
                for (i, v) in bytes.iter().enumerate() {
                    if let Some(x) = b.get_mut(at + i)
                        && *x != *v
                    {
                        *x = *v;
                        hit |= used_slot(*file, at + i) || at + i < 88;
                    }
                }
                hit
            }
            None => false,
        },
        Damage::Truncate { file, len } => match &mut files[*file] {
            Some(b) if *len < b.len() => {
                b.truncate(*len);
                true
            }
            _ => false,
        },
        Damage::Empty { file } => match &mut files[*file] {
            Some(b) => {
                b.clear();
                true
            }
            None => false,
        },
        Damage::RemoveMiddle => files[1].take().is_some(),
        Damage::Magic { file } => match &mut files[*file] {
            Some(b) if b.len() >= 8 => {
                b[..8].copy_from_slice(b"NOTOMS!!");
                true
            }
            _ => false,
        },
        Damage::Version { file, version } => match &mut files[*file] {
            Some(b) if b.len() >= 10 => {
                b[8..10].copy_from_slice(&version.to_le_bytes());
                true
            }
            _ => false,
        },
    }
}

fn materialize(dir: &Path, files: &[Option<Vec<u8>>]) -> PathBuf {
    let base = dir.join("oms.journal");
    for (i, f) in files.iter().enumerate() {
        if let Some(bytes) = f {
            std::fs::write(segment_path(&base, i as u32), bytes).unwrap();
        }
    }
    base
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_damage_is_caught_never_accepted_never_a_panic(damages in proptest::collection::vec(damage(), 1..4)) {
        let (pristine_files, pristine_records) = pristine();
        let mut files: Vec<Option<Vec<u8>>> = pristine_files.iter().cloned().map(Some).collect();
        let mut must_fail = false;
        for d in &damages {
            must_fail |= apply(&mut files, d);
        }
        let dir = tempfile::tempdir().unwrap();
        let base = materialize(dir.path(), &files);

        let sound = match Journal::open(&base) {
            Err(e) => {
                prop_assert!(e.to_string().contains("oms.journal"), "{e}");
                false
            }
            Ok(j) => {
                // Whatever is returned is a byte-identical prefix of what was written.
                let mut n = 0;
                for r in j.records() {
                    match r {
                        Ok(rec) => {
                            prop_assert_eq!(rec.to_bytes(), pristine_records[n]);
                            n += 1;
                        }
                        Err(e) => prop_assert!(e.to_string().contains("oms.journal"), "{}", e),
                    }
                }
                let report = j.verify();
                prop_assert_eq!(report.records, n as u64);
                if let Some(e) = &report.error {
                    prop_assert!(e.to_string().contains("oms.journal"), "{}", e);
                }
                report.is_sound()
            }
        };
        prop_assert!(!(must_fail && sound), "damage {:?} went unnoticed", damages);

        let o = Command::new(env!("CARGO_BIN_EXE_oms")).arg("verify").arg(&base).output().unwrap();
        prop_assert_eq!(o.status.code(), Some(if sound { 0 } else { 1 }), "{}", String::from_utf8_lossy(&o.stderr));
        if !sound {
            prop_assert!(String::from_utf8_lossy(&o.stderr).contains("oms.journal"));
        }
        for fmt in ["csv", "text"] {
            let o = Command::new(env!("CARGO_BIN_EXE_oms")).args(["decode", "--format", fmt]).arg(&base).output().unwrap();
            prop_assert!(matches!(o.status.code(), Some(0 | 1)), "decode crashed: {:?}", o.status);
        }
        let o = Command::new(env!("CARGO_BIN_EXE_oms")).arg("stats").arg(&base).output().unwrap();
        prop_assert!(matches!(o.status.code(), Some(0 | 1)), "stats crashed: {:?}", o.status);
    }
}

#[test]
fn every_single_byte_flip_in_published_records_is_caught() {
    let (files, _) = pristine();
    // Every byte of a few records, including the last one of a full segment.
    for slot in [0usize, 1, 500, 959] {
        for byte in 0..64 {
            let mut damaged: Vec<Option<Vec<u8>>> = files.iter().cloned().map(Some).collect();
            let at = HEADER + slot * 64 + byte;
            damaged[0].as_mut().unwrap()[at] ^= 0x20;
            let dir = tempfile::tempdir().unwrap();
            let base = materialize(dir.path(), &damaged);
            let report = Journal::open(&base).unwrap().verify();
            let err = report.error.unwrap_or_else(|| panic!("flip at {at} not caught")).to_string();
            assert!(err.contains(&format!("offset {}", HEADER + slot * 64)), "{err}");
            assert_eq!(report.records, slot as u64);
        }
    }
}

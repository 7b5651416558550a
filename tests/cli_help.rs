//! The `--help` of every `oms` subcommand: plain words (no rustdoc link syntax leaks from the doc
//! comments clap reads), lists generated from the tables they describe, and what a user must
//! know before running a command.

use std::collections::BTreeSet;
use std::process::Command;

use oms::EventKind;

fn help(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_oms")).args(args).output().expect("run oms");
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const SUBCOMMANDS: [&str; 7] = ["decode", "stats", "verify", "tail", "replay", "audit", "run"];

#[test]
fn no_help_shows_rustdoc_syntax() {
    let mut pages = vec![help(&["--help"]), help(&["-h"])];
    for sub in SUBCOMMANDS {
        pages.push(help(&[sub, "--help"]));
        pages.push(help(&[sub, "-h"]));
    }
    for page in pages {
        for rustdoc in ["[`", "`]", "](", "crate::"] {
            assert!(!page.contains(rustdoc), "{rustdoc:?} in:\n{page}");
        }
    }
}

/// The words of `text` made of lowercase letters and underscores (record kinds are snake_case).
fn words(text: &str) -> BTreeSet<&str> {
    text.split(|c: char| !(c.is_ascii_lowercase() || c == '_')).filter(|w| !w.is_empty()).collect()
}

#[test]
fn decode_lists_every_record_kind_under_kind() {
    for flag in ["--help", "-h"] {
        let page = help(&["decode", flag]);
        let start = page.find("--kind").expect("--kind is documented");
        let end = page[start..].find("--order").map_or(page.len(), |i| start + i);
        let listed = words(&page[start..end]);
        for kind in EventKind::ALL {
            assert!(
                listed.contains(kind.name()),
                "decode {flag}: --kind does not list {}:\n{page}",
                kind.name()
            );
        }
    }
    // A kind that is not one is refused with the list.
    let o = Command::new(env!("CARGO_BIN_EXE_oms"))
        .args(["decode", "--kind", "trade", "j"])
        .output()
        .expect("run oms");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("trade") && err.contains("exchange_session") && err.contains("cancel_rejected"), "{err}");
}

/// `--once` with a window open all day runs until the window's end: the help says so, and how to
/// stop earlier.
#[test]
fn run_once_says_it_waits_for_the_end_of_the_window() {
    let page = help(&["run", "--help"]);
    let start = page.find("--once").expect("--once is documented");
    let end = page[start..].find("--producers").map_or(page.len(), |i| start + i);
    let once = &page[start..end];
    for needle in ["until the window the orders trade in ends", "all day", "23:59:59", "Ctrl-C"] {
        assert!(once.contains(needle), "--once does not say {needle:?}:\n{once}");
    }
}

//! Clients come and go, die, misbehave: a client killed with `kill -9` is noticed, its slot
//! freed and (under `on_client_exit = "cancel"`) its orders cancelled; a client writing random
//! bytes into its live ring breaks nothing (rejects, or the client dropped, journaled); a client
//! touches only its own orders (`not_owner`); DIR and the socket are private and another user
//! cannot attach; three client processes of 10,000 orders, one killed: every order has exactly
//! one fate and `oms audit` holds; 100 attaches and detaches in a running engine.

mod ipc_common;

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use ipc_common::*;
use oms::{EventKind as K, EventRecord, OrderRequest, RejectReason, RequestType, Side};

fn submit(dir: &std::path::Path, orders: &std::path::Path) -> Proc {
    let mut c = Command::new(OMS);
    c.arg("submit").arg("--connect").arg(dir).arg("--orders").arg(orders);
    Proc::spawn(c)
}

/// Attaches, trying again while every slot is held (a slot is free again only once the engine
/// let its last client go).
fn attach(dir: &std::path::Path) -> oms::ipc::Client {
    let mut client = None;
    wait_until("a free slot", || match oms::ipc::connect(dir) {
        Ok(c) => {
            client = Some(c);
            true
        }
        Err(oms::ipc::IpcError::Refused(oms::ipc::Status::Full)) => false,
        Err(e) => panic!("attach: {e}"),
    });
    client.expect("attached")
}

fn of(records: &[EventRecord], producer: u16, kind: K) -> Vec<EventRecord> {
    records.iter().filter(|r| r.producer == producer && r.kind == kind).copied().collect()
}

#[test]
fn a_killed_client_is_noticed_its_slot_freed_and_its_working_orders_cancelled() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = write_config(tmp.path(), 10_000, 0.0, "on_client_exit = \"cancel\"");
    let (journal, dir) = (tmp.path().join("oms.journal"), tmp.path().join("ipc"));
    let run = start_run(&config, &journal, &dir);
    let orders = tmp.path().join("orders.txt");
    let mut text: String = (1..=20).map(|id| format!("@0 new id={id} sym=1 side=B px=100 qty=5\n")).collect();
    text += "@600000 new id=21 sym=1 side=B px=100 qty=5\n"; // keeps the client alive
    std::fs::write(&orders, text).expect("orders");
    let client = submit(&dir, &orders);
    let answered = |r: &[EventRecord]| of(r, 1, K::Response).len() + of(r, 1, K::Rejected).len() == 20;
    let before = wait_records(&journal, "20 first answers", answered);
    let accepted: Vec<u64> = of(&before, 1, K::Response)
        .iter()
        .filter(|r| r.response == oms::ResponseType::Accept)
        .map(|r| r.order_id)
        .collect();
    assert!(!accepted.is_empty());
    client.signal(libc::SIGKILL);
    let _ = client.wait("the killed client");
    let after = wait_records(&journal, "the detach and every cancel answered", |r| {
        !of(r, 1, K::ClientDetached).is_empty() && of(r, 1, K::VenueCancelled).len() == accepted.len()
    });
    let detached = of(&after, 1, K::ClientDetached)[0];
    match detached.event() {
        oms::Event::ClientDetached { cause, cancel, .. } => {
            assert_eq!((cause, cancel), (oms::model::DetachCause::Closed, true));
        }
        other => panic!("{other:?}"),
    }
    // The slot is free again: producer 1 attaches.
    let again = oms::ipc::connect_as(&dir, Some(1)).expect("the slot is free");
    drop(again);
    stop_run(run);
    audit(&config, &journal);
}

#[test]
fn a_client_writing_random_bytes_into_its_live_ring_breaks_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = write_config(tmp.path(), 50_000, 0.5, "ring_capacity = 64");
    let (journal, dir) = (tmp.path().join("oms.journal"), tmp.path().join("ipc"));
    let mut run = start_run(&config, &journal, &dir);
    let mut rng = fastrand::Rng::with_seed(7);
    let mut id = 1u64;
    for round in 0..20 {
        let mut c = attach(&dir);
        for k in 0..300 {
            let o = OrderRequest::new(id, 1, Side::Buy, 100.0, 1);
            id += 1;
            if c.on_data(o, RequestType::New).is_err() && !c.is_connected() {
                break;
            }
            // Random words anywhere in the ring, header included, now and then; in the
            // later rounds, a lot of them.
            let n = if round >= 15 { 64 } else { usize::from(k % 5 == 0) };
            for _ in 0..n {
                let word = match rng.u8(0..4) {
                    0 => rng.u64(..),
                    1 => rng.u64(0..8),
                    2 => f64::NAN.to_bits(),
                    _ => u64::MAX,
                };
                c.ring().scribble(rng.usize(..), word);
            }
        }
        run.assert_running(&format!("round {round}"));
    }
    let records = wait_records(&journal, "every client let go", |r| {
        r.iter().filter(|r| r.kind == K::ClientDetached).count() == 20
    });
    let rejects = records.iter().filter(|r| r.kind == K::Rejected).count();
    let dropped = records
        .iter()
        .filter(|r| {
            matches!(r.event(), oms::Event::ClientDetached { cause: oms::model::DetachCause::Protocol, .. })
        })
        .count();
    assert!(rejects > 0 && dropped > 0, "{rejects} rejects, {dropped} clients dropped");
    stop_run(run);
    audit(&config, &journal);
}

#[test]
fn a_client_modifies_and_cancels_only_its_own_orders() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = write_config(tmp.path(), 10_000, 0.0, "");
    let (journal, dir) = (tmp.path().join("oms.journal"), tmp.path().join("ipc"));
    let run = start_run(&config, &journal, &dir);
    let mut a = oms::ipc::connect(&dir).expect("a");
    let mut b = oms::ipc::connect(&dir).expect("b");
    let (pa, pb) = (a.producer(), b.producer());
    let o = OrderRequest::new(5, 1, Side::Buy, 100.0, 10);
    a.on_data(o, RequestType::New).expect("a new");
    wait_records(&journal, "a's order working", |r| {
        of(r, pa, K::Response).iter().any(|r| r.response == oms::ResponseType::Accept)
            || of(r, pa, K::Response).iter().any(|r| r.order_id == 5)
    });
    b.on_data(o, RequestType::Cancel).expect("b cancel");
    b.on_data(OrderRequest { price: 99.0, ..o }, RequestType::Modify).expect("b modify");
    b.on_data(o, RequestType::New).expect("b new");
    let r = wait_records(&journal, "b's three answers", |r| of(r, pb, K::Rejected).len() == 3);
    let reasons: Vec<_> = of(&r, pb, K::Rejected).iter().map(|r| (r.request, r.reason)).collect();
    assert_eq!(
        reasons,
        [
            (RequestType::Cancel, Some(RejectReason::NotOwner)),
            (RequestType::Modify, Some(RejectReason::NotOwner)),
            (RequestType::New, Some(RejectReason::DuplicateOrderId)),
        ]
    );
    a.on_data(o, RequestType::Cancel).expect("a cancel");
    wait_records(&journal, "a's own cancel", |r| !of(r, pa, K::CancelSent).is_empty());
    drop((a, b));
    stop_run(run);
    audit(&config, &journal);
}

#[test]
fn the_directory_is_private_and_another_user_cannot_attach() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let config = write_config(tmp.path(), 10_000, 0.0, "");
    let (journal, dir) = (tmp.path().join("oms.journal"), tmp.path().join("ipc"));
    // A directory made too open beforehand is made private.
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let run = start_run(&config, &journal, &dir);
    let mode = |p: &std::path::Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("oms.sock")), 0o600);
    // SAFETY: a plain system call.
    if unsafe { libc::geteuid() } == 0 {
        // As another user (nobody), with a copy of the binary it can run: refused by the
        // directory's mode, then, with the directory, socket and journal opened up by hand, by
        // the listener's check of the peer's user.
        let oms = tmp.path().join("oms");
        std::fs::copy(OMS, &oms).expect("copy oms");
        std::fs::set_permissions(&oms, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let as_nobody = || {
            let mut c = Command::new(&oms);
            c.arg("submit").arg("--connect").arg(&dir).arg("--orders").arg("/dev/null");
            std::os::unix::process::CommandExt::uid(&mut c, 65534);
            std::os::unix::process::CommandExt::gid(&mut c, 65534);
            c.output().expect("run as nobody")
        };
        let out = as_nobody();
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).contains("Permission denied"));
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711)).expect("chmod");
        std::fs::set_permissions(dir.join("oms.sock"), std::fs::Permissions::from_mode(0o666))
            .expect("chmod");
        open_journal(tmp.path());
        let out = as_nobody();
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).contains("cannot attach"));
    }
    let records = stop_run_records(run, &journal);
    assert!(records.iter().all(|r| r.kind != K::ClientAttached), "nobody attached");
}

/// Makes the journal's files (the run user's own, 0600) readable by anyone: another user's
/// `oms submit` follows its outcomes there.
fn open_journal(tmp: &std::path::Path) {
    for e in std::fs::read_dir(tmp).expect("read_dir").flatten() {
        if e.file_name().to_string_lossy().starts_with("oms.journal") && e.path().is_file() {
            std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(0o644)).expect("chmod");
        }
    }
}

/// The run's own primary group's name (`id -gn`).
fn primary_group() -> String {
    let out = Command::new("id").arg("-gn").output().expect("id -gn");
    String::from_utf8(out.stdout).expect("utf-8").trim().to_string()
}

#[test]
fn a_configured_group_opens_the_directory_to_its_members_and_only_to_them() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    // SAFETY: a plain system call.
    let gid = unsafe { libc::getegid() };
    let config = write_config(tmp.path(), 10_000, 0.0, &format!("group = {:?}", primary_group()));
    let (journal, dir) = (tmp.path().join("oms.journal"), tmp.path().join("ipc"));
    let run = start_run(&config, &journal, &dir);
    let meta = |p: &std::path::Path| std::fs::metadata(p).expect("stat");
    let sock = dir.join("oms.sock");
    assert_eq!((meta(&dir).mode() & 0o777, meta(&dir).gid()), (0o750, gid));
    assert_eq!((meta(&sock).mode() & 0o777, meta(&sock).gid()), (0o660, gid));
    drop(oms::ipc::connect(&dir).expect("the run's own user attaches"));
    let attached =
        |n: usize| move |r: &[EventRecord]| r.iter().filter(|x| x.kind == K::ClientAttached).count() == n;
    wait_records(&journal, "the run's user attached", attached(1));
    // SAFETY: a plain system call.
    if unsafe { libc::geteuid() } == 0 {
        let oms = tmp.path().join("oms");
        std::fs::copy(OMS, &oms).expect("copy oms");
        std::fs::set_permissions(&oms, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let as_nobody = |group: u32| {
            let mut c = Command::new(&oms);
            c.arg("submit").arg("--connect").arg(&dir).arg("--orders").arg("/dev/null");
            std::os::unix::process::CommandExt::uid(&mut c, 65534);
            std::os::unix::process::CommandExt::gid(&mut c, group);
            c.output().expect("run as nobody")
        };
        // Another user in the group attaches (and, its input empty, goes at once), reading the
        // journal's segments, which the run gave to the group.
        let mut segments = 0;
        for e in std::fs::read_dir(tmp.path()).expect("read_dir").flatten() {
            if e.file_name().to_string_lossy().starts_with("oms.journal") && e.path().is_file() {
                assert_eq!((meta(&e.path()).mode() & 0o777, meta(&e.path()).gid()), (0o640, gid), "{e:?}");
                segments += 1;
            }
        }
        assert!(segments > 0, "the journal's segments");
        let out = as_nobody(gid);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        wait_records(&journal, "the group's member attached", attached(2));
        // Another user not in it: refused by the directory's mode, then, with the directory,
        // the socket and the journal opened up by hand, by the listener's check of the peer.
        let out = as_nobody(65534);
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).contains("Permission denied"));
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).expect("chmod");
        open_journal(tmp.path());
        let out = as_nobody(65534);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("cannot attach") && !err.contains("Permission denied"), "{err}");
    }
    let records = stop_run_records(run, &journal);
    // SAFETY: a plain system call.
    let n = if unsafe { libc::geteuid() } == 0 { 2 } else { 1 };
    assert!(attached(n)(&records), "only the run's user and the group's member attached");
}

#[test]
fn a_group_that_does_not_exist_is_named() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = write_config(tmp.path(), 10_000, 0.0, "");
    let (journal, dir) = (tmp.path().join("oms.journal"), tmp.path().join("ipc"));
    let mut c = Command::new(OMS);
    c.arg("run").arg("--config").arg(&config).arg("--journal").arg(&journal).arg("--listen").arg(&dir);
    c.arg("--listen-group").arg("no-such-group-for-oms");
    let (status, _, err) = Proc::spawn(c).wait("oms run");
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("group \"no-such-group-for-oms\": no such group"), "{err}");
}

fn stop_run_records(run: Proc, journal: &std::path::Path) -> Vec<EventRecord> {
    stop_run(run);
    records_now(journal).expect("records")
}

#[test]
fn three_client_processes_one_killed_every_order_has_exactly_one_fate() {
    const ORDERS: u64 = 10_000;
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = write_config(tmp.path(), 20_000, 0.5, "max_clients = 4");
    let (journal, dir) = (tmp.path().join("oms.journal"), tmp.path().join("ipc"));
    let run = start_run(&config, &journal, &dir);
    let mut clients = Vec::new();
    for k in 1..=3u64 {
        let orders = tmp.path().join(format!("orders{k}.txt"));
        let mut text = String::new();
        for i in 0..ORDERS {
            let id = k * 1_000_000 + i;
            let side = if i % 2 == 0 { 'B' } else { 'S' };
            text +=
                &format!("@{}.{:03} new id={id} sym={k} side={side} px=100 qty=3\n", i / 5, (i % 5) * 200);
            if i % 10 == 9 {
                text += &format!("@{}.{:03} cancel id={}\n", i / 5, (i % 5) * 200, id - 4);
            }
        }
        std::fs::write(&orders, text).expect("orders");
        clients.push(submit(&dir, &orders));
    }
    // The second one dies mid-way, some of its orders taken.
    let producer_of = |r: &[EventRecord], k: u64| {
        r.iter().find(|x| x.kind != K::ClientAttached && x.order_id / 1_000_000 == k).map(|x| x.producer)
    };
    let records = wait_records(&journal, "client 2 half way", |r| {
        producer_of(r, 2).is_some_and(|p| of(r, p, K::Sent).len() + of(r, p, K::Queued).len() > 2_000)
    });
    clients[1].signal(libc::SIGKILL);
    let killed = producer_of(&records, 2).expect("client 2's producer");
    let mut survivors = Vec::new();
    for (k, c) in clients.into_iter().enumerate() {
        let (status, out, err) = c.wait("a client");
        if k == 1 {
            continue;
        }
        assert!(status.success(), "client {}: {status}\n{err}", k + 1);
        assert!(err.contains(&format!("{} requests sent", ORDERS + ORDERS / 10)), "{err}");
        survivors.push(out);
    }
    let records = stop_run_records(run, &journal);
    audit(&config, &journal);
    // Every New a surviving client sent: exactly one first answer or reject, its own.
    for k in [1u64, 3] {
        let mut first: HashMap<u64, usize> = HashMap::new();
        for r in &records {
            let new_refused = r.kind == K::Rejected && r.request == RequestType::New;
            let queued_cancel = r.kind == K::Cancelled;
            if r.order_id / 1_000_000 == k && (r.kind == K::Response || new_refused || queued_cancel) {
                *first.entry(r.order_id).or_default() += 1;
            }
        }
        assert_eq!(first.len() as u64, ORDERS, "client {k}: every order answered");
        assert!(first.values().all(|n| *n == 1), "client {k}: one first answer each");
    }
    assert!(records.iter().any(|r| r.producer == killed && r.kind == K::ClientDetached));
}

#[test]
fn a_hundred_attaches_and_detaches_in_a_running_engine() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = write_config(tmp.path(), 10_000, 0.0, "max_clients = 2");
    let (journal, dir) = (tmp.path().join("oms.journal"), tmp.path().join("ipc"));
    let run = start_run(&config, &journal, &dir);
    for id in 1..=100u64 {
        // Two slots: a slot is free again only once the engine let the last client go, so
        // an attach may find both still held for a moment; it is tried again.
        let mut c = attach(&dir);
        c.on_data(OrderRequest::new(id, 1, Side::Sell, 100.0, 1), RequestType::New).expect("send");
    }
    let records = wait_records(&journal, "100 detaches and 100 answers", |r| {
        r.iter().filter(|r| r.kind == K::ClientDetached).count() == 100
            && r.iter().filter(|r| r.kind == K::Response).count() == 100
    });
    assert_eq!(records.iter().filter(|r| r.kind == K::ClientAttached).count(), 100);
    stop_run(run);
    audit(&config, &journal);
}

//! Producers in other processes, end to end: a client attached to a listening `oms run` (the
//! built binary, a child process) sends orders through its shared-memory ring and follows its
//! own outcomes in the journal; `oms submit` does the same from the command line; after a
//! `kill -9` of the run the client's next `on_data` fails and it attaches to the restarted run.

mod ipc_common;

use std::collections::HashMap;
use std::process::Command;

use ipc_common::*;
use oms::journal::{OutcomeKind, OutcomePoll, Outcomes};
use oms::{EventKind as K, OrderRequest, RequestType, Side};

/// Follows `producer`'s outcomes until every id in `ids` has its first answer (a response or a
/// reject); returns each id's first answer.
fn first_answers(journal: &std::path::Path, producer: u16, ids: &[u64]) -> HashMap<u64, OutcomeKind> {
    let mut outcomes = Outcomes::follow(journal, producer).expect("follow");
    let mut seen = HashMap::new();
    wait_until("every first answer", || {
        while let OutcomePoll::Outcome(o) = outcomes.poll().expect("poll") {
            if matches!(o.kind, OutcomeKind::Response { .. } | OutcomeKind::Rejected { .. }) {
                seen.entry(o.order.order_id).or_insert(o.kind);
            }
        }
        ids.iter().all(|id| seen.contains_key(id))
    });
    seen
}

#[test]
fn a_client_process_sends_through_its_ring_and_reconnects_after_the_run_is_killed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = write_config(tmp.path(), 10_000, 0.0, "");
    let (journal, dir) = (tmp.path().join("oms.journal"), tmp.path().join("ipc"));
    let run = start_run(&config, &journal, &dir);

    let mut client = oms::ipc::connect(&dir).expect("connect");
    // `oms run` without --orders has producer 0 of its own: clients start at 1.
    assert_eq!(client.producer(), 1);
    assert_eq!(client.journal(), Some(std::path::absolute(&journal).unwrap().as_path()));
    let ids: Vec<u64> = (1..=200).collect();
    for &id in &ids {
        let side = if id % 2 == 0 { Side::Buy } else { Side::Sell };
        let price = if id == 7 { -1.0 } else { 100.0 };
        let o = OrderRequest::new(id, 3, side, price, 10);
        while let Err(e) = client.on_data(o, RequestType::New) {
            assert!(matches!(e, oms::ipc::SendError::Full(_)), "{e}");
            std::thread::yield_now();
        }
    }
    let answers = first_answers(&journal, client.producer(), &ids);
    assert_eq!(
        answers[&7],
        OutcomeKind::Rejected { request: RequestType::New, reason: oms::RejectReason::InvalidPrice }
    );
    let accepted = answers.values().filter(|k| matches!(k, OutcomeKind::Response { .. })).count();
    assert!(accepted > 150, "{accepted} of 200 answered by the exchange");

    // kill -9: the client's next on_data fails (it does not hang), soon.
    run.signal(libc::SIGKILL);
    let _ = run.wait("the killed run");
    let o = OrderRequest::new(1000, 3, Side::Buy, 100.0, 1);
    wait_until("the client sees the engine gone", || {
        matches!(client.on_data(o, RequestType::New), Err(oms::ipc::SendError::Disconnected(_)))
    });
    assert!(!client.is_connected());

    // The restarted run recovers the journal; the client takes its producer number back.
    let run = start_run(&config, &journal, &dir);
    let mut again = oms::ipc::connect_as(&dir, Some(client.producer())).expect("reconnect");
    assert_eq!(again.producer(), 1);
    drop(client);
    again.on_data(OrderRequest::new(1001, 3, Side::Buy, 100.0, 1), RequestType::New).expect("send");
    let answers = first_answers(&journal, 1, &[1001]);
    assert!(answers.contains_key(&1001));
    drop(again);
    let records = wait_records(&journal, "the detach", |r| r.iter().any(|r| r.kind == K::ClientDetached));
    assert_eq!(records.iter().filter(|r| r.kind == K::ClientAttached).count(), 2);
    assert_eq!(records.iter().filter(|r| r.kind == K::Recovered).count(), 1);
    stop_run(run);
    audit(&config, &journal);
}

#[test]
fn oms_submit_sends_its_lines_and_exits_once_each_is_answered() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = write_config(tmp.path(), 10_000, 0.0, "");
    let (journal, dir) = (tmp.path().join("oms.journal"), tmp.path().join("ipc"));
    let run = start_run(&config, &journal, &dir);
    let orders = tmp.path().join("orders.txt");
    let mut text = String::new();
    for id in 1..=50u64 {
        text += &format!("@{} new id={id} sym=1 side=B px=100 qty=5\n", id / 10);
    }
    text += "@6 modify id=3 px=101 qty=6\n@7 cancel id=4\n@8 cancel id=999\n";
    std::fs::write(&orders, text).expect("orders");
    let mut c = Command::new(OMS);
    c.arg("submit").arg("--connect").arg(&dir).arg("--orders").arg(&orders);
    let (status, out, err) = Proc::spawn(c).wait("oms submit");
    assert!(status.success(), "{status}\n{out}\n{err}");
    assert!(err.contains("53 requests sent as producer 1, every one answered"), "{err}");
    for id in 1..=50u64 {
        let answered = out.lines().any(|l| {
            l.contains(&format!(" order={id} ")) && (l.contains(" response ") || l.contains(" rejected new "))
        });
        assert!(answered, "order {id} has no first answer in:\n{out}");
    }
    assert!(out.contains("rejected cancel order=999") && out.contains("reason=not_open"), "{out}");
    // A second user of the same producer number sees only its own records.
    let mut c = Command::new(OMS);
    c.arg("submit").arg("--connect").arg(&dir).arg("--orders").arg("-");
    c.stdin(std::process::Stdio::piped());
    let mut p = Proc::spawn(c);
    {
        use std::io::Write;
        let mut stdin = p.child.stdin.take().expect("stdin");
        stdin.write_all(b"@0 new id=77 sym=1 side=S px=100 qty=5\n").expect("write");
    }
    let (status, out, err) = p.wait("oms submit on stdin");
    assert!(status.success(), "{status}\n{out}\n{err}");
    assert!(out.contains(" order=77 ") && !out.contains(" order=3 "), "{out}");
    let bad = Command::new(OMS)
        .arg("submit")
        .arg("--connect")
        .arg(&dir)
        .arg("--orders")
        .arg(tmp.path().join("missing.txt"))
        .output()
        .expect("submit");
    assert_eq!(bad.status.code(), Some(2));
    stop_run(run);
    audit(&config, &journal);
}

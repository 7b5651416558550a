//! The decoder's lines, format by format.
use super::*;
use crate::model::{DisconnectCause, FixCode, OrderRequest, RejectSource, Side};
use crate::record::SessionReport;

#[test]
fn csv_and_text_lines() {
    let o = OrderRequest::new(42, 7, Side::Sell, 101.25, 300);
    let r = EventRecord::new(1_704_169_800_000_001_000, Event::Sent { order: o, in_oms_ns: 1234 });
    let mut r = r.from_producer(2);
    r.seq = 5;
    let mut f = Formatter::new(Format::Csv, "Asia/Kolkata").unwrap();
    let mut out = Vec::new();
    f.line(&mut out, &r);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "5,2024-01-02T04:30:00.000001000Z,sent,42,7,S,101.25,300,,1234,,2,\n"
    );
    let mut f = Formatter::new(Format::Text, "Asia/Kolkata").unwrap();
    let mut out = Vec::new();
    f.line(&mut out, &r);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "#5 2024-01-02 10:00:00.000001000+05:30 sent order=42 sym=7 S 300@101.25 in_oms=1.234µs p=2\n"
    );
    let mut f = Formatter::utc(Format::Jsonl);
    let mut out = Vec::new();
    f.line(&mut out, &r);
    assert!(String::from_utf8(out).unwrap().ends_with(",\"reason\":null,\"producer\":2,\"detail\":null}\n"));
    assert!(Formatter::new(Format::Text, "Mars/Olympus").is_err());
}

#[test]
fn clock_step_prints_its_signed_step() {
    let mut r = EventRecord::new(1_704_169_800_000_000_000, Event::ClockStep { step_ns: -2_500_000 });
    r.seq = 3;
    let line = |format, r: &EventRecord| {
        let mut out = Vec::new();
        Formatter::utc(format).line(&mut out, r);
        String::from_utf8(out).unwrap()
    };
    assert_eq!(line(Format::Csv, &r), "3,2024-01-02T04:30:00.000000000Z,clock_step,,,,,,,-2500000,,,\n");
    let json = line(Format::Jsonl, &r);
    assert!(
        json.contains("\"latency_ns\":-2500000,") && json.ends_with("\"producer\":null,\"detail\":null}\n"),
        "{json}"
    );
    let text = line(Format::Text, &r);
    assert!(text.ends_with("clock_step step=-2500.000µs\n"), "{text}");
    let r = EventRecord { seq: 3, ..EventRecord::new(r.time_ns, Event::ClockStep { step_ns: 1_500 }) };
    let text = line(Format::Text, &r);
    assert!(text.ends_with("clock_step step=+1.500µs\n"), "{text}");
}

#[test]
fn a_reference_prints_its_symbol_and_price() {
    let r = EventRecord {
        seq: 4,
        ..EventRecord::new(1_704_169_800_000_000_000, Event::Reference { symbol: 7, price: 101.5 })
    };
    let [csv, text, json] = lines(&r);
    assert_eq!(csv, "4,2024-01-02T04:30:00.000000000Z,reference,,7,,101.5,,,,,,\n");
    assert!(text.ends_with(" reference sym=7 px=101.5\n"), "{text}");
    assert!(json.contains("\"symbol\":7,") && json.contains("\"price\":101.5,"), "{json}");
}

fn lines(r: &EventRecord) -> [String; 3] {
    [Format::Csv, Format::Text, Format::Jsonl].map(|format| {
        let mut out = Vec::new();
        Formatter::utc(format).line(&mut out, r);
        String::from_utf8(out).unwrap()
    })
}

#[test]
fn exchange_records_print_their_detail_in_every_format() {
    let t = 1_704_169_800_000_000_000;
    let at = |seq, e| EventRecord { seq, ..EventRecord::new(t, e) };
    let on = at(2, Event::ExchangeSession(SessionReport::LoggedOn { next_out_seq: 5, next_in_seq: 3 }));
    let [csv, text, json] = lines(&on);
    assert_eq!(
        csv,
        "2,2024-01-02T04:30:00.000000000Z,exchange_session,,,,,,,,,,logged_on next_out_seq=5 next_in_seq=3\n"
    );
    assert!(text.ends_with(" exchange_session logged_on next_out_seq=5 next_in_seq=3\n"), "{text}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["detail"], serde_json::json!({"event": "logged_on", "next_out_seq": 5, "next_in_seq": 3}));
    assert_eq!(v["order_id"], serde_json::Value::Null);

    let down = at(
        3,
        Event::ExchangeSession(SessionReport::Disconnected {
            cause: DisconnectCause::PeerClosed,
            retry_in_ns: 500_000_000,
        }),
    );
    let [csv, _, json] = lines(&down);
    assert!(csv.ends_with(",,disconnected cause=peer_closed retry_in_ns=500000000\n"), "{csv}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["detail"]["cause"], "peer_closed");
    assert_eq!(v["latency_ns"], serde_json::Value::Null, "the retry delay is in the detail only");

    let (exec_type, ord_status) = (FixCode::new(b'F').unwrap(), FixCode::new(b'"').unwrap());
    let fill =
        at(4, Event::Execution { order_id: 42, last_qty: 100, last_px: 101.25, exec_type, ord_status });
    let [csv, text, json] = lines(&fill);
    assert_eq!(
        csv,
        "4,2024-01-02T04:30:00.000000000Z,execution,42,,,101.25,100,,,,,exec_type=F ord_status=\"\n"
    );
    assert!(text.ends_with(" execution order=42 100@101.25 exec_type=F(trade) ord_status=\"\n"), "{text}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["detail"], serde_json::json!({"exec_type": "F", "ord_status": "\""}));
    assert_eq!((v["symbol"].is_null(), v["side"].is_null(), v["qty"].as_u64()), (true, true, Some(100)));

    let rej = at(5, Event::ExchangeReject { order_id: 43, source: RejectSource::BusinessReject, code: 2 });
    let [csv, text, json] = lines(&rej);
    assert!(csv.ends_with(",exchange_reject,43,,,,,,,,,source=business_reject code=2\n"), "{csv}");
    assert!(text.ends_with(" exchange_reject order=43 source=business_reject code=2\n"), "{text}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["detail"], serde_json::json!({"source": "business_reject", "code": 2}));
    assert_eq!(v["qty"], serde_json::Value::Null);
}

#[test]
fn every_kind_has_as_many_csv_cells_as_the_header() {
    let columns = CSV_HEADER.split(',').count();
    let events = crate::record::tests::every_kind();
    let mut kinds: Vec<EventKind> = events.iter().map(Event::kind).collect();
    kinds.dedup();
    assert_eq!(kinds, EventKind::ALL, "every kind");
    for e in events {
        let r = EventRecord::new(0, e);
        let [csv, _, json] = lines(&r);
        assert_eq!(csv.trim_end().split(',').count(), columns, "{e:?}: {csv}");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v.as_object().unwrap().len(), columns, "{e:?}: {json}");
    }
}

#[test]
fn recovered_prints_its_counts() {
    let r = EventRecord::new(1_704_169_800_000_000_000, Event::Recovered { queued: 12, open: 3 });
    let r = EventRecord { seq: 9, ..r };
    let line = |format| {
        let mut out = Vec::new();
        Formatter::utc(format).line(&mut out, &r);
        String::from_utf8(out).unwrap()
    };
    assert_eq!(line(Format::Csv), "9,2024-01-02T04:30:00.000000000Z,recovered,3,,,,12,,,,,\n");
    let json = line(Format::Jsonl);
    assert!(
        json.contains("\"order_id\":3,\"symbol\":null,\"side\":null,\"price\":null,\"qty\":12,"),
        "{json}"
    );
    assert!(line(Format::Text).ends_with(" recovered queued=12 open=3\n"), "{}", line(Format::Text));
}

proptest::proptest! {
    /// The cached second and the digit pairs print what jiff prints, in UTC and in a zone with
    /// a half-hour offset, for times in any order (the cache is per second and separator).
    #[test]
    fn times_print_as_jiff_does(times in proptest::collection::vec(any_time(), 1..40)) {
        let kolkata = TimeZone::get("Asia/Kolkata").unwrap();
        let mut utc = Formatter::utc(Format::Csv);
        let mut local = Formatter::new(Format::Text, "Asia/Kolkata").unwrap();
        for ns in times {
            let t = jiff::Timestamp::from_nanosecond(i128::from(ns)).unwrap();
            let frac = ns.rem_euclid(1_000_000_000);
            let mut out = Vec::new();
            utc.push_utc(&mut out, ns);
            let want = format!("{}.{frac:09}Z", t.to_zoned(TimeZone::UTC).strftime("%Y-%m-%dT%H:%M:%S"));
            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), want);
            if ns < 0 {
                continue; // before 1970 the zone's offsets have seconds (LMT), printed as hh:mm
            }
            let mut out = Vec::new();
            local.push_local(&mut out, ns);
            let z = t.to_zoned(kolkata.clone());
            let want = format!("{}.{frac:09}{}", z.strftime("%Y-%m-%d %H:%M:%S"), z.strftime("%:z"));
            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), want);
        }
    }
}

/// Times from 1900 to 2200, many within the same second as the one before.
fn any_time() -> impl proptest::strategy::Strategy<Value = i64> {
    use proptest::strategy::Strategy;
    proptest::prop_oneof![
        -2_208_988_800_000_000_000i64..7_258_118_400_000_000_000,
        (0i64..3).prop_map(|s| 1_704_169_800_000_000_000 + s * 1_000_000_000 + 123),
        (0i64..1_000_000_000).prop_map(|ns| 1_704_169_799_000_000_000 + ns),
    ]
}

#[test]
fn scenario_lines_and_what_they_cannot_hold() {
    use crate::model::{RejectReason, RequestType};
    let t0 = 1_704_169_800_000_000_000;
    let at = |ms_ns: i64, p: u16, e: Event| {
        let mut r = EventRecord::new(t0 + ms_ns, e).from_producer(p);
        r.seq = (ms_ns / 1000) as u64;
        r
    };
    let o = OrderRequest::new(7, 3, Side::Buy, 100.25, 5);
    let odd_side = OrderRequest { side: ' ', ..OrderRequest::new(8, 3, Side::Buy, 1.0, 1) };
    let records = [
        EventRecord::new(t0, Event::Logon),
        at(1_500_000, 2, Event::Sent { order: o, in_oms_ns: 10 }),
        at(2_000_001, 2, Event::Queued { order: OrderRequest { order_id: 9, ..o } }),
        at(3_000_000, 70, Event::Queued { order: OrderRequest { order_id: 10, ..o } }),
        at(
            4_000_000,
            1,
            Event::Rejected {
                order: odd_side,
                request: RequestType::New,
                reason: RejectReason::InvalidSide,
                value: 0.0,
            },
        ),
        at(
            4_500_000,
            1,
            Event::Rejected {
                order: OrderRequest { order_id: 11, ..o },
                request: RequestType::Unknown,
                reason: RejectReason::InvalidRequestType,
                value: 0.0,
            },
        ),
        at(5_000_000, 2, Event::Response { order: o, response: ResponseType::Accept, round_trip_ns: 9 }),
        at(6_000_000, crate::record::ENGINE, Event::CancelSent { order: o, in_oms_ns: 0 }),
        at(7_250_000, 2, Event::VenueCancelled { order: o, solicited: true, round_trip_ns: 9 }),
        at(8_000_000, 2, Event::Sent { order: OrderRequest { order_id: 9, ..o }, in_oms_ns: 10 }),
        at(8_500_000, crate::record::ENGINE, Event::Reference { symbol: 3, price: 99.5 }),
        at(9_000_000, 0, Event::Logout),
    ];
    let mut f = Formatter::utc(Format::Scenario);
    let mut out = Vec::new();
    for r in &records {
        f.see(r);
        f.line(&mut out, r);
    }
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "# oms replay THIS --config CONFIG --journal PATH --start 2024-01-02T04:30:00Z   (@0 is the journal's first record)",
            "@1.5 new id=7 sym=3 side=B px=100.25 qty=5 p=2",
            "@2.000001 new id=9 sym=3 side=B px=100.25 qty=5 p=2",
            "# seq 3000 (queued order 10 p=70): left out, a request of a producer past the scenario's 64",
            "# seq 4000 (rejected order 8 p=1): left out, a New whose side is not one printable character",
            "# seq 4500 (rejected order 11 p=1): left out, a request of an unknown type, which no scenario line asks for",
            "@5 response id=7 accept",
            "@7.25 cancelled id=7",
            "@8.5 reference sym=3 px=99.5",
            "@9 advance",
        ],
        "the engine's own cancel and the queued order's send have no line"
    );
    // What it prints parses as a scenario.
    let parsed = crate::replay::parse_scenario(&text).expect("a scenario");
    assert_eq!(parsed.len(), 6);
}

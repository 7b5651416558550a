use super::*;
use std::num::NonZeroU64;

use jiff::civil::Weekday;

use crate::journal::SyncPolicy;
use crate::runner::IdleStrategy;

#[test]
fn defaults_are_valid() {
    let v = Config::default().validate().expect("default config is valid");
    assert_eq!(v.engine.throttle.rate.get(), 100);
    assert_eq!(v.engine.throttle.burst.get(), 100);
    assert_eq!(v.engine.capacities.ring_capacity.get(), 65536);
    assert_eq!(v.journal.sync, SyncPolicy::OnLogout);
    assert_eq!(v.journal.prepare_records, None, "one segment's worth");
    assert_eq!(v.runner.idle, IdleStrategy::Backoff);
    let v = Config::from_toml_str("[journal]\nprepare_records = 4000000").unwrap().validate().unwrap();
    assert_eq!(v.journal.prepare_records, NonZeroU64::new(4_000_000));
}

#[test]
fn the_readme_example_parses() {
    let text = r#"
[session]
username = "trader"
password = "secret"
timezone = "Asia/Kolkata"
start = "10:00:00"
end = "13:00:00"
days = ["Mon","Tue","Wed","Thu","Fri"]
[throttle]
max_orders_per_sec = 100
mode = "token-bucket"
burst = 100
[journal]
path = "oms.journal"
[engine]
core = 0
ring_capacity = 65536
max_queued_orders = 1048576
idle = "spin"
"#;
    let c = Config::from_toml_str(text).unwrap();
    let v = c.validate().unwrap();
    assert!(v.engine.session.window.days().contains(Weekday::Monday));
    assert!(!v.engine.session.window.days().contains(Weekday::Sunday));
    assert_eq!(v.engine.session.logon.password.expose(), "secret");
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = r#"
[session]
username = ""
timezone = "Mars/Olympus"
start = "25:00"
end = "13:00"
days = ["Mon", "Funday", "Mon"]
[throttle]
max_orders_per_sec = 0
burst = 0
mode = "leaky"
[journal]
sync = "sometimes"
segment_bytes = 1000
path = ""
[engine]
ring_capacity = 0
max_queued_orders = 0
core = 4096
idle = "nap"
[exchange]
latency_min_us = 9
latency_max_us = 1
reject_ratio = 1.5
"#;
    let err = Config::from_toml_str(text).unwrap().validate().unwrap_err();
    let all = err.to_string();
    let fields = [
        "session.username",
        "session.timezone",
        "session.start",
        "session.days",
        "session.days",
        "throttle.mode",
        "throttle.max_orders_per_sec",
        "throttle.burst",
        "journal.path",
        "journal.segment_bytes",
        "journal.sync",
        "engine.ring_capacity",
        "engine.max_queued_orders",
        "engine.idle",
        "engine.core",
        "exchange",
        "exchange.reject_ratio",
    ];
    let mut got: Vec<&str> = err.problems().iter().map(|p| p.field.as_str()).collect();
    let mut want = fields.to_vec();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want, "{all}");
    for needle in ["Funday", "listed twice", "\"leaky\"", "\"nap\"", "\"sometimes\""] {
        assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
    }
}

#[test]
fn capacities_that_would_exhaust_memory_are_errors() {
    let mut c = Config::default();
    c.engine.ring_capacity = MAX_RING_CAPACITY + 1;
    c.engine.max_queued_orders = MAX_LIVE_ORDERS;
    let msg = c.validate().unwrap_err().to_string();
    assert!(
        msg.contains("engine.ring_capacity") && msg.contains("max_working_orders must be at most"),
        "{msg}"
    );
    c.engine.ring_capacity = MAX_RING_CAPACITY;
    c.engine.max_queued_orders = MAX_LIVE_ORDERS - c.engine.max_working_orders;
    assert!(c.validate().is_ok());
}

#[test]
fn parse_errors_name_file_and_line_and_keep_their_cause() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.toml");
    std::fs::write(&p, "[throttle]\nmax_orders_per_sec = \"many\"\n").unwrap();
    let msg = Config::load(&p).unwrap_err().to_string();
    assert!(msg.contains(&format!("{}:2: throttle.max_orders_per_sec", p.display())), "{msg}");
    std::fs::write(&p, "[throttle]\nmax_orders_per_sec = 5\nburst = \n").unwrap();
    let err = Config::load(&p).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ConfigError::Parse { .. }), "{msg}");
    assert!(msg.contains("bad.toml") && msg.contains("line 3"), "{msg}");
    assert!(std::error::Error::source(&err).is_some());
    std::fs::write(&p, "[sesion]\n").unwrap();
    assert!(Config::load(&p).unwrap_err().to_string().contains("sesion"));
    let missing = Config::load(dir.path().join("nope.toml")).unwrap_err();
    assert!(matches!(missing, ConfigError::Read { .. }), "{missing}");
    assert!(missing.to_string().contains("nope.toml"));
    std::fs::write(&p, "[throttle]\nmax_orders_per_sec = 0\n").unwrap();
    let invalid = Config::load_valid(&p).unwrap_err().to_string();
    assert!(invalid.starts_with(&format!("{}: invalid configuration", p.display())), "{invalid}");
}

#[test]
fn password_is_never_serialized_or_debug_printed() {
    let mut c = Config::default();
    c.session.password = Some("hunter2".into());
    assert!(!c.public_toml().contains("hunter2"));
    assert!(!format!("{c:?}").contains("hunter2"));
    let v = c.validate().unwrap();
    assert!(!format!("{v:?}").contains("hunter2"));
}

#[test]
fn password_env_names_a_variable_that_must_be_set() {
    let mut c = Config::default();
    c.session.password_env = Some("OMS_TEST_PASSWORD_SURELY_UNSET".into());
    let err = c.validate().unwrap_err();
    assert_eq!(err.problems().len(), 1, "{err}");
    assert_eq!(err.problems()[0].field, "session.password_env");
    assert!(err.to_string().contains("OMS_TEST_PASSWORD_SURELY_UNSET"), "{err}");
    // The rules alone do not need the credentials.
    assert!(c.rules().is_ok());
    c.session.password = Some("x".into());
    assert!(c.validate().unwrap_err().to_string().contains("not both"));
}

#[test]
fn password_env_reads_the_password_from_the_environment_and_keeps_it_secret() {
    let var = format!("OMS_TEST_PASSWORD_{}_READ", std::process::id());
    let password = "env-Pa55-w0rd";
    // SAFETY: the variable name is unique to this test and this process; the test binary has no
    // code outside Rust's std that reads the environment while another thread writes it.
    unsafe { std::env::set_var(&var, password) };
    let c = Config::from_toml_str(&format!("[session]\npassword_env = \"{var}\"\n")).expect("parses");
    let v = c.validate().expect("the variable is set");
    assert_eq!(v.engine.session.logon.password.expose(), password);
    assert!(!format!("{v:?}").contains(password));
    assert!(!format!("{c:?}").contains(password));
    // The stored configuration names the variable, never its value.
    let public = c.public_toml();
    assert!(public.contains(&var) && !public.contains(password), "{public}");
    // SAFETY: as above.
    unsafe { std::env::remove_var(&var) };
    let err = c.validate().unwrap_err().to_string();
    assert!(err.contains("session.password_env") && err.contains(&var), "{err}");
}

#[cfg(unix)]
#[test]
fn password_env_that_is_not_utf8_is_an_error() {
    use std::os::unix::ffi::OsStrExt;
    let var = format!("OMS_TEST_PASSWORD_{}_BYTES", std::process::id());
    // SAFETY: as in the test above: a variable unique to this test.
    unsafe { std::env::set_var(&var, std::ffi::OsStr::from_bytes(b"bad\xffbytes")) };
    let mut c = Config::default();
    c.session.password_env = Some(var.clone());
    let err = c.validate().unwrap_err();
    // SAFETY: as above.
    unsafe { std::env::remove_var(&var) };
    assert_eq!(err.problems().len(), 1, "{err}");
    assert!(err.to_string().contains("not UTF-8"), "{err}");
}

#[test]
fn idle_strategy_and_park_max_from_toml() {
    for (name, idle) in [
        ("spin", IdleStrategy::Spin),
        ("yield", IdleStrategy::Yield),
        ("park", IdleStrategy::Park),
        ("backoff", IdleStrategy::Backoff),
    ] {
        let text = format!("[engine]\nidle = \"{name}\"\npark_max_us = 250\n");
        let v = Config::from_toml_str(&text).unwrap().validate().unwrap();
        assert_eq!(v.runner.idle, idle, "{name}");
        assert_eq!(v.runner.park_max_us.get(), 250, "{name}");
    }
    let v = Config::from_toml_str("[engine]\nidle = \"park\"\n").unwrap().validate().unwrap();
    assert_eq!(v.runner.park_max_us.get(), 1000, "default park_max_us");
    for (text, field, needle) in [
        ("[engine]\npark_max_us = 0\n", "engine.park_max_us", "must be > 0"),
        ("[engine]\nidle = \"Park\"\n", "engine.idle", "\"Park\" is not an idle strategy"),
    ] {
        let err = Config::from_toml_str(text).unwrap().validate().unwrap_err();
        let fields: Vec<&str> = err.problems().iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, [field], "{text}: {err}");
        assert!(err.to_string().contains(needle), "{text}: {err}");
    }
    let err = Config::from_toml_str("[engine]\npark_max_us = -1\n").unwrap_err();
    assert!(matches!(err, ConfigError::Invalid { .. }), "{err}");
    assert_eq!(err.problems()[0].field, "engine.park_max_us", "{err}");
}

#[test]
fn backoff_phases_from_toml() {
    let v = Config::from_toml_str("[engine]\nidle = \"backoff\"\n").unwrap().validate().unwrap();
    assert_eq!(v.runner.idle, IdleStrategy::Backoff);
    assert_eq!(v.runner.backoff, crate::runner::Backoff::default(), "defaults");
    assert_eq!((v.runner.backoff.spin_us, v.runner.backoff.yield_us), (20, 20));
    assert_eq!(v.runner.backoff.sleep_max_us.get(), 100_000);
    let text = "[engine]\nidle = \"backoff\"\nspin_us = 0\nyield_us = 5\nsleep_max_us = 7\n";
    let v = Config::from_toml_str(text).unwrap().validate().unwrap();
    assert_eq!((v.runner.backoff.spin_us, v.runner.backoff.yield_us), (0, 5));
    assert_eq!(v.runner.backoff.sleep_max_us.get(), 7);
    // Every bad key at once, each with its line.
    let text = "[engine]\nidle = \"backoff\"\nsleep_max_us = 0\nspin_us = -3\n";
    let err = super::ParsedConfig::parse(text).unwrap().validate().unwrap_err();
    let got: Vec<(Option<usize>, &str)> = err.problems().iter().map(|p| (p.line, p.field.as_str())).collect();
    assert_eq!(got, [(Some(3), "engine.sleep_max_us"), (Some(4), "engine.spin_us")], "{err}");
}

/// The single problem `text` has, as `(field, message)`.
fn only_problem(text: &str) -> (String, String) {
    let err = Config::from_toml_str(text).unwrap_or_else(|e| panic!("{text}: {e}")).validate().unwrap_err();
    match err.problems() {
        [p] => (p.field.clone(), p.message.clone()),
        other => panic!("{text}: expected one problem, got {other:?}"),
    }
}

#[test]
fn each_validation_error_alone_names_its_field() {
    let cases = [
        ("[journal]\npath = \"\"", "journal.path", "must not be empty"),
        ("[journal]\nsegment_bytes = 65537", "journal.segment_bytes", "65537 must be a multiple of 4096"),
        ("[journal]\nsegment_bytes = 61440", "journal.segment_bytes", "at least 65536"),
        ("[journal]\nsegment_bytes = 0", "journal.segment_bytes", "at least 65536"),
        ("[journal]\nprepare_records = 0", "journal.prepare_records", "must be > 0"),
        ("[journal]\nprepare_records = 17179869185", "journal.prepare_records", "is above 17179869184"),
        (
            "[exchange]\nlatency_min_us = 500\nlatency_max_us = 499",
            "exchange",
            "latency_min_us (500) is above latency_max_us (499)",
        ),
        ("[exchange]\nreject_ratio = 1.01", "exchange.reject_ratio", "1.01 is not within 0.0 ..= 1.0"),
        ("[exchange]\nreject_ratio = -0.01", "exchange.reject_ratio", "-0.01 is not within"),
        ("[exchange]\nreject_ratio = nan", "exchange.reject_ratio", "NaN is not within"),
        ("[exchange]\nfill_ratio = 1.5", "exchange.fill_ratio", "1.5 is not within 0.0 ..= 1.0"),
        ("[exchange]\nfill_ratio = nan", "exchange.fill_ratio", "NaN is not within"),
        ("[exchange]\nfill_parts = 0", "exchange.fill_parts", "0 is not within 1 ..= 1000"),
        ("[exchange]\nfill_parts = 1001", "exchange.fill_parts", "1001 is not within 1 ..= 1000"),
        ("[exchange]\nfill_parts = 4294967297", "exchange.fill_parts", "4294967297 is not within"),
        ("[exchange]\nfill_interval_us = 3600000001", "exchange.fill_interval_us", "is above 3600000000"),
        ("[session]\nstart = \"10:00:00\"\nend = \"10:00\"", "session", "start and end are both 10:00:00"),
        ("[session]\ndays = []", "session.days", "empty list: the session would never open"),
    ];
    for (text, field, needle) in cases {
        let (f, message) = only_problem(text);
        assert_eq!(f, field, "{text}");
        assert!(message.contains(needle), "{text}: {message}");
    }
}

#[test]
fn values_at_the_edge_of_each_rule_are_accepted() {
    let cases = [
        "[journal]\nsegment_bytes = 65536",
        "[journal]\nprepare_records = 1",
        "[journal]\nprepare_records = 17179869184",
        "[exchange]\nlatency_min_us = 500\nlatency_max_us = 500",
        "[exchange]\nreject_ratio = 0.0",
        "[exchange]\nreject_ratio = 1.0",
        "[exchange]\nfill_ratio = 0.0\nfill_parts = 1\nfill_interval_us = 0",
        "[exchange]\nfill_ratio = 1.0\nfill_parts = 1000\nfill_interval_us = 3600000000",
        "[session]\nstart = \"10:00:00\"\nend = \"10:00:00.001\"",
        "[session]\ndays = [\"Sun\"]",
    ];
    for text in cases {
        let parsed = Config::from_toml_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        if let Err(e) = parsed.validate() {
            panic!("{text}: {e}");
        }
    }
}

#[test]
fn sync_policy_forms() {
    let sync = |t: &str| Config::from_toml_str(&format!("[journal]\nsync = {t}")).unwrap().validate();
    assert_eq!(sync("\"none\"").unwrap().journal.sync, SyncPolicy::None);
    assert_eq!(sync("250").unwrap().journal.sync, SyncPolicy::IntervalMs(NonZeroU64::new(250).unwrap()));
    assert_eq!(sync("\"250\"").unwrap().journal.sync, SyncPolicy::IntervalMs(NonZeroU64::new(250).unwrap()));
    for bad in ["0", "-5", "\"sometimes\"", "\"0\""] {
        assert!(sync(bad).unwrap_err().to_string().contains("journal.sync"), "{bad}");
    }
    let back = Config::from_toml_str(&Config::default().public_toml()).unwrap();
    assert_eq!(back, Config::default());
}

#[test]
fn the_simulated_exchange_stays_the_default() {
    let v = Config::default().validate().unwrap();
    assert!(v.fix.is_none());
    assert_eq!(v.exchange.latency_max_us, 800);
    // Every accepted order ends: filled in one part, 1 ms after its acknowledgment.
    assert_eq!(v.exchange, crate::exchange::SimulatedSettings::default());
    assert_eq!((v.exchange.fill_ratio, v.exchange.fill_parts, v.exchange.fill_interval_us), (1.0, 1, 1000));
    let set = Config::from_toml_str("[exchange]\nfill_ratio = 0.5\nfill_parts = 3\nfill_interval_us = 250\n")
        .unwrap()
        .validate()
        .unwrap();
    assert_eq!(
        (set.exchange.fill_ratio, set.exchange.fill_parts, set.exchange.fill_interval_us),
        (0.5, 3, 250)
    );
    assert!(!Config::default().public_toml().contains("host"), "unset FIX keys are not written");
}

#[test]
#[cfg(feature = "fix")]
fn a_fix_exchange_section_with_defaults() {
    let text = r#"
[session]
username = "trader"
password = "secret"
[exchange]
kind = "fix"
host = "127.0.0.1"
port = 9878
sender_comp_id = "OMS"
target_comp_id = "EXCH"
[exchange.symbols]
2 = "INFY"
1 = "RELIANCE"
"#;
    let c = Config::from_toml_str(text).unwrap();
    let fix = c.validate().unwrap().fix.expect("kind = fix");
    assert_eq!((fix.host.as_str(), fix.port), ("127.0.0.1", 9878));
    assert_eq!((fix.sender_comp_id.as_str(), fix.target_comp_id.as_str()), ("OMS", "EXCH"));
    assert_eq!(fix.heartbeat_secs.get(), 30);
    assert_eq!(fix.store, PathBuf::from("fix-store"));
    assert!(!fix.reset_on_logon);
    assert_eq!(fix.symbols, [(1, "RELIANCE".to_string()), (2, "INFY".to_string())]);
    // The stored configuration reads back the same, without the password.
    let public = c.public_toml();
    assert!(!public.contains("secret"), "{public}");
    assert_eq!(Config::from_toml_str(&public).unwrap().exchange, c.exchange);
}

#[test]
#[cfg(feature = "fix")]
fn every_fix_problem_is_reported_at_once_with_the_others() {
    let text = r#"
[session]
username = "trader"
timezone = "Mars/Olympus"
[throttle]
max_orders_per_sec = 0
[exchange]
kind = "fix"
port = 70000
sender_comp_id = "O/MS"
heartbeat_secs = 0
reconnect_min_ms = 0
[exchange.symbols]
x = "ACME"
3 = "has space"
"#;
    let err = Config::from_toml_str(text).unwrap().validate().unwrap_err();
    let all = err.to_string();
    let mut got: Vec<&str> = err.problems().iter().map(|p| p.field.as_str()).collect();
    got.sort_unstable();
    let mut want = vec![
        "session.timezone",
        "throttle.max_orders_per_sec",
        "exchange.host",
        "exchange.port",
        "exchange.sender_comp_id",
        "exchange.target_comp_id",
        "exchange.heartbeat_secs",
        "exchange",
        "exchange.symbols",
        "exchange.symbols",
    ];
    want.sort_unstable();
    assert_eq!(got, want, "{all}");
    for needle in ["70000", "\"O/MS\"", "\"x\"", "\"has space\""] {
        assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
    }
}

#[test]
fn fix_keys_need_kind_fix_and_kind_must_be_known() {
    let err = Config::from_toml_str("[exchange]\nhost = \"h\"\nport = 1\n").unwrap().validate().unwrap_err();
    let fields: Vec<&str> = err.problems().iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["exchange.host", "exchange.port"]);
    assert!(err.to_string().contains("only used with kind = \"fix\""));
    let err = Config::from_toml_str("[exchange]\nkind = \"fx\"\n").unwrap().validate().unwrap_err();
    assert!(err.to_string().contains("\"fx\" is not an exchange kind"), "{err}");
}

#[test]
#[cfg(feature = "fix")]
fn a_password_with_soh_is_refused_without_showing_it() {
    let mut c = Config::default();
    c.session.password = Some("hun\u{1}ter2".into());
    c.exchange.kind = "fix".into();
    c.exchange.host = Some("127.0.0.1".into());
    c.exchange.port = Some(1);
    c.exchange.sender_comp_id = Some("A".into());
    c.exchange.target_comp_id = Some("B".into());
    let msg = c.validate().unwrap_err().to_string();
    assert!(msg.contains("session.password") && !msg.contains("ter2"), "{msg}");
}

#[test]
#[cfg(feature = "fix")]
fn the_fix_example_config_is_valid() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/fix.toml");
    let v = Config::load_valid(path).unwrap();
    let fix = v.fix.expect("kind = fix");
    assert_eq!((fix.port, fix.symbols.len()), (9878, 3));
}

/// Values at the top of the TOML integer range are errors naming the key, not overflows later
/// (a reconnect delay in ns, a segment that cannot be mapped).
#[test]
#[cfg(feature = "fix")]
fn huge_values_are_errors_naming_the_key() {
    let fix = "[exchange]\nkind = \"fix\"\nhost = \"h\"\nport = 1\nsender_comp_id = \"A\"\ntarget_comp_id = \"B\"\n";
    let cases = [
        (
            format!("{fix}reconnect_max_ms = 9223372036854775807\n"),
            "exchange.reconnect_max_ms",
            "above 3600000",
        ),
        (
            format!("{fix}reconnect_min_ms = 3600001\nreconnect_max_ms = 3600001\n"),
            "exchange.reconnect_max_ms",
            "above 3600000",
        ),
        (
            "[journal]\nsegment_bytes = 9223372036854771712\n".into(),
            "journal.segment_bytes",
            "at most 1099511627776",
        ),
        (
            "[journal]\nsegment_bytes = 1099511631872\n".into(),
            "journal.segment_bytes",
            "at most 1099511627776",
        ),
    ];
    for (text, field, needle) in cases {
        let err = Config::from_toml_str(&text).unwrap().validate().unwrap_err();
        assert!(
            err.problems().iter().any(|p| p.field == field && p.message.contains(needle)),
            "{text}: {err}"
        );
    }
    let mut c = Config::default();
    c.journal.segment_bytes = 1 << 40;
    assert!(c.validate().is_ok(), "the largest segment is accepted");
    let ok = Config::from_toml_str(&format!("{fix}reconnect_max_ms = 3600000\n")).unwrap();
    assert!(ok.validate().is_ok(), "an hour is accepted");
}

/// A file with unknown keys, values of the wrong type and values out of range: one load reports
/// every one of them, each with the file, its line and its key, sorted by line, in the words the
/// file used.
#[test]
fn unknown_keys_type_errors_and_value_errors_come_all_at_once_with_their_lines() {
    let text = "\
[session]
bogus_key = 1
start = \"25:00\"
[throttle]
burst = -5
max_orders_per_sec = \"many\"
[journal]
sync = \"sometimes\"
[engine]
idle = \"nap\"
ring_capacity = 1.5
[exchange.symbols]
1 = 5
[sesion]
username = \"x\"
";
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("all.toml");
    std::fs::write(&p, text).unwrap();
    let err = Config::load_valid(&p).unwrap_err();
    let all = err.to_string();
    let got: Vec<(Option<usize>, &str)> = err.problems().iter().map(|p| (p.line, p.field.as_str())).collect();
    let want = [
        (Some(2), "session.bogus_key"),
        (Some(3), "session.start"),
        (Some(5), "throttle.burst"),
        (Some(6), "throttle.max_orders_per_sec"),
        (Some(8), "journal.sync"),
        (Some(10), "engine.idle"),
        (Some(11), "engine.ring_capacity"),
        (Some(12), "exchange.symbols"),
        (Some(13), "exchange.symbols.1"),
        (Some(14), "sesion"),
    ];
    assert_eq!(got, want, "{all}");
    let file = p.display().to_string();
    for (line, field) in want {
        let at = format!("\n  - {file}:{}: {field}: ", line.unwrap());
        assert!(all.contains(&at), "missing {at:?} in:\n{all}");
    }
    for needle in [
        "session.bogus_key: unknown key",
        "throttle.burst: -5 is not a whole number from 0 to 4294967295",
        "throttle.max_orders_per_sec: \"many\" is not a whole number",
        "engine.ring_capacity: 1.5 is not a whole number",
        "exchange.symbols.1: 5 is not a string",
        "journal.sync: \"sometimes\" is not",
        "sesion: unknown section (did you mean [session]?)",
    ] {
        assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
    }
    for internal in ["Name(", "Ms(", "u32", "untagged", "invalid type", "expected one of"] {
        assert!(!all.contains(internal), "{internal:?} in:\n{all}");
    }
}

/// A value the user wrote is shown as written, never as the Rust value it became.
#[test]
fn value_errors_show_the_value_as_written() {
    for (text, needle) in [
        ("[journal]\nsync = 0", "0 is not \"none\", \"on-logout\" or an interval in ms > 0"),
        ("[journal]\nsync = \"sometimes\"", "\"sometimes\" is not \"none\""),
        ("[journal]\nsync = -5", "-5 is not \"none\""),
    ] {
        let (field, message) = only_problem(text);
        assert_eq!(field, "journal.sync", "{text}");
        assert!(message.contains(needle), "{text}: {message}");
        assert!(!message.contains("Ms(") && !message.contains("Name("), "{text}: {message}");
    }
    let err = Config::from_toml_str("[journal]\nsync = true\n").unwrap_err().to_string();
    assert!(
        err.contains("line 2: journal.sync: true is not \"none\", \"on-logout\" or an interval"),
        "{err}"
    );
    assert!(!err.contains("untagged"), "{err}");
}

/// An unknown key close to a known one is named; otherwise the section's keys are listed.
#[test]
fn unknown_keys_suggest_or_list_the_known_ones() {
    let err = Config::from_toml_str("[throttle]\nbrust = 5\n[engine]\nzzz = 1\n").unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("line 2: throttle.brust: unknown key (did you mean `burst`?)"), "{msg}");
    assert!(msg.contains("line 4: engine.zzz: unknown key; [engine] takes core, ring_capacity,"), "{msg}");
    let err = Config::from_toml_str("session = 5\n").unwrap_err().to_string();
    assert!(err.contains("line 1: session: 5 is not a table"), "{err}");
}

/// Without the FIX session in the build, `kind = "fix"` is a configuration error that says so.
#[test]
#[cfg(not(feature = "fix"))]
fn a_fix_exchange_needs_the_fix_feature() {
    let text = "[exchange]\nkind = \"fix\"\nhost = \"127.0.0.1\"\nport = 9878\n";
    let err = Config::from_toml_str(text).and_then(|c| c.validate()).expect_err("refused");
    assert!(err.to_string().contains("this build has no FIX session"), "{err}");
}

#[test]
fn risk_limits_default_per_symbol_and_absent() {
    let v = Config::default().validate().unwrap();
    assert_eq!(v.engine.risk, None, "no [risk]: no limits");
    assert!(!Config::default().public_toml().contains("risk"), "and the header's config is as before");
    let text = "[risk]\nmax_order_qty = 100\nprice_band_bps = 50\nno_reference = \"refuse\"\n\
                [risk.symbols.7]\nmax_order_qty = 5\nmax_position = 20\n";
    let v = Config::from_toml_str(text).unwrap().validate().unwrap();
    let risk = v.engine.risk.expect("limits");
    assert_eq!(risk.no_reference, crate::risk::NoReference::Refuse);
    assert_eq!(risk.max_symbols.get(), 1024);
    assert_eq!(risk.limits(1).max_order_qty, Some(100));
    let seven = risk.limits(7);
    assert_eq!(
        (seven.max_order_qty, seven.max_position, seven.price_band_bps),
        (Some(5), Some(20), Some(50))
    );
    let round = Config::from_toml_str(&Config::from_toml_str(text).unwrap().public_toml()).unwrap();
    assert_eq!(round.validate().unwrap().engine.risk, Some(risk), "the header keeps the limits");
}

#[test]
fn every_risk_problem_is_reported_with_its_line() {
    let text = "[risk]\nmax_order_qty = 0\nno_reference = \"maybe\"\nmax_symbols = 1\nmax_daily_notional = -1.0\n\
                price_band_bps = \"wide\"\nmax_postion = 3\n[risk.symbols.x]\nmax_order_qty = 1\n\
                [risk.symbols.2]\nmax_order_qty = 1\n[risk.symbols.3]\nmax_open_orders = 0\n";
    let err = ParsedConfig::parse(text).unwrap().validate().unwrap_err();
    let got: Vec<(Option<usize>, &str)> = err.problems().iter().map(|p| (p.line, p.field.as_str())).collect();
    assert_eq!(
        got,
        [
            (Some(2), "risk.max_order_qty"),
            (Some(3), "risk.no_reference"),
            (Some(4), "risk.max_symbols"),
            (Some(5), "risk.max_daily_notional"),
            (Some(6), "risk.price_band_bps"),
            (Some(7), "risk.max_postion"),
            (Some(8), "risk.symbols.x"),
            (Some(13), "risk.symbols.3.max_open_orders"),
        ],
        "{err}"
    );
}

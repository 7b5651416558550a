//! Output of the harness: the per-rate tables, `summary.json`, one `.hgrm` per run and metric,
//! and the SVG percentile plot.

use std::fmt::Write as _;
use std::path::Path;

use hdrhistogram::Histogram;
use plotters::prelude::*;
use serde_json::{Value, json};

use crate::driver::Whereabouts;

/// Percentiles reported everywhere, with their labels.
pub const PCTS: [(f64, &str); 5] =
    [(50.0, "p50"), (90.0, "p90"), (99.0, "p99"), (99.9, "p99.9"), (99.99, "p99.99")];

/// One measured run of one design at one offered rate.
pub struct Run {
    /// `"oms"` or `"baseline"`.
    pub design: &'static str,
    /// The engine's idle strategy (`spin`, `backoff`; the baseline's sender waits on a
    /// condvar: `condvar`).
    pub idle: &'static str,
    /// The sink behind the design (`journal`, `counting`; the baseline's: `text log`).
    pub sink: &'static str,
    /// Producer threads (rings) feeding the design.
    pub producers: u32,
    /// Short rate label (`10k`, `100k`, `1M`, `max`).
    pub label: String,
    /// Offered orders per second.
    pub offered: u64,
    /// Achieved orders per second.
    pub achieved: f64,
    /// on_data → send.
    pub send: Histogram<u64>,
    /// on_data → response recorded.
    pub rt: Histogram<u64>,
    /// Every order answered in time.
    pub complete: bool,
    /// Orders rejected instead of sent (0 expected; oms: `journal_full` if preparing the
    /// journal's segments failed, as on a full disk).
    pub rejected: u64,
    /// Involuntary context switches during the run (see `driver::preemptions`).
    pub preempted: u64,
    /// Where the engine thread's time went (oms; the baseline's sender sleeps, so its share
    /// off the CPU is not a loss).
    pub engine_time: Option<Whereabouts>,
    /// Where the producer thread's time went.
    pub producer_time: Whereabouts,
}

impl Run {
    /// `oms` (spinning, journal on), `oms backoff`, `oms counting` (journal off), `oms backoff
    /// counting`, `baseline`: the design as tables and files name it.
    pub fn name(&self) -> String {
        let mut name = self.design.to_string();
        if self.design == "oms" && self.idle != "spin" {
            name = format!("{name} {}", self.idle);
        }
        if self.design == "oms" && self.sink != "journal" {
            name = format!("{name} {}", self.sink);
        }
        name
    }

    /// The engine thread's CPU time over the run, % of one core (oms only).
    pub fn engine_cpu_pct(&self) -> Option<f64> {
        self.engine_time.filter(|w| w.wall_ns > 0).map(|w| 100.0 * w.on_cpu_ns as f64 / w.wall_ns as f64)
    }
}

/// `[p50, p90, p99, p99.9, p99.99, max]` in ns.
pub fn pcts(h: &Histogram<u64>) -> [u64; 6] {
    let mut out = [0; 6];
    for (i, (p, _)) in PCTS.iter().enumerate() {
        out[i] = h.value_at_percentile(*p);
    }
    out[5] = h.max();
    out
}

/// `123 ns`, `4.56 µs`, `7.89 ms`, `1.23 s`.
pub fn ns(v: u64) -> String {
    let f = v as f64;
    match v {
        0..1_000 => format!("{v} ns"),
        1_000..1_000_000 => format!("{:.2} µs", f / 1e3),
        1_000_000..1_000_000_000 => format!("{:.2} ms", f / 1e6),
        _ => format!("{:.2} s", f / 1e9),
    }
}

/// `10k`, `1.5M` …
pub fn rate_label(r: f64) -> String {
    if r >= 1e6 {
        format!("{}M", trim(r / 1e6))
    } else if r >= 1e3 {
        format!("{}k", trim(r / 1e3))
    } else {
        format!("{r:.0}")
    }
}

fn trim(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The table for one offered rate: oms, baseline and baseline/oms at every percentile, for both
/// metrics.
pub fn table(oms: &Run, base: &Run) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "\n== offered {}/s ({} orders/s): achieved {} {}/s{}, baseline {}/s{}; preempted oms {}x, baseline {}x",
        oms.label,
        oms.offered,
        oms.name(),
        rate_label(oms.achieved),
        if oms.complete && oms.rejected == 0 { "" } else { " (INCOMPLETE / REJECTS)" },
        rate_label(base.achieved),
        if base.complete { "" } else { " (INCOMPLETE)" },
        oms.preempted,
        base.preempted,
    );
    let _ = writeln!(
        t,
        "engine CPU {}; not running: oms engine {}, oms producer {}; baseline producer {}",
        oms.engine_cpu_pct().map_or("-".into(), |p| format!("{p:.1} % of a core")),
        oms.engine_time.map_or("-".into(), |w| w.describe()),
        oms.producer_time.describe(),
        base.producer_time.describe(),
    );
    let head = ["p50", "p90", "p99", "p99.9", "p99.99", "max"];
    for (metric, a, b) in [("on_data -> send", &oms.send, &base.send), ("round trip", &oms.rt, &base.rt)] {
        let _ = write!(t, "{metric:<24}");
        for h in head {
            let _ = write!(t, "{h:>11}");
        }
        let _ = writeln!(t, "{:>10}", "samples");
        let (pa, pb) = (pcts(a), pcts(b));
        let oms_name = format!("  {}", oms.name());
        for (name, p, n) in [(oms_name.as_str(), pa, a.len()), ("  baseline", pb, b.len())] {
            let _ = write!(t, "{name:<24}");
            for v in p {
                let _ = write!(t, "{:>11}", ns(v));
            }
            let _ = writeln!(t, "{n:>10}");
        }
        let _ = write!(t, "{:<24}", "  ratio b/oms");
        for i in 0..6 {
            let _ = write!(t, "{:>11}", format!("{:.1}x", pb[i] as f64 / pa[i].max(1) as f64));
        }
        let _ = writeln!(t);
    }
    t
}

fn pct_json(h: &Histogram<u64>) -> Value {
    let p = pcts(h);
    json!({"p50_ns": p[0], "p90_ns": p[1], "p99_ns": p[2], "p999_ns": p[3], "p9999_ns": p[4],
           "max_ns": p[5], "mean_ns": h.mean().round() as u64, "samples": h.len()})
}

/// The JSON object for one run: top-level percentiles are on_data → send; `round_trip` holds
/// the same fields for the full round trip.
pub fn run_json(r: &Run) -> Value {
    let mut v = pct_json(&r.send);
    let o = v.as_object_mut().expect("pct_json is an object");
    o.insert("design".into(), json!(r.design));
    o.insert("idle".into(), json!(r.idle));
    o.insert("sink".into(), json!(r.sink));
    o.insert("producers".into(), json!(r.producers));
    o.insert("engine_cpu_pct".into(), json!(r.engine_cpu_pct().map(|p| (p * 100.0).round() / 100.0)));
    o.insert("label".into(), json!(r.label));
    o.insert("rate".into(), json!(r.offered));
    o.insert("achieved".into(), json!(r.achieved.round() as u64));
    o.insert("complete".into(), json!(r.complete));
    o.insert("preempted".into(), json!(r.preempted));
    let ms = |w: &Whereabouts| json!({"guest_queue_ms": w.queued_ns as f64 / 1e6, "host_ms": w.host_ns() as f64 / 1e6});
    o.insert(
        "not_running".into(),
        json!({"engine": r.engine_time.as_ref().map(ms), "producer": ms(&r.producer_time)}),
    );
    o.insert("rejected".into(), json!(r.rejected));
    o.insert("metric".into(), json!("on_data_to_send"));
    o.insert("round_trip".into(), pct_json(&r.rt));
    v
}

/// Writes `h` in the HdrHistogram percentile-distribution text format (values in µs, as the
/// standard plotters for `.hgrm` files expect).
pub fn write_hgrm(path: &Path, h: &Histogram<u64>) -> std::io::Result<()> {
    let mut s = String::new();
    let _ =
        writeln!(s, "{:>12} {:>14} {:>10} {:>14}\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)");
    let mut total = 0u64;
    for it in h.iter_quantiles(5) {
        total += it.count_since_last_iteration();
        let q = it.quantile_iterated_to();
        let v = it.value_iterated_to() as f64 / 1e3;
        if q < 1.0 {
            let _ = writeln!(s, "{v:12.3} {q:2.12} {total:10} {:14.2}", 1.0 / (1.0 - q));
        } else {
            let _ = writeln!(s, "{v:12.3} {q:2.12} {total:10}");
        }
    }
    let _ = writeln!(s, "#[Mean    = {:12.3}, StdDeviation   = {:12.3}]", h.mean() / 1e3, h.stdev() / 1e3);
    let _ = writeln!(s, "#[Max     = {:12.3}, Total count    = {:12}]", h.max() as f64 / 1e3, h.len());
    let _ = writeln!(s, "#[Buckets = {:12}, SubBuckets     = {:12}]", h.buckets(), h.distinct_values());
    std::fs::write(path, s)
}

/// "Nines" of a quantile: 0.9 → 1, 0.99 → 2 …
fn nines(q: f64) -> f64 {
    -(1.0 - q).max(1e-7).log10()
}

/// The percentile plot: on_data → send latency (log axis) against percentile (nines), one line
/// per run; oms solid, baseline dashed, one colour per rate.
pub fn plot(path: &Path, runs: &[Run], title: &str) -> Result<(), Box<dyn std::error::Error>> {
    let series: Vec<(&Run, Vec<(f64, f64)>)> = runs
        .iter()
        .map(|r| {
            let pts = r
                .send
                .iter_quantiles(5)
                .filter(|it| it.quantile_iterated_to() < 1.0)
                .map(|it| (nines(it.quantile_iterated_to()), it.value_iterated_to().max(1) as f64))
                .collect();
            (r, pts)
        })
        .collect();
    let ymin = series.iter().flat_map(|(_, p)| p.iter().map(|x| x.1)).fold(f64::MAX, f64::min).max(1.0);
    let ymax = series.iter().flat_map(|(_, p)| p.iter().map(|x| x.1)).fold(1.0, f64::max);
    let root = SVGBackend::new(path, (1000, 640)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..5.0f64, (ymin / 1.5..ymax * 1.5).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("on_data -> send latency")
        .x_labels(6)
        .x_label_formatter(&|x| match x.round() as i64 {
            0 => "0%".into(),
            1 => "90%".into(),
            2 => "99%".into(),
            3 => "99.9%".into(),
            4 => "99.99%".into(),
            _ => "99.999%".into(),
        })
        .y_label_formatter(&|y| ns(*y as u64))
        .draw()?;
    let palette = [BLUE, RED, GREEN, MAGENTA, CYAN, BLACK];
    let mut labels: Vec<&str> = Vec::new();
    for (r, pts) in &series {
        let idx = labels.iter().position(|l| *l == r.label).unwrap_or_else(|| {
            labels.push(&r.label);
            labels.len() - 1
        });
        let color = palette[idx % palette.len()];
        let name = format!("{} {}/s", r.name(), r.label);
        if r.design == "oms" && r.idle != "spin" {
            chart
                .draw_series(DashedLineSeries::new(pts.iter().copied(), 2, 3, color.stroke_width(2)))?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        } else if r.design == "oms" {
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        } else {
            chart
                .draw_series(DashedLineSeries::new(pts.iter().copied(), 6, 4, color.stroke_width(1)))?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(1)));
        }
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;
    root.present()?;
    Ok(())
}

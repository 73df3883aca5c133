//! Small inline SVG charts for the HTML report.
//!
//! The report must open from a file with no network and no scripts, so its
//! charts are plain SVG written here: horizontal bars (with an optional
//! marker per bar, a reference line and a shaded band), a histogram on a log
//! axis with a cut-off line, a calibration plot, and a series over time
//! with intervals on a linear or log axis with ticks. Text is escaped; sizes
//! are fixed so the page lays out the same everywhere.

use std::fmt::Write as _;

/// Escapes text for XML and HTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One bar.
#[derive(Debug, Clone)]
pub struct Bar {
    /// Label on the left.
    pub label: String,
    /// Length of the bar.
    pub value: f64,
    /// Text at the end of the bar.
    pub text: String,
    /// Drawn in the warning colour.
    pub highlight: bool,
    /// A tick across the bar at this value (e.g. capacity).
    pub marker: Option<f64>,
}

/// Decorations of a bar chart.
#[derive(Debug, Clone, Default)]
pub struct BarOptions {
    /// A vertical line at this value, with a label.
    pub line: Option<(f64, String)>,
    /// A shaded band between two values, with a label.
    pub band: Option<(f64, f64, String)>,
    /// Label of the marker ticks, for the legend.
    pub marker_label: Option<String>,
    /// A ratio axis: log scale (powers of two) around 1, bars drawn from 1
    /// to the value, so 1/2 and 2 are as far from parity.
    pub log_ratio: bool,
}

const WIDTH: f64 = 880.0;
const LABEL_W: f64 = 340.0;
const ROW_H: f64 = 22.0;

/// A horizontal bar chart with an x axis (ticks and light gridlines): linear
/// from zero, or with [`BarOptions::log_ratio`] a log ratio axis around 1.
pub fn bars(id: &str, title: &str, bars: &[Bar], opts: &BarOptions) -> String {
    let plot_w = WIDTH - LABEL_W - 200.0;
    let top = 34.0;
    let rows_h = ROW_H * bars.len().max(1) as f64;
    let axis_y = top + rows_h;
    let height = axis_y
        + 30.0
        + if opts.marker_label.is_some() {
            20.0
        } else {
            0.0
        };
    let mut extent: Vec<f64> = bars
        .iter()
        .flat_map(|b| [b.value, b.marker.unwrap_or(b.value)])
        .collect();
    extent.extend(opts.line.iter().map(|l| l.0));
    extent.extend(opts.band.iter().flat_map(|b| [b.0, b.1]));
    // The ticks, and where a value sits between the first and the last.
    let (ticks, labels): (Vec<f64>, Vec<String>) = if opts.log_ratio {
        let positive = extent.iter().copied().filter(|v| *v > 0.0 && v.is_finite());
        let lo = positive.clone().fold(1.0_f64, f64::min);
        let hi = positive.fold(1.0_f64, f64::max);
        let ticks = log_ticks(lo, hi);
        let labels = ticks.iter().map(|&t| ratio_label(t)).collect();
        (ticks, labels)
    } else {
        let ticks = linear_ticks(extent.iter().copied().fold(0.0_f64, f64::max));
        let step = ticks.get(1).copied().unwrap_or(1.0);
        let labels = ticks.iter().map(|&t| tick_label(t, step)).collect();
        (ticks, labels)
    };
    let (first, last) = (ticks[0], ticks[ticks.len() - 1]);
    let scale = |v: f64| {
        if opts.log_ratio {
            (v.clamp(first, last).log2() - first.log2()) / (last.log2() - first.log2())
        } else {
            v.max(0.0) / last.max(f64::MIN_POSITIVE)
        }
    };
    let x = |v: f64| LABEL_W + scale(v) * plot_w;
    let origin = if opts.log_ratio { x(1.0) } else { LABEL_W };
    let mut s = open(id, title, height);
    // The axis first, so bars and text lie over its gridlines.
    for (t, label) in ticks.iter().zip(&labels) {
        let _ = write!(
            s,
            r##"<line x1="{0:.1}" x2="{0:.1}" y1="{top}" y2="{1:.1}" stroke="#e3e3e3"/><text x="{0:.1}" y="{2:.1}" font-size="11" text-anchor="middle" fill="#444">{3}</text>"##,
            x(*t),
            axis_y,
            axis_y + 15.0,
            esc(label)
        );
    }
    let _ = write!(
        s,
        r##"<line x1="{LABEL_W}" x2="{:.1}" y1="{axis_y:.1}" y2="{axis_y:.1}" stroke="#444"/>"##,
        LABEL_W + plot_w
    );
    if let Some((lo, hi, label)) = &opts.band {
        let _ = write!(
            s,
            r##"<rect class="band" x="{:.1}" y="{top}" width="{:.1}" height="{rows_h:.1}" fill="#5cb85c" fill-opacity="0.25"/><text x="{:.1}" y="{:.1}" font-size="11" fill="#2e6b2e">{}</text>"##,
            x(*lo),
            x(*hi) - x(*lo),
            x(*lo),
            top - 4.0,
            esc(label)
        );
    }
    for (i, b) in bars.iter().enumerate() {
        let y = top + ROW_H * i as f64;
        let colour = if b.highlight { "#c0392b" } else { "#3a6ea5" };
        let end = x(b.value);
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="end">{}</text>"##,
            LABEL_W - 6.0,
            y + 15.0,
            esc(&b.label),
        );
        if b.value > 0.0 || !opts.log_ratio {
            let _ = write!(
                s,
                r##"<rect class="bar" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{colour}"/>"##,
                origin.min(end),
                y + 3.0,
                (end - origin).abs().max(0.5),
                ROW_H - 6.0,
            );
        }
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" font-size="11">{}</text>"##,
            origin.max(end) + 4.0,
            y + 15.0,
            esc(&b.text)
        );
        if let Some(m) = b.marker {
            let _ = write!(
                s,
                r##"<line class="marker" x1="{:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#222" stroke-width="3"/>"##,
                x(m),
                x(m),
                y + 1.0,
                y + ROW_H - 1.0
            );
        }
    }
    if let Some((v, label)) = &opts.line {
        let _ = write!(
            s,
            r##"<line class="ref" x1="{:.1}" x2="{:.1}" y1="{:.1}" y2="{axis_y:.1}" stroke="#c0392b" stroke-dasharray="4 3"/><text x="{:.1}" y="{:.1}" font-size="11" fill="#c0392b">{}</text>"##,
            x(*v),
            x(*v),
            top - 14.0,
            x(*v) + 3.0,
            top - 4.0,
            esc(label)
        );
    }
    if let Some(label) = &opts.marker_label {
        let _ = write!(
            s,
            r##"<line x1="{LABEL_W}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#222" stroke-width="3"/><text x="{:.1}" y="{:.1}" font-size="11">{}</text>"##,
            LABEL_W + 14.0,
            height - 10.0,
            height - 10.0,
            LABEL_W + 20.0,
            height - 6.0,
            esc(label)
        );
    }
    s.push_str("</svg>");
    s
}

/// A linear tick's label: as many decimals as the step needs.
fn tick_label(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10()).ceil() as usize
    };
    format!("{v:.decimals$}")
}

/// A histogram of counts over bins whose `edges` are equal in log scale,
/// with a vertical line at `cutoff`.
pub fn histogram(
    id: &str,
    title: &str,
    edges: &[f64],
    counts: &[usize],
    cutoff: Option<f64>,
) -> String {
    let (left, top, plot_w, plot_h) = (60.0, 30.0, WIDTH - 90.0, 200.0);
    let height = top + plot_h + 50.0;
    let mut s = open(id, title, height);
    if counts.is_empty() || edges.len() != counts.len() + 1 {
        s.push_str(r#"<text x="20" y="60">no scores</text></svg>"#);
        return s;
    }
    let (a, b) = (edges[0].log10(), edges[edges.len() - 1].log10());
    let x = |p: f64| left + (p.log10() - a) / (b - a) * plot_w;
    let max = *counts.iter().max().unwrap_or(&1) as f64;
    // Square-root heights: the queue lives in the thin right tail.
    let h = |c: usize| (c as f64 / max.max(1.0)).sqrt() * plot_h;
    for (k, &c) in counts.iter().enumerate() {
        let (x0, x1) = (x(edges[k]), x(edges[k + 1]));
        let _ = write!(
            s,
            r##"<rect class="bar" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="#3a6ea5"><title>{} rows</title></rect>"##,
            x0,
            top + plot_h - h(c),
            (x1 - x0 - 1.0).max(0.5),
            h(c),
            c
        );
    }
    let _ = write!(
        s,
        r##"<line x1="{left}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#444"/>"##,
        left + plot_w,
        top + plot_h,
        top + plot_h
    );
    let mut tick = 10f64.powf(a.floor());
    while tick <= edges[edges.len() - 1] * 1.0001 {
        if tick >= edges[0] * 0.9999 {
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text>"##,
                x(tick),
                top + plot_h + 16.0,
                pct(tick)
            );
        }
        tick *= 10.0;
    }
    let _ = write!(
        s,
        r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle">probability (log scale); bar height: square root of rows</text>"##,
        left + plot_w / 2.0,
        top + plot_h + 34.0
    );
    if let Some(c) = cutoff {
        let _ = write!(
            s,
            r##"<line class="cutoff" x1="{:.1}" x2="{:.1}" y1="{top}" y2="{:.1}" stroke="#c0392b" stroke-width="2" stroke-dasharray="5 3"/><text x="{:.1}" y="{:.1}" font-size="11" fill="#c0392b" text-anchor="end">queue cut-off {}</text>"##,
            x(c),
            x(c),
            top + plot_h,
            x(c) - 4.0,
            top + 12.0,
            pct(c)
        );
    }
    s.push_str("</svg>");
    s
}

/// Predicted against observed rates per bin, with the diagonal.
pub fn calibration(id: &str, title: &str, points: &[(f64, f64, usize)]) -> String {
    let (left, top, side) = (60.0, 30.0, 260.0);
    let mut s = open(id, title, top + side + 50.0);
    let max = points
        .iter()
        .map(|p| p.0.max(p.1))
        .fold(0.0f64, f64::max)
        .max(1e-3)
        * 1.1;
    let x = |v: f64| left + v / max * side;
    let y = |v: f64| top + side - v / max * side;
    let _ = write!(
        s,
        r##"<rect x="{left}" y="{top}" width="{side}" height="{side}" fill="none" stroke="#444"/><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#999" stroke-dasharray="4 3"/>"##,
        x(0.0),
        y(0.0),
        x(max),
        y(max)
    );
    let path: Vec<String> = points
        .iter()
        .map(|p| format!("{:.1},{:.1}", x(p.0), y(p.1)))
        .collect();
    let _ = write!(
        s,
        r##"<polyline points="{}" fill="none" stroke="#3a6ea5" stroke-width="2"/>"##,
        path.join(" ")
    );
    for p in points {
        let _ = write!(
            s,
            r##"<circle class="point" cx="{:.1}" cy="{:.1}" r="4" fill="#3a6ea5"><title>predicted {}, observed {}, {} rows</title></circle>"##,
            x(p.0),
            y(p.1),
            pct(p.0),
            pct(p.1),
            p.2
        );
    }
    let _ = write!(
        s,
        r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle">mean predicted (0 to {})</text><text x="{:.1}" y="{:.1}" font-size="11">observed rate; dashed: perfect calibration</text>"##,
        left + side / 2.0,
        top + side + 18.0,
        pct(max),
        left + side + 12.0,
        top + 12.0
    );
    s.push_str("</svg>");
    s
}

/// One point of a series over time.
#[derive(Debug, Clone, Default)]
pub struct Point {
    /// The x-axis label (a month, a night).
    pub label: String,
    /// The value; `None` draws nothing (e.g. a window not yet closed).
    pub value: Option<f64>,
    /// The interval around it.
    pub interval: Option<(f64, f64)>,
    /// Drawn in the warning colour, with a ring.
    pub alert: bool,
    /// Tooltip text.
    pub note: String,
}

/// The y-axis of a series.
#[derive(Debug, Clone)]
pub struct SeriesOptions {
    /// A log axis (for ratios: 0.5 and 2 the same distance from 1).
    pub log: bool,
    /// A horizontal reference line at this value, with its label.
    pub reference: Option<(f64, String)>,
    /// What the y-axis shows.
    pub y_label: String,
    /// How tick values are written.
    pub format: fn(f64) -> String,
}

/// Tick values of a linear axis from 0 to at least `max`: 1, 2 or 5 times a
/// power of ten, four to eight of them.
fn linear_ticks(max: f64) -> Vec<f64> {
    let max = if max > 0.0 && max.is_finite() {
        max
    } else {
        1.0
    };
    let raw = max / 5.0;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * power);
    let n = (max / step).ceil() as usize;
    (0..=n).map(|i| i as f64 * step).collect()
}

/// The widest a log axis runs: 1/32 to 32 (a ratio beyond is drawn at the edge).
const LOG_LIMIT: f64 = 32.0;

/// Tick values of a log axis covering `[lo, hi]` (within 1/32 to 32): powers
/// of two, every other one when there would be more than seven.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let lo = lo.clamp(1.0 / LOG_LIMIT, 1.0);
    let hi = hi.clamp(1.0, LOG_LIMIT);
    let (a, b) = (lo.log2().floor() as i32, hi.log2().ceil() as i32);
    let b = b.max(a + 1);
    let step = if b - a > 6 { 2 } else { 1 };
    let a = if step == 2 && a % 2 != 0 { a - 1 } else { a };
    (a..=b + (b - a) % step)
        .step_by(step as usize)
        .map(|e| 2f64.powi(e))
        .collect()
}

/// A ratio as a tick label: `4`, `1`, `1/4`.
pub fn ratio_label(v: f64) -> String {
    if v >= 1.0 {
        format!("{v}")
    } else {
        format!("1/{}", (1.0 / v).round())
    }
}

/// A series over time: a point per label with its interval as a whisker,
/// on a linear axis from zero or a log axis, with ticks, gridlines and an
/// optional reference line; x labels are thinned so they never overlap.
pub fn series(id: &str, title: &str, points: &[Point], opts: &SeriesOptions) -> String {
    let (left, top, plot_w, plot_h) = (70.0, 34.0, WIDTH - 100.0, 200.0);
    let mut s = open(id, title, top + plot_h + 62.0);
    let values = points.iter().flat_map(|p| {
        p.value
            .into_iter()
            .chain(p.interval.into_iter().flat_map(|(l, h)| [l, h]))
    });
    let values: Vec<f64> = values
        .chain(opts.reference.as_ref().map(|r| r.0))
        .filter(|v| v.is_finite() && (!opts.log || *v > 0.0))
        .collect();
    // A log axis places a zero (no outcome at all) at its bottom edge.
    if points.is_empty() || values.is_empty() {
        s.push_str(r#"<text x="20" y="60">nothing to draw yet</text></svg>"#);
        return s;
    }
    let ticks = if opts.log {
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(0.0, f64::max);
        log_ticks(lo, hi)
    } else {
        linear_ticks(values.iter().copied().fold(0.0, f64::max))
    };
    let (t0, t1) = (ticks[0], ticks[ticks.len() - 1]);
    let y = |v: f64| {
        let f = if opts.log {
            (v.clamp(t0, t1).log2() - t0.log2()) / (t1.log2() - t0.log2())
        } else {
            v.clamp(t0, t1) / t1
        };
        top + plot_h - f * plot_h
    };
    for &t in &ticks {
        let _ = write!(
            s,
            r##"<line class="grid" x1="{left}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"##,
            left + plot_w,
            y(t),
            y(t),
            left - 6.0,
            y(t) + 4.0,
            esc(&(opts.format)(t))
        );
    }
    let _ = write!(
        s,
        r##"<line x1="{left}" x2="{left}" y1="{top}" y2="{:.1}" stroke="#444"/><line x1="{left}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#444"/><text x="14" y="{:.1}" font-size="11" transform="rotate(-90 14 {:.1})" text-anchor="middle">{}</text>"##,
        top + plot_h,
        left + plot_w,
        top + plot_h,
        top + plot_h,
        top + plot_h / 2.0,
        top + plot_h / 2.0,
        esc(&opts.y_label)
    );
    if let Some((v, label)) = &opts.reference {
        let _ = write!(
            s,
            r##"<line class="reference" x1="{left}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#888" stroke-dasharray="5 3"/><text x="{:.1}" y="{:.1}" font-size="11" fill="#666" text-anchor="end">{}</text>"##,
            left + plot_w,
            y(*v),
            y(*v),
            left + plot_w,
            y(*v) - 4.0,
            esc(label)
        );
    }
    let step = plot_w / points.len() as f64;
    let x = |i: usize| left + step * (i as f64 + 0.5);
    // Labels at least 64 px apart.
    let every = (64.0 / step).ceil().max(1.0) as usize;
    for (i, p) in points.iter().enumerate() {
        if i % every == 0 {
            let _ = write!(
                s,
                r##"<text class="xlabel" x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text>"##,
                x(i),
                top + plot_h + 16.0,
                esc(&p.label)
            );
        }
        let colour = if p.alert { "#c0392b" } else { "#3a6ea5" };
        if let Some((lo, hi)) = p.interval {
            let _ = write!(
                s,
                r##"<line class="interval" x1="{:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="2"/>"##,
                x(i),
                x(i),
                y(lo),
                y(hi)
            );
        }
        if let Some(v) = p.value {
            let ring = if p.alert {
                format!(
                    r##"<circle cx="{:.1}" cy="{:.1}" r="8" fill="none" stroke="{colour}"/>"##,
                    x(i),
                    y(v)
                )
            } else {
                String::new()
            };
            let _ = write!(
                s,
                r##"{ring}<circle class="point" cx="{:.1}" cy="{:.1}" r="4" fill="{colour}"><title>{}</title></circle>"##,
                x(i),
                y(v),
                esc(&p.note)
            );
        }
    }
    let _ = write!(
        s,
        r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text>"##,
        left + plot_w / 2.0,
        top + plot_h + 40.0,
        if opts.log {
            "lines: 95% intervals; log scale; red, ringed: flagged"
        } else {
            "lines: 95% intervals; red, ringed: flagged"
        }
    );
    s.push_str("</svg>");
    s
}

fn open(id: &str, title: &str, height: f64) -> String {
    format!(
        r##"<svg id="{}" class="chart" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" role="img" aria-label="{}"><title>{}</title><text x="4" y="16" font-size="14" font-weight="bold">{}</text>"##,
        esc(id),
        esc(title),
        esc(title),
        esc(title)
    )
}

/// A probability as a short percentage.
pub fn pct(p: f64) -> String {
    if p == 0.0 {
        "0%".to_string()
    } else if p >= 0.1 {
        format!("{:.0}%", p * 100.0)
    } else if p >= 0.001 {
        format!("{:.1}%", p * 100.0)
    } else {
        format!("{:.3}%", p * 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        let svg = bars(
            "c",
            "<t>",
            &[Bar {
                label: "a & b".into(),
                value: 1.0,
                text: "\"1\"".into(),
                highlight: false,
                marker: None,
            }],
            &BarOptions::default(),
        );
        assert!(svg.contains("a &amp; b"));
        assert!(svg.contains("&lt;t&gt;"));
        assert!(svg.contains("&quot;1&quot;"));
        assert!(!svg.contains("<t>"));
    }

    #[test]
    fn series_ticks_are_round_and_cover_the_values() {
        assert_eq!(
            linear_ticks(0.23),
            vec![0.0, 0.05, 0.1, 0.15000000000000002, 0.2, 0.25]
        );
        assert_eq!(linear_ticks(7.0), vec![0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(log_ticks(0.3, 2.5), vec![0.25, 0.5, 1.0, 2.0, 4.0]);
        // A zero's interval reaching towards 0: the axis stops at 1/32,
        // and wide ranges tick every other power.
        assert_eq!(log_ticks(1e-3, 1.5).len(), 7);
        assert_eq!(log_ticks(1e-3, 1.5)[0], 1.0 / 32.0);
        assert_eq!(
            log_ticks(1e-3, 100.0),
            vec![1.0 / 64.0, 1.0 / 16.0, 0.25, 1.0, 4.0, 16.0, 64.0]
        );
        assert_eq!(ratio_label(0.125), "1/8");
        assert_eq!(ratio_label(4.0), "4");
        assert_eq!(pct(0.0), "0%");
        let point = |label: &str, v: f64, alert: bool| Point {
            label: label.into(),
            value: Some(v),
            interval: Some((v / 2.0, v * 2.0)),
            alert,
            note: "<n>".into(),
        };
        let pts: Vec<Point> = (0..24)
            .map(|i| point(&format!("2024-{i:02}"), 1.0 + i as f64 / 10.0, i == 3))
            .collect();
        let opts = SeriesOptions {
            log: true,
            reference: Some((1.0, "O/E = 1".into())),
            y_label: "observed / expected".into(),
            format: |v| format!("{v}"),
        };
        let svg = series("s", "t", &pts, &opts);
        assert_eq!(svg.matches(r#"class="point""#).count(), 24);
        assert_eq!(svg.matches(r#"class="interval""#).count(), 24);
        assert_eq!(svg.matches("r=\"8\"").count(), 1);
        // 24 points over 780 px: a label every 2 points, none overlapping.
        assert_eq!(svg.matches(r#"class="xlabel""#).count(), 12);
        assert!(svg.contains("&lt;n&gt;") && !svg.contains("<n>"));
        // Every point inside the plot area.
        for cy in svg.split("cy=\"").skip(1) {
            let v: f64 = cy.split('"').next().unwrap().parse().unwrap();
            assert!((34.0..=234.0).contains(&v), "{v}");
        }
    }

    #[test]
    fn histogram_draws_one_bar_per_bin_and_the_cutoff() {
        let edges = [0.001, 0.01, 0.1, 1.0];
        let svg = histogram("h", "t", &edges, &[5, 3, 1], Some(0.05));
        assert_eq!(svg.matches(r#"class="bar""#).count(), 3);
        assert!(svg.contains(r#"class="cutoff""#));
        assert!(svg.contains("queue cut-off 5.0%"));
    }
}

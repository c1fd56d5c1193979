//! Plots of a run, each as SVG and PNG: goodput, congestion window and RTT per flow,
//! queue delay per link direction, over time.
//!
//! Text in PNGs is drawn by plotters' `ab_glyph` backend from DejaVu Sans, embedded
//! in the binary (`assets/fonts`, Bitstream Vera license), so nothing depends on the
//! fonts or fontconfig of the machine that builds or runs `l4`. SVGs carry their text
//! as `<text>` elements in the `sans-serif` family.

use std::sync::Once;

use layer4_sim::metrics::RunMetrics;
use plotters::coord::Shift;
use plotters::prelude::*;

/// DejaVu Sans 2.37 (see `assets/fonts/LICENSE-DejaVu.txt`).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";
/// Pixel size of PNG plots.
pub const SIZE: (u32, u32) = (1000, 600);

/// One plot: its file stem, title, y axis and lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    /// File name without extension (`throughput`, `cwnd`, `rtt`, `queue_delay`).
    pub stem: &'static str,
    /// Title at the top.
    pub title: String,
    /// Label of the y axis, with its unit.
    pub y_label: &'static str,
    /// One line per flow or link direction.
    pub lines: Vec<Line>,
}

/// A named line; NaN values leave gaps.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Legend entry.
    pub label: String,
    /// `(time in s, value)`.
    pub points: Vec<(f64, f64)>,
}

/// The four plots of a run.
pub fn plots(m: &RunMetrics) -> Vec<Plot> {
    let flow_line = |f: &layer4_sim::metrics::FlowMetrics, values: &[f64], scale: f64| Line {
        label: f.name.clone(),
        points: f
            .series
            .time_s
            .iter()
            .zip(values)
            .map(|(t, v)| (*t, v * scale))
            .collect(),
    };
    let mut links: Vec<&layer4_sim::metrics::LinkMetrics> = m
        .links
        .iter()
        .filter(|l| {
            l.series
                .queue_delay_s
                .iter()
                .any(|d| d.is_finite() && *d > 0.0)
        })
        .collect();
    if links.is_empty() {
        links = m.links.iter().collect();
    }
    vec![
        Plot {
            stem: "throughput",
            title: format!("{}: goodput per flow", m.scenario),
            y_label: "goodput (Mbit/s)",
            lines: m
                .flows
                .iter()
                .map(|f| flow_line(f, &f.series.goodput_bps, 1e-6))
                .collect(),
        },
        Plot {
            stem: "cwnd",
            title: format!("{}: congestion window per flow", m.scenario),
            y_label: "cwnd (kB)",
            lines: m
                .flows
                .iter()
                .map(|f| flow_line(f, &f.series.cwnd_bytes, 1e-3))
                .collect(),
        },
        Plot {
            stem: "rtt",
            title: format!("{}: smoothed RTT per flow", m.scenario),
            y_label: "srtt (ms)",
            lines: m
                .flows
                .iter()
                .map(|f| flow_line(f, &f.series.srtt_s, 1e3))
                .collect(),
        },
        Plot {
            stem: "queue_delay",
            title: format!("{}: queue delay per link", m.scenario),
            y_label: "queue delay (ms)",
            lines: links
                .iter()
                .map(|l| Line {
                    label: l.name.clone(),
                    points: l
                        .series
                        .time_s
                        .iter()
                        .zip(&l.series.queue_delay_s)
                        .map(|(t, d)| (*t, d * 1e3))
                        .collect(),
                })
                .collect(),
        },
    ]
}

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The embedded font is a valid TrueType file; if ab_glyph refused it, text
        // would be missing from PNGs and drawing would report the error.
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

/// The plot as an SVG document.
pub fn svg(plot: &Plot) -> Result<String, String> {
    register_font();
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
        draw(&root, plot)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// The plot as a PNG file's bytes.
pub fn png(plot: &Plot) -> Result<Vec<u8>, String> {
    register_font();
    let (w, h) = SIZE;
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
        draw(&root, plot)?;
        root.present().map_err(|e| e.to_string())?;
    }
    let mut file = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut file, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(&rgb).map_err(|e| e.to_string())?;
        writer.finish().map_err(|e| e.to_string())?;
    }
    Ok(file)
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, plot: &Plot) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let finite = || {
        plot.lines
            .iter()
            .flat_map(|l| &l.points)
            .filter(|(t, v)| t.is_finite() && v.is_finite())
    };
    let x_max = finite().map(|(t, _)| *t).fold(0.0f64, f64::max).max(1e-3);
    let y_max = finite().map(|(_, v)| *v).fold(0.0f64, f64::max);
    let y_max = if y_max > 0.0 { y_max * 1.08 } else { 1.0 };
    let mut chart = ChartBuilder::on(root)
        .caption(&plot.title, (FAMILY, 26))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc(plot.y_label)
        .label_style((FAMILY, 16))
        .axis_desc_style((FAMILY, 18))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    for (i, line) in plot.lines.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let style = ShapeStyle::from(color).stroke_width(2);
        let mut labelled = false;
        for segment in segments(&line.points) {
            let series = chart
                .draw_series(LineSeries::new(segment, style))
                .map_err(err)?;
            if !labelled {
                series
                    .label(line.label.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
                labelled = true;
            }
        }
    }
    if !plot.lines.is_empty() {
        chart
            .configure_series_labels()
            .label_font((FAMILY, 16))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

/// Runs of finite points: a NaN (no sample) breaks the line.
fn segments(points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current = Vec::new();
    for &(t, v) in points {
        if t.is_finite() && v.is_finite() {
            current.push((t, v));
        } else if !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_breaks_a_line_into_segments() {
        let pts = [
            (0.0, 1.0),
            (0.1, f64::NAN),
            (0.2, 2.0),
            (0.3, 3.0),
            (0.4, f64::NAN),
        ];
        assert_eq!(
            segments(&pts),
            vec![vec![(0.0, 1.0)], vec![(0.2, 2.0), (0.3, 3.0)]]
        );
        assert!(segments(&[(0.0, f64::NAN)]).is_empty());
    }

    #[test]
    fn empty_plot_still_renders() {
        let plot = Plot {
            stem: "rtt",
            title: "empty".into(),
            y_label: "ms",
            lines: Vec::new(),
        };
        assert!(svg(&plot).unwrap().contains("<svg"));
        assert!(png(&plot).unwrap().starts_with(b"\x89PNG"));
    }
}

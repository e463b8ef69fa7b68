//! `simulate --plot`: one panel per policy, demand / modelled capacity / min / max over
//! time, written as SVG and as PNG beside it.

use std::path::{Path, PathBuf};

use acu_pilot_sim::{PolicyRun, SimReport, TimelinePoint};
use chrono::{DateTime, Duration, Utc};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Which value of a timeline point a line shows.
type Pick = fn(&TimelinePoint) -> f64;

const WIDTH: u32 = 1400;
const PANEL_HEIGHT: u32 = 300;
const TITLE_HEIGHT: u32 = 70;

const DEMAND: RGBColor = RGBColor(40, 40, 40);
const CAPACITY: RGBColor = RGBColor(31, 119, 180);
const MIN: RGBColor = RGBColor(44, 160, 44);
const MAX: RGBColor = RGBColor(214, 39, 40);

/// Writes the plot to `svg` and to the same path with a `.png` extension; returns the
/// PNG's path.
pub fn write(svg: &Path, report: &SimReport, title: &str) -> Result<PathBuf, String> {
    let png = svg.with_extension("png");
    let height = TITLE_HEIGHT + PANEL_HEIGHT * report.runs.len().max(1) as u32;
    let area = SVGBackend::new(svg, (WIDTH, height)).into_drawing_area();
    draw(area, report, title).map_err(|e| format!("{}: {e}", svg.display()))?;
    let area = BitMapBackend::new(&png, (WIDTH, height)).into_drawing_area();
    draw(area, report, title).map_err(|e| format!("{}: {e}", png.display()))?;
    Ok(png)
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    report: &SimReport,
    title: &str,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let (head, body) = root.split_vertically(TITLE_HEIGHT);
    head.draw(&Text::new(
        title.to_owned(),
        (20, 12),
        ("sans-serif", 26).into_font().color(&BLACK),
    ))?;
    head.draw(&Text::new(
        "A model of Aurora Serverless v2 scaling, not Aurora itself (see docs/simulator.md).",
        (20, 44),
        ("sans-serif", 16).into_font().color(&RGBColor(90, 90, 90)),
    ))?;

    let start = report.trace.start;
    let hours = (report.trace.end - start).num_seconds() as f64 / 3600.0;
    // One y scale for every panel, so the panels compare at a glance; a max far above
    // demand is cut at the top rather than flattening everything else.
    let top = report
        .runs
        .iter()
        .flat_map(|run| run.timeline.iter())
        .map(|p| p.demand.max(p.capacity))
        .fold(1.0, f64::max)
        * 1.25;
    let label_every = if hours > 48.0 { 24.0 } else { 2.0 };

    for (panel, run) in body
        .split_evenly((report.runs.len().max(1), 1))
        .iter()
        .zip(&report.runs)
    {
        draw_panel(panel, run, start, hours, top, label_every)?;
    }
    root.present()
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    run: &PolicyRun,
    start: DateTime<Utc>,
    hours: f64,
    top: f64,
    label_every: f64,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let r = &run.result;
    let caption = format!(
        "{} — {:.1} ACU-h (${:.2}), unmet {:.1} ACU-min over {:.0} min, worst shortfall {:.1} ACU, {} ModifyDBCluster calls",
        r.name,
        r.acu_hours,
        r.cost,
        r.unmet_acu_minutes,
        r.unmet_minutes,
        r.worst_shortfall_acu,
        r.modify_calls
    );
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 18))
        .margin(10)
        .margin_right(30)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..hours, 0.0..top)?;
    let day_only = hours <= 48.0;
    chart
        .configure_mesh()
        .x_labels((hours / label_every).round() as usize + 1)
        .x_label_formatter(&|h| {
            let at = start + Duration::seconds((h * 3600.0).round() as i64);
            if day_only {
                at.format("%H:%M").to_string()
            } else {
                at.format("%a %d").to_string()
            }
        })
        .x_desc("time (UTC)")
        .y_desc("ACU")
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .light_line_style(RGBColor(240, 240, 240))
        .max_light_lines(2)
        .draw()?;

    let hours_of = |at: DateTime<Utc>| (at - start).num_seconds() as f64 / 3600.0;
    let series = |pick: Pick| {
        run.timeline
            .iter()
            .map(move |p| (hours_of(p.at), pick(p).min(top)))
            .collect::<Vec<_>>()
    };
    let lines: [(&str, RGBColor, u32, Pick); 4] = [
        ("max", MAX, 2, |p| p.max),
        ("min", MIN, 2, |p| p.min),
        ("modelled capacity", CAPACITY, 2, |p| p.capacity),
        ("demand", DEMAND, 1, |p| p.demand),
    ];
    for (label, color, width, pick) in lines {
        chart
            .draw_series(LineSeries::new(series(pick), color.stroke_width(width)))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .label_font(("sans-serif", 14))
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use acu_pilot_sim::{
        ReplayConfig, SimPolicy, StaticPeak, StaticPolicy, TraceKind, compare, generate,
    };

    #[test]
    fn writes_an_svg_and_a_png_beside_it() {
        let trace = generate(TraceKind::SalesDay, 42);
        let mut policies: Vec<Box<dyn SimPolicy>> =
            vec![Box::new(StaticPolicy), Box::new(StaticPeak::new(&trace))];
        let report = compare(&trace, &ReplayConfig::default(), &mut policies, &mut || {});
        let dir = std::env::temp_dir().join(format!("acu-pilot-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let svg = dir.join("sales-day.svg");
        let png = write(&svg, &report, "acu-pilot simulate — sales-day.csv").unwrap();
        assert_eq!(png, dir.join("sales-day.png"));
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.starts_with("<svg"), "{}", &text[..50]);
        for needle in ["modelled capacity", "demand", "static-peak", "ACU", "18:00"] {
            assert!(text.contains(needle), "the SVG lacks {needle:?}");
        }
        let bytes = std::fs::read(&png).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        if std::env::var_os("ACU_PILOT_KEEP_PLOT").is_none() {
            std::fs::remove_dir_all(&dir).unwrap();
        } else {
            eprintln!("plot kept in {}", dir.display());
        }
    }
}

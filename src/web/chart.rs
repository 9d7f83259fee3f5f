//! Server-rendered SVG line charts: no chart JavaScript. Each chart has a title and a
//! description for screen readers, and its numbers in a table behind a toggle. `UI_MODERN_CHART`
//! switches to the newer style (a filled area under a smooth line) from the classic one (a line
//! with a dot per point).

/// The drawing area, in SVG user units (the SVG scales to its container).
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 180.0;
const PAD_LEFT: f64 = 44.0;
const PAD_RIGHT: f64 = 8.0;
const PAD_TOP: f64 = 10.0;
const PAD_BOTTOM: f64 = 24.0;

pub struct LineChart {
    pub id: String,
    pub title: String,
    pub desc: String,
    pub modern: bool,
    /// `M x y L x y …` for the line.
    pub line: String,
    /// The same, closed along the bottom, for the modern style's fill.
    pub area: String,
    pub dots: Vec<(String, String)>,
    pub y_ticks: Vec<(String, String)>,
    pub x_labels: Vec<(String, String)>,
    /// (label, value) per point, for the data table.
    pub rows: Vec<(String, i64)>,
    pub width: f64,
    pub height: f64,
}

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

/// A round top for the y axis: 1, 2 or 5 times a power of ten, at least `max`.
fn nice_max(max: i64) -> i64 {
    if max <= 0 {
        return 1;
    }
    let mut step = 1i64;
    loop {
        for m in [1, 2, 5] {
            if step * m >= max {
                return step * m;
            }
        }
        step *= 10;
    }
}

impl LineChart {
    /// A chart of `points` (label, value) in order.
    pub fn new(id: &str, title: &str, points: &[(String, i64)], modern: bool) -> Self {
        let top = nice_max(points.iter().map(|(_, v)| *v).max().unwrap_or(0));
        let plot_w = WIDTH - PAD_LEFT - PAD_RIGHT;
        let plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM;
        let n = points.len();
        let x_of = |i: usize| {
            if n <= 1 {
                PAD_LEFT + plot_w / 2.0
            } else {
                PAD_LEFT + plot_w * i as f64 / (n - 1) as f64
            }
        };
        let y_of = |v: i64| PAD_TOP + plot_h * (1.0 - v.max(0) as f64 / top as f64);
        let coords: Vec<(f64, f64)> = points
            .iter()
            .enumerate()
            .map(|(i, (_, v))| (x_of(i), y_of(*v)))
            .collect();
        let line = coords
            .iter()
            .enumerate()
            .map(|(i, (x, y))| format!("{}{} {}", if i == 0 { "M" } else { "L" }, fmt(*x), fmt(*y)))
            .collect::<Vec<_>>()
            .join(" ");
        let base = fmt(PAD_TOP + plot_h);
        let area = match (coords.first(), coords.last()) {
            (Some((x0, _)), Some((x1, _))) => {
                format!("{line} L{} {base} L{} {base} Z", fmt(*x1), fmt(*x0))
            }
            _ => String::new(),
        };
        let y_ticks = [0, top / 2, top]
            .into_iter()
            .map(|v| (fmt(y_of(v)), v.to_string()))
            .collect();
        let mut x_labels = Vec::new();
        if n > 0 {
            let mut picks = vec![0, n / 2, n - 1];
            picks.dedup();
            for i in picks {
                x_labels.push((fmt(x_of(i)), points[i].0.clone()));
            }
        }
        let total: i64 = points.iter().map(|(_, v)| *v).sum();
        let desc = match (points.first(), points.last()) {
            (Some(first), Some(last)) => format!(
                "{title} from {} to {}: {total} in all, at most {} on one point.",
                first.0,
                last.0,
                points.iter().map(|(_, v)| *v).max().unwrap_or(0)
            ),
            _ => format!("{title}: no numbers yet."),
        };
        LineChart {
            id: id.to_owned(),
            title: title.to_owned(),
            desc,
            modern,
            line,
            area,
            dots: coords.iter().map(|(x, y)| (fmt(*x), fmt(*y))).collect(),
            y_ticks,
            x_labels,
            rows: points.to_vec(),
            width: WIDTH,
            height: HEIGHT,
        }
    }

    pub fn left(&self) -> String {
        fmt(PAD_LEFT)
    }

    pub fn right(&self) -> String {
        fmt(WIDTH - PAD_RIGHT)
    }

    pub fn label_y(&self) -> String {
        fmt(HEIGHT - 6.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_tops_out_at_a_round_number() {
        assert_eq!(nice_max(0), 1);
        assert_eq!(nice_max(7), 10);
        assert_eq!(nice_max(11), 20);
        assert_eq!(nice_max(230), 500);
        assert_eq!(nice_max(1000), 1000);
    }

    #[test]
    fn a_chart_draws_one_point_per_value_and_describes_itself() {
        let pts: Vec<(String, i64)> = (1..=3).map(|d| (format!("Nov {d}"), d * 10)).collect();
        let c = LineChart::new("likes", "Likes", &pts, false);
        assert_eq!(c.dots.len(), 3);
        assert!(c.line.starts_with("M44.0 "));
        assert_eq!(c.line.matches('L').count(), 2);
        assert!(c.desc.contains("60 in all"), "{}", c.desc);
        // The highest point touches the top of the plot (50 → top 50).
        assert_eq!(c.y_ticks.last().unwrap().1, "50");
    }

    #[test]
    fn an_empty_chart_says_so() {
        let c = LineChart::new("x", "Likes", &[], true);
        assert!(c.dots.is_empty());
        assert!(c.desc.contains("no numbers yet"));
        assert!(c.area.is_empty());
    }
}

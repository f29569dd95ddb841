#include "loadgen/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace epara::loadgen {
namespace {

constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                   "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", std::abs(v) < 1e-12 ? 0.0 : v);
  return buf;
}

// A "nice" tick step for a range: 1, 2 or 5 x 10^k giving about 5 ticks.
double TickStep(double range) {
  if (!(range > 0)) return 1;
  const double raw = range / 5, mag = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) return m * mag;
  return 10 * mag;
}

}  // namespace

std::string SvgLineChart(const std::vector<ChartSeries>& series, const ChartOptions& o) {
  const double W = 640, H = 400, left = 70, right = 170, top = 40, bottom = 55;
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  for (const ChartSeries& s : series)
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  if (x0 > x1) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (o.y_from_zero) y0 = std::min(0.0, y0);
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y1 = y0 + 1;
  y1 += (y1 - y0) * 0.05;
  const double pw = W - left - right, ph = H - top - bottom;
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * pw; };
  auto py = [&](double y) { return top + ph - (y - y0) / (y1 - y0) * ph; };
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << W / 2 - right / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">"
      << Escape(o.title) << "</text>\n";
  const double xs = TickStep(x1 - x0), ys = TickStep(y1 - y0);
  for (double t = std::ceil(x0 / xs) * xs; t <= x1 + 1e-9; t += xs)
    svg << "<line x1=\"" << px(t) << "\" y1=\"" << top << "\" x2=\"" << px(t) << "\" y2=\""
        << top + ph << "\" stroke=\"#eee\"/><text x=\"" << px(t) << "\" y=\"" << top + ph + 16
        << "\" text-anchor=\"middle\">" << Num(t) << "</text>\n";
  for (double t = std::ceil(y0 / ys) * ys; t <= y1 + 1e-9; t += ys)
    svg << "<line x1=\"" << left << "\" y1=\"" << py(t) << "\" x2=\"" << left + pw << "\" y2=\""
        << py(t) << "\" stroke=\"#eee\"/><text x=\"" << left - 6 << "\" y=\"" << py(t) + 4
        << "\" text-anchor=\"end\">" << Num(t) << "</text>\n";
  svg << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << pw << "\" height=\"" << ph
      << "\" fill=\"none\" stroke=\"black\"/>\n"
      << "<text x=\"" << left + pw / 2 << "\" y=\"" << H - 12 << "\" text-anchor=\"middle\">"
      << Escape(o.x_label) << "</text>\n"
      << "<text transform=\"translate(16," << top + ph / 2
      << ") rotate(-90)\" text-anchor=\"middle\">" << Escape(o.y_label) << "</text>\n";
  for (size_t i = 0; i < series.size(); ++i) {
    const char* color = kColors[i % (sizeof kColors / sizeof kColors[0])];
    svg << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\" points=\"";
    for (const auto& [x, y] : series[i].points)
      if (std::isfinite(x) && std::isfinite(y)) svg << px(x) << "," << py(y) << " ";
    svg << "\"/>\n";
    for (const auto& [x, y] : series[i].points)
      if (std::isfinite(x) && std::isfinite(y) && series[i].points.size() <= 40)
        svg << "<circle cx=\"" << px(x) << "\" cy=\"" << py(y) << "\" r=\"3\" fill=\"" << color
            << "\"/>\n";
    const double ly = top + 10 + 20 * static_cast<double>(i);
    svg << "<line x1=\"" << W - right + 12 << "\" y1=\"" << ly << "\" x2=\"" << W - right + 36
        << "\" y2=\"" << ly << "\" stroke=\"" << color << "\" stroke-width=\"3\"/><text x=\""
        << W - right + 42 << "\" y=\"" << ly + 4 << "\">" << Escape(series[i].name) << "</text>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace epara::loadgen

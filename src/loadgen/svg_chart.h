// A minimal SVG line chart for the benchmark report: axes with ticks, one polyline with markers
// per series, a legend. No dependency; the output opens in any browser.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace epara::loadgen {

struct ChartSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y), drawn in the given order
};

struct ChartOptions {
  std::string title, x_label, y_label;
  bool y_from_zero = true;
};

std::string SvgLineChart(const std::vector<ChartSeries>& series, const ChartOptions& options);

}  // namespace epara::loadgen

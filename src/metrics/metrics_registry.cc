#include "metrics/metrics_registry.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace epara::metrics {
namespace {

std::string EscapeLabel(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string FormatLabels(const Labels& labels, const std::string& extra_key = "",
                         const std::string& extra_value = "") {
  if (labels.empty() && extra_key.empty()) return "";
  std::string s = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    s += (first ? "" : ",") + k + "=\"" + EscapeLabel(v) + "\"";
    first = false;
  }
  if (!extra_key.empty()) s += (first ? "" : ",") + extra_key + "=\"" + extra_value + "\"";
  return s + "}";
}

std::string FormatNumber(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::ostringstream os;
  os.precision(12);
  os << v;
  return os.str();
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  std::sort(bounds_.begin(), bounds_.end());
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double v) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

uint64_t Histogram::CumulativeCount(size_t i) const {
  uint64_t total = 0;
  for (size_t j = 0; j <= std::min(i, bounds_.size()); ++j)
    total += buckets_[j].load(std::memory_order_relaxed);
  return total;
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  std::vector<double> b;
  for (int i = 0; i < count; ++i, start *= factor) b.push_back(start);
  return b;
}

std::vector<double> LinearBuckets(double start, double width, int count) {
  std::vector<double> b;
  for (int i = 0; i < count; ++i) b.push_back(start + width * i);
  return b;
}

Registry::Family& Registry::FamilyFor(const std::string& name, Type type, const std::string& help) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.type = type;
    it->second.help = help;
  }
  return it->second;
}

Counter* Registry::GetCounter(const std::string& name, const std::string& help,
                              const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = FamilyFor(name, Type::kCounter, help).counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return slot.get();
}

Gauge* Registry::GetGauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = FamilyFor(name, Type::kGauge, help).gauges[labels];
  if (!slot) slot = std::make_unique<Gauge>();
  return slot.get();
}

Histogram* Registry::GetHistogram(const std::string& name, const std::string& help,
                                  const Labels& labels, const std::vector<double>& upper_bounds) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = FamilyFor(name, Type::kHistogram, help).histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>(upper_bounds);
  return slot.get();
}

std::string Registry::RenderText() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::ostringstream os;
  for (const auto& [name, f] : families_) {
    os << "# HELP " << name << ' ' << f.help << '\n';
    switch (f.type) {
      case Type::kCounter:
        os << "# TYPE " << name << " counter\n";
        for (const auto& [labels, c] : f.counters)
          os << name << FormatLabels(labels) << ' ' << FormatNumber(c->value()) << '\n';
        break;
      case Type::kGauge:
        os << "# TYPE " << name << " gauge\n";
        for (const auto& [labels, g] : f.gauges)
          os << name << FormatLabels(labels) << ' ' << FormatNumber(g->value()) << '\n';
        break;
      case Type::kHistogram:
        os << "# TYPE " << name << " histogram\n";
        for (const auto& [labels, h] : f.histograms) {
          const auto& bounds = h->upper_bounds();
          for (size_t i = 0; i < bounds.size(); ++i)
            os << name << "_bucket" << FormatLabels(labels, "le", FormatNumber(bounds[i])) << ' '
               << h->CumulativeCount(i) << '\n';
          os << name << "_bucket" << FormatLabels(labels, "le", "+Inf") << ' '
             << h->CumulativeCount(bounds.size()) << '\n';
          os << name << "_sum" << FormatLabels(labels) << ' ' << FormatNumber(h->sum()) << '\n';
          os << name << "_count" << FormatLabels(labels) << ' ' << h->count() << '\n';
        }
        break;
    }
  }
  return os.str();
}

}  // namespace epara::metrics

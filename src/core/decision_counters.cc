#include "core/decision_counters.h"

namespace epara {

DecisionCounters& Decisions() {
  static DecisionCounters counters;
  return counters;
}

}  // namespace epara

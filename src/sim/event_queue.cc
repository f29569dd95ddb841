#include "sim/event_queue.h"

#include <algorithm>

namespace epara::sim {

void EventQueue::At(double at_ms, Action action) {
  heap_.push({std::max(at_ms, now_), seq_++, std::move(action)});
}

bool EventQueue::RunOne() {
  if (heap_.empty()) return false;
  // The action may schedule more events: take it out of the heap first.
  Event e = std::move(const_cast<Event&>(heap_.top()));
  heap_.pop();
  now_ = e.at;
  ++processed_;
  e.action();
  return true;
}

void EventQueue::RunUntil(double until_ms) {
  while (!heap_.empty() && heap_.top().at <= until_ms) RunOne();
  now_ = std::max(now_, until_ms);
}

void EventQueue::RunAll() {
  while (RunOne()) {
  }
}

}  // namespace epara::sim

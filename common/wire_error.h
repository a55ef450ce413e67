// Per-item outcomes on the wire API (docs/architecture.md §3): a Kafka error code and
// a message, for the controller and broker services alike.
#pragma once

#include <string>

#include "samsa/v1/common.pb.h"

namespace samsa {

inline v1::Error MakeError(v1::ErrorCode code, std::string message) {
  v1::Error e;
  e.set_code(code);
  e.set_message(std::move(message));
  return e;
}

inline void SetError(v1::Error* e, v1::ErrorCode code, std::string message) {
  e->set_code(code);
  e->set_message(std::move(message));
}

}  // namespace samsa

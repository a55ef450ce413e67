// Per-item outcomes on the Controller API: a Kafka error code and a message.
#pragma once

#include <string>

#include "samsa/v1/common.pb.h"

namespace samsa::controller {

inline v1::Error MakeError(v1::ErrorCode code, std::string message) {
  v1::Error e;
  e.set_code(code);
  e.set_message(std::move(message));
  return e;
}

}  // namespace samsa::controller

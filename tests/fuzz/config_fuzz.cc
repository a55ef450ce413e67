// libFuzzer target: a properties file as an operator may have written it.
// Loading it with the broker's and the controller's key tables and turning
// it into their settings must return a clear error or settings, never
// crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "broker/broker_config.h"
#include "common/config.h"
#include "controller/controller_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (absl::StatusOr<samsa::Config> c =
          samsa::Config::Load(samsa::broker::BrokerConfigDef(), "fuzz.properties", text, {});
      c.ok()) {
    (void)samsa::broker::ToSettings(*c);
  }
  if (absl::StatusOr<samsa::Config> c = samsa::Config::Load(
          samsa::controller::ControllerConfigDef(), "fuzz.properties", text, {});
      c.ok()) {
    (void)samsa::controller::ToSettings(*c);
  }
  return 0;
}

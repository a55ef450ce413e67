// MemEnv: an Env kept entirely in memory. Every write is immediately
// "durable" (there is no crash to lose it; wrap it in a FaultEnv for that).
// Paths are plain strings; a file's directory must exist (CreateDirs) before
// the file is created, as on a real file system. Thread-safe.
#pragma once

#include <memory>

#include "storage/env.h"

namespace samsa::storage {

std::unique_ptr<Env> NewMemEnv();

}  // namespace samsa::storage

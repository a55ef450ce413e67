// The log cleaner's two small files in a partition directory. This comment
// is their specification (copied to docs/formats.md).
//
//   cleaner-checkpoint   how far the log is clean: every record below this
//                        offset has been compacted against every key seen
//                        below it. Text, replaced atomically
//                        (Env::WriteFileAtomically):
//                          line 1: version, "0"
//                          line 2: the clean offset
//                        Missing: nothing is clean yet. A crash leaves the old
//                        or the new file whole; a clean offset outside the
//                        log after a truncation or retention is clamped to it.
//
//   cleaner-swap         present only while cleaned segments are being put in
//                        place of the ones they replace; its durable presence
//                        is the swap's commit point. Text, written atomically:
//                          line 1: version, "0"
//                          line 2: base offset of the cleaned segment
//                          line 3: number N of segments it replaces
//                          N lines: their base offsets, increasing (the first
//                                   equals the cleaned segment's)
//
// The swap (PartitionLog::ReplaceSegments): (1) the cleaned segment is
// written and synced as <base>.log.cleaned with its .index.cleaned and
// .timeindex.cleaned, and the directory synced; (2) cleaner-swap is written;
// (3) each replaced segment's files are renamed to "*.deleted"; (4) the
// cleaned files are renamed to their real names, the .log first; (5) the
// directory is synced, cleaner-swap deleted, the ".deleted" files unlinked.
//
// Recovery at open: with no cleaner-swap, "*.cleaned" files are an
// uncommitted clean and are deleted. With one, the swap is finished: if
// <base>.log.cleaned still exists, step (4) has not begun, so every file of
// each replaced segment is renamed away (3); then every remaining ".cleaned"
// file of the cleaned segment takes its real name (4); then the directory is
// synced and cleaner-swap deleted. Every step is idempotent, so a crash
// during recovery is recovered the same way.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ids.h"
#include "storage/env.h"

namespace samsa::storage {

inline constexpr char kCleanerCheckpointFile[] = "cleaner-checkpoint";
inline constexpr char kCleanerSwapFile[] = "cleaner-swap";

// nullopt when the partition has no checkpoint yet.
absl::StatusOr<std::optional<Offset>> LoadCleanOffset(Env* env, const std::string& dir);
absl::Status StoreCleanOffset(Env* env, const std::string& dir, Offset offset);

struct SwapManifest {
  Offset base;
  std::vector<Offset> replaced;
};

// nullopt when no swap is in progress. DATA_LOSS names a file that does not
// parse: recovery cannot tell what to keep, so the partition is not opened.
absl::StatusOr<std::optional<SwapManifest>> LoadSwapManifest(Env* env, const std::string& dir);
absl::Status StoreSwapManifest(Env* env, const std::string& dir, const SwapManifest& manifest);

}  // namespace samsa::storage

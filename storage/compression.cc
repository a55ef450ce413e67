#include "storage/compression.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/endian.h"
#include "common/logging.h"
#include "common/status.h"
#include "common/string_view.h"

namespace samsa::storage {
namespace {

absl::Status Malformed(std::string_view codec, std::string_view why) {
  return absl::DataLossError(
      absl::StrCat("corrupt ", ToAbsl(codec), " data in record batch: ", ToAbsl(why)));
}

absl::Status TooLarge(std::string_view codec, size_t max_output) {
  return absl::DataLossError(
      absl::StrCat(ToAbsl(codec), " data decompresses to more than ", max_output, " bytes"));
}

// Grows `out` by up to `want` bytes of free space for a streaming decoder,
// never past `limit` total new bytes; returns the free span.
std::span<uint8_t> Grow(std::string* out, size_t base, size_t limit, size_t want) {
  const size_t used = out->size() - base;
  const size_t add = std::min(want, limit - used);
  const size_t old = out->size();
  out->resize(old + add);
  return {reinterpret_cast<uint8_t*>(out->data()) + old, add};
}

class GzipCodec final : public Codec {
 public:
  Compression type() const override { return Compression::kGzip; }

  absl::Status Compress(std::span<const uint8_t> in, std::string* out) const override {
    z_stream zs{};
    // windowBits 15 + 16: write a gzip wrapper, as Java's GZIPOutputStream.
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
      return absl::InternalError("gzip: deflateInit2 failed");
    }
    const size_t base = out->size();
    out->resize(base + deflateBound(&zs, in.size()));
    zs.next_in = const_cast<Bytef*>(in.data());
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out->data() + base);
    zs.avail_out = static_cast<uInt>(out->size() - base);
    const int rc = deflate(&zs, Z_FINISH);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) return absl::InternalError("gzip: deflate did not finish");
    out->resize(base + zs.total_out);
    return absl::OkStatus();
  }

  absl::Status Decompress(std::span<const uint8_t> in, size_t max_output,
                          std::string* out) const override {
    z_stream zs{};
    if (inflateInit2(&zs, 15 + 16) != Z_OK) return absl::InternalError("gzip: inflateInit2 failed");
    const size_t base = out->size();
    zs.next_in = const_cast<Bytef*>(in.data());
    zs.avail_in = static_cast<uInt>(in.size());
    absl::Status status;
    while (true) {
      if (out->size() - base == max_output) {
        status = TooLarge("gzip", max_output);
        break;
      }
      std::span<uint8_t> room = Grow(out, base, max_output, std::max<size_t>(in.size() * 4, 4096));
      zs.next_out = room.data();
      zs.avail_out = static_cast<uInt>(room.size());
      const int rc = inflate(&zs, Z_NO_FLUSH);
      out->resize(out->size() - zs.avail_out);
      if (rc == Z_STREAM_END) {
        if (zs.avail_in == 0) break;
        // Another gzip member follows.
        if (inflateReset(&zs) != Z_OK) {
          status = absl::InternalError("gzip: inflateReset failed");
          break;
        }
        continue;
      }
      if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
        status = Malformed("gzip", "input ends inside a member");
        break;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        status = Malformed("gzip", zs.msg != nullptr ? zs.msg : "inflate failed");
        break;
      }
    }
    inflateEnd(&zs);
    if (!status.ok()) out->resize(base);
    return status;
  }
};

// The xerial snappy-java stream header.
constexpr uint8_t kXerialMagic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
constexpr size_t kXerialHeaderSize = 16;  // magic, int32 version, int32 compatible version

class SnappyCodec final : public Codec {
 public:
  Compression type() const override { return Compression::kSnappy; }

  absl::Status Compress(std::span<const uint8_t> in, std::string* out) const override {
    std::string compressed;
    snappy::Compress(reinterpret_cast<const char*>(in.data()), in.size(), &compressed);
    out->append(compressed);
    return absl::OkStatus();
  }

  absl::Status Decompress(std::span<const uint8_t> in, size_t max_output,
                          std::string* out) const override {
    const size_t base = out->size();
    absl::Status st;
    if (in.size() >= kXerialHeaderSize && std::memcmp(in.data(), kXerialMagic, 8) == 0) {
      st = DecompressXerial(in.subspan(kXerialHeaderSize), base, max_output, out);
    } else {
      st = DecompressRaw(in, base, max_output, out);
    }
    if (!st.ok()) out->resize(base);
    return st;
  }

 private:
  static absl::Status DecompressRaw(std::span<const uint8_t> in, size_t base, size_t max_output,
                                    std::string* out) {
    size_t n = 0;
    const char* src = reinterpret_cast<const char*>(in.data());
    if (!snappy::GetUncompressedLength(src, in.size(), &n)) {
      return Malformed("snappy", "bad length preamble");
    }
    if (n > max_output - (out->size() - base)) return TooLarge("snappy", max_output);
    const size_t old = out->size();
    out->resize(old + n);
    if (!snappy::RawUncompress(src, in.size(), out->data() + old)) {
      return Malformed("snappy", "bad block");
    }
    return absl::OkStatus();
  }

  static absl::Status DecompressXerial(std::span<const uint8_t> in, size_t base, size_t max_output,
                                       std::string* out) {
    while (!in.empty()) {
      if (in.size() < 4) return Malformed("snappy", "truncated xerial block length");
      const int32_t len = LoadBE<int32_t>(in.data());
      if (len < 0 || static_cast<size_t>(len) > in.size() - 4) {
        return Malformed("snappy", "xerial block length out of range");
      }
      RETURN_IF_ERROR(DecompressRaw(in.subspan(4, len), base, max_output, out));
      in = in.subspan(4 + static_cast<size_t>(len));
    }
    return absl::OkStatus();
  }
};

class Lz4Codec final : public Codec {
 public:
  Compression type() const override { return Compression::kLz4; }

  absl::Status Compress(std::span<const uint8_t> in, std::string* out) const override {
    LZ4F_preferences_t prefs{};
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
    const size_t base = out->size();
    out->resize(base + LZ4F_compressFrameBound(in.size(), &prefs));
    const size_t n =
        LZ4F_compressFrame(out->data() + base, out->size() - base, in.data(), in.size(), &prefs);
    if (LZ4F_isError(n)) {
      out->resize(base);
      return absl::InternalError(absl::StrCat("lz4: ", LZ4F_getErrorName(n)));
    }
    out->resize(base + n);
    return absl::OkStatus();
  }

  absl::Status Decompress(std::span<const uint8_t> in, size_t max_output,
                          std::string* out) const override {
    LZ4F_dctx* dctx = nullptr;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION))) {
      return absl::InternalError("lz4: cannot create a decompression context");
    }
    std::unique_ptr<LZ4F_dctx, decltype(&LZ4F_freeDecompressionContext)> guard(
        dctx, &LZ4F_freeDecompressionContext);
    const size_t base = out->size();
    const uint8_t* src = in.data();
    size_t left = in.size();
    size_t hint = 1;  // 0 once the frame is fully decoded and flushed
    while (hint != 0) {
      if (out->size() - base == max_output) {
        out->resize(base);
        return TooLarge("lz4", max_output);
      }
      std::span<uint8_t> room = Grow(out, base, max_output, 64 << 10);
      size_t dst_size = room.size();
      size_t src_size = left;
      hint = LZ4F_decompress(dctx, room.data(), &dst_size, src, &src_size, nullptr);
      out->resize(out->size() - (room.size() - dst_size));
      if (LZ4F_isError(hint)) {
        out->resize(base);
        return Malformed("lz4", LZ4F_getErrorName(hint));
      }
      if (hint != 0 && src_size == 0 && dst_size == 0) {
        out->resize(base);
        return Malformed("lz4", "input ends inside the frame");
      }
      src += src_size;
      left -= src_size;
    }
    if (left != 0) {
      out->resize(base);
      return Malformed("lz4", "trailing bytes after the frame");
    }
    return absl::OkStatus();
  }
};

class ZstdCodec final : public Codec {
 public:
  Compression type() const override { return Compression::kZstd; }

  absl::Status Compress(std::span<const uint8_t> in, std::string* out) const override {
    const size_t base = out->size();
    out->resize(base + ZSTD_compressBound(in.size()));
    const size_t n = ZSTD_compress(out->data() + base, out->size() - base, in.data(), in.size(),
                                   ZSTD_CLEVEL_DEFAULT);
    if (ZSTD_isError(n)) {
      out->resize(base);
      return absl::InternalError(absl::StrCat("zstd: ", ZSTD_getErrorName(n)));
    }
    out->resize(base + n);
    return absl::OkStatus();
  }

  absl::Status Decompress(std::span<const uint8_t> in, size_t max_output,
                          std::string* out) const override {
    std::unique_ptr<ZSTD_DStream, decltype(&ZSTD_freeDStream)> ds(ZSTD_createDStream(),
                                                                  &ZSTD_freeDStream);
    if (ds == nullptr) return absl::InternalError("zstd: cannot create a stream");
    const size_t base = out->size();
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    size_t rc = 1;
    // rc == 0: a frame is complete and fully flushed.
    while (input.pos < input.size || rc != 0) {
      if (out->size() - base == max_output) {
        out->resize(base);
        return TooLarge("zstd", max_output);
      }
      std::span<uint8_t> room = Grow(out, base, max_output, ZSTD_DStreamOutSize());
      ZSTD_outBuffer output{room.data(), room.size(), 0};
      const size_t before = input.pos;
      rc = ZSTD_decompressStream(ds.get(), &output, &input);
      out->resize(out->size() - (room.size() - output.pos));
      if (ZSTD_isError(rc)) {
        out->resize(base);
        return Malformed("zstd", ZSTD_getErrorName(rc));
      }
      if (rc != 0 && input.pos == input.size && before == input.pos && output.pos == 0) {
        out->resize(base);
        return Malformed("zstd", "input ends inside a frame");
      }
    }
    return absl::OkStatus();
  }
};

}  // namespace

const Codec& CodecFor(Compression type) {
  static const GzipCodec gzip;
  static const SnappyCodec snappy;
  static const Lz4Codec lz4;
  static const ZstdCodec zstd;
  switch (type) {
    case Compression::kGzip:
      return gzip;
    case Compression::kSnappy:
      return snappy;
    case Compression::kLz4:
      return lz4;
    case Compression::kZstd:
      return zstd;
    case Compression::kNone:
      break;
  }
  SAMSA_CHECK(false) << "no codec for compression " << static_cast<int>(type);
  __builtin_unreachable();
}

std::string_view CompressionName(Compression type) {
  switch (type) {
    case Compression::kNone:
      return "none";
    case Compression::kGzip:
      return "gzip";
    case Compression::kSnappy:
      return "snappy";
    case Compression::kLz4:
      return "lz4";
    case Compression::kZstd:
      return "zstd";
  }
  return "unknown";
}

absl::StatusOr<Compression> ParseCompression(std::string_view name) {
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kSnappy,
                        Compression::kLz4, Compression::kZstd}) {
    if (CompressionName(c) == name) return c;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown compression '", ToAbsl(name),
                                                 "' (expected none, gzip, snappy, lz4 or zstd)"));
}

}  // namespace samsa::storage

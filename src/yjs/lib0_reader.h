// The lib0 encoding Yjs updates are written in (private to src/yjs/): variable-length
// integers, strings (fatal UTF-8, as lib0's decoder), byte arrays, and writeAny values, read
// with bounds and depth checks. Malformed input throws DecodeError; nesting past the depth
// limit throws TooDeep; Document turns both into errors.
#pragma once

#include <array>
#include <bit>
#include <boost/json.hpp>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/text.h"

namespace lbmirror::yjs {

namespace json = boost::json;

struct DecodeError {
  std::string message;
};

[[noreturn]] inline void Fail(std::string message) { throw DecodeError{std::move(message)}; }

// Thrown past the depth limit, by the decoder (nested values) and the views (nested types).
struct TooDeep {
  int limit;
};
[[noreturn]] inline void FailTooDeep(int limit) { throw TooDeep{limit}; }

class Reader {
 public:
  Reader(std::string_view data, int max_depth) : data_(data), max_depth_(max_depth) {}

  size_t offset() const { return pos_; }
  bool done() const { return pos_ >= data_.size(); }

  uint8_t Byte() {
    if (pos_ >= data_.size()) Fail(Cat("unexpected end of update at byte ", pos_));
    return static_cast<uint8_t>(data_[pos_++]);
  }

  uint64_t VarUint() {
    uint64_t value = 0;
    for (int shift = 0;; shift += 7) {
      uint8_t b = Byte();
      if (shift > 49) Fail(Cat("variable-length integer too long at byte ", pos_));
      value |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (b < 0x80) return value;
    }
  }

  int64_t VarInt() {
    uint8_t b = Byte();
    uint64_t value = b & 0x3F;
    bool negative = (b & 0x40) != 0;
    for (int shift = 6; b & 0x80; shift += 7) {
      b = Byte();
      if (shift > 49) Fail(Cat("variable-length integer too long at byte ", pos_));
      value |= static_cast<uint64_t>(b & 0x7F) << shift;
    }
    return negative ? -static_cast<int64_t>(value) : static_cast<int64_t>(value);
  }

  std::string_view Bytes() {
    uint64_t length = VarUint();
    if (length > data_.size() - pos_) Fail(Cat("length ", length, " past the end at byte ", pos_));
    std::string_view out = data_.substr(pos_, length);
    pos_ += length;
    return out;
  }
  // lib0's readVarString decodes with a fatal UTF-8 decoder: yjs refuses such updates too.
  std::string String() {
    size_t start = pos_;
    std::string_view bytes = Bytes();
    if (!IsValidUtf8(bytes)) Fail(Cat("invalid UTF-8 in the string at byte ", start));
    return std::string(bytes);
  }

  template <size_t N>
  std::array<uint8_t, N> Fixed() {
    std::array<uint8_t, N> out;
    for (auto& b : out) b = Byte();
    return out;
  }

  // NaN and the infinities have no JSON form: null, as JSON.stringify writes them.
  static json::value Number(double value) {
    if (!std::isfinite(value)) return nullptr;
    return value;
  }

  // lib0's writeAny format.
  json::value Any(int depth = 0) {
    if (depth > max_depth_) FailTooDeep(max_depth_);
    uint8_t type = Byte();
    switch (type) {
      case 127:  // undefined
      case 126:
        return nullptr;
      case 125:
        return VarInt();
      case 124: {
        auto b = Fixed<4>();
        uint32_t bits =
            (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | b[3];
        return Number(static_cast<double>(std::bit_cast<float>(bits)));
      }
      case 123: {
        auto b = Fixed<8>();
        uint64_t bits = 0;
        for (uint8_t x : b) bits = (bits << 8) | x;
        return Number(std::bit_cast<double>(bits));
      }
      case 122: {
        auto b = Fixed<8>();
        uint64_t bits = 0;
        for (uint8_t x : b) bits = (bits << 8) | x;
        return static_cast<int64_t>(bits);
      }
      case 121:
        return false;
      case 120:
        return true;
      case 119:
        return json::string(String());
      case 118: {
        uint64_t count = VarUint();
        json::object object;
        for (uint64_t i = 0; i < count; ++i) {
          std::string key = String();
          object[key] = Any(depth + 1);
        }
        return object;
      }
      case 117: {
        uint64_t count = VarUint();
        if (count > data_.size() - pos_) Fail("array length past the end");
        json::array array;
        for (uint64_t i = 0; i < count; ++i) array.push_back(Any(depth + 1));
        return array;
      }
      case 116:
        return json::object{{"$binary", Base64Encode(Bytes())}};
      default:
        Fail(Cat("unknown value type ", int(type), " at byte ", pos_ - 1));
    }
  }

  json::value JsonText() {
    std::string text = String();
    if (text == "undefined") return nullptr;
    boost::system::error_code ec;
    json::parse_options options;
    options.max_depth = static_cast<size_t>(max_depth_);
    json::value value = json::parse(text, ec, {}, options);
    if (ec == json::error::too_deep) FailTooDeep(max_depth_);
    if (ec) Fail(Cat("invalid JSON content at byte ", pos_));
    return value;
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
  int max_depth_;
};

}  // namespace lbmirror::yjs

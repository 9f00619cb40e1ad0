// The lib0 reader, table-driven on bytes written out by hand from lib0's encoding: unsigned
// and signed variable-length integers at their edges, strings and their UTF-8 check, and every
// writeAny type, with the errors of truncated and malformed input.
#include "yjs/lib0_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lbmirror::yjs {
namespace {

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out += static_cast<char>(b);
  return out;
}

struct UintCase {
  std::string bytes;
  uint64_t value;
};

TEST(Lib0ReaderTest, ReadsUnsignedVariableLengthIntegers) {
  const UintCase cases[] = {
      {Bytes({0x00}), 0},
      {Bytes({0x7F}), 127},
      {Bytes({0x80, 0x01}), 128},
      {Bytes({0xFF, 0x7F}), 16383},
      {Bytes({0x80, 0x80, 0x01}), 16384},
      {Bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x0F}), 4294967295u},
      {Bytes({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F}), (uint64_t{1} << 56) - 1},
  };
  for (const UintCase& c : cases) {
    Reader reader(c.bytes, 10);
    EXPECT_EQ(reader.VarUint(), c.value);
    EXPECT_TRUE(reader.done());
  }
}

TEST(Lib0ReaderTest, ReadsSignedVariableLengthIntegers) {
  // The first byte: bit 7 continues, bit 6 is the sign, bits 0-5 the lowest value bits.
  const std::pair<std::string, int64_t> cases[] = {
      {Bytes({0x00}), 0},         {Bytes({0x01}), 1},        {Bytes({0x41}), -1},
      {Bytes({0x3F}), 63},        {Bytes({0x80, 0x01}), 64}, {Bytes({0xC0, 0x01}), -64},
      {Bytes({0xBF, 0x7F}), 8191}};
  for (const auto& [bytes, value] : cases) {
    Reader reader(bytes, 10);
    EXPECT_EQ(reader.VarInt(), value);
  }
}

TEST(Lib0ReaderTest, AnIntegerPastEightBytesOrTheEndIsAnError) {
  const std::string endless_bytes(12, '\xFF');
  Reader endless(endless_bytes, 10);
  try {
    endless.VarUint();
    ADD_FAILURE() << "no error";
  } catch (const DecodeError& e) {
    EXPECT_NE(e.message.find("too long"), std::string::npos) << e.message;
  }
  const std::string cut_bytes = Bytes({0x80});
  Reader cut(cut_bytes, 10);
  try {
    cut.VarUint();
    ADD_FAILURE() << "no error";
  } catch (const DecodeError& e) {
    EXPECT_NE(e.message.find("unexpected end"), std::string::npos) << e.message;
  }
}

TEST(Lib0ReaderTest, ReadsStringsAndRefusesInvalidUtf8OrALengthPastTheEnd) {
  const std::string text_bytes = Bytes({0x02, 'h', 'i', 0x04, 0xF0, 0x9F, 0x98, 0x80});
  Reader text(text_bytes, 10);
  EXPECT_EQ(text.String(), "hi");
  EXPECT_EQ(text.String(), "\xF0\x9F\x98\x80");
  const std::pair<std::string, std::string> bad[] = {
      {Bytes({0x01, 0xFF}), "invalid UTF-8"},
      {Bytes({0x05, 'a'}), "past the end"},
  };
  for (const auto& [bytes, error] : bad) {
    Reader reader(bytes, 10);
    try {
      reader.String();
      ADD_FAILURE() << "no error for " << error;
    } catch (const DecodeError& e) {
      EXPECT_NE(e.message.find(error), std::string::npos) << e.message;
    }
  }
}

TEST(Lib0ReaderTest, ReadsEveryWriteAnyType) {
  const std::pair<std::string, std::string> cases[] = {
      {Bytes({127}), "null"},  // undefined
      {Bytes({126}), "null"},
      {Bytes({125, 0x41}), "-1"},
      {Bytes({124, 0x3F, 0xC0, 0x00, 0x00}), "1.5E0"},  // float32 1.5
      {Bytes({123, 0x40, 0x09, 0x21, 0xFB, 0x54, 0x44, 0x2D, 0x18}), "3.141592653589793E0"},
      {Bytes({123, 0x7F, 0xF8, 0, 0, 0, 0, 0, 0}), "null"},  // NaN has no JSON form
      {Bytes({122, 0, 0, 0, 0, 0, 0, 0x01, 0x00}), "256"},   // bigint
      {Bytes({121}), "false"},
      {Bytes({120}), "true"},
      {Bytes({119, 0x01, 'a'}), "\"a\""},
      {Bytes({118, 0x01, 0x01, 'k', 120}), "{\"k\":true}"},
      {Bytes({117, 0x02, 120, 121}), "[true,false]"},
      {Bytes({116, 0x02, 0x00, 0xFF}), "{\"$binary\":\"AP8=\"}"},
  };
  for (const auto& [bytes, expected] : cases) {
    Reader reader(bytes, 10);
    EXPECT_EQ(json::serialize(reader.Any()), expected);
    EXPECT_TRUE(reader.done());
  }
}

TEST(Lib0ReaderTest, AnyValuesNestedPastTheLimitOrOfAnUnknownTypeAreErrors) {
  // [[[true]]] with a limit of 2.
  const std::string deep_bytes = Bytes({117, 0x01, 117, 0x01, 117, 0x01, 120});
  Reader deep(deep_bytes, 2);
  EXPECT_THROW(deep.Any(), TooDeep);
  const std::string unknown_bytes = Bytes({42});
  Reader unknown(unknown_bytes, 10);
  try {
    unknown.Any();
    ADD_FAILURE() << "no error";
  } catch (const DecodeError& e) {
    EXPECT_NE(e.message.find("unknown value type 42"), std::string::npos) << e.message;
  }
  // An array claiming more elements than bytes are left.
  const std::string longer_bytes = Bytes({117, 0x7F});
  Reader longer(longer_bytes, 10);
  EXPECT_THROW(longer.Any(), DecodeError);
}

}  // namespace
}  // namespace lbmirror::yjs

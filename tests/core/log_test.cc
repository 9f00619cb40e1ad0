#include "core/log.h"

#include <gtest/gtest.h>

#include <string>

namespace lbmirror::log {
namespace {

size_t Count(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t pos = 0; (pos = text.find(what, pos)) != std::string::npos; pos += what.size())
    ++count;
  return count;
}

// A fault that repeats thousands of times a second (accept failing, a database refusing every
// write) must not fill the disk: identical lines are written once per interval.
TEST(LogTest, RepeatedIdenticalLinesAreWrittenOncePerInterval) {
  testing::internal::CaptureStderr();
  for (int i = 0; i < 1000; ++i) Warn("accept failed: Too many open files (test)");
  for (int i = 0; i < 3; ++i) Warn("a different line " + std::to_string(i));
  std::string written = testing::internal::GetCapturedStderr();
  EXPECT_EQ(Count(written, "accept failed: Too many open files (test)"), 1u) << written;
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(Count(written, "a different line " + std::to_string(i)), 1u);
}

}  // namespace
}  // namespace lbmirror::log

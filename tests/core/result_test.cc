#include "core/result.h"

#include <gtest/gtest.h>

namespace lbmirror {
namespace {

Result<int> Half(int value) {
  if (value % 2 != 0) return InvalidArgument("odd");
  return value / 2;
}

Status Chain(int value) {
  LBMIRROR_RETURN_IF_ERROR(Half(value));
  return Ok();
}

TEST(ResultTest, HoldsValueOrError) {
  Result<int> good = Half(4);
  ASSERT_TRUE(good.has_value());
  EXPECT_EQ(*good, 2);
  Result<int> bad = Half(3);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message(), "odd");
}

TEST(ResultTest, ReturnIfErrorPropagates) {
  EXPECT_TRUE(Chain(2).has_value());
  Status status = Chain(1);
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().message(), "odd");
}

TEST(ResultTest, ContextKeepsCodeAndRetryability) {
  Error error = Unavailable("down", 2006).WithContext("writing");
  EXPECT_EQ(error.message(), "writing: down");
  EXPECT_TRUE(error.retryable());
  EXPECT_EQ(error.native(), 2006);
  EXPECT_EQ(error.ToString(), "unavailable: writing: down");
}

}  // namespace
}  // namespace lbmirror

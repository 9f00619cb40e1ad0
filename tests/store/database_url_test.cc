#include "store/database_url.h"

#include <gtest/gtest.h>

namespace lbmirror::store {
namespace {

TEST(DatabaseUrlTest, DefaultsToALocalSqliteFile) {
  auto config = ParseDatabaseUrl("");
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(config->backend, DatabaseConfig::Backend::kSqlite);
  EXPECT_EQ(config->sqlite_path, "lbmirror.db");
}

TEST(DatabaseUrlTest, ParsesSqliteForms) {
  EXPECT_EQ(ParseDatabaseUrl("sqlite:data/m.db")->sqlite_path, "data/m.db");
  EXPECT_EQ(ParseDatabaseUrl("sqlite:///var/lib/m.db")->sqlite_path, "/var/lib/m.db");
  EXPECT_EQ(ParseDatabaseUrl("sqlite::memory:")->sqlite_path, ":memory:");
  EXPECT_FALSE(ParseDatabaseUrl("sqlite:").has_value());
}

TEST(DatabaseUrlTest, ParsesAPlanetScaleUrlWithVerificationByDefault) {
  auto config =
      ParseDatabaseUrl("mysql://user_1:pscale_pw_abc@aws.connect.psdb.cloud/mydb?sslaccept=strict");
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(config->backend, DatabaseConfig::Backend::kMysql);
  EXPECT_EQ(config->host, "aws.connect.psdb.cloud");
  EXPECT_EQ(config->port, 3306);
  EXPECT_EQ(config->user, "user_1");
  EXPECT_EQ(config->password, "pscale_pw_abc");
  EXPECT_EQ(config->database, "mydb");
  EXPECT_EQ(config->tls, TlsMode::kVerifyIdentity);
  auto plain = ParseDatabaseUrl("mysql://u:p@db.example.com/x");
  EXPECT_EQ(plain->tls, TlsMode::kVerifyIdentity);
}

TEST(DatabaseUrlTest, LoopbackDefaultsToPlaintextUnlessAsked) {
  EXPECT_EQ(ParseDatabaseUrl("mysql://u:p@127.0.0.1:13306/x")->tls, TlsMode::kDisabled);
  EXPECT_EQ(ParseDatabaseUrl("mysql://u:p@localhost/x")->tls, TlsMode::kDisabled);
  EXPECT_EQ(ParseDatabaseUrl("mysql://u:p@127.0.0.1/x?sslmode=VERIFY_IDENTITY")->tls,
            TlsMode::kVerifyIdentity);
}

TEST(DatabaseUrlTest, MapsEveryTlsSpelling) {
  EXPECT_EQ(ParseDatabaseUrl("mysql://u:p@h/x?sslmode=disabled")->tls, TlsMode::kDisabled);
  EXPECT_EQ(ParseDatabaseUrl("mysql://u:p@h/x?ssl-mode=REQUIRED")->tls, TlsMode::kRequired);
  EXPECT_EQ(ParseDatabaseUrl("mysql://u:p@h/x?sslmode=verify_ca")->tls, TlsMode::kVerifyCa);
  EXPECT_EQ(ParseDatabaseUrl("mysql://u:p@h/x?tls=true")->tls, TlsMode::kVerifyIdentity);
  EXPECT_EQ(ParseDatabaseUrl("mysql://u:p@h/x?ssl=%7B%22rejectUnauthorized%22%3Atrue%7D")->tls,
            TlsMode::kVerifyIdentity);
  auto ca = ParseDatabaseUrl(
      "mysql://u:p@h/x?sslmode=verify_identity&sslca=/etc/ssl/certs/ca-certificates.crt");
  EXPECT_EQ(ca->ca_file, "/etc/ssl/certs/ca-certificates.crt");
  EXPECT_FALSE(ParseDatabaseUrl("mysql://u:p@h/x?sslmode=sometimes").has_value());
}

TEST(DatabaseUrlTest, PercentDecodesCredentialsAndReadsPortAndIpv6) {
  auto config = ParseDatabaseUrl("mariadb://us%40er:p%3Ass%2Fw@[::1]:3307/d%20b");
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(config->user, "us@er");
  EXPECT_EQ(config->password, "p:ss/w");
  EXPECT_EQ(config->host, "::1");
  EXPECT_EQ(config->port, 3307);
  EXPECT_EQ(config->database, "d b");
}

TEST(DatabaseUrlTest, RejectsMalformedUrlsWithClearMessages) {
  EXPECT_FALSE(ParseDatabaseUrl("postgres://u:p@h/x").has_value());
  EXPECT_FALSE(ParseDatabaseUrl("mysql://u:p@h:99999/x").has_value());
  EXPECT_FALSE(ParseDatabaseUrl("mysql://u:p@h:abc/x").has_value());
  EXPECT_FALSE(ParseDatabaseUrl("mysql://u:p@h").has_value());
  EXPECT_FALSE(ParseDatabaseUrl("mysql://u:p@h/x?bogus=1").has_value());
}

TEST(DatabaseUrlTest, RedactedFormNeverShowsThePassword) {
  auto config = ParseDatabaseUrl("mysql://user:s3cr3t-pw@db.example.com/x");
  ASSERT_TRUE(config.has_value());
  std::string redacted = config->Redacted();
  EXPECT_EQ(redacted.find("s3cr3t-pw"), std::string::npos);
  EXPECT_EQ(redacted, "mysql://user:***@db.example.com:3306/x?sslmode=verify_identity");
  auto bad = ParseDatabaseUrl("mysql://user:s3cr3t-pw@h:0/x");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message().find("s3cr3t-pw"), std::string::npos);
}

}  // namespace
}  // namespace lbmirror::store

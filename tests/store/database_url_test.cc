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
  auto unknown = ParseDatabaseUrl("redis://u:p@h/x");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().message(),
            "DATABASE_URL must start with sqlite:, mysql:// or postgres://");
  EXPECT_FALSE(ParseDatabaseUrl("mysql://u:p@h:99999/x").has_value());
  EXPECT_FALSE(ParseDatabaseUrl("mysql://u:p@h:abc/x").has_value());
  EXPECT_FALSE(ParseDatabaseUrl("mysql://u:p@h").has_value());
  EXPECT_FALSE(ParseDatabaseUrl("mysql://u:p@h/x?bogus=1").has_value());
}

TEST(DatabaseUrlTest, ParsesSupabaseNeonAndPlanetScalePostgresUrlsAsCopied) {
  // Supabase's direct connection: prepared statements; TLS encrypted but not verified, with a
  // warning, since Supabase's CA is in no system bundle.
  auto supabase =
      ParseDatabaseUrl("postgresql://postgres:s%40cret@db.abcdefgh.supabase.co:5432/postgres");
  ASSERT_TRUE(supabase.has_value());
  EXPECT_EQ(supabase->backend, DatabaseConfig::Backend::kPostgres);
  EXPECT_EQ(supabase->host, "db.abcdefgh.supabase.co");
  EXPECT_EQ(supabase->port, 5432);
  EXPECT_EQ(supabase->user, "postgres");
  EXPECT_EQ(supabase->password, "s@cret");
  EXPECT_EQ(supabase->database, "postgres");
  EXPECT_EQ(supabase->tls, TlsMode::kRequired);
  EXPECT_NE(supabase->tls_warning.find("TLS to db.abcdefgh.supabase.co is encrypted but its "
                                       "certificate is not verified"),
            std::string::npos)
      << supabase->tls_warning;
  EXPECT_EQ(supabase->tls_warning.find("s@cret"), std::string::npos);
  EXPECT_NE(supabase->Redacted().find("sslmode=require"), std::string::npos);
  EXPECT_TRUE(supabase->prepared_statements);
  // Supabase's transaction pooler (port 6543): no prepared statements.
  auto pooler = ParseDatabaseUrl(
      "postgres://postgres.abcdefgh:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres");
  ASSERT_TRUE(pooler.has_value());
  EXPECT_FALSE(pooler->prepared_statements);
  EXPECT_EQ(pooler->user, "postgres.abcdefgh");
  EXPECT_EQ(pooler->tls, TlsMode::kRequired);
  // With Supabase's CA named, verify-full holds; a stated sslmode is taken as written, quietly.
  const std::pair<const char*, TlsMode> stated_modes[] = {
      {"?sslrootcert=/etc/supabase-ca.crt", TlsMode::kVerifyIdentity},
      {"?sslmode=verify-full", TlsMode::kVerifyIdentity},
      {"?sslmode=require", TlsMode::kRequired},
      {"?sslmode=disable", TlsMode::kDisabled}};
  for (const auto& [query, mode] : stated_modes) {
    auto stated = ParseDatabaseUrl(
        std::string("postgres://postgres:pw@db.abcdefgh.supabase.co:5432/postgres") + query);
    ASSERT_TRUE(stated.has_value()) << query;
    EXPECT_EQ(stated->tls_warning, "") << query;
    EXPECT_EQ(stated->tls, mode) << query;
  }
  EXPECT_EQ(ParseDatabaseUrl("postgres://u:p@db.x.supabase.co/d?sslrootcert=/ca.crt")->tls,
            TlsMode::kVerifyIdentity);
  // Only Supabase's own domains: a look-alike keeps verify-full.
  for (const char* host :
       {"supabase.co", "db.supabase.co.evil.example", "xsupabase.co", "db.example.com"}) {
    auto other = ParseDatabaseUrl(std::string("postgres://u:p@") + host + "/d");
    ASSERT_TRUE(other.has_value()) << host;
    EXPECT_EQ(other->tls, TlsMode::kVerifyIdentity) << host;
    EXPECT_EQ(other->tls_warning, "") << host;
  }
  EXPECT_EQ(ParseDatabaseUrl("mysql://u:p@db.x.supabase.co/d")->tls, TlsMode::kVerifyIdentity)
      << "a MySQL URL is not Supabase's";
  // Neon's pooled URL: sslmode=require relaxes verification, as asked; channel_binding is
  // libpq's and passed on; no port means 5432.
  auto neon = ParseDatabaseUrl(
      "postgresql://neondb_owner:npg_pw@ep-cool-rain-a5b6c7d8-pooler.us-east-2.aws.neon.tech/"
      "neondb?sslmode=require&channel_binding=require");
  ASSERT_TRUE(neon.has_value());
  EXPECT_EQ(neon->tls, TlsMode::kRequired);
  EXPECT_EQ(neon->port, 5432);
  EXPECT_FALSE(neon->prepared_statements);
  ASSERT_EQ(neon->options.size(), 1u);
  EXPECT_EQ(neon->options[0],
            std::make_pair(std::string("channel_binding"), std::string("require")));
  // Stated in the URL, the choice wins over the guess either way.
  EXPECT_TRUE(ParseDatabaseUrl("postgres://u:p@x.pooler.example.com/d?prepared_statements=true")
                  ->prepared_statements);
  EXPECT_FALSE(
      ParseDatabaseUrl("postgres://u:p@db.example.com/d?pgbouncer=true")->prepared_statements);
  // PlanetScale Postgres with a CA file and libpq parameters.
  auto planetscale = ParseDatabaseUrl(
      "postgres://pscale_api_x.y:pscale_pw@aws.connect.psdb.cloud:5432/postgres?sslmode=verify-full"
      "&sslrootcert=/etc/ssl/certs/ca-certificates.crt&connect_timeout=10"
      "&application_name=mirror&options=-c%20statement_timeout%3D60000");
  ASSERT_TRUE(planetscale.has_value());
  EXPECT_EQ(planetscale->tls, TlsMode::kVerifyIdentity);
  EXPECT_EQ(planetscale->ca_file, "/etc/ssl/certs/ca-certificates.crt");
  ASSERT_EQ(planetscale->options.size(), 3u);
  EXPECT_EQ(planetscale->options[2].second, "-c statement_timeout=60000");
}

TEST(DatabaseUrlTest, PostgresUnixSocketsAndLoopbackAndBadParameters) {
  auto socket = ParseDatabaseUrl("postgres://lb@/mirror?host=/var/run/postgresql&port=5433");
  ASSERT_TRUE(socket.has_value());
  EXPECT_EQ(socket->unix_socket, "/var/run/postgresql");
  EXPECT_EQ(socket->port, 5433);
  EXPECT_EQ(socket->tls, TlsMode::kDisabled);
  EXPECT_EQ(ParseDatabaseUrl("postgres://u:p@127.0.0.1:5432/x")->tls, TlsMode::kDisabled);
  EXPECT_EQ(ParseDatabaseUrl("postgres://u:p@127.0.0.1/x?sslmode=verify-full")->tls,
            TlsMode::kVerifyIdentity);
  auto bogus = ParseDatabaseUrl("postgres://u:p@h/x?bogus=1");
  ASSERT_FALSE(bogus.has_value());
  EXPECT_EQ(bogus.error().message(), "DATABASE_URL: unknown parameter \"bogus\"");
  EXPECT_FALSE(ParseDatabaseUrl("postgres://u:p@h/x?sslmode=maybe").has_value());
  EXPECT_FALSE(ParseDatabaseUrl("postgres://u:p@h/x?prepared_statements=perhaps").has_value());
  EXPECT_FALSE(ParseDatabaseUrl("postgres://u:p@h").has_value());
  EXPECT_EQ(ParseDatabaseUrl("postgres://u:secret-pw@db.example.com/x")->Redacted(),
            "postgres://u:***@db.example.com:5432/x?sslmode=verify-full");
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

// SqlConnection (store/sql/) over libpq (PostgreSQL: Supabase, Neon, Vercel Postgres, PlanetScale
// Postgres, and the poolers in front of them). The store's "?" placeholders become $1, $2...;
// values travel as text (blobs as binary bytea). What the session's settings would change is fixed
// here instead, so that a transaction-mode pooler (which may hand each transaction another
// server session) changes nothing: timestamps sent without a zone are UTC, and timestamptz
// results come back as UTC text "YYYY-MM-DD HH:MM:SS.mmm", like MySQL's DATETIME(3); bytea
// results come back as raw bytes, booleans as 1 and 0. Statements are prepared once per
// connection by name, or, where the pooler does not keep them (config.prepared_statements
// false), sent unnamed each time. TLS as configured: verify-full against the system CA bundle
// unless the URL says otherwise. One thread at a time per connection.
#pragma once

#include <memory>

#include "store/database_url.h"
#include "store/sql/sql_connection.h"

namespace lbmirror::store::postgres {

// Opens a connection; connection errors are retryable, configuration errors (bad password,
// TLS verification failure) are not.
Result<std::unique_ptr<sql::SqlConnection>> OpenPostgresConnection(const DatabaseConfig& config);

// "?" placeholders outside quoted text and comments numbered $1, $2... (exposed for tests).
std::string NumberPlaceholders(std::string_view sql, int* count);

// A timestamptz value as PostgreSQL prints it ("2026-01-02 03:04:05.678+01", any zone, any
// fraction) as UTC "2026-01-02 02:04:05.678"; nullopt when it is not one (exposed for tests).
std::optional<std::string> UtcTimestampText(std::string_view value);

}  // namespace lbmirror::store::postgres

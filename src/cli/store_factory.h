// Opens the Store named by DATABASE_URL: the only place that names concrete backends.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "store/sql/row_writer.h"
#include "store/store.h"

namespace lbmirror::cli {

// `pool_size` is the number of MySQL connections (SQLite always uses one writer connection).
// `change_reason`: with the change feed on, the cause of reads no stored webhook explains
// ("reconciliation", "backfill"); empty: the feed off.
Result<std::unique_ptr<store::Store>> OpenStore(const std::string& database_url,
                                                const std::string& table_prefix, int pool_size,
                                                const Clock& clock, bool hard_deletes = false,
                                                int64_t coalesce_ms = 0,
                                                store::sql::AfterEdit after_edit = {},
                                                const std::string& change_reason = "");

}  // namespace lbmirror::cli

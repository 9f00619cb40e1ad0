// A migrated SQLite store in a file of its own under the temporary folder, removed (with its
// -wal and -shm files) when it goes. For tests above the store that need a real one.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "store/sql/sql_store.h"
#include "store/sqlite/sqlite_connection.h"

namespace lbmirror {

class TempSqliteStore {
 public:
  // `name` tells the file apart from other tests' (the process id is added).
  TempSqliteStore(const std::string& name, const Clock& clock)
      : path_(std::filesystem::temp_directory_path() /
              ("lbmirror_" + name + "_" + std::to_string(getpid()) + ".db")) {
    std::string path = path_;
    store_ = std::make_unique<store::sql::SqlStore>(
        store::sql::Dialect::kSqlite, [path] { return store::sqlite::OpenSqliteConnection(path); },
        store::sql::SqlStoreOptions{"liveblocks_", 1}, clock);
    migrated_ = store_->Migrate().has_value();
  }
  ~TempSqliteStore() {
    store_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(path_.string() + suffix);
    }
  }
  TempSqliteStore(const TempSqliteStore&) = delete;
  TempSqliteStore& operator=(const TempSqliteStore&) = delete;

  bool migrated() const { return migrated_; }
  store::sql::SqlStore* get() const { return store_.get(); }
  store::sql::SqlStore* operator->() const { return store_.get(); }

 private:
  std::filesystem::path path_;
  std::unique_ptr<store::sql::SqlStore> store_;
  bool migrated_ = false;
};

}  // namespace lbmirror

// The /metrics page of `lbmirror serve`: the Prometheus text exposition of what the webhook
// handler, the REST client, the workers, reconciliation and retention count, and of the work
// queue read from the database at each scrape.
#pragma once

#include <string>

#include "admin/sources.h"

namespace lbmirror::admin {

// The whole page. Reads the queue through `sources.store` (one query). Thread-safe.
std::string RenderMetrics(const Sources& sources);

}  // namespace lbmirror::admin

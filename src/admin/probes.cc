#include "admin/probes.h"

#include <boost/json.hpp>
#include <chrono>

#include "core/text.h"

namespace lbmirror::admin {

namespace {
// /readyz answers 503 by then if the database has not: an orchestrator's probe waits about as
// long (Kubernetes' default is 1 s; the manifests in deploy/ give it 3 s).
constexpr std::chrono::milliseconds kReadinessTimeout{2'000};
}  // namespace

http::Response Readiness(store::SchemaAdmin& schema, int schema_version) {
  auto not_ready = [](const std::string& reason) {
    return http::Response::Json(503, boost::json::serialize(boost::json::object{
                                         {"status", "not ready"}, {"reason", reason}}));
  };
  if (Status ping = schema.Ping(); !ping) return not_ready("the database is unreachable");
  auto version = schema.SchemaVersion();
  if (!version || *version != schema_version) {
    return not_ready(Cat("the schema is at version ", version ? *version : -1,
                         ", this lbmirror needs ", schema_version));
  }
  return http::Response::Json(200, R"({"status":"ready"})");
}

void AddProbes(http::Router& router, Probes probes) {
  router.Add("GET", "/healthz",
             [](const http::Request&) { return http::Response::Json(200, R"({"status":"ok"})"); });
  router.AddBlocking(
      "GET", "/readyz",
      [schema = probes.schema, version = probes.schema_version](const http::Request&) {
        return Readiness(*schema, version);
      },
      kReadinessTimeout);
  router.AddBlocking("GET", "/metrics",
                     [page = std::move(probes.metrics_page)](const http::Request&) {
                       http::Response response;
                       response.status = 200;
                       response.content_type = "text/plain; version=0.0.4; charset=utf-8";
                       response.body = page();
                       return response;
                     });
}

}  // namespace lbmirror::admin

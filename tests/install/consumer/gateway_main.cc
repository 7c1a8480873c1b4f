// An outside project using the installed stormkv::gateway on the embedded store: one
// Alertmanager webhook through the Pipeline, one RemediationRequest out.
#include <stormkv/clock.h>
#include <stormkv/gateway/pipeline.h>
#include <stormkv/gateway/remediation_request.h>
#include <stormkv/memory_backend.h>

#include <cstdio>

int main() {
  auto clock = std::make_shared<stormkv::ManualClock>(1714564800000);
  stormkv::MemoryBackendOptions options;
  options.clock = clock;
  auto kv = stormkv::NewMemoryBackend(options).value();
  stormkv::Pipeline pipeline(*kv, clock);
  stormkv::IngestResult r = pipeline.Ingest(
      R"({"version":"4","alerts":[{"status":"firing","labels":{"alertname":"KubePodCrashLooping",)"
      R"("namespace":"shop","pod":"web-0","severity":"warning"}}]})");
  if (!r.status.ok() || r.requests.size() != 1) {
    std::fprintf(stderr, "ingest failed: %s\n", r.status.ToString().c_str());
    return 1;
  }
  std::printf("consumer ok: %s\n", stormkv::RemediationRequestToJson(r.requests[0]).c_str());
  return 0;
}

// tools/cli/ingest.h — `stormkv ingest FILE... | -`: replay captured Alertmanager webhooks or
// Kubernetes Events through the gateway Pipeline on a chosen backend.
//
// Output (stdout, one JSON object per line): first one line per decision, in order, each with the
// payload it came from ({"payload":"alerts.json","index":0,"outcome":"created",...}), then one
// line per RemediationRequest emitted, as the Kubernetes object the gateway would create.
// A short summary goes to stderr.
#ifndef STORMKV_TOOLS_CLI_INGEST_H_
#define STORMKV_TOOLS_CLI_INGEST_H_

#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backend_url.h"
#include "stormkv/gateway/layouts.h"
#include "stormkv/gateway/signal.h"
#include "stormkv/status.h"

namespace stormkv::cli {

struct IngestOptions {
  std::vector<std::string> inputs;     // file paths; "-" = stdin
  std::optional<SignalSource> format;  // nullopt = detect per payload
  BackendUrl backend;                  // default: memory
  Layout layout = Layout::kCompact;
  std::string prefix = "stormkv:";        // key prefix of the gateway state
  std::string client = "stormkv-ingest";  // rate-limit bucket
  bool rate_limit = true;
  // Pin the clock (ms since the epoch) instead of using the system clock; with `step_ms`, the
  // clock moves forward that much after each payload.
  std::optional<int64_t> now_ms;
  int64_t step_ms = 0;
  // Caps on each payload (--max-payload, --max-alerts); the defaults fit a 10,000-alert storm.
  AdapterLimits limits;
};

struct IngestSummary {
  int64_t payloads = 0;
  int64_t rejected_payloads = 0;  // not JSON, undetectable source, or refused by the adapter
  int64_t failed_payloads = 0;    // a backend error while processing
  int64_t decisions = 0;
  int64_t requests = 0;
  // Storms whose final request was emitted (closed when their window ended on the command's
  // clock: after each payload, and at the end of the input), and storms left open at the end
  // (system clock: their windows end after the command; a gateway's periodic close or a later
  // ingest on the same backend closes them).
  int64_t storms_closed = 0;
  int64_t storms_left_open = 0;
  std::map<std::string, int64_t> outcomes;  // outcome name -> count
};

// Parses --format: "auto" (nullopt), "alertmanager", "kubernetes-event" (also "k8s-event",
// "k8s", "event"). InvalidArgument otherwise.
Result<std::optional<SignalSource>> ParseIngestFormat(std::string_view text);

// Splits one input into payloads: the whole text when it is one JSON document, else one payload
// per non-empty line (JSON Lines, as captured by a logging proxy).
std::vector<std::string> SplitPayloads(std::string text);

// Runs every payload of every input through one Pipeline and writes the lines described above
// to `out`. Storms are closed (Pipeline::CloseDueStorms) after each payload on the command's
// clock; at the end of the input a pinned clock (--now) moves on to the last open storm's
// deadline, so every storm is closed and its final request written; with the system clock the
// storms still open are counted in storms_left_open. Failure: the backend cannot be opened (Unavailable/Timeout/InvalidArgument), an
// input cannot be read (InvalidArgument naming it), or the backend became unreachable.
Result<IngestSummary> RunIngest(const IngestOptions& options, std::ostream& out);

}  // namespace stormkv::cli

#endif  // STORMKV_TOOLS_CLI_INGEST_H_

// stormkv — command-line front end. Placeholder until the CLI issue lands.
#include <CLI/CLI.hpp>

#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{"stormkv: small, atomic, measured alert-gateway state"};
  app.require_subcommand(1);
  auto* simulate = app.add_subcommand("simulate", "Estimate the Redis memory an alert workload needs");
  std::string scenario = "integration";
  std::string budget = "256mb";
  bool compare = false;
  simulate->add_option("--scenario", scenario, "Workload scenario");
  simulate->add_option("--budget", budget, "Memory budget");
  simulate->add_flag("--compare-layouts", compare, "Compare storage layouts");
  CLI11_PARSE(app, argc, argv);
  std::cout << "stormkv simulate: not implemented yet (scenario " << scenario << ", budget " << budget
            << ")\n";
  return 0;
}

// Replays every seed-corpus and regression input of every fuzz target through the target's entry
// function, without libFuzzer, in every build: a crash found once stays fixed everywhere.
// Inputs live in tests/fuzz/corpus/<target>/ and tests/fuzz/regressions/<target>/.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_targets.h"
#include "sanitizer_options.h"

namespace stormkv::fuzz {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> Inputs(const std::string& target) {
  std::vector<fs::path> out;
  for (const char* kind : {"corpus", "regressions"}) {
    const fs::path dir = fs::path(STORMKV_FUZZ_DIR) / kind / target;
    if (!fs::is_directory(dir)) continue;
    for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
      if (e.is_regular_file() && e.path().filename().string()[0] != '.') out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

class FuzzRegressionTest : public ::testing::TestWithParam<FuzzTarget> {};

TEST_P(FuzzRegressionTest, ReplaysEveryCorpusAndRegressionInput) {
  const std::vector<fs::path> inputs = Inputs(GetParam().name);
  ASSERT_FALSE(inputs.empty()) << "no seed corpus for " << GetParam().name << " under "
                               << STORMKV_FUZZ_DIR;
  for (const fs::path& p : inputs) {
    std::ifstream in(p, std::ios::binary);
    ASSERT_TRUE(in) << p;
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // A broken property aborts the process; this line then names the input in the test log.
    std::fprintf(stderr, "%s\n", p.c_str());
    EXPECT_EQ(GetParam().entry(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), 0)
        << p;
  }
  std::printf("[ fuzz     ] %s: %zu inputs replayed\n", GetParam().name, inputs.size());
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzRegressionTest, ::testing::ValuesIn(kTargets),
                         [](const ::testing::TestParamInfo<FuzzTarget>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace stormkv::fuzz

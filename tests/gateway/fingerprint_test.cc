#include "stormkv/gateway/fingerprint.h"

#include <gtest/gtest.h>

namespace stormkv {
namespace {

// Expected digests computed with: printf '%s' 'HighMemoryUsage:production:Pod:api-server-7d9f' |
// sha256sum (and likewise for each line).
TEST(FingerprintTest, KnownVectors) {
  EXPECT_EQ(ComputeFingerprint("HighMemoryUsage", "production", {"Pod", "api-server-7d9f"}),
            "439738bf3e7ce3be4f784f00e75f006faefb295489cd7284b659a7be7e23998b");
  EXPECT_EQ(ComputeFingerprint("KubePodCrashLooping", "default", {"Deployment", "web"}),
            "4f8af6dd2b0a1c5d1841537ece4338c16ae4f8a3746bda1f92c3779d9ba48ea2");
  EXPECT_EQ(ComputeFingerprint("NodeDown", "", {"Node", "worker-3"}),
            "e1bd29cddc4716df6f93b4cd7c21e74e3dc73d153f0bbba55ee4ec19e08153f0");
  EXPECT_EQ(ComputeFingerprint("BackOff", "default", {"Pod", "web-1"}),
            "62e988a94058329b0d6a6da529f5b36866248d4c0104f09d01f9ee5e21d707a0");
  EXPECT_EQ(ComputeFingerprint("Orphan", "ns1", {}),
            "f00bcb19c3f2c9309cbb2896e9882c026505eae4992e7344819b81fc21a67762");
  EXPECT_EQ(ComputeFingerprint("DiskPressure", "monitoring", {"StatefulSet", "prometheus-k8s"}),
            "10205934015c156ce979ded25b22795e8d2c6eb58541c79b1be6716da4db99c1");
}

TEST(FingerprintTest, ResourceLabelPriority) {
  std::map<std::string, std::string> labels = {{"service", "svc"},   {"node", "n1"},
                                               {"daemonset", "ds"},  {"statefulset", "ss"},
                                               {"deployment", "dp"}, {"pod", "p"}};
  const std::pair<const char*, ResourceRef> expected[] = {
      {"pod", {"Pod", "p"}},
      {"deployment", {"Deployment", "dp"}},
      {"statefulset", {"StatefulSet", "ss"}},
      {"daemonset", {"DaemonSet", "ds"}},
      {"node", {"Node", "n1"}},
      {"service", {"Service", "svc"}},
  };
  for (const auto& [label, ref] : expected) {
    EXPECT_EQ(ExtractAlertResource(labels), ref) << "with " << label << " first";
    labels.erase(label);
  }
  EXPECT_TRUE(ExtractAlertResource(labels).empty());
}

TEST(FingerprintTest, EmptyResourceLabelIsSkipped) {
  EXPECT_EQ(ExtractAlertResource({{"pod", ""}, {"node", "n1"}}), (ResourceRef{"Node", "n1"}));
}

TEST(FingerprintTest, DaemonSetAndServiceVectors) {
  EXPECT_EQ(ComputeFingerprint("A", "ns", ExtractAlertResource({{"daemonset", "ds"}})),
            "3285f245e948b846b1ac9c5bf9285307a68d3920a83e4d2503654390f1f4da28");
  EXPECT_EQ(ComputeFingerprint("A", "ns", ExtractAlertResource({{"service", "svc"}})),
            "c266c0fe11636e3d7052beb2212d3f426b90c054a01ec9c5ede2a1617f39c5c4");
}

TEST(FingerprintTest, RemediationRequestName) {
  EXPECT_EQ(
      RemediationRequestName("439738bf3e7ce3be4f784f00e75f006faefb295489cd7284b659a7be7e23998b"),
      "rr-439738bf3e7ce3be");
}

}  // namespace
}  // namespace stormkv

// keyring_locker_wipe_alloc.so and how libcurl is put on it. Each libcurl
// case runs in a fresh child process (threadsafe death tests re-execute the
// program): libcurl's allocator is chosen once per process.
#include "keyring_backend/http/curl_wipe_alloc.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "keyring_backend/http/curl_resources.h"
#include "wipe_alloc/keyring_locker_wipe_alloc.h"

namespace keyring_locker::http {
namespace {

using ::testing::HasSubstr;

class CurlWipeAllocTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

// The helper's own contract, through dlopen as the plugins reach it.
TEST_F(CurlWipeAllocTest, HelperBehavesLikeLibcAndCountsCalls) {
  void* lib = dlopen(KLK_WIPE_ALLOC_SO, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  ASSERT_NE(lib, nullptr) << dlerror();
  auto m = reinterpret_cast<void* (*)(size_t)>(dlsym(lib, "klk_wipe_malloc"));
  auto f = reinterpret_cast<void (*)(void*)>(dlsym(lib, "klk_wipe_free"));
  auto r = reinterpret_cast<void* (*)(void*, size_t)>(dlsym(lib, "klk_wipe_realloc"));
  auto s = reinterpret_cast<char* (*)(const char*)>(dlsym(lib, "klk_wipe_strdup"));
  auto c = reinterpret_cast<void* (*)(size_t, size_t)>(dlsym(lib, "klk_wipe_calloc"));
  auto calls = reinterpret_cast<unsigned long (*)()>(dlsym(lib, "klk_wipe_calls"));
  ASSERT_TRUE(m && f && r && s && c && calls);
  const unsigned long before = calls();

  char* p = static_cast<char*>(m(8));
  ASSERT_NE(p, nullptr);
  std::memcpy(p, "abcdefg", 8);
  char* same = static_cast<char*>(r(p, 4));  // a shrink keeps the block
  EXPECT_EQ(same, p);
  char* grown = static_cast<char*>(r(p, 4096));  // a grow moves the data
  ASSERT_NE(grown, nullptr);
  EXPECT_EQ(std::memcmp(grown, "abcd", 4), 0);
  grown[4095] = 'z';
  EXPECT_EQ(r(grown, 0), nullptr);  // frees, as glibc's realloc(p, 0)

  char* fresh = static_cast<char*>(r(nullptr, 16));
  ASSERT_NE(fresh, nullptr);
  f(fresh);
  char* dup = s("hvs.not-a-token");
  ASSERT_NE(dup, nullptr);
  EXPECT_STREQ(dup, "hvs.not-a-token");
  f(dup);
  unsigned char* zero = static_cast<unsigned char*>(c(64, 4));
  ASSERT_NE(zero, nullptr);
  for (int i = 0; i < 256; ++i) ASSERT_EQ(zero[i], 0) << i;
  f(zero);
  f(nullptr);
  EXPECT_EQ(calls() - before, 11u);
}

// Exits 0 when libcurl allocates through the helper, 1 when it does not.
[[noreturn]] void ExitWithCurlUsingHelper() {
  void* lib = dlopen(KLK_WIPE_ALLOC_SONAME, RTLD_NOW | RTLD_NOLOAD);
  if (lib == nullptr) std::_Exit(3);  // CurlGlobalInitWiping must have loaded it
  auto calls = reinterpret_cast<unsigned long (*)()>(dlsym(lib, "klk_wipe_calls"));
  const unsigned long before = calls();
  CURL* h = curl_easy_init();
  curl_easy_setopt(h, CURLOPT_URL, "https://127.0.0.1:1/v1/secret");
  curl_easy_cleanup(h);
  std::_Exit(calls() > before ? 0 : 1);
}

TEST_F(CurlWipeAllocTest, InstalledWhenKeyringLockerInitialisesLibcurlFirst) {
  EXPECT_EXIT(
      {
        std::string warning = "unset";
        if (CurlGlobalInitWiping(KLK_WIPE_ALLOC_SO, &warning) != CURLE_OK) std::_Exit(4);
        if (!warning.empty()) std::_Exit(5);
        ExitWithCurlUsingHelper();
      },
      ::testing::ExitedWithCode(0), "");
}

// The CLI and the test programs find the copy next to them in bin/.
TEST_F(CurlWipeAllocTest, EnsureCurlGlobalInitFindsTheHelperNextToTheProgram) {
  EXPECT_THAT(WipeAllocHelperPath(), ::testing::EndsWith("/" KLK_WIPE_ALLOC_SONAME));
  EXPECT_EXIT(
      {
        if (!EnsureCurlGlobalInit().ok()) std::_Exit(4);
        if (!CurlMemoryWarning().empty()) std::_Exit(5);
        ExitWithCurlUsingHelper();
      },
      ::testing::ExitedWithCode(0), "");
}

TEST_F(CurlWipeAllocTest, WarnsWhenLibcurlWasInitialisedByOtherCode) {
  EXPECT_EXIT(
      {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) std::_Exit(4);
        std::string warning;
        if (CurlGlobalInitWiping(KLK_WIPE_ALLOC_SO, &warning) != CURLE_OK) std::_Exit(5);
        std::fprintf(stderr, "%s\n", warning.c_str());
        ExitWithCurlUsingHelper();  // expected: exit 1, libcurl kept malloc
      },
      ::testing::ExitedWithCode(1), "initialised by other code in this process before keyring_locker.*token");
}

TEST_F(CurlWipeAllocTest, WarnsAndStillWorksWhenTheHelperIsMissing) {
  EXPECT_EXIT(
      {
        std::string warning;
        if (CurlGlobalInitWiping("/nonexistent/" KLK_WIPE_ALLOC_SONAME, &warning) != CURLE_OK) std::_Exit(4);
        std::fprintf(stderr, "%s\n", warning.c_str());
        CURL* h = curl_easy_init();
        if (h == nullptr) std::_Exit(5);
        curl_easy_cleanup(h);
        std::_Exit(dlopen(KLK_WIPE_ALLOC_SONAME, RTLD_NOW | RTLD_NOLOAD) == nullptr ? 0 : 6);
      },
      ::testing::ExitedWithCode(0),
      "cannot load /nonexistent/keyring_locker_wipe_alloc.so .*install keyring_locker_wipe_alloc.so.*same folder");
}

}  // namespace
}  // namespace keyring_locker::http

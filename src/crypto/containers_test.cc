#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "crypto/encoding.h"
#include "crypto/testing/test_util.h"
#include "crypto/x509.h"

namespace certvault::crypto {
namespace {

using test_util::EcKey;
using test_util::IssuedBy;
using test_util::RsaKey;
using test_util::SelfSigned;
using test_util::TestKey;
using ::testing::HasSubstr;

struct Chain {
  Certificate root, inter, leaf;
};

// root (RSA) -> intermediate (P-384) -> leaf (P-256, EcKey()).
const Chain& TestChain() {
  static const Chain chain = [] {
    const PrivateKey& inter_key = TestKey(KeyKind::kEc, 0, "P-384");
    Certificate root = SelfSigned(RsaKey(), "CN=Root", true);
    Certificate inter = IssuedBy(inter_key, "CN=Intermediate", root, RsaKey(), true);
    Certificate leaf = IssuedBy(EcKey(), "CN=leaf", inter, inter_key, false);
    return Chain{root, inter, leaf};
  }();
  return chain;
}

std::vector<std::string> Subjects(const std::vector<Certificate>& certs) {
  std::vector<std::string> out;
  for (const auto& c : certs) out.push_back(c.Subject());
  return out;
}

const std::vector<std::string> kOrdered = {"CN=leaf", "CN=Intermediate", "CN=Root"};

TEST(Pkcs12Test, RoundTripWithPassword) {
  const Chain& c = TestChain();
  auto pfx = BuildPkcs12(EcKey(), {c.root, c.leaf, c.inter}, "pa$$wörd");
  ASSERT_TRUE(pfx) << pfx.error().message();
  auto parsed = ParsePkcs12(*pfx, "pa$$wörd");
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(parsed->key.ToPkcs8Der(), EcKey().ToPkcs8Der());
  EXPECT_EQ(Subjects(parsed->certificates), kOrdered);
}

TEST(Pkcs12Test, RoundTripWithEmptyPassword) {
  const Chain& c = TestChain();
  auto pfx = BuildPkcs12(EcKey(), {c.leaf}, "");
  ASSERT_TRUE(pfx) << pfx.error().message();
  auto parsed = ParsePkcs12(*pfx, "");
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(Subjects(parsed->certificates), std::vector<std::string>{"CN=leaf"});
}

TEST(Pkcs12Test, WrongPasswordIsReportedAsSuch) {
  const Chain& c = TestChain();
  const std::string pfx = *BuildPkcs12(EcKey(), {c.leaf}, "right");
  for (const char* wrong : {"wrong", "", "Right"}) {
    auto r = ParsePkcs12(pfx, wrong);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), "BadParameter");
    EXPECT_THAT(r.error().message(), HasSubstr("password is wrong"));
  }
  EXPECT_FALSE(ParsePkcs12(*BuildPkcs12(EcKey(), {c.leaf}, ""), "nonempty"));
}

TEST(Pkcs12Test, MalformedDataIsReportedAsSuch) {
  const std::string pfx = *BuildPkcs12(EcKey(), {TestChain().leaf}, "pw");
  for (const std::string& input :
       {std::string(), std::string("garbage"), pfx.substr(0, pfx.size() / 2),
        TestChain().leaf.ToDer(), std::string(1000, '\x30')}) {
    auto r = ParsePkcs12(input, "pw");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), "BadParameter");
    EXPECT_THAT(r.error().message(), HasSubstr("malformed"));
  }
  // Flipping bytes anywhere never crashes; it fails one way or another.
  for (size_t i = 0; i < pfx.size(); i += 7) {
    std::string bad = pfx;
    bad[i] ^= 0x5a;
    auto r = ParsePkcs12(bad, "pw");
    if (!r) {
      EXPECT_EQ(r.error().code(), "BadParameter");
    }
  }
  EXPECT_FALSE(ParsePkcs12(pfx, std::string("p\0w", 3)));
}

TEST(Pkcs12Test, RefusesTooManyCertificates) {
  std::vector<Certificate> certs = {TestChain().leaf};
  for (int i = 0; i < 100; ++i) certs.push_back(TestChain().root);
  auto pfx = BuildPkcs12(EcKey(), certs, "");
  ASSERT_TRUE(pfx);
  auto r = ParsePkcs12(*pfx, "");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("too many certificates"));
}

TEST(Pkcs12Test, BuildNeedsCertificateMatchingKey) {
  auto r = BuildPkcs12(RsaKey(), {TestChain().leaf}, "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), "BadParameter");
  EXPECT_FALSE(BuildPkcs12(RsaKey(), {}, ""));
}

TEST(Pkcs12Test, OpensslReadsOurPfx) {
  if (!test_util::HaveOpensslCommand()) GTEST_SKIP() << "openssl command not found";
  const Chain& c = TestChain();
  test_util::ScratchDir dir;
  const std::string empty = dir.Write("empty.pfx", *BuildPkcs12(EcKey(), {c.leaf, c.inter}, ""));
  std::string out;
  ASSERT_EQ(test_util::RunCommand("openssl pkcs12 -info -nokeys -passin pass: -in " + empty, &out),
            0)
      << out;
  EXPECT_THAT(out, HasSubstr("MAC: sha256"));
  EXPECT_THAT(out, HasSubstr("AES-256-CBC"));
  EXPECT_THAT(out, HasSubstr("subject=CN = leaf"));
  EXPECT_THAT(out, HasSubstr("subject=CN = Intermediate"));

  const std::string with_pw = dir.Write("pw.pfx", *BuildPkcs12(EcKey(), {c.leaf}, "s3cret"));
  ASSERT_EQ(test_util::RunCommand("openssl pkcs12 -nodes -passin pass:s3cret -in " + with_pw +
                                      " -out " + dir.path() + "/out.pem",
                                  &out),
            0)
      << out;
  auto bundle = ParsePemBundle(dir.Read("out.pem"));
  ASSERT_TRUE(bundle) << bundle.error().message();
  ASSERT_TRUE(bundle->key);
  EXPECT_EQ(bundle->key->ToPkcs8Der(), EcKey().ToPkcs8Der());
  EXPECT_NE(test_util::RunCommand("openssl pkcs12 -info -nokeys -passin pass:nope -in " + with_pw),
            0);
}

TEST(Pkcs12Test, WeReadOpensslPfxFiles) {
  if (!test_util::HaveOpensslCommand()) GTEST_SKIP() << "openssl command not found";
  const Chain& c = TestChain();
  test_util::ScratchDir dir;
  const std::string key = dir.Write("key.pem", EcKey().ToPkcs8Pem());
  const std::string certs =
      dir.Write("certs.pem", c.leaf.ToPem() + c.root.ToPem() + c.inter.ToPem());
  struct Variant {
    std::string args, password;
  };
  for (const Variant& v : std::vector<Variant>{
           {"-passout pass:pw", "pw"},
           {"-passout pass:", ""},
           {"-passout pass:pw -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1", "pw"},
           {"-passout pass:pw -nomac", "pw"},
           {"-passout pass: -certpbe NONE -keypbe NONE -nomac", ""},
       }) {
    std::string out;
    const std::string pfx_file = dir.path() + "/out.pfx";
    ASSERT_EQ(test_util::RunCommand("openssl pkcs12 -export -inkey " + key + " -in " + certs +
                                        " -out " + pfx_file + " " + v.args,
                                    &out),
              0)
        << out;
    auto parsed = ParsePkcs12(dir.Read("out.pfx"), v.password);
    ASSERT_TRUE(parsed) << v.args << ": " << parsed.error().message();
    EXPECT_EQ(Subjects(parsed->certificates), kOrdered) << v.args;
    EXPECT_EQ(parsed->key.ToPkcs8Der(), EcKey().ToPkcs8Der());
  }
  // RC2 (the old Windows default) needs the legacy provider: a clear error, not a crash.
  std::string out;
  if (test_util::RunCommand("openssl pkcs12 -export -legacy -inkey " + key + " -in " + certs +
                                " -out " + dir.path() + "/legacy.pfx -passout pass:pw",
                            &out) == 0) {
    auto r = ParsePkcs12(dir.Read("legacy.pfx"), "pw");
    if (!r) {
      EXPECT_THAT(r.error().message(), HasSubstr("legacy"));
    }
  }
}

TEST(Pkcs12Test, RefusesExcessiveIterationCounts) {
  if (!test_util::HaveOpensslCommand()) GTEST_SKIP() << "openssl command not found";
  test_util::ScratchDir dir;
  const std::string key = dir.Write("key.pem", EcKey().ToPkcs8Pem());
  const std::string cert = dir.Write("cert.pem", TestChain().leaf.ToPem());
  std::string out;
  ASSERT_EQ(
      test_util::RunCommand("openssl pkcs12 -export -inkey " + key + " -in " + cert + " -out " +
                                dir.path() + "/slow.pfx -passout pass:pw -nomac -iter 2000000",
                            &out),
      0)
      << out;
  auto r = ParsePkcs12(dir.Read("slow.pfx"), "pw");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("iterations"));
}

TEST(PemBundleTest, AnyOrderOneKey) {
  const Chain& c = TestChain();
  auto bundle =
      ParsePemBundle(c.inter.ToPem() + "comment\n" + EcKey().ToPkcs8Pem() + c.leaf.ToPem() +
                     "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n"
                     "-----END EC PARAMETERS-----\n");
  ASSERT_TRUE(bundle) << bundle.error().message();
  ASSERT_TRUE(bundle->key);
  EXPECT_EQ(bundle->key->ToPkcs8Der(), EcKey().ToPkcs8Der());
  EXPECT_EQ(Subjects(bundle->certificates),
            (std::vector<std::string>{"CN=Intermediate", "CN=leaf"}));

  auto certs_only = ParsePemBundle(c.root.ToPem());
  ASSERT_TRUE(certs_only);
  EXPECT_FALSE(certs_only->key);
  auto key_only = ParsePemBundle(RsaKey().ToPkcs8Pem());
  ASSERT_TRUE(key_only);
  EXPECT_TRUE(key_only->certificates.empty());
}

TEST(PemBundleTest, RejectsTwoKeysEncryptedKeysAndBadBlocks) {
  auto r = ParsePemBundle(EcKey().ToPkcs8Pem() + RsaKey().ToPkcs8Pem());
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("more than one private key"));

  r = ParsePemBundle(
      "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("encrypted"));

  for (const std::string& input :
       {std::string(), std::string("nothing"),
        std::string("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
        std::string("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
        TestChain().leaf.ToPem() + "-----BEGIN CERTIFICATE-----\n"}) {
    r = ParsePemBundle(input);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), "BadParameter");
  }
}

}  // namespace
}  // namespace certvault::crypto

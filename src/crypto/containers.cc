// PEM bundles and PKCS#12 (PFX) files: a private key travelling with its certificate chain.

#include <openssl/err.h>
#include <openssl/pkcs12.h>

#include "crypto/internal/keys.h"
#include "crypto/internal/ossl.h"
#include "crypto/internal/pem.h"
#include "crypto/x509.h"

namespace certvault::crypto {

using internal::OsslPtr;

namespace {

// PBKDF iteration counts come from the (untrusted) file; without a cap one upload could pin a
// CPU for minutes. Real files use 2,000 to 600,000.
constexpr long kMaxIterations = 1'000'000;
constexpr long kMaxTotalIterations = 4'000'000;
constexpr int kMaxBagDepth = 4;
// A leaf and its chain; far more is not a certificate import.
constexpr size_t kMaxCertificates = 100;
// Iterations for the PFX files we write: OpenSSL's default is 2048, Java's 10000.
constexpr int kBuildIterations = 10'000;

Error Malformed(std::string_view what) {
  return internal::BadInputError("The PFX is malformed: " + std::string(what));
}

void FreeSafeBags(STACK_OF(PKCS12_SAFEBAG) * bags) {
  sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
}
void FreePkcs7s(STACK_OF(PKCS7) * p7s) { sk_PKCS7_pop_free(p7s, PKCS7_free); }
using SafeBagStackPtr = OsslPtr<STACK_OF(PKCS12_SAFEBAG), FreeSafeBags>;
using Pkcs7StackPtr = OsslPtr<STACK_OF(PKCS7), FreePkcs7s>;

template <typename T>
T* Unpack(const void* sequence, const ASN1_ITEM* item) {
  return static_cast<T*>(ASN1_item_unpack(static_cast<const ASN1_STRING*>(sequence), item));
}

// The state of one parse: the password in the form the MAC accepted and the work done so far.
class Pkcs12Reader {
 public:
  // `pass` (which must outlive the reader) in the form the MAC accepted; nullptr for "absent".
  void set_password(const char* pass, bool mac_verified) {
    pass_ = pass;
    mac_verified_ = mac_verified;
  }

  // Charges the iteration count of a password-based encryption `alg` against the budget.
  Status ChargePbe(const X509_ALGOR* alg) {
    const ASN1_OBJECT* oid = nullptr;
    int ptype = 0;
    const void* pval = nullptr;
    X509_ALGOR_get0(&oid, &ptype, &pval, alg);
    if (ptype != V_ASN1_SEQUENCE) return Fail(Malformed("encryption parameters are missing"));
    long iterations = -1;
    if (OBJ_obj2nid(oid) == NID_pbes2) {
      OsslPtr<PBE2PARAM, PBE2PARAM_free> pbe2(Unpack<PBE2PARAM>(pval, ASN1_ITEM_rptr(PBE2PARAM)));
      if (!pbe2) return Fail(Malformed("bad PBES2 parameters"));
      const ASN1_OBJECT* kdf_oid = nullptr;
      const void* kdf_val = nullptr;
      X509_ALGOR_get0(&kdf_oid, &ptype, &kdf_val, pbe2->keyfunc);
      if (OBJ_obj2nid(kdf_oid) != NID_id_pbkdf2 || ptype != V_ASN1_SEQUENCE) {
        return Fail(Error::BadParameter(
            "The PFX uses an unsupported key derivation function (only PBKDF2 is supported)"));
      }
      OsslPtr<PBKDF2PARAM, PBKDF2PARAM_free> kdf(
          Unpack<PBKDF2PARAM>(kdf_val, ASN1_ITEM_rptr(PBKDF2PARAM)));
      if (!kdf) return Fail(Malformed("bad PBKDF2 parameters"));
      iterations = ASN1_INTEGER_get(kdf->iter);
    } else {
      OsslPtr<PBEPARAM, PBEPARAM_free> pbe(Unpack<PBEPARAM>(pval, ASN1_ITEM_rptr(PBEPARAM)));
      if (!pbe) return Fail(Malformed("bad PBE parameters"));
      iterations = ASN1_INTEGER_get(pbe->iter);
    }
    return Charge(iterations);
  }

  Status Charge(long iterations) {
    internal::ClearErrors();
    if (iterations < 1 || iterations > kMaxIterations ||
        (spent_ += iterations) > kMaxTotalIterations) {
      return Fail(Error::BadParameter("The PFX uses too many key derivation iterations (at most " +
                                      std::to_string(kMaxIterations) + " are accepted)"));
    }
    return Ok();
  }

  Status ReadAuthSafe(PKCS7* p7) {
    SafeBagStackPtr bags;
    switch (OBJ_obj2nid(p7->type)) {
      case NID_pkcs7_data:
        bags.reset(PKCS12_unpack_p7data(p7));
        if (!bags) return Fail(Malformed("unreadable safe contents"));
        break;
      case NID_pkcs7_encrypted:
        if (p7->d.encrypted == nullptr || p7->d.encrypted->enc_data == nullptr) {
          return Fail(Malformed("encrypted contents without parameters"));
        }
        CV_RETURN_IF_ERROR(ChargePbe(p7->d.encrypted->enc_data->algorithm));
        bags.reset(PKCS12_unpack_p7encdata(p7, pass_, -1));
        if (!bags) return Fail(DecryptError("certificates"));
        break;
      default:
        return Fail(Error::BadParameter("The PFX uses public-key privacy mode (not supported)"));
    }
    return ReadBags(bags.get(), 0);
  }

  Status ReadBags(const STACK_OF(PKCS12_SAFEBAG) * bags, int depth) {
    if (depth > kMaxBagDepth) return Fail(Malformed("safe contents nested too deeply"));
    for (int i = 0; i < sk_PKCS12_SAFEBAG_num(bags); ++i) {
      const PKCS12_SAFEBAG* bag = sk_PKCS12_SAFEBAG_value(bags, i);
      switch (PKCS12_SAFEBAG_get_nid(bag)) {
        case NID_keyBag:
          CV_RETURN_IF_ERROR(AddKey(PKCS12_SAFEBAG_get0_p8inf(bag)));
          break;
        case NID_pkcs8ShroudedKeyBag: {
          const X509_ALGOR* alg = nullptr;
          const X509_SIG* sig = PKCS12_SAFEBAG_get0_pkcs8(bag);
          if (sig == nullptr) return Fail(Malformed("empty key bag"));
          X509_SIG_get0(sig, &alg, nullptr);
          CV_RETURN_IF_ERROR(ChargePbe(alg));
          OsslPtr<PKCS8_PRIV_KEY_INFO, PKCS8_PRIV_KEY_INFO_free> p8(
              PKCS12_decrypt_skey(bag, pass_, -1));
          if (!p8) return Fail(DecryptError("private key"));
          CV_RETURN_IF_ERROR(AddKey(p8.get()));
          break;
        }
        case NID_certBag: {
          if (PKCS12_SAFEBAG_get_bag_nid(bag) != NID_x509Certificate) break;
          if (certs_.size() >= kMaxCertificates) {
            return Fail(Error::BadParameter("The PFX holds too many certificates"));
          }
          X509* x509 = PKCS12_SAFEBAG_get1_cert(bag);
          if (x509 == nullptr) return Fail(Malformed("unreadable certificate"));
          auto cert = Certificate::Adopt(x509);
          if (!cert) return Fail(cert.error().WithContext("The PFX holds an unusable certificate"));
          certs_.push_back(*std::move(cert));
          break;
        }
        case NID_safeContentsBag:
          CV_RETURN_IF_ERROR(ReadBags(PKCS12_SAFEBAG_get0_safes(bag), depth + 1));
          break;
        default:  // CRLs, secrets: nothing Key Vault keeps
          break;
      }
    }
    return Ok();
  }

  std::optional<PrivateKey>& key() { return key_; }
  std::vector<Certificate>& certs() { return certs_; }

 private:
  Status AddKey(const PKCS8_PRIV_KEY_INFO* p8) {
    if (p8 == nullptr) return Fail(Malformed("empty key bag"));
    // Like PKCS12_parse, the first key wins; Key Vault keeps one key per certificate.
    if (key_) return Ok();
    EVP_PKEY* pkey = EVP_PKCS82PKEY(p8);
    if (pkey == nullptr) return Fail(Malformed("unreadable private key"));
    auto key = PrivateKey::Adopt(pkey);
    if (!key) return Fail(key.error().WithContext("The PFX private key"));
    key_ = *std::move(key);
    return Ok();
  }

  Error DecryptError(std::string_view what) {
    // A verified MAC proves the password, so only the algorithm can be at fault.
    if (mac_verified_) {
      return internal::BadInputError(
          "Cannot decrypt the PFX " + std::string(what) +
          ": unsupported legacy encryption (such as RC2 from older Windows exports); re-export "
          "it with AES-256");
    }
    return internal::BadInputError("Cannot decrypt the PFX " + std::string(what) +
                                   " (wrong password, or unsupported legacy encryption such as "
                                   "RC2; re-export it with AES-256)");
  }

  const char* pass_ = nullptr;
  bool mac_verified_ = false;
  long spent_ = 0;
  std::optional<PrivateKey> key_;
  std::vector<Certificate> certs_;
};

// Verifies the MAC and returns the password form it accepted: OpenSSL and Windows differ on
// whether an empty password is "" or absent, so both are tried for an empty one.
Result<const char*> CheckMac(PKCS12* p12, const std::string& password, Pkcs12Reader& reader) {
  if (!PKCS12_mac_present(p12)) return password.empty() ? nullptr : password.c_str();
  const ASN1_INTEGER* iter = nullptr;
  PKCS12_get0_mac(nullptr, nullptr, nullptr, &iter, p12);
  CV_RETURN_IF_ERROR(reader.Charge(iter == nullptr ? 1 : ASN1_INTEGER_get(iter)));
  auto verify = [&](const char* pass, int len) -> Result<bool> {
    internal::ClearErrors();
    if (PKCS12_verify_mac(p12, pass, len) == 1) return true;
    // A mismatch leaves the queue empty; anything queued means the MAC could not be computed.
    if (ERR_peek_error() != 0) {
      return Fail(internal::BadInputError("The PFX integrity check cannot be computed"));
    }
    return false;
  };
  if (password.empty()) {
    CV_ASSIGN_OR_RETURN(const bool absent_ok, verify(nullptr, 0));
    if (absent_ok) return nullptr;
    CV_ASSIGN_OR_RETURN(const bool empty_ok, verify("", 0));
    if (empty_ok) return "";
  } else {
    CV_ASSIGN_OR_RETURN(const bool ok, verify(password.c_str(), -1));
    if (ok) return password.c_str();
  }
  return Fail(Error::BadParameter("The PFX password is wrong (integrity check failed)"));
}

}  // namespace

Result<PemBundle> ParsePemBundle(std::string_view text) {
  CV_RETURN_IF_ERROR(internal::CheckInputSize(text, "PEM text"));
  CV_ASSIGN_OR_RETURN(const auto blocks, internal::ParsePemBlocks(text));
  PemBundle bundle;
  for (const auto& block : blocks) {
    if (block.label == "CERTIFICATE") {
      auto cert = Certificate::FromDer(block.der);
      if (!cert) {
        return Fail(cert.error().WithContext("certificate " +
                                             std::to_string(bundle.certificates.size() + 1)));
      }
      bundle.certificates.push_back(*std::move(cert));
      continue;
    }
    if (internal::IsEncryptedKeyLabel(block.label) ||
        (internal::IsPrivateKeyLabel(block.label) && block.encrypted)) {
      return Fail(Error::BadParameter(
          "the private key is encrypted; supply it unencrypted (for example with `openssl pkey`)"));
    }
    if (!internal::IsPrivateKeyLabel(block.label)) continue;  // e.g. "EC PARAMETERS"
    if (bundle.key)
      return Fail(Error::BadParameter("the PEM text holds more than one private key"));
    CV_ASSIGN_OR_RETURN(auto pkey, internal::DecodePrivateKeyBlock(block.label, block.der));
    CV_ASSIGN_OR_RETURN(bundle.key, PrivateKey::Adopt(pkey.release()));
  }
  if (!bundle.key && bundle.certificates.empty()) {
    return Fail(Error::BadParameter("no certificate or private key found in the PEM text"));
  }
  return bundle;
}

Result<Pkcs12Contents> ParsePkcs12(std::string_view der, std::string_view password) {
  CV_RETURN_IF_ERROR(internal::CheckInputSize(der, "The PFX"));
  const std::string pass(password);
  if (pass.find('\0') != std::string::npos) {
    return Fail(Error::BadParameter("the PFX password must not contain NUL characters"));
  }
  const unsigned char* p = internal::Bytes(der);
  internal::Pkcs12Ptr p12(d2i_PKCS12(nullptr, &p, static_cast<long>(der.size())));
  if (!p12) return Fail(Malformed("not a PKCS#12 structure"));

  Pkcs12Reader reader;
  CV_ASSIGN_OR_RETURN(const char* accepted, CheckMac(p12.get(), pass, reader));
  reader.set_password(accepted, PKCS12_mac_present(p12.get()) == 1);

  Pkcs7StackPtr safes(PKCS12_unpack_authsafes(p12.get()));
  if (!safes) return Fail(Malformed("unreadable contents"));
  for (int i = 0; i < sk_PKCS7_num(safes.get()); ++i) {
    CV_RETURN_IF_ERROR(reader.ReadAuthSafe(sk_PKCS7_value(safes.get(), i)));
  }
  if (!reader.key()) return Fail(Error::BadParameter("The PFX holds no private key"));
  if (reader.certs().empty()) return Fail(Error::BadParameter("The PFX holds no certificate"));
  auto chain = OrderChain(*reader.key(), std::move(reader.certs()));
  if (!chain) {
    return Fail(Error::BadParameter("no certificate in the PFX matches its private key"));
  }
  return Pkcs12Contents{*std::move(reader.key()), *std::move(chain)};
}

Result<std::string> BuildPkcs12(const PrivateKey& key, const std::vector<Certificate>& certs,
                                std::string_view password) {
  const std::string pass(password);
  if (pass.find('\0') != std::string::npos) {
    return Fail(Error::BadParameter("the PFX password must not contain NUL characters"));
  }
  const Certificate* leaf = nullptr;
  internal::X509StackPtr ca(sk_X509_new_null());
  if (!ca) return Fail(internal::InternalError("out of memory"));
  for (const auto& cert : certs) {
    if (leaf == nullptr && cert.MatchesKey(key)) {
      leaf = &cert;
      continue;
    }
    if (sk_X509_push(ca.get(), cert.get()) <= 0)
      return Fail(internal::InternalError("out of memory"));
    X509_up_ref(cert.get());
  }
  if (leaf == nullptr) {
    return Fail(Error::BadParameter("no certificate matches the private key"));
  }
  internal::Pkcs12Ptr p12(PKCS12_create_ex(
      pass.c_str(), /*name=*/nullptr, key.get(), leaf->get(), ca.get(), NID_aes_256_cbc,
      NID_aes_256_cbc, kBuildIterations, /*mac_iter=*/-1, /*keytype=*/0, nullptr, nullptr));
  // PKCS12_create's MAC would be SHA-1; set a SHA-256 one instead.
  if (!p12 || PKCS12_set_mac(p12.get(), pass.c_str(), -1, nullptr, 0, kBuildIterations,
                             EVP_sha256()) != 1) {
    return Fail(internal::InternalError("cannot build the PFX"));
  }
  unsigned char* out = nullptr;
  const int len = i2d_PKCS12(p12.get(), &out);
  if (len <= 0) return Fail(internal::InternalError("cannot encode the PFX"));
  std::string encoded(reinterpret_cast<char*>(out), static_cast<size_t>(len));
  OPENSSL_free(out);
  return encoded;
}

}  // namespace certvault::crypto

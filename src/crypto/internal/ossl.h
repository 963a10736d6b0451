#pragma once
// OpenSSL glue private to crypto/: owning pointers with the right free functions, and the one
// place where the OpenSSL error queue is turned into an Error.
//
// Every failure path that may have left entries on the thread's OpenSSL error queue must go
// through one of the *Error functions below (or ClearErrors()), so that a stale entry never
// leaks into the message of an unrelated later failure.

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace certvault::crypto::internal {

template <auto kFree>
struct OsslDeleter {
  template <typename T>
  void operator()(T* p) const {
    kFree(p);
  }
};
template <typename T, auto kFree>
using OsslPtr = std::unique_ptr<T, OsslDeleter<kFree>>;

using BioPtr = OsslPtr<BIO, BIO_free_all>;
using BignumPtr = OsslPtr<BIGNUM, BN_free>;
using EvpPkeyPtr = OsslPtr<EVP_PKEY, EVP_PKEY_free>;
using EvpPkeyCtxPtr = OsslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using EvpMdCtxPtr = OsslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using EvpCipherCtxPtr = OsslPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;
using EcdsaSigPtr = OsslPtr<ECDSA_SIG, ECDSA_SIG_free>;
using X509Ptr = OsslPtr<X509, X509_free>;
using X509ReqPtr = OsslPtr<X509_REQ, X509_REQ_free>;
using X509NamePtr = OsslPtr<X509_NAME, X509_NAME_free>;
using X509ExtensionPtr = OsslPtr<X509_EXTENSION, X509_EXTENSION_free>;
using Asn1ObjectPtr = OsslPtr<ASN1_OBJECT, ASN1_OBJECT_free>;
using Asn1IntegerPtr = OsslPtr<ASN1_INTEGER, ASN1_INTEGER_free>;
using Asn1OctetStringPtr = OsslPtr<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>;
using Pkcs12Ptr = OsslPtr<PKCS12, PKCS12_free>;
using GeneralNamesPtr = OsslPtr<GENERAL_NAMES, GENERAL_NAMES_free>;

// Frees a STACK_OF(X509_EXTENSION) and its elements.
void FreeExtensionStack(STACK_OF(X509_EXTENSION) * exts);
using ExtensionStackPtr = OsslPtr<STACK_OF(X509_EXTENSION), FreeExtensionStack>;
// Frees a STACK_OF(X509) and its elements.
void FreeX509Stack(STACK_OF(X509) * certs);
using X509StackPtr = OsslPtr<STACK_OF(X509), FreeX509Stack>;

// Empties this thread's OpenSSL error queue.
void ClearErrors();

// The reason of the most recent queued OpenSSL error ("" if none); empties the queue.
std::string TakeErrorReason();

// BadParameter("<what>: <openssl reason>") for untrusted input that OpenSSL rejected; empties
// the queue.
Error BadInputError(std::string_view what);
// Internal("<what>: <openssl reason>") for operations that should not fail on valid objects;
// empties the queue.
Error InternalError(std::string_view what);

// Aborts the process after printing `what` and the queued OpenSSL error. For broken invariants
// only (an encoder failing on an object we built, the OS RNG failing).
[[noreturn]] void Die(std::string_view what);

// Reads everything written to a memory BIO.
std::string BioContents(BIO* bio);

// A read-only memory BIO over `data`, which must outlive the BIO.
BioPtr ReadOnlyBio(std::string_view data);

// Parsers refuse inputs above this size before handing them to OpenSSL: certificates, keys,
// CSRs and PFX files are a few kilobytes, and OpenSSL's BIO and d2i lengths are ints and longs.
inline constexpr size_t kMaxInputBytes = 4 << 20;
Status CheckInputSize(std::string_view input, std::string_view what);

inline const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace certvault::crypto::internal

#include "crypto/internal/ossl.h"

#include <openssl/err.h>

#include <cstdio>
#include <cstdlib>

namespace certvault::crypto::internal {

void FreeExtensionStack(STACK_OF(X509_EXTENSION) * exts) {
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}

void FreeX509Stack(STACK_OF(X509) * certs) { sk_X509_pop_free(certs, X509_free); }

void ClearErrors() { ERR_clear_error(); }

std::string TakeErrorReason() {
  // The last error is the most specific one for decoder chains ("wrong tag" before the generic
  // "nested asn1 error" that callers push on the way out is less useful), so report the first
  // error that carries a reason string.
  std::string reason;
  unsigned long code = 0;
  while ((code = ERR_get_error()) != 0) {
    if (!reason.empty()) continue;
    const char* text = ERR_reason_error_string(code);
    if (text != nullptr) reason = text;
  }
  return reason;
}

namespace {

std::string WithReason(std::string_view what) {
  std::string message(what);
  const std::string reason = TakeErrorReason();
  if (!reason.empty()) {
    message += ": ";
    message += reason;
  }
  return message;
}

}  // namespace

Error BadInputError(std::string_view what) { return Error::BadParameter(WithReason(what)); }

Error InternalError(std::string_view what) { return Error::Internal(WithReason(what)); }

void Die(std::string_view what) {
  const std::string message = WithReason(what);
  std::fprintf(stderr, "certvault: fatal crypto error: %s\n", message.c_str());
  std::abort();
}

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  if (len <= 0 || data == nullptr) return {};
  return std::string(data, static_cast<size_t>(len));
}

Status CheckInputSize(std::string_view input, std::string_view what) {
  if (input.size() > kMaxInputBytes) {
    return Fail(Error::BadParameter(std::string(what) + " is too large"));
  }
  return Ok();
}

BioPtr ReadOnlyBio(std::string_view data) {
  // BIO_new_mem_buf takes an int length; callers bound their inputs well below that.
  BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!bio) Die("cannot allocate a memory BIO");
  return bio;
}

}  // namespace certvault::crypto::internal

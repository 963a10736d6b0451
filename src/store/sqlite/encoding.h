#pragma once
// How nested model fields are stored in SQLite columns. Everything round-trips exactly: a record
// read back equals the record written.
//
// Attributes, tags, contacts, issuer parameters, issuer administrators and job attempts are JSON
// text with every field; the policy is the project's JSON form (model::PolicyToJson), with the
// fields that form leaves out for the key type kept as well; a certificate chain is a BLOB of
// (4-byte big-endian length, DER) entries.
// Encoders fail with BadParameter when a string is not UTF-8 (JSON cannot hold it); decoders fail
// with Internal when a column is corrupt.

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "model/types.h"

namespace certvault::store::sqlite {

std::string EncodeAttributes(const model::Attributes& a);
Result<model::Attributes> DecodeAttributes(std::string_view text);

Result<std::string> EncodeTags(const model::Tags& tags);
Result<model::Tags> DecodeTags(std::string_view text);

Result<std::string> EncodeIssuer(const model::IssuerParameters& issuer);
Result<model::IssuerParameters> DecodeIssuer(std::string_view text);

Result<std::string> EncodeContacts(const std::vector<model::Contact>& contacts);
Result<std::vector<model::Contact>> DecodeContacts(std::string_view text);

Result<std::string> EncodeAdmins(const std::vector<model::IssuerAdmin>& admins);
Result<std::vector<model::IssuerAdmin>> DecodeAdmins(std::string_view text);

Result<std::string> EncodeAttempts(const std::vector<model::JobAttempt>& attempts);
Result<std::vector<model::JobAttempt>> DecodeAttempts(std::string_view text);

Result<std::string> EncodePolicy(const model::CertificatePolicy& policy);
Result<model::CertificatePolicy> DecodePolicy(std::string_view text);

std::string EncodeChain(const std::vector<std::string>& chain);
Result<std::vector<std::string>> DecodeChain(std::string_view blob);

}  // namespace certvault::store::sqlite

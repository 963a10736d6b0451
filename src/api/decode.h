#pragma once
// Decoding helpers shared by handlers: request bodies, attributes, tags, paging.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "api/http.h"
#include "api/router.h"
#include "common/result.h"
#include "model/types.h"
#include "store/store.h"
#include "vault/vault_service.h"

namespace certvault::api {

// The body as a JSON object. An empty body is an empty object when `allow_empty`.
Result<nlohmann::json> JsonBody(const HttpRequest& request, bool allow_empty = false);

// body["attributes"] (enabled, nbf, exp), absent fields unset.
Result<vault::AttributesPatch> DecodeAttributes(const nlohmann::json& body);
// body["tags"], nullopt when absent.
Result<std::optional<model::Tags>> DecodeTags(const nlohmann::json& body);
// Optional string field; BadParameter if present and not a string.
Result<std::optional<std::string>> OptionalString(const nlohmann::json& body, const char* key);

// The integer query parameter `key`, `fallback` when absent; BadParameter unless it is an
// integer in [min, max].
Result<int64_t> IntQuery(const HttpRequest& request, const char* key, int64_t fallback, int64_t min,
                         int64_t max);
// maxresults (1-25, default 25) and $skiptoken.
Result<store::Page> DecodePage(const HttpRequest& request);
// {"value": items, "nextLink": ...} with an absolute nextLink when next_offset >= 0.
nlohmann::json PageBody(const RequestContext& ctx, const HttpRequest& request, nlohmann::json items,
                        int64_t next_offset, int64_t limit);

// Checks a path capture as an object name.
Status CheckName(const std::string& name, const char* what);

HttpResponse Json(int status, const nlohmann::json& body);
HttpResponse NoContent();  // 204
// An error in Key Vault's envelope, with its HTTP status. The one place errors become responses.
HttpResponse ErrorAnswer(const Error& error);
// body["value"] as a required string (backup blobs, restore).
Result<std::string> RequiredValue(const nlohmann::json& body);

}  // namespace certvault::api

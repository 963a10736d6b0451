#include "api/decode.h"

#include <charconv>

#include "api/render.h"
#include "common/names.h"
#include "model/codec.h"

namespace certvault::api {

using nlohmann::json;

Result<json> JsonBody(const HttpRequest& request, bool allow_empty) {
  if (request.body.empty()) {
    if (allow_empty) return json::object();
    return Fail(Error::BadParameter("the request body is empty; a JSON object is required"));
  }
  json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    return Fail(Error::BadParameter("the request body is not valid JSON"));
  }
  if (!body.is_object()) {
    return Fail(Error::BadParameter("the request body must be a JSON object"));
  }
  return body;
}

Result<vault::AttributesPatch> DecodeAttributes(const json& body) {
  vault::AttributesPatch patch;
  auto it = body.find("attributes");
  if (it == body.end() || it->is_null()) return patch;
  if (!it->is_object()) return Fail(Error::BadParameter("'attributes' must be a JSON object"));
  model::Attributes a;
  CV_RETURN_IF_ERROR(model::MergeAttributesFromJson(*it, a));
  if (it->contains("enabled") && !(*it)["enabled"].is_null()) patch.enabled = a.enabled;
  patch.nbf = a.nbf;
  patch.exp = a.exp;
  return patch;
}

Result<std::optional<model::Tags>> DecodeTags(const json& body) {
  auto it = body.find("tags");
  if (it == body.end() || it->is_null()) return std::optional<model::Tags>();
  CV_ASSIGN_OR_RETURN(auto tags, model::TagsFromJson(*it));
  return std::optional<model::Tags>(std::move(tags));
}

Result<std::optional<std::string>> OptionalString(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) {
    return Fail(Error::BadParameter(std::string("'") + key + "' must be a string"));
  }
  return std::optional<std::string>(it->get<std::string>());
}

namespace {
bool ParseInt(std::string_view s, int64_t& out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}
}  // namespace

Result<int64_t> IntQuery(const HttpRequest& request, const char* key, int64_t fallback, int64_t min,
                         int64_t max) {
  const std::string_view text = request.Query(key);
  if (text.empty()) return fallback;
  int64_t value = 0;
  if (!ParseInt(text, value) || value < min || value > max) {
    return Fail(Error::BadParameter(std::string(key) + " must be an integer from " +
                                    std::to_string(min) + " to " + std::to_string(max)));
  }
  return value;
}

Result<store::Page> DecodePage(const HttpRequest& request) {
  store::Page page;
  CV_ASSIGN_OR_RETURN(page.limit, IntQuery(request, "maxresults", 25, 1, 25));
  CV_ASSIGN_OR_RETURN(page.offset, IntQuery(request, "$skiptoken", 0, 0, INT64_MAX));
  return page;
}

json PageBody(const RequestContext& ctx, const HttpRequest& request, json items,
              int64_t next_offset, int64_t limit) {
  json body = {{"value", std::move(items)}, {"nextLink", nullptr}};
  if (next_offset >= 0) {
    std::string link = ctx.base_url + request.path +
                       "?api-version=7.5&$skiptoken=" + std::to_string(next_offset) +
                       "&maxresults=" + std::to_string(limit);
    // Filters (e.g. /jobs?status=failed) carry over to the next page.
    for (const auto& [key, value] : request.query) {
      if (key == "api-version" || key == "$skiptoken" || key == "maxresults") continue;
      link += "&" + PercentEncode(key) + "=" + PercentEncode(value);
    }
    body["nextLink"] = link;
  }
  return body;
}

Status CheckName(const std::string& name, const char* what) {
  return ValidateObjectName(name, what);
}

HttpResponse Json(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}

HttpResponse ErrorAnswer(const Error& error) {
  HttpResponse r;
  r.status = error.http_status();
  r.body = RenderError(error);
  return r;
}

HttpResponse NoContent() {
  HttpResponse r;
  r.status = 204;
  return r;
}

Result<std::string> RequiredValue(const json& body) {
  CV_ASSIGN_OR_RETURN(auto value, OptionalString(body, "value"));
  if (!value) return Fail(Error::BadParameter("'value' is required"));
  return *value;
}

}  // namespace certvault::api

#include "common/text.h"

namespace certvault {

std::string OneLineTail(std::string_view text, size_t max_bytes) {
  const bool cut = text.size() > max_bytes;
  if (cut) text = text.substr(text.size() - max_bytes);
  std::string out, line;
  auto flush = [&] {
    size_t b = line.find_first_not_of(' ');
    if (b != std::string::npos) {
      size_t e = line.find_last_not_of(' ');
      if (!out.empty()) out += "; ";
      out.append(line, b, e - b + 1);
    }
    line.clear();
  };
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n' || c == '\r') {
      flush();
      ++i;
      continue;
    }
    if (c < 0x80) {
      line += c == '\t' ? ' ' : (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
      ++i;
      continue;
    }
    const size_t len = (c >= 0xc2 && c <= 0xdf)   ? 2
                       : (c >= 0xe0 && c <= 0xef) ? 3
                       : (c >= 0xf0 && c <= 0xf4) ? 4
                                                  : 0;
    bool ok = len > 0 && i + len <= text.size();
    for (size_t k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
    }
    if (ok && len >= 3) {  // no overlong forms, surrogates or code points above U+10FFFF
      const auto c1 = static_cast<unsigned char>(text[i + 1]);
      ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0) && !(c == 0xf0 && c1 < 0x90) &&
           !(c == 0xf4 && c1 >= 0x90);
    }
    if (!ok) {
      line += '?';
      ++i;
      continue;
    }
    line.append(text.substr(i, len));
    i += len;
  }
  flush();
  if (cut && !out.empty()) out = "..." + out;
  return out;
}

}  // namespace certvault

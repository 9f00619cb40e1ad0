#include "admin/console_page.h"

#include "core/text.h"

namespace lbmirror::admin {

// src/admin/console/console.html, .css and .js, embedded at build time
// (cmake/EmbedConsole.cmake writes them into console_assets.cc).
extern const char* const kConsoleHtml;
extern const char* const kConsoleCss;
extern const char* const kConsoleJs;

std::string ConsolePage(const std::string& nonce) {
  std::string page = ReplaceAll(kConsoleHtml, "{css}", kConsoleCss);
  page = ReplaceAll(page, "{js}", kConsoleJs);
  return ReplaceAll(page, "{nonce}", nonce);
}

}  // namespace lbmirror::admin

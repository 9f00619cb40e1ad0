// The operator's console: one HTML page (its styles and script inside it, nothing fetched from
// elsewhere; written as src/admin/console/console.html, .css and .js, embedded at build time) that
// the admin listener serves at GET /?token=TOKEN (and, for a reload, to the same-site cookie it
// sets then, which authorises nothing else). The script keeps the token for the tab, removes it
// from the address bar and calls the admin API with it in the Authorization header. Every value
// from the database or Liveblocks is put in the page as text (textContent), never as HTML; the
// Content-Security-Policy lets only the page's own script, marked with a fresh nonce, run.
#pragma once

#include <string>

namespace lbmirror::admin {

// The page, with `nonce` on its script element.
std::string ConsolePage(const std::string& nonce);

}  // namespace lbmirror::admin

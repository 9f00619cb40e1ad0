// Plain text of a Liveblocks comment body, by the rules of the SDK's stringifyCommentBody
// with format "plain" and no resolvers (Liveblocks' documentation): paragraphs joined
// by "\n" (empty ones kept), text verbatim, links as their text or original URL, mentions as
// "@id" (empty ids dropped), unknown blocks and elements skipped. Pure; thread-safe.
#pragma once

#include <boost/json/value.hpp>
#include <string>

namespace lbmirror::sync {

std::string CommentBodyToPlainText(const boost::json::value& body);

}  // namespace lbmirror::sync

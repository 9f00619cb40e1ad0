// Limits on content from outside (Liveblocks documents, REST answers), shared by the layers
// that decode it. A document past a limit is an error value naming the limit, never a crash.
#pragma once

namespace lbmirror {
inline namespace core {

// The deepest nesting of JSON values, Storage documents and Yjs types that lbmirror mirrors.
// Decoders, the JSON and text views and the JSON trees recurse about once per level, which
// stays far below a thread's stack at this depth.
inline constexpr int kMaxNestingDepth = 2000;

}  // namespace core
}  // namespace lbmirror

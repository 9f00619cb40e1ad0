#!/usr/bin/env bash
# House habits that hold without a reviewer: clang-format decides the layout of every
# C++ file, and each layer includes only the layers below it (private folders only from their
# own layer and cli/). Prints what is wrong and exits 1; silent and 0 when all holds.
#   scripts/check-style.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
status=0
mapfile -t files < <(find src tests bench -path tests/integration/node_modules -prune -o \
  \( -name '*.cc' -o -name '*.h' \) -print | sort)

if ! clang-format --dry-run -Werror "${files[@]}" 2> /tmp/lbmirror-format.$$; then
  grep -E '^[^ ].*: error:' /tmp/lbmirror-format.$$ | cut -d: -f1 | sort -u |
    sed 's/^/not laid out by clang-format (run clang-format -i): /'
  status=1
fi
rm -f /tmp/lbmirror-format.$$

# layer -> the layers its files may include (its own always); cli may include everything.
declare -A allowed=(
  [core]="core"
  [http]="core http"
  [yjs]="core yjs"
  [liveblocks]="core liveblocks"
  [store]="core store"
  [webhook]="core http store webhook"
  [sync]="core liveblocks store sync webhook yjs"
  [admin]="admin core http liveblocks store sync webhook"
  [forward]="admin core forward store webhook"
)
while IFS= read -r file; do
  layer=$(cut -d/ -f2 <<< "$file")
  [ "$layer" = cli ] && continue
  while IFS= read -r include; do
    target=${include%%/*}
    if [[ " ${allowed[$layer]:-} " != *" $target "* ]]; then
      echo "$file: the $layer layer includes $include ($layer may include: ${allowed[$layer]:-nothing})"
      status=1
    fi
    # Backends and the libcurl client are private to their layer (and the wiring in cli/).
    case "$include" in
      store/mysql/* | store/sqlite/* | store/postgres/* | store/sql/* | liveblocks/curl/*)
        [ "$layer" = "$target" ] || { echo "$file: includes the private $include"; status=1; } ;;
    esac
    # webhook sees HTTP message types, never the server; sync sees webhook event types only.
    if { [ "$layer" = webhook ] && [ "$target" = http ] && [ "$include" != http/message.h ]; } ||
       { [ "$layer" = sync ] && [ "$target" = webhook ] && [ "$include" != webhook/event.h ]; }; then
      echo "$file: includes $include (only http/message.h or webhook/event.h cross there)"
      status=1
    fi
  done < <(sed -nE 's/^#include "([a-z_]+\/[^"]+)".*/\1/p' "$file")
done < <(printf '%s\n' "${files[@]}" | grep '^src/')

# Namespaces follow folders: src/store/sql/x.cc is in lbmirror::store::sql (or a namespace
# inside it). core's is inline, so that its vocabulary (Result, Cat, Clock) reads unqualified.
while IFS= read -r file; do
  folder=$(dirname "${file#src/}")
  problem=$(awk -v expected="lbmirror::${folder//\//::}" '
    /^(inline )?namespace [a-z_:]+ \{$/ {
      name = $0; sub(/^(inline )?namespace /, "", name); sub(/ \{$/, "", name)
      path = (depth > 0 ? stack[depth] "::" : "") name
      stack[++depth] = path
      if (index(expected, path) != 1 && index(path, expected "::") != 1 && path != expected) {
        print "namespace " path " (expected " expected ")"; exit
      }
      if (path == expected) {
        found = 1
        if (expected == "lbmirror::core" && $0 !~ /^inline /) { print "core'"'"'s namespace is not inline"; exit }
      }
    }
    /^\}  \/\/ namespace [a-z_:]+$/ { depth-- }
    END { if (!found) print "no namespace " expected }
  ' "$file")
  if [ -n "$problem" ] && [ "$file" != src/cli/main.cc ]; then
    echo "$file: $problem"
    status=1
  fi
done < <(printf '%s\n' "${files[@]}" | grep '^src/')

# The console's script is JavaScript that parses (it is served from the binary as written).
if command -v node > /dev/null && ! node --check src/admin/console/console.js 2> /tmp/lbmirror-js.$$; then
  sed 's/^/src\/admin\/console\/console.js: /' /tmp/lbmirror-js.$$ | head -5
  status=1
fi
rm -f /tmp/lbmirror-js.$$

# The documentation's relative links lead somewhere: every file a link of the README, docs/
# or bench/README.md names exists, and an #anchor names a heading of that page (GitHub's
# slugs: lower case, spaces to hyphens, punctuation dropped).
slugs() {  # the anchors of a Markdown file's headings
  sed -nE 's/^#+ (.*)$/\1/p' "$1" | tr 'A-Z' 'a-z' | sed -E 's/[^a-z0-9 _-]//g; s/ /-/g'
}
for page in README.md docs/*.md bench/README.md; do
  [ -f "$page" ] || continue
  dir=$(dirname "$page")
  while IFS= read -r link; do
    target=${link%%#*}
    anchor=""
    [[ $link == *"#"* ]] && anchor=${link#*#}
    file=$page
    [ -n "$target" ] && file="$dir/$target"
    if [ ! -e "$file" ]; then
      echo "$page: dead link to $link"
      status=1
    elif [ -n "$anchor" ] && ! slugs "$file" | grep -qxF "$anchor"; then
      echo "$page: no heading for #$anchor in $file"
      status=1
    fi
  done < <(grep -oE '\]\([^)]+\)' "$page" | sed -E 's/^\]\(//; s/\)$//' | grep -vE '^[a-z]+:')
done
exit "$status"

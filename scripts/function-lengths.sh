#!/usr/bin/env bash
# Reports the longest functions under src/ (definitions at the top level of a namespace, from
# the line that opens them to their closing brace, as clang-format lays them out) and fails
# when one is longer than the ceiling without a line in scripts/long-functions.txt that names
# it and says why it is long. House rule: past 40 lines, consider splitting; past 80, say why.
# Also fails on a file over 600 lines whose opening comment does not say why it is that long.
#   scripts/function-lengths.sh [--top N]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
ceiling=80
top=10
[ "${1:-}" = "--top" ] && top=${2:-10}
allow="$root/scripts/long-functions.txt"

lengths=$(find src -name '*.cc' | sort | xargs awk '
  FNR == 1 { name = ""; start = 0 }
  # A definition starts at column 0 with a line that ends in "{" and is not a namespace,
  # class, struct, enum or initializer; it ends at the first "}" alone at column 0.
  start == 0 && /^[A-Za-z].*[)] *(const)? *(override)? *(noexcept)? *(->[^{]*)? *\{$/ &&
      !/^(namespace|class|struct|enum|union|extern|template)/ {
    start = FNR
    name = $0
    sub(/\(.*/, "", name)
    n = split(name, words, " ")
    name = words[n]
    next
  }
  start == 0 && /^[A-Za-z].*[(,]$/ && !/^(namespace|class|struct|enum)/ {
    pending = $0; pending_line = FNR; next
  }
  start == 0 && pending != "" && /^ .*\{$/ {
    start = pending_line
    name = pending
    sub(/\(.*/, "", name)
    n = split(name, words, " ")
    name = words[n]
    pending = ""
    next
  }
  start == 0 && !/^ / { pending = "" }
  start > 0 && /^\}$/ {
    printf "%d %s:%d %s\n", FNR - start + 1, FILENAME, start, name
    start = 0
  }
' | sort -rn)

echo "the ${top} longest functions under src/ (lines; ceiling ${ceiling} unless listed in scripts/long-functions.txt)"
head -n "$top" <<< "$lengths"
status=0
while read -r count where name; do
  [ "$count" -gt "$ceiling" ] || break
  if ! grep -qE "^${name}[[:space:]]" "$allow" 2> /dev/null; then
    echo "$where: $name is $count lines, over $ceiling: split it, or say in scripts/long-functions.txt why it is long" >&2
    status=1
  fi
done <<< "$lengths"
# A file over 600 lines says why in its opening comment (a line naming its length, such as
# "Over 600 lines (about 900) on purpose: ...").
while read -r count file; do
  [ "$file" = total ] && continue
  if [ "$count" -gt 600 ] && ! awk '!/^\/\//{exit} /[0-9]+ lines/{found=1} END{exit !found}' "$file"; then
    echo "$file: $count lines, over 600, and its opening comment does not say why (split it, or say so there)" >&2
    status=1
  fi
done < <(find src -name '*.cc' -o -name '*.h' | xargs wc -l)
# An allow-list line whose function is no longer over the ceiling (split, renamed or gone).
while read -r name _; do
  case "$name" in '' | '#'*) continue ;; esac
  if ! awk -v c="$ceiling" -v n="$name" '$1 > c && $3 == n { found = 1 } END { exit !found }' <<< "$lengths"; then
    echo "scripts/long-functions.txt: $name is not over $ceiling lines any more: remove its line" >&2
    status=1
  fi
done < "$allow"
exit "$status"

#!/usr/bin/env bash
# Tags every release CHANGELOG.md names ("## vX.Y.Z (commit <sha>)") on its commit, in the clone
# this script belongs to, where the tag is missing: tags do not travel with every clone, and
# Copier renders and updates from them. Running it again changes nothing. A tag that exists on
# another commit is left alone and reported as an error.
#
# Prints the releases, newest first, one per line; what it tagged goes to stderr.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
git() { command git -C "$root" "$@"; }

releases="$(sed -nE 's/^## (v[0-9]+\.[0-9]+\.[0-9]+) \(commit ([0-9a-f]{7,40})\).*/\1 \2/p' \
    "$root/CHANGELOG.md")"
if [[ -z "$releases" ]]; then
    echo "tag-releases: CHANGELOG.md names no release (## vX.Y.Z (commit <sha>))" >&2
    exit 1
fi

failed=0
while read -r tag sha; do
    if ! commit="$(git rev-parse --verify --quiet "$sha^{commit}")"; then
        echo "tag-releases: $tag: commit $sha is not in this clone (a shallow clone? git fetch --unshallow)" >&2
        failed=1
        continue
    fi
    if tagged="$(git rev-parse --verify --quiet "refs/tags/$tag^{commit}")"; then
        if [[ "$tagged" != "$commit" ]]; then
            echo "tag-releases: $tag is on ${tagged:0:12}, CHANGELOG.md says $sha; left as it is" >&2
            failed=1
        fi
    else
        git tag "$tag" "$commit"
        echo "tag-releases: tagged $tag on ${commit:0:12}" >&2
    fi
    echo "$tag"
done <<<"$releases"
exit "$failed"

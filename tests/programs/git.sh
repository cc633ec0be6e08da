# git: init a repository, commit a tree of 200 files, change and remove
# some, gc, log and fsck.  Dates and identities are fixed, so the whole
# transcript (hashes included) must match a run without the allocator.
source "$(dirname "$0")/lib.sh"
require_program git

export HOME="$WORK/home" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=crowd GIT_AUTHOR_EMAIL=crowd@example.invalid
export GIT_COMMITTER_NAME=crowd GIT_COMMITTER_EMAIL=crowd@example.invalid
export GIT_AUTHOR_DATE='2024-01-01T00:00:00Z' GIT_COMMITTER_DATE='2024-01-01T00:00:00Z'
mkdir -p "$HOME"

make_tree() { # 200 files in 10 directories, some of them large
  for d in $(seq 0 9); do
    mkdir -p "$1/dir$d"
    for f in $(seq 0 19); do
      awk -v d="$d" -v f="$f" 'BEGIN { n = (f == 7 ? 20000 : 20 + f * 3)
        for (i = 0; i < n; i++) printf "dir %d file %d line %d\n", d, f, i }' \
        >"$1/dir$d/file$f.txt"
    done
  done
}

# scenario RUNNER REPO: the transcript goes to stdout
scenario() {
  local run=$1 repo=$2
  make_tree "$repo"
  cd "$repo"
  $run git init -q -b main .
  $run git add .
  $run git commit -q -m "initial tree"
  for d in 1 3 5; do
    for f in $(seq 0 2 19); do echo "changed $d $f" >>"dir$d/file$f.txt"; done
  done
  $run git commit -q -a -m "change 30 files"
  $run git rm -q -r dir9
  $run git commit -q -m "remove dir9"
  $run git gc -q
  $run git log --format='%H %s'
  $run git ls-tree -r HEAD | wc -l
  $run git cat-file -p HEAD:dir3/file4.txt | tail -1
  $run git fsck --full --no-progress 2>&1 || echo "fsck failed"
  $run git count-objects -v | grep -E '^(count|in-pack|packs):'
  cd - >/dev/null
}

( scenario "" "$WORK/plain" ) >"$WORK/plain.out"
( scenario run_preloaded "$WORK/preloaded" ) >"$WORK/preloaded.out"
same_output "$WORK/plain.out" "$WORK/preloaded.out"
[ "$(grep -c -E '^[0-9a-f]{40} ' "$WORK/preloaded.out")" = 3 ] || fail "log lacks 3 commits"
grep -q ' remove dir9$' "$WORK/preloaded.out" || fail "log lacks the last commit"
grep -qx '180' "$WORK/preloaded.out" || fail "HEAD does not have 180 files"
grep -qx 'changed 3 4' "$WORK/preloaded.out" || fail "changed file content wrong"
grep -q 'fsck failed' "$WORK/preloaded.out" && fail "git fsck failed"
cat "$WORK/preloaded.out"

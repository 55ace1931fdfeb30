#!/usr/bin/env bats
# Faults (issue 3): a registry that lies (wrong digest, wrong diff_id,
# truncated, short and oversize blobs, a manifest that is not the one asked
# for, a huge manifest), hostile layers, eight concurrent pulls, kill -9 in
# the middle of a pull, and corrupt store files.  Every failure is one line,
# exit 125, and leaves the store as it was.

# bats' run sets status, output, lines, stderr and stderr_lines.
# shellcheck disable=SC2154,SC2030,SC2031

load helpers

setup_file() {
	rl_setup_file
	need_registries
	# Hostile images, aimed at a directory of this file's own: built and
	# pushed here, under this user's names, so that their paths are ours.
	export RL_OUTSIDE="$RL_TEST_DIR/outside"
	mkdir -p "$RL_OUTSIDE" "$RL_TEST_DIR/evil"
	python3 "$BATS_TEST_DIRNAME/../fixtures/mkimages.py" --busybox-tar "$RL_FIXTURES/busybox.tar" \
		--out "$RL_TEST_DIR/evil" --outside "$RL_OUTSIDE" hostile >/dev/null
	local d
	for d in "$RL_TEST_DIR"/evil/*/; do
		skopeo copy --quiet --dest-tls-verify=false "oci:$d:latest" \
			"docker://$(user_repo "$(basename "$d")"):latest" >/dev/null
	done
}

# Each test gets its own store holding one unrelated image (so that
# images.json exists and the busybox layer must really be downloaded).
setup() {
	export XDG_DATA_HOME="$BATS_TEST_TMPDIR/data"
	mkdir -p "$XDG_DATA_HOME" "$BATS_TEST_TMPDIR/other"
	echo other >"$BATS_TEST_TMPDIR/other/other-file"
	rl_prime_store
	rl import "$BATS_TEST_TMPDIR/other" other >/dev/null 2>&1
	store_snapshot "$BATS_TEST_TMPDIR/before"
	# The outside directory, as every hostile test expects to find it.
	rm -rf "${RL_OUTSIDE:?}"/* 2>/dev/null || true
	echo victim >"$RL_OUTSIDE/victim"
	outside_before=$(outside_state)
	passwd_links=$(stat -c %h /etc/passwd)
	bad_ns_new
}

teardown() {
	rl rm -af >/dev/null 2>&1 || true
	rl rmi -af >/dev/null 2>&1 || true
}

# outside_state: everything about the outside directory a write, a link or
# a delete would change.
outside_state() {
	(cd "$RL_OUTSIDE" && find . -printf '%p %y %n %s %m\n' | sort && cat victim 2>/dev/null)
}

# bad_pull REPO: pull REPO from the bad registry (in this test's namespace).
bad_pull() {
	run_rl pull --tls-verify=false "$(bad_ref "$1")"
}

# assert_fetched TEXT: the bad registry was asked for a path containing
# TEXT: the pull failed where the fault is, not before it.
assert_fetched() {
	run bad_count "$1"
	[ "$output" -gt 0 ] || fail "rl never asked the registry for *$1*; it failed before the fault"
}

# assert_failed_cleanly: one line, 125, store as setup() left it.
assert_failed_cleanly() {
	assert_one_line_error
	assert_store_unchanged "$BATS_TEST_TMPDIR/before"
	run repositories
	assert_output "localhost/other"
}

# repositories: the REPOSITORY column of rl images.
repositories() {
	rl images | awk 'NR > 1 { print $1 }'
}

@test "a blob whose content does not match its digest: the pull fails" {
	bad_pull digest/busybox
	assert_failed_cleanly
	assert_fetched /digest/busybox/blobs/
}

@test "a config whose diff_id does not match the layer: the pull fails" {
	bad_pull diffid/busybox
	assert_failed_cleanly
	assert_fetched "/diffid/busybox/blobs/$(oci_digest busybox layer0)"
}

@test "a blob cut off half way (connection closed): the pull fails" {
	bad_pull truncated/busybox
	assert_failed_cleanly
	assert_fetched "/truncated/busybox/blobs/$(oci_digest busybox layer0)"
}

@test "a short blob (clean response, half the bytes): the pull fails" {
	bad_pull short/busybox
	assert_failed_cleanly
	assert_fetched "/short/busybox/blobs/$(oci_digest busybox layer0)"
}

@test "a blob longer than its descriptor says: the pull fails (never read past the declared size)" {
	bad_pull oversize/busybox
	assert_failed_cleanly
	assert_fetched /oversize/busybox/blobs/
	bad_pull oversize-close/busybox
	assert_failed_cleanly
	assert_fetched /oversize-close/busybox/blobs/
}

@test "a manifest that is not the digest asked for: the pull fails" {
	local want
	want=$(oci_digest second manifest)
	bad_pull "mandigest/busybox@$want"
	assert_failed_cleanly
	assert_fetched "/mandigest/busybox/manifests/$want"
}

@test "a huge manifest is refused (JSON size cap)" {
	bad_pull hugemanifest/busybox
	assert_failed_cleanly
	assert_fetched /hugemanifest/busybox/manifests/latest
}

# ---------------------------------------------------------------- hostile layers

# hostile NAME REGEX: pull this user's evil-NAME; nothing outside may
# change, /etc/passwd keeps its link count, no escape file appears anywhere
# in the test's directories (the store is one); a failure is clean and its
# message matches REGEX (it names the entry).  Sets $pulled (the pull's
# status).
hostile() {
	run_rl pull -q --tls-verify=false "$(user_repo "evil-$1")"
	pulled=$status
	[ "$(outside_state)" = "$outside_before" ] ||
		fail "evil-$1 changed $RL_OUTSIDE:" "$(outside_state)"
	[ "$(stat -c %h /etc/passwd)" = "$passwd_links" ] || fail "evil-$1 hard-linked /etc/passwd"
	local esc
	# ../ from a layer directory lands beside it, in the store.
	esc=$(find "$RL_TEST_DIR" "$BATS_TEST_TMPDIR" -name rl-escape-near 2>/dev/null)
	[ -z "$esc" ] || fail "evil-$1 wrote outside its layer: $esc"
	if [ "$pulled" -ne 0 ]; then
		assert_match "$2" "$stderr"
		assert_failed_cleanly
	fi
}

@test "hostile: ../ entries fail the pull" {
	hostile dotdot 'rl-escape-near|dotdot'
	[ "$pulled" -eq 125 ] || fail "the pull of evil-dotdot must fail"
}

@test "hostile: an absolute name stays inside the layer or fails the pull" {
	hostile abs '/abs'
}

@test "hostile: a symlink to outside, then a write through it, in one layer" {
	hostile symlink 'link'
}

@test "hostile: a symlink planted by one layer and written through by the next" {
	hostile layerlink 'link'
	if [ "$pulled" -eq 0 ]; then
		run_rl run --rm "$(user_repo evil-layerlink)" true
		assert_status 0
		[ "$(outside_state)" = "$outside_before" ] || fail "running evil-layerlink changed $RL_OUTSIDE"
	fi
}

@test "hostile: hardlinks to /etc/passwd and to a file outside" {
	hostile hardlink 'passwd-link|victim-link'
}

@test "hostile: a 0/0 character device is never an overlay whiteout" {
	hostile device 'rl-fixture'
	if [ "$pulled" -eq 0 ]; then
		run_rl run --rm "$(user_repo evil-device)" cat /etc/rl-fixture
		assert_status 0
		assert_output "rl-test-busybox"
	fi
}

@test "hostile: overlay xattrs from a layer do not make a directory opaque (every driver)" {
	hostile xattr 'etc|overlay'
	if [ "$pulled" -eq 0 ]; then
		local driver
		for driver in overlay fuse-overlayfs vfs; do
			run_rl --storage-driver "$driver" run --rm "$(user_repo evil-xattr)" cat /etc/rl-fixture /etc/rl-xattr
			assert_status 0
			assert_output "rl-test-busybox
xattr"
		done
	fi
}

@test "hostile: a whiteout under a symlink to outside deletes nothing there" {
	hostile whiteout 'victim|link'
	[ "$(cat "$RL_OUTSIDE/victim")" = victim ] || fail "the victim was deleted"
}

# ---------------------------------------------------------------- concurrency

@test "eight concurrent pulls of the same image succeed and leave one copy of each layer" {
	local i pids=() ids
	for i in 1 2 3 4 5 6 7 8; do
		rl pull -q --tls-verify=false "$(reg multi)" >"$BATS_TEST_TMPDIR/out$i" 2>"$BATS_TEST_TMPDIR/err$i" &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || fail "pull $((i + 1)) failed: $(cat "$BATS_TEST_TMPDIR/err$((i + 1))")"
	done
	ids=$(cat "$BATS_TEST_TMPDIR"/out* | sort -u)
	[ "$(wc -l <<<"$ids")" -eq 1 ] || fail "different ids: $ids"
	# One directory per layer of multi, plus the one of the imported image.
	local dirs
	dirs=$(find "$(rl_store)/layers" -mindepth 1 -maxdepth 1 -type d | wc -l)
	[ "$dirs" -eq 4 ] || fail "want 4 layer directories, found $dirs: $(ls "$(rl_store)/layers")"
	[ -z "$(ls -A "$(rl_store)/tmp")" ] || fail "tmp/ not empty: $(ls -A "$(rl_store)/tmp")"
	run_rl images
	assert_status 0
	[ "$(grep -cE "^$RL_TEST_REGISTRY/rl-test/multi +latest " <<<"$output")" -eq 1 ] || { show; fail "multi must be listed once"; }
	run_rl run --rm "$(reg multi)" cat /etc/rl-layer2
	assert_output "layer2"
}

@test "kill -9 of a pull at several moments, then a new pull: succeeds, nothing of the killed one remains" {
	local delay n=0
	for delay in 0.05 0.3 0.8 1.5 2.5; do
		n=$((n + 1))
		export XDG_DATA_HOME="$BATS_TEST_TMPDIR/data-$n"
		mkdir -p "$XDG_DATA_HOME"
		rl_prime_store
		# slow/ sends blobs at about 300 KiB/s: the busybox layer takes ~3 s.
		rl_bg "$BATS_TEST_TMPDIR/killed-$n" pull --tls-verify=false "$(bad_ref slow/multi)"
		sleep "$delay"
		kill -KILL "$RL_BG_PID" 2>/dev/null || true
		wait "$RL_BG_PID" 2>/dev/null || true
		# Whatever rl forked for the pull dies with it.
		wait_gone "$BAD_NS/slow/multi" 5 || fail "processes of the killed pull still run ($delay s)"
		run_rl pull -q --tls-verify=false "$(bad_ref good/multi)"
		assert_status 0
		run_rl run --rm "$(bad_ref good/multi)" cat /etc/rl-layer2
		assert_output "layer2"
		[ -z "$(ls -A "$(rl_store)/tmp")" ] || fail "after a kill at $delay s, tmp/ holds: $(ls -A "$(rl_store)/tmp")"
		local dirs
		dirs=$(find "$(rl_store)/layers" -mindepth 1 -maxdepth 1 -type d | wc -l)
		[ "$dirs" -eq 3 ] || fail "after a kill at $delay s: want 3 layer directories, found $dirs"
		run repositories
		assert_output "$(bad_ref good/multi)"
		rl rmi -af >/dev/null 2>&1 || true
	done
}

# ---------------------------------------------------------------- corrupt store files

@test "a corrupt images.json: a clear error naming the file, not a crash" {
	run_rl pull -q --tls-verify=false "$(reg busybox)"
	assert_status 0
	local f
	f="$(rl_store)/images.json"
	cp "$f" "$BATS_TEST_TMPDIR/images.json.good"
	local half
	half=$(($(stat -c %s "$BATS_TEST_TMPDIR/images.json.good") / 2))
	head -c "$half" "$BATS_TEST_TMPDIR/images.json.good" >"$f"
	local cmd
	for cmd in images "image inspect $(reg busybox)" "run --rm $(reg busybox) true" "pull -q --tls-verify=false $(reg busybox)"; do
		# shellcheck disable=SC2086  # cmd is several words on purpose
		run_rl $cmd
		assert_one_line_error
		assert_match "images\.json" "$stderr"
	done
	printf 'not json at all' >"$f"
	run_rl images
	assert_one_line_error
	assert_match "images\.json" "$stderr"
	cp "$BATS_TEST_TMPDIR/images.json.good" "$f"
	run_rl run --rm "$(reg busybox)" cat /etc/rl-fixture
	assert_output "rl-test-busybox"
}

@test "a truncated config or manifest blob: a clear error naming it" {
	run_rl pull -q --tls-verify=false "$(reg busybox)"
	assert_status 0
	local cfg
	cfg="$(rl_store)/blobs/sha256/$(oci_digest busybox config | cut -d: -f2)"
	[ -f "$cfg" ] || fail "no config blob at $cfg"
	: >"$cfg"
	run_rl run --rm "$(reg busybox)" true
	assert_one_line_error
	assert_match "$(oci_digest busybox config | cut -d: -f2)" "$stderr"
	run_rl image inspect "$(reg busybox)"
	assert_one_line_error
}

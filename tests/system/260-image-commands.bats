#!/usr/bin/env bats
# Image housekeeping of issue 3: tag, untag, images (--digests, --format
# json, filters reference= and dangling=), image inspect of pulled images,
# image prune [-a], system df, image exists.  Podman's semantics where the
# issue is silent.

# bats' run sets status, output, lines, stderr and stderr_lines.
# shellcheck disable=SC2154

load helpers

setup_file() {
	rl_setup_file
	rl_prime_store
}

setup() {
	rl rm -af >/dev/null 2>&1 || true
	rl rmi -af >/dev/null 2>&1 || true
	BB=$(import_busybox bb)
	BB=${BB#sha256:}
}

# json_images PYEXPR: evaluate PYEXPR on `l`, the list `rl images --format json` prints.
json_images() {
	rl images --format json | python3 -c '
import json, sys
l = json.load(sys.stdin)
print(eval(sys.argv[1]))' "$1"
}

@test "tag adds names (short names become localhost/...), untag removes them" {
	run_rl tag bb bb:v2 example.org/team/bb:3
	assert_status 0
	assert_output ""
	run_rl images
	assert_match "(^|"$'\n'")localhost/bb +latest +${BB:0:12} "
	assert_match "(^|"$'\n'")localhost/bb +v2 +${BB:0:12} "
	assert_match "(^|"$'\n'")example\.org/team/bb +3 +${BB:0:12} "
	run_rl untag bb example.org/team/bb:3
	assert_status 0
	run_rl image exists example.org/team/bb:3
	assert_status 1
	run_rl image exists bb:v2
	assert_status 0
	# untag with no name removes every name: the image stays, dangling.
	run_rl untag "${BB:0:12}"
	assert_status 0
	run_rl images
	assert_match "^<none> +<none> +${BB:0:12} " "${lines[1]}"
	[ "${#lines[@]}" -eq 2 ] || { show; fail "want one image left"; }
}

@test "tag moves a name from another image; invalid names and missing images are errors" {
	mkdir -p "$BATS_TEST_TMPDIR/d"
	echo x >"$BATS_TEST_TMPDIR/d/x"
	local other
	other=$(rl import "$BATS_TEST_TMPDIR/d" other)
	other=${other#sha256:}
	run_rl tag other bb
	assert_status 0
	run bash -c "'$RL' image inspect bb | python3 -c 'import json,sys; print(json.load(sys.stdin)[0][\"Id\"].removeprefix(\"sha256:\"))'"
	assert_output "$other"
	run_rl tag other 'Bad Name'
	assert_rl_error
	run_rl tag other 'x:tag@sha256:abc'
	assert_rl_error
	run_rl tag nosuchimage newname
	assert_rl_error
	run_rl untag other not-its-name
	assert_rl_error
}

@test "image exists: status only, 0 or 1" {
	run_rl image exists bb
	assert_status 0
	assert_output ""
	run_rl image exists "${BB:0:12}"
	assert_status 0
	run_rl image exists nosuchimage
	assert_status 1
	assert_output ""
	[ -z "$stderr" ] || { show; fail "image exists prints nothing"; }
}

@test "images --format json: an array with Id, Names, Digest, Size, Created" {
	run json_images 'len(l), l[0]["Id"].removeprefix("sha256:"), l[0]["Names"], isinstance(l[0]["Size"], int)'
	assert_status 0
	assert_output "(1, '$BB', ['localhost/bb:latest'], True)"
	run json_images 'sorted(k for k in ("Id", "Names", "Digest", "Size", "Created") if k in l[0])'
	assert_output "['Created', 'Digest', 'Id', 'Names', 'Size']"
	rl rmi -af >/dev/null
	run json_images 'l'
	assert_output "[]"
}

@test "images --filter reference= and dangling=" {
	rl tag bb example.org/x/tool:1 >/dev/null
	mkdir -p "$BATS_TEST_TMPDIR/d"
	echo x >"$BATS_TEST_TMPDIR/d/x"
	local dangling
	dangling=$(rl import "$BATS_TEST_TMPDIR/d")
	dangling=${dangling#sha256:}
	run_rl images -q --filter dangling=true
	assert_status 0
	assert_output "${dangling:0:12}"
	run_rl images -q --filter dangling=false
	assert_output "${BB:0:12}"
	run_rl images --filter 'reference=example.org/x/*'
	assert_status 0
	[ "${#lines[@]}" -eq 2 ] || { show; fail "want the header and one image"; }
	assert_match "^example\.org/x/tool +1 " "${lines[1]}"
	run_rl images --filter 'reference=localhost/bb'
	[ "${#lines[@]}" -eq 2 ] || { show; fail "want the header and one image"; }
	run_rl images --filter 'reference=nothing*'
	assert_status 0
	[ "${#lines[@]}" -eq 1 ] || { show; fail "want the header alone"; }
	assert_match '^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$' "${lines[0]}"
	run_rl images --filter colour=blue
	assert_rl_error
}

@test "image prune removes dangling images; -a also unused ones; images used by containers stay" {
	mkdir -p "$BATS_TEST_TMPDIR/d"
	echo x >"$BATS_TEST_TMPDIR/d/x"
	local dangling used
	dangling=$(rl import "$BATS_TEST_TMPDIR/d")
	dangling=${dangling#sha256:}
	# Another image than bb (its own config), for a container to use.
	used=$(rl import -c 'LABEL role=used' "$RL_FIXTURES/busybox.tar" used)
	used=${used#sha256:}
	[ "$used" != "$BB" ] || fail "used and bb must be different images"
	run_rl run --name keeper used true
	assert_status 0
	run_rl image prune
	assert_status 0
	# It says what it removed (the full id), and never asks.
	assert_match "(^|"$'\n'")(sha256:)?$dangling($|"$'\n'")"
	run_rl image exists "${dangling:0:12}"
	assert_status 1
	run_rl image exists bb
	assert_status 0
	run_rl image prune -a
	assert_status 0
	run_rl image exists bb
	assert_status 1
	# In use by the container keeper.
	run_rl image exists used
	assert_status 0
	rl rm -af >/dev/null
	run_rl image prune -a
	assert_status 0
	run_rl images -q
	assert_output ""
	# Nothing of the layers is left either.
	local left
	left=$(find "$(rl_store)/layers" -mindepth 1 -maxdepth 1 | wc -l)
	[ "$left" -eq 0 ] || fail "prune -a left $left entries in layers/"
}

@test "system df: images, containers and their sizes" {
	run_rl system df
	assert_status 0
	assert_match '^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE' "${lines[0]}"
	assert_match "^Images +1 +0 +" "${lines[1]}"
	assert_match "^Containers +0 +0 +" "${lines[2]}"
	rl run --name df1 bb true
	run_rl system df
	assert_match "^Images +1 +1 +" "${lines[1]}"
	assert_match "^Containers +1 +0 +" "${lines[2]}"
}

@test "pulled images: images --digests shows the manifest digest; inspect has RepoDigests" {
	need_registries
	run_rl pull -q --tls-verify=false "$(reg multi)"
	assert_status 0
	run_rl images --digests
	assert_status 0
	assert_match '^REPOSITORY +TAG +DIGEST +IMAGE ID +CREATED +SIZE$' "${lines[0]}"
	assert_match "(^|"$'\n'")$(reg multi) +latest +$(oci_digest multi manifest) +[0-9a-f]{12} "
	run json_images "[i['Digest'] for i in l if '$(reg multi):latest' in i['Names']]"
	assert_output "['$(oci_digest multi manifest)']"
	run bash -c "'$RL' image inspect '$(reg multi)' | python3 -c 'import json,sys; print(json.load(sys.stdin)[0][\"RepoDigests\"])'"
	assert_output "['$(reg multi)@$(oci_digest multi manifest)']"
}

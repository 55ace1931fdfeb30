#!/usr/bin/env bats
# Identity: the two rootless modes (a subuid/subgid range through
# newuidmap/newgidmap, or a single-id map with root emulation) and -u/--user.

load helpers

@test "container root is the calling user" {
	run_rl run --rm bb sh -c 'id -u; id -g'
	assert_status 0
	assert_output "0
0"
	# A file created in a volume by container root belongs to the caller.
	mkdir "$BATS_TEST_TMPDIR/vol"
	run_rl run --rm -v "$BATS_TEST_TMPDIR/vol:/vol" bb touch /vol/by-root
	assert_status 0
	[ "$(stat -c %u:%g "$BATS_TEST_TMPDIR/vol/by-root")" = "$(id -u):$(id -g)" ] ||
		fail "owned by $(stat -c %u:%g "$BATS_TEST_TMPDIR/vol/by-root")"
}

@test "subuid mode: uid_map and gid_map are the user plus the whole range" {
	need_mode subuid
	local ustart ucount gstart gcount
	read -r ustart ucount <<<"$(subid_range /etc/subuid)"
	read -r gstart gcount <<<"$(subid_range /etc/subgid)"
	run_rl run --rm bb sh -c 'cat /proc/self/uid_map; echo --; cat /proc/self/gid_map'
	assert_status 0
	[ "${#lines[@]}" -eq 5 ] || fail "want two lines per map: $output"
	assert_match "^ *0 +$(id -u) +1$" "${lines[0]}"
	assert_match "^ *1 +$ustart +$ucount$" "${lines[1]}"
	assert_match "^ *0 +$(id -g) +1$" "${lines[3]}"
	assert_match "^ *1 +$gstart +$gcount$" "${lines[4]}"
}

@test "subuid mode: chown to any id works and sticks; ids land in the range on the host" {
	need_mode subuid root
	local ustart gstart
	mkdir "$BATS_TEST_TMPDIR/vol"
	run_rl run --rm -v "$BATS_TEST_TMPDIR/vol:/vol" bb sh -c '
		touch /tmp/x && chown 1000:50 /tmp/x && stat -c %u:%g /tmp/x
		chown 1000:1000 /etc/rl-fixture && stat -c %u:%g /etc/rl-fixture && cat /etc/rl-fixture
		stat -c %u:%g /home/bob /bin/busybox
		touch /vol/f && chown 1000:1000 /vol/f'
	assert_status 0
	assert_output "1000:50
1000:1000
rl-test-busybox
1000:1000
0:0"
	local want=1000:1000
	if [ "$RL_IDMODE" = subuid ]; then
		read -r ustart _ <<<"$(subid_range /etc/subuid)"
		read -r gstart _ <<<"$(subid_range /etc/subgid)"
		want=$((ustart + 999)):$((gstart + 999))
	fi
	[ "$(stat -c %u:%g "$BATS_TEST_TMPDIR/vol/f")" = "$want" ] ||
		fail "host sees $(stat -c %u:%g "$BATS_TEST_TMPDIR/vol/f"), want $want"
}

@test "single-id mode: one-line uid_map, chown and setuid succeed without effect" {
	need_mode single
	run_rl run --rm bb sh -c 'cat /proc/self/uid_map; cat /proc/self/gid_map'
	assert_status 0
	assert_match "^ *0 +$(id -u) +1$" "${lines[0]}"
	assert_match "^ *0 +$(id -g) +1$" "${lines[1]}"
	[ "${#lines[@]}" -eq 2 ] || fail "want one line per map: $output"

	run_rl run --rm bb sh -c 'touch /tmp/x; chown 1000:50 /tmp/x; echo rc=$?; stat -c %u:%g /tmp/x; chown 1000 /etc/rl-fixture; echo rc=$?'
	assert_status 0
	assert_output "rc=0
0:0
rc=0"
	# Files of other owners in the image belong to the user (root inside).
	run_rl run --rm bb stat -c %u:%g /home/bob
	assert_output "0:0"
	# The setuid family "works": -u runs, as does su-like switching.
	run_rl run --rm -u 1000 bb true
	assert_status 0
	run_rl run --rm -u bob bb sh -c 'echo "$HOME"'
	assert_status 0
	assert_output "/home/bob"
}

@test "the identity mode is told in one line, once per store; no raw newuidmap error" {
	# A store of its own: rl says which mode it uses (and why) the first
	# time it runs with a store, then only when the mode changes.
	export XDG_DATA_HOME="$BATS_TEST_TMPDIR/fresh-store"
	local notes=()
	run_rl import "$RL_FIXTURES/busybox.tar" bb
	assert_status 0
	notes+=("${stderr_lines[@]}")
	run_rl run --rm bb true
	assert_status 0
	notes+=("${stderr_lines[@]}")
	local l
	for l in "${notes[@]}"; do
		[[ $l != newuidmap:* && $l != newgidmap:* && $l != *"newuidmap: "* ]] ||
			fail "raw helper error: $l"
	done
	case "$RL_IDMODE" in
	single)
		# Which mode, and why: no range for this user in /etc/subuid.
		[ "${#notes[@]}" -eq 1 ] || fail "want exactly one notice line, got:" "${notes[@]}"
		assert_match 'subuid|subordinate' "${notes[0]}"
		;;
	*)
		[ "${#notes[@]}" -le 1 ] || fail "want at most one notice line, got:" "${notes[@]}"
		;;
	esac
	# Said once: the next commands are quiet.
	run_rl run --rm bb true
	assert_status 0
	[ -z "$stderr" ] || { show; fail "the notice was repeated"; }
	rl rmi -af >/dev/null 2>&1 || true
}

@test "-u UID takes the passwd entry's group, home and supplementary groups" {
	need_mode subuid root
	run_rl run --rm -u 1000 bb sh -c 'id -u; id -g; id -G | tr " " "\n" | sort -n | tr "\n" " "; echo; echo "$HOME"'
	assert_status 0
	assert_output "1000
1000
10 50 1000 
/home/bob"
}

@test "-u NAME looks the user up in the image's /etc/passwd and /etc/group" {
	need_mode subuid root
	run_rl run --rm --user bob bb sh -c 'id -un; id -u; id -g; id -G | tr " " "\n" | sort -n | tr "\n" " "; echo; echo "$HOME"; pwd'
	assert_status 0
	assert_output "bob
1000
1000
10 50 1000 
/home/bob
/"
	run_rl run --rm -u daemon bb sh -c 'id -u; id -g; echo "$HOME"'
	assert_output "1
1
/usr/sbin"
	run_rl run --rm -u nobody bb sh -c 'id -u; id -g'
	assert_output "65534
65534"
	run_rl run --rm -u root bb sh -c 'id -u; echo "$HOME"'
	assert_output "0
/root"
}

@test "-u UID:GID and NAME:GROUP set the primary group" {
	need_mode subuid root
	run_rl run --rm -u 1000:50 bb sh -c 'id -u; id -g'
	assert_status 0
	assert_output "1000
50"
	run_rl run --rm -u bob:staff bb sh -c 'id -u; id -g'
	assert_output "1000
50"
	run_rl run --rm --user=bob:10 bb sh -c 'id -u; id -g'
	assert_output "1000
10"
}

@test "-u with a uid missing from /etc/passwd: gid 0, HOME /" {
	need_mode subuid root
	run_rl run --rm -u 4242 bb sh -c 'id -u; id -g; echo "$HOME"'
	assert_status 0
	assert_output "4242
0
/"
}

@test "-u with an unknown name fails" {
	run_rl run --rm -u no-such-user bb true
	[ "$status" -eq 125 ] || [ "$status" -eq 126 ] || { show; fail "want 125 or 126"; }
	[ -n "$stderr" ] || fail "expected an error message"
	run_rl run --rm -u bob:no-such-group bb true
	[ "$status" -eq 125 ] || [ "$status" -eq 126 ] || { show; fail "want 125 or 126"; }
}

@test "a non-root user is confined: cannot write root's files, can write its home" {
	need_mode subuid root
	run_rl run --rm -u bob bb sh -c '
		touch /home/bob/mine && echo home-ok
		touch /root/x 2>/dev/null || echo root-denied
		echo x 2>/dev/null >>/etc/passwd || echo passwd-denied
		chown 0 /home/bob/mine 2>/dev/null || echo chown-denied'
	assert_status 0
	assert_output "home-ok
root-denied
passwd-denied
chown-denied"
}

@test "-u with -w: a user's working directory" {
	need_mode subuid root
	run_rl run --rm -u bob -w /home/bob bb sh -c 'pwd; touch here && echo ok'
	assert_status 0
	assert_output "/home/bob
ok"
}

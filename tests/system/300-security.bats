#!/usr/bin/env bats
# Confinement: the default seccomp profile, Docker-format profiles,
# capabilities and no_new_privs.  Each escape a hostile image might try is
# made and must fail; raw system calls come from a small static probe built
# here (security-probe.c), the rest from busybox applets.

load helpers

# Podman's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID
# SETPCAP NET_BIND_SERVICE SYS_CHROOT SETFCAP.
PODMAN_CAPS=00000000800405fb

setup_file() {
	rl_setup_file
	import_busybox bb >/dev/null
	mkdir -p "$RL_TEST_DIR/probe"
	PROBE_SKIP=
	if ! command -v gcc >/dev/null; then
		PROBE_SKIP="no gcc to build the static probe"
	elif ! gcc -static -O2 -o "$RL_TEST_DIR/probe/probe" "$BATS_TEST_DIRNAME/security-probe.c" \
		2>"$RL_TEST_DIR/probe/build.log"; then
		PROBE_SKIP="gcc -static failed (no static libc?): $(head -n1 "$RL_TEST_DIR/probe/build.log")"
	fi
	# The same probe as an i386 program, where a 32-bit libc is installed
	# (Debian: gcc-multilib), for the compat entry point.
	PROBE32_SKIP=
	if [ -n "$PROBE_SKIP" ]; then
		PROBE32_SKIP=$PROBE_SKIP
	elif ! gcc -m32 -static -O2 -o "$RL_TEST_DIR/probe/probe32" "$BATS_TEST_DIRNAME/security-probe.c" \
		2>"$RL_TEST_DIR/probe/build32.log"; then
		PROBE32_SKIP="no 32-bit static libc for gcc -m32 (Debian: gcc-multilib)"
	elif ! "$RL_TEST_DIR/probe/probe32" fork >/dev/null 2>&1; then
		# A kernel built or booted without IA32 emulation refuses the
		# program itself (ENOEXEC): there is no compat entry point.
		PROBE32_SKIP="this kernel does not run i386 programs (no IA32 emulation)"
	fi
	export PROBE_SKIP PROBE32_SKIP
}

teardown_file() {
	rl_teardown_file
}

need_probe() {
	[ -z "$PROBE_SKIP" ] || skip "$PROBE_SKIP"
}

# probe [RL-OPTIONS...] -- TEST...: run the probe once per TEST in one container.
probe() {
	local opts=()
	while [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	local script=
	for t in "$@"; do
		script+="/p/probe $t;"
	done
	run_rl run --rm "${opts[@]}" -v "$RL_TEST_DIR/probe:/p:ro" bb sh -c "$script"
	assert_status 0
}

# caps_line NAME: the value of NAME (CapEff, ...) in the last output.
caps_of() {
	printf '%s\n' "$output" | awk -v k="$1:" '$1 == k { print $2 }'
}

assert_caps() {
	local inh=$1 prm=$2 eff=$3 bnd=$4 amb=$5
	[ "$(caps_of CapInh)" = "$inh" ] || { show >&2; fail "CapInh: want $inh"; }
	[ "$(caps_of CapPrm)" = "$prm" ] || { show >&2; fail "CapPrm: want $prm"; }
	[ "$(caps_of CapEff)" = "$eff" ] || { show >&2; fail "CapEff: want $eff"; }
	[ "$(caps_of CapBnd)" = "$bnd" ] || { show >&2; fail "CapBnd: want $bnd"; }
	[ "$(caps_of CapAmb)" = "$amb" ] || { show >&2; fail "CapAmb: want $amb"; }
}

# ---------------------------------------------------------------- capabilities

@test "root gets exactly Podman's default set, nothing inheritable or ambient" {
	run_rl run --rm bb grep -E '^(Cap|NoNewPrivs)' /proc/self/status
	assert_status 0
	assert_caps 0000000000000000 $PODMAN_CAPS $PODMAN_CAPS $PODMAN_CAPS 0000000000000000
	assert_line "NoNewPrivs:	0"
}

@test "a non-root user gets no effective or permitted capability; bounding stays" {
	run_rl run --rm -u 1000 bb grep ^Cap /proc/self/status
	assert_status 0
	assert_caps 0000000000000000 0000000000000000 0000000000000000 $PODMAN_CAPS 0000000000000000
}

@test "--cap-add and --cap-drop change every set; names in any case, with or without CAP_" {
	run_rl run --rm --cap-add net_raw --cap-drop CAP_CHOWN,kill bb grep ^Cap /proc/self/status
	assert_status 0
	# + NET_RAW (13), - CHOWN (0), - KILL (5)
	assert_caps 0000000000000000 00000000800425da 00000000800425da 00000000800425da 0000000000000000

	run_rl run --rm --cap-drop ALL --cap-add Sys_Chroot bb grep ^Cap /proc/self/status
	assert_status 0
	assert_caps 0000000000000000 0000000000040000 0000000000040000 0000000000040000 0000000000000000

	local all
	all=$(printf '%016x' $(((1 << ($(cat /proc/sys/kernel/cap_last_cap) + 1)) - 1)))
	run_rl run --rm --cap-add ALL bb grep ^Cap /proc/self/status
	assert_status 0
	assert_caps 0000000000000000 "$all" "$all" "$all" 0000000000000000
}

@test "a non-root user receives what --cap-add names, as ambient capabilities (as Podman)" {
	run_rl run --rm -u 1000 --cap-add NET_RAW bb grep ^Cap /proc/self/status
	assert_status 0
	assert_caps 0000000000002000 0000000000002000 0000000000002000 00000000800425fb 0000000000002000
}

@test "--security-opt no-new-privileges sets NoNewPrivs" {
	run_rl run --rm --security-opt no-new-privileges bb grep NoNewPrivs /proc/self/status
	assert_status 0
	assert_output "NoNewPrivs:	1"
	run_rl run --rm --security-opt no-new-privileges=false bb grep NoNewPrivs /proc/self/status
	assert_status 0
	assert_output "NoNewPrivs:	0"
}

@test "unknown capability names and security options fail with 125 and one line" {
	local bad
	for bad in "--cap-add NET_BOGUS" "--cap-drop 12" "--cap-add CAP_" "--security-opt bogus" \
		"--security-opt seccomp=" "--security-opt no-new-privileges=maybe"; do
		# shellcheck disable=SC2086
		run_rl run --rm $bad bb true
		assert_rl_error
		[ "${#stderr_lines[@]}" -eq 1 ] || { show >&2; fail "want one line for $bad"; }
	done
	run_rl run --rm --cap-add NET_BOGUS bb true
	assert_match "unknown capability \`NET_BOGUS\`" "$stderr"
}

# ---------------------------------------------------------------- default seccomp profile

@test "kernel keyring, bpf, perf, userfaultfd, modules, kexec, handles: EPERM" {
	need_probe
	probe -- keyctl add_key request_key bpf perf_event_open userfaultfd init_module kexec_load \
		open_by_handle_at
	assert_output "keyctl: EPERM
add_key: EPERM
request_key: EPERM
bpf: EPERM
perf_event_open: EPERM
userfaultfd: EPERM
init_module: EPERM
kexec_load: EPERM
open_by_handle_at: EPERM"
}

@test "clone3 is ENOSYS, clone with namespace flags EPERM, plain fork works" {
	need_probe
	probe -- clone3 clone-newns fork
	assert_output "clone3: ENOSYS
clone-newns: EPERM
fork: ok"
}

@test "no new user or mount namespace, no mount, no setns (busybox unshare, mount, nsenter)" {
	run_rl run --rm bb sh -c '
		unshare -U true 2>&1 && echo unshare-U-worked
		unshare -m true 2>&1 && echo unshare-m-worked
		mount -t tmpfs none /tmp 2>&1 && echo mount-worked
		nsenter -t 1 -m true 2>&1 && echo nsenter-worked
		true'
	assert_status 0
	refute_match worked
	assert_match "Operation not permitted"
}

@test "with --cap-add SYS_ADMIN, mount and unshare are allowed, as with Docker" {
	run_rl run --rm --cap-add SYS_ADMIN bb sh -c 'mount -t tmpfs none /tmp && unshare -m true && echo ok'
	assert_status 0
	assert_output ok
}

@test "TIOCSTI and TIOCLINUX cannot inject input, even with high bits set; other ioctls work" {
	need_probe
	probe -- tiocsti tiocsti-high tiocgwinsz
	assert_output "tiocsti: EPERM
tiocsti-high: EPERM
tiocgwinsz: ENOTTY"
}

@test "personality: the safe values work, others fail; linux32 works" {
	need_probe
	probe -- "personality 0" "personality 8" "personality 0x20008" "personality 0xffffffff" \
		"personality 0x0400000" "personality 0x100"
	assert_output "personality: ok
personality: ok
personality: ok
personality: ok
personality: EPERM
personality: EPERM"
	run_rl run --rm bb linux32 uname -m
	assert_status 0
	assert_output i686
}

@test "ptrace is allowed (kernel >= 4.8), x32 calls EPERM, calls newer than the table ENOSYS" {
	need_probe
	# 400: a hole of the x86-64 table (not 335 or 336, uretprobe and
	# uprobe, which the kernel lets past every filter); 452: fchmodat2,
	# newer than some libseccomp (EFAULT: it reached the kernel); 1000:
	# unknown to the table.
	probe -- ptrace x32 "nr 400" "nr 452" "nr 1000"
	assert_output "ptrace: ESRCH
x32: EPERM
nr: EPERM
nr: EFAULT
nr: ENOSYS"
}

@test "i386 programs get the same profile through the compat entry point" {
	[ -z "$PROBE32_SKIP" ] || skip "$PROBE32_SKIP"
	run_rl run --rm -v "$RL_TEST_DIR/probe:/p:ro" bb sh -c '
		for t in keyctl bpf clone3 clone-newns fork tiocsti "personality 8" "personality 0x400000" "nr 1000"; do
			/p/probe32 $t
		done'
	assert_status 0
	assert_output "keyctl: EPERM
bpf: EPERM
clone3: ENOSYS
clone-newns: EPERM
fork: ok
tiocsti: EPERM
personality: ok
personality: EPERM
nr: ENOSYS"
}

@test "seccomp=unconfined with --cap-add ALL lifts the filter" {
	need_probe
	probe --security-opt seccomp=unconfined --cap-add ALL -- clone3 tiocsti "nr 1000"
	assert_output "clone3: EINVAL
tiocsti: ENOTTY
nr: ENOSYS"
}

@test "single-id mode: root emulation still applies on top of the default profile" {
	need_mode single
	run_rl run --rm bb sh -c 'touch /tmp/f && chown 1000:1000 /tmp/f && stat -c %u:%g /tmp/f'
	assert_status 0
	assert_output "0:0"
}

# ---------------------------------------------------------------- Docker-format profiles

@test "a Docker-format profile that blocks getcwd blocks it; seccomp=unconfined lifts it" {
	cat >"$RL_TEST_DIR/nocwd.json" <<-'EOF'
		{
		  "defaultAction": "SCMP_ACT_ALLOW",
		  "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
		  "syscalls": [
		    { "names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1 },
		    { "names": ["uname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
		      "includes": { "caps": ["CAP_SYS_ADMIN"] } },
		    { "names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
		      "args": [ { "index": 0, "value": 8, "op": "SCMP_CMP_EQ" } ] }
		  ]
		}
	EOF
	run_rl run --rm --security-opt "seccomp=$RL_TEST_DIR/nocwd.json" bb sh -c '/bin/pwd; uname -s; linux32 true || echo linux32-failed'
	assert_status 0
	assert_match "getcwd: Operation not permitted" "$stderr"
	assert_line Linux
	assert_line linux32-failed

	run_rl run --rm --security-opt "seccomp=$RL_TEST_DIR/nocwd.json" --cap-add SYS_ADMIN bb uname -s
	# busybox prints what it got: nothing.
	assert_status 0
	refute_line Linux

	run_rl run --rm --security-opt "seccomp=$RL_TEST_DIR/nocwd.json" --security-opt seccomp=unconfined bb /bin/pwd
	assert_status 0
	assert_output /
}

@test "a bad profile fails with 125 and one line naming it" {
	printf '{"defaultAction": "SCMP_ACT_BOGUS"}' >"$RL_TEST_DIR/bad.json"
	printf '{"defaultAction": ' >"$RL_TEST_DIR/trunc.json"
	printf '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}]}]}' >"$RL_TEST_DIR/args.json"
	local f
	for f in bad trunc args missing; do
		run_rl run --rm --security-opt "seccomp=$RL_TEST_DIR/$f.json" bb true
		assert_rl_error
		[ "${#stderr_lines[@]}" -eq 1 ] || { show >&2; fail "want one line for $f"; }
		assert_match "$f.json" "$stderr"
	done
}

# ---------------------------------------------------------------- the BPF cache

@test "the filter is compiled once and cached; a damaged cache file is rebuilt" {
	need_probe
	rm -rf "$XDG_CACHE_HOME/rl/seccomp"
	run_rl run --rm bb true
	assert_status 0
	# One filter, and in subuid mode its single-id variant should the
	# helpers fail.
	local files=("$XDG_CACHE_HOME"/rl/seccomp/*.bpf) f before
	[ -s "${files[0]}" ] || fail "no cached filter: ${files[*]}"
	before=$(stat -c %Y.%i "${files[@]}")
	run_rl run --rm bb true
	assert_status 0
	[ "$(stat -c %Y.%i "${files[@]}")" = "$before" ] || fail "a cached filter was rewritten"
	# A torn file (not a whole number of instructions) is never loaded.
	for f in "${files[@]}"; do
		printf 'abc' >"$f"
	done
	probe -- keyctl
	assert_output "keyctl: EPERM"
	[ "$(stat -c %s "${files[0]}")" -gt 8 ] || fail "the cache was not rebuilt"
}

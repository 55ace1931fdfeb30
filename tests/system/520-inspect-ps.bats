#!/usr/bin/env bats
# rl ps --filter/--format/-l/-n/-s, rl inspect, rl rename, rl container prune,
# rl rm -v.

load helpers

setup() {
	rl rm -af >/dev/null 2>&1 || true
}

teardown() {
	rl rm -af >/dev/null 2>&1 || true
	wait_gone 'sleep 5201' 10 || true
}

# Three exited containers a (x=1), b (x=2, y=), c (no label), made in that
# order, and a running one r.
make_set() {
	rl run --name a -l x=1 bb true
	rl run --name b -l x=2 -l y= bb true
	rl run --name c bb sh -c 'exit 4' || [ $? -eq 4 ]
	rl run -d --name r bb sleep 5201 >/dev/null
	wait_running r
}

# wait_running NAME: poll until ps lists NAME as running.
wait_running() {
	local i
	for ((i = 0; i < 500; i++)); do
		[ "$(rl ps --filter "name=^$1\$" --filter status=running --format '{{.Names}}')" = "$1" ] && return 0
		sleep 0.02
	done
	fail "container $1 is not running after 10s"
}

# ps_names ARGS...: the names ps prints with ARGS, sorted, on one line.
ps_names() {
	rl ps "$@" --format '{{.Names}}' | sort | tr '\n' ' ' | sed 's/ $//'
}

@test "ps --filter: status, name, id, ancestor, label; same key ORs, different keys AND" {
	make_set
	[ "$(ps_names -a)" = "a b c r" ] || fail "ps -a: $(ps_names -a)"
	[ "$(ps_names)" = "r" ] || fail "ps: $(ps_names)"
	# A status filter looks at every container, as in Docker.
	[ "$(ps_names --filter status=exited)" = "a b c" ] || fail "status=exited: $(ps_names --filter status=exited)"
	[ "$(ps_names -a --filter status=running)" = "r" ] || fail "status=running"
	[ "$(ps_names --filter status=exited --filter status=running)" = "a b c r" ] || fail "two statuses must OR"
	[ "$(ps_names -a --filter name=a)" = "a" ] || fail "name=a: $(ps_names -a --filter name=a)"
	[ "$(ps_names -a --filter 'name=^[bc]$')" = "b c" ] || fail "name regex"
	[ "$(ps_names -a --filter name=a --filter name=c)" = "a c" ] || fail "two names must OR"
	[ "$(ps_names -a --filter name=a --filter status=running)" = "" ] || fail "name and status must AND"
	local id
	id=$(rl inspect --format '{{.Id}}' b)
	[ "$(ps_names -a --filter "id=${id:0:10}")" = "b" ] || fail "id prefix"
	[ "$(ps_names -a --filter ancestor=bb)" = "a b c r" ] || fail "ancestor=bb"
	local img
	img=$(rl image inspect bb | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])')
	[ "$(ps_names -a --filter "ancestor=${img:0:12}")" = "a b c r" ] || fail "ancestor=image id"
	[ "$(ps_names -a --filter ancestor=nosuchimage)" = "" ] || fail "ancestor=unknown image"
	[ "$(ps_names -a --filter label=x)" = "a b" ] || fail "label=x"
	[ "$(ps_names -a --filter label=x=1)" = "a" ] || fail "label=x=1"
	[ "$(ps_names -a --filter label=x --filter label=y)" = "b" ] || fail "labels must all match"
	[ "$(ps_names -a --filter label=y=)" = "b" ] || fail "label=y= (empty value)"
	# Without -a only running ones; a/b are exited.
	[ "$(ps_names --filter label=x)" = "" ] || fail "label=x without -a lists exited ones"
	run_rl ps -q --filter name=r
	assert_status 0
	assert_output "$(rl inspect --format '{{.Id}}' r | cut -c1-12)"
}

@test "ps --filter: bad keys and values are one error line" {
	run_rl ps --filter color=red
	assert_rl_error
	assert_match 'color' "${stderr_lines[-1]}"
	run_rl ps --filter status=sleeping
	assert_rl_error
	assert_match 'sleeping' "${stderr_lines[-1]}"
	run_rl ps --filter name
	assert_rl_error
	# Docker's states rl's containers never are in: accepted, match nothing.
	run_rl ps --filter status=paused --format '{{.Names}}'
	assert_status 0
	assert_output ""
	run_rl ps --filter 'name=('
	assert_rl_error
}

@test "ps --format: Go templates, table, json, {{json .}}" {
	make_set
	run_rl ps -a --format '{{.Names}}:{{.State}}:{{.Labels.x}}:{{index .Labels "x"}}'
	assert_status 0
	assert_line 'a:exited:1:1'
	assert_line 'b:exited:2:2'
	assert_line 'c:exited:<no value>:'
	assert_line 'r:running:<no value>:'
	# Newest first, as the default table.
	[ "${lines[0]%%:*}" = r ] && [ "${lines[3]%%:*}" = a ] || { show; fail "not newest first"; }

	run_rl ps -a --filter name=c --format '{{.Command}}|{{.Status}}|{{.Image}}|{{.ExitCode}}'
	assert_status 0
	assert_match '^"sh -c exit 4"\|Exited \(4\) .* ago\|localhost/bb:latest\|4$'

	# table: a header from the field titles, columns aligned like Docker's.
	run_rl ps -a --filter 'name=^[ar]$' --format 'table {{.Names}}\t{{.State}}\t{{.Image}}'
	assert_status 0
	[ "${#lines[@]}" -eq 3 ] || { show; fail "want a header and 2 rows"; }
	assert_output "NAMES     STATE     IMAGE
r         running   localhost/bb:latest
a         exited    localhost/bb:latest"
	run_rl ps -a --format 'table {{.ID}}\t{{.RunningFor}}'
	assert_match '^CONTAINER ID   CREATED$' "${lines[0]}"
	# "table" alone is the default table.
	run_rl ps --format table
	assert_match '^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +NAMES$' "${lines[0]}"
	assert_match '^[0-9a-f]{12} +localhost/bb:latest +"sleep 5201" +.* +Up .* +r$' "${lines[1]}"
	# \t and \n as Docker reads them in the format.
	run_rl ps --format '{{.Names}}\t{{.State}}\n--'
	assert_status 0
	assert_output "$(printf 'r\trunning\n--')"

	# json: one array of objects, as Podman.
	run_rl ps -a --format json
	assert_status 0
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert isinstance(d, list) and len(d) == 4, d
names = sorted(o["Names"] for o in d)
assert names == ["a", "b", "c", "r"], names
a = [o for o in d if o["Names"] == "a"][0]
assert a["Labels"] == {"x": "1"} and a["State"] == "exited", a
' "$output" || { show; fail "bad ps --format json"; }
	# {{json .}}: one object per line, as Docker.
	run_rl ps -a --format '{{json .}}'
	assert_status 0
	[ "${#lines[@]}" -eq 4 ] || { show; fail "want 4 lines"; }
	local l
	for l in "${lines[@]}"; do
		python3 -c 'import json, sys; o = json.loads(sys.argv[1]); assert o["ID"] and o["Names"]' "$l" ||
			fail "not a JSON object: $l"
	done
	run_rl ps --format '{{json .Labels}} {{json .Names}} {{join .Mounts ","}}|{{upper .Names}}'
	assert_output '{} "r" |R'

	# --no-trunc, and -q wins over --format.
	run_rl ps --no-trunc --format '{{.ID}}'
	assert_match '^[0-9a-f]{64}$'
	run_rl ps -q --format '{{.Names}}'
	assert_match '^[0-9a-f]{12}$'
}

@test "ps --format: unknown fields and syntax errors are one error line" {
	make_set
	local f
	for f in '{{.Nope}}' 'table {{.Nope}}' '{{.Names' '{{if .Names}}x' '{{nofunc .Names}}' '{{.Names.x}}' '{{end}}'; do
		run_rl ps -a --format "$f"
		assert_rl_error
		assert_output ""
		[ "${#stderr_lines[@]}" -eq 1 ] || { show; fail "want one error line for $f"; }
		assert_match '^rl: ps: --format: template: ' "${stderr_lines[0]}"
	done
	# Even with no container to show, the template is checked.
	rl rm -af >/dev/null
	run_rl ps -a --format 'table {{.Nope}}'
	assert_rl_error
}

@test "ps -l, -n N: the latest created containers in any state" {
	make_set
	run_rl ps -l --format '{{.Names}}'
	assert_output r
	rl rm -f r >/dev/null
	run_rl ps -l --format '{{.Names}}'
	assert_output c
	run_rl ps --latest -q
	assert_output "$(rl inspect --format '{{.Id}}' c | cut -c1-12)"
	run_rl ps -n 2 --format '{{.Names}}'
	assert_output "c
b"
	run_rl ps --last 10 --format '{{.Names}}'
	assert_output "c
b
a"
	run_rl ps -n 1 --filter label=x --format '{{.Names}}'
	assert_output b
	run_rl ps -n nope
	assert_rl_error
	run_rl ps -l -n 2
	assert_rl_error
}

@test "ps -s: the size of the writable layer" {
	rl run --name w bb sh -c 'head -c 100000 /dev/zero > /big; mkdir -p /d/e; echo 12345 > /d/e/f'
	rl run --name e bb true
	run_rl ps -a -s
	assert_status 0
	assert_match '^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +NAMES +SIZE$' "${lines[0]}"
	assert_match ' e +[0-9.]+[kM]?B \(virtual [0-9.]+[kM]?B\)$' "${lines[1]}"
	assert_match ' w +[0-9.]+[kM]?B \(virtual [0-9.]+[kM]?B\)$' "${lines[2]}"
	local driver
	driver=$(rl inspect --format '{{.Driver}}' w)
	run_rl ps -a --format '{{.Names}} {{.Size}}'
	assert_status 0
	case $driver in
	overlay | fuse-overlayfs)
		# 100000 + 6 bytes, and the empty mount points rl makes.
		assert_match '(^|
)w 100kB \(virtual [0-9.]+MB\)' "$output"
		assert_match '(^|
)e 0B \(virtual [0-9.]+MB\)' "$output"
		;;
	*)
		# vfs: the container's own copy of the whole tree.
		assert_match '(^|
)w [0-9.]+MB \(virtual [0-9.]+MB\)' "$output"
		;;
	esac
	# Without -s or .Size the size is not worked out.
	run_rl ps -a --format '[{{json .Names}}]' --filter name=w
	assert_output '["w"]'
}

@test "inspect: a container's fields, Docker's shape" {
	mkdir -p "$BATS_TEST_TMPDIR/vol"
	rl run --name insp -l x=1 -l 'note=a b' -e FOO=bar -v "$BATS_TEST_TMPDIR/vol:/data:ro" --tmpfs /scratch \
		--restart on-failure:2 --log-opt max-size=1m -w /tmp bb sh -c 'exit 3' || true
	run_rl inspect insp
	assert_status 0
	python3 - "$output" "$BATS_TEST_TMPDIR/vol" <<'EOF' || { show; fail "bad inspect output"; }
import json, re, sys
d = json.loads(sys.argv[1])
assert isinstance(d, list) and len(d) == 1, d
c = d[0]
assert re.fullmatch(r"[0-9a-f]{64}", c["Id"]), c["Id"]
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", c["Created"]), c["Created"]
assert c["Name"] == "insp", c["Name"]
assert c["Path"] == "sh" and c["Args"] == ["-c", "exit 3"], (c["Path"], c["Args"])
s = c["State"]
assert s["Status"] == "exited" and s["Running"] is False and s["ExitCode"] == 3, s
assert s["Pid"] == 0 and s["Paused"] is False and s["OOMKilled"] is False and s["Dead"] is False, s
assert s["StartedAt"] <= s["FinishedAt"] and s["FinishedAt"].startswith("20"), s
assert re.fullmatch(r"sha256:[0-9a-f]{64}", c["Image"]), c["Image"]
assert c["ImageName"] == "localhost/bb:latest", c["ImageName"]
assert c["RestartCount"] >= 0 and c["Driver"], c
assert c["LogPath"].endswith("/containers/%s/ctr.log" % c["Id"]), c["LogPath"]
m = {x["Destination"]: x for x in c["Mounts"]}
assert m["/data"]["Type"] == "bind" and m["/data"]["Source"] == sys.argv[2] and m["/data"]["RW"] is False, m
assert m["/scratch"]["Type"] == "tmpfs" and m["/scratch"]["RW"] is True, m
cf = c["Config"]
assert cf["Hostname"] == c["Id"][:12], cf
assert "FOO=bar" in cf["Env"] and any(e.startswith("PATH=") for e in cf["Env"]), cf["Env"]
assert cf["Cmd"] == ["sh", "-c", "exit 3"], cf["Cmd"]
assert cf["Image"] == "bb" and cf["WorkingDir"] == "/tmp", cf
assert cf["Labels"] == {"x": "1", "note": "a b"}, cf["Labels"]
assert cf["StopSignal"] == "SIGTERM" and cf["Tty"] is False and cf["OpenStdin"] is False, cf
h = c["HostConfig"]
assert h["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}, h["RestartPolicy"]
assert h["NetworkMode"] == "slirp4netns" and h["Privileged"] is False and h["AutoRemove"] is False, h
assert h["CapAdd"] == [] and h["CapDrop"] == [] and h["ReadonlyRootfs"] is False, h
assert h["LogConfig"]["Type"] == "k8s-file" and h["LogConfig"]["Config"].get("max-size"), h["LogConfig"]
assert c["NetworkSettings"]["Ports"] == {} and c["NetworkSettings"]["IPAddress"] == "", c["NetworkSettings"]
EOF
	run_rl inspect --format '{{.State.Status}}/{{.State.ExitCode}}/{{.Config.Labels.x}}/{{json .Config.Labels}}' insp
	assert_status 0
	assert_output 'exited/3/1/{"x":"1","note":"a b"}'
	run_rl inspect -f '{{range .Mounts}}{{.Destination}}={{.RW}} {{end}}|{{index .Config.Labels "note"}}|{{join .Args " "}}' insp
	assert_output '/data=false /scratch=true |a b|-c exit 3'
	run_rl inspect -f '{{.Name}} {{.HostConfig.RestartPolicy.Name}}' insp "$(rl inspect -f '{{.Id}}' insp | cut -c1-8)"
	assert_output "insp on-failure
insp on-failure"
	run_rl inspect -f '{{.State.Nope}}' insp
	assert_rl_error
	assert_output ""
	run_rl inspect -f '{{.Name' insp
	assert_rl_error
}

@test "inspect: a running container" {
	rl run -d --name run1 -t bb sleep 5201 >/dev/null
	wait_running run1
	run_rl inspect -f '{{.State.Status}} {{.State.Running}} {{.State.FinishedAt}} {{.Config.Tty}}' run1
	assert_status 0
	assert_output 'running true 0001-01-01T00:00:00Z true'
	local pid
	pid=$(rl inspect -f '{{.State.Pid}}' run1)
	[ "$pid" -gt 0 ] && [ -d "/proc/$pid" ] || fail "State.Pid $pid is not a live process"
	grep -q 5201 "/proc/$pid/cmdline" || fail "State.Pid $pid is not the container's sleep"
}

@test "inspect: images, --type, unknown names" {
	rl run --name ctr bb true
	run_rl inspect bb
	assert_status 0
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert len(d) == 1 and "localhost/bb:latest" in d[0]["RepoTags"], d
' "$output" || { show; fail "inspect of an image"; }
	# The same object as rl image inspect.
	assert_output "$(rl image inspect bb)"
	run_rl inspect --type image -f '{{index .RepoTags 0}}' bb
	assert_output localhost/bb:latest
	run_rl inspect --type container bb
	assert_rl_error
	assert_match 'bb' "${stderr_lines[-1]}"
	run_rl inspect --type image ctr
	assert_rl_error
	run_rl inspect --type volume ctr
	assert_rl_error
	# A container and an image together.
	run_rl inspect -f '{{.Id}}' ctr bb
	assert_status 0
	[ "${#lines[@]}" -eq 2 ] || { show; fail "want two lines"; }
	# Unknown: an empty array, and the error on stderr.
	run_rl inspect nosuch
	assert_rl_error
	assert_output "[]"
	assert_match 'nosuch' "${stderr_lines[-1]}"
	# Known ones are still printed.
	run_rl inspect -f '{{.Name}}' ctr nosuch other
	assert_rl_error
	assert_output ctr
	[ "${#stderr_lines[@]}" -eq 2 ] || { show; fail "want one error line per unknown name"; }
	run_rl inspect
	assert_rl_error
}

@test "rename: the old name is free, the new one taken; running containers too" {
	rl run --name old -l k=v bb true
	rl run --name other bb true
	local id
	id=$(rl inspect -f '{{.Id}}' old)
	run_rl rename old new
	assert_status 0
	assert_output ""
	run_rl inspect -f '{{.Id}} {{.Name}} {{.Config.Labels.k}}' new
	assert_output "$id new v"
	run_rl inspect old
	assert_rl_error
	[ "$(ps_names -a)" = "new other" ] || fail "ps -a: $(ps_names -a)"
	# The old name is free for a new container.
	run_rl run --name old bb echo again
	assert_status 0
	assert_output again
	# A taken name is refused, and nothing changes.
	run_rl rename new other
	assert_rl_error
	assert_match 'other' "${stderr_lines[-1]}"
	[ "$(ps_names -a)" = "new old other" ] || fail "ps -a: $(ps_names -a)"
	run_rl rename new 'bad/name'
	assert_rl_error
	run_rl rename new -x
	assert_rl_error
	run_rl rename nosuch x
	assert_rl_error
	run_rl rename new
	assert_rl_error
	# By id prefix, and a running container.
	run_rl rename "${id:0:12}" newer
	assert_status 0
	rl run -d --name live bb sleep 5201 >/dev/null
	wait_running live
	run_rl rename live alive
	assert_status 0
	wait_running alive
	run_rl rm -f alive
	assert_status 0
	[ "$(ps_names -a)" = "newer old other" ] || fail "ps -a: $(ps_names -a)"
}

@test "container prune: removes exited containers, keeps running ones" {
	make_set
	local ids
	ids=$(rl ps -a --no-trunc --filter status=exited --format '{{.ID}}' | sort)
	# Without a terminal and without -f: refused, nothing removed.
	run_rl container prune </dev/null
	assert_rl_error
	assert_match 'use -f' "${stderr_lines[-1]}"
	[ "$(ps_names -a)" = "a b c r" ] || fail "prune without -f removed something"
	run_rl container prune -f
	assert_status 0
	assert_match 'Total reclaimed space: [0-9.]+[kM]?B$' "${lines[-1]}"
	[ "$(printf '%s\n' "${lines[@]:0:${#lines[@]}-1}" | sort)" = "$ids" ] || { show; fail "want the exited ids"; }
	[ "$(ps_names -a)" = "r" ] || fail "ps -a after prune: $(ps_names -a)"
	# Nothing left to prune.
	run_rl container prune -f
	assert_output "Total reclaimed space: 0B"
}

@test "container prune: asks on a terminal" {
	rl run --name p1 bb true
	run_pty --timeout 20 --expect 'continue\? \[y/N\]' --send 'n\r' -- "$RL" container prune
	[ "$status" -eq 0 ] || { show; fail "prune answered n: status $status"; }
	[ "$(ps_names -a)" = "p1" ] || fail "prune answered n removed something"
	run_pty --timeout 20 --expect 'continue\? \[y/N\]' --send 'y\r' -- "$RL" container prune
	[ "$status" -eq 0 ] || { show; fail "prune answered y: status $status"; }
	assert_match 'Total reclaimed space'
	[ "$(ps_names -a)" = "" ] || fail "prune answered y left: $(ps_names -a)"
}

@test "rm -v is accepted (no anonymous volumes)" {
	mkdir -p "$BATS_TEST_TMPDIR/keep"
	echo data >"$BATS_TEST_TMPDIR/keep/f"
	rl run --name v1 -v "$BATS_TEST_TMPDIR/keep:/k" bb true
	run_rl rm -v v1
	assert_status 0
	[ "$(ps_names -a)" = "" ] || fail "rm -v did not remove the container"
	[ "$(cat "$BATS_TEST_TMPDIR/keep/f")" = data ] || fail "rm -v touched a bind mount's source"
}

@test "ps shows a created container" {
	run_rl create --name cr -l k=v bb true
	assert_status 0
	rl run --name ex bb true
	[ "$(ps_names --filter status=created)" = "cr" ] || fail "status=created: $(ps_names --filter status=created)"
	[ "$(ps_names)" = "" ] || fail "ps without -a lists a created container"
	run_rl ps -a --filter name=cr --format '{{.State}} {{.Status}} {{.Labels.k}}'
	assert_output 'created Created v'
	run_rl inspect -f '{{.State.Status}} {{.State.Running}} {{.State.StartedAt}} {{.State.FinishedAt}}' cr
	assert_output 'created false 0001-01-01T00:00:00Z 0001-01-01T00:00:00Z'
	# A renamed created container starts under its new name.
	run_rl rename cr cr2
	assert_status 0
	run_rl start -a cr2
	assert_status 0
	run_rl inspect -f '{{.Name}} {{.State.Status}} {{.State.ExitCode}}' cr2
	assert_output 'cr2 exited 0'
	rl create --name cr3 bb true >/dev/null
	run_rl container prune -f
	assert_status 0
	[ "$(ps_names -a)" = "" ] || fail "prune kept the created container"
}

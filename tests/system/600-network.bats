#!/usr/bin/env bats
# Networking: --network slirp (the default; libslirp inside rl's monitor),
# none, host, container:NAME; -p/-P and `rl port`; host loopback;
# /etc/hosts and resolv.conf options.  Everything stays on 127.0.0.0/8 and
# the container's own slirp network: no other address is ever contacted.

load helpers

setup_file() {
	rl_setup_file
	import_busybox bb >/dev/null
	rl import --change 'EXPOSE 80/tcp' "$RL_FIXTURES/busybox.tar" bbweb >/dev/null
	# busybox has no UDP server: a small static one, bind-mounted in.
	mkdir -p "$RL_TEST_DIR/udp"
	UDP_SKIP=
	if ! command -v gcc >/dev/null; then
		UDP_SKIP="no gcc to build the static UDP echo server"
	elif ! gcc -static -O2 -o "$RL_TEST_DIR/udp/udp-echo" "$BATS_TEST_DIRNAME/udp-echo.c" \
		2>"$RL_TEST_DIR/udp/build.log"; then
		UDP_SKIP="gcc -static failed: $(head -n1 "$RL_TEST_DIR/udp/build.log")"
	fi
	export UDP_SKIP
}

teardown_file() {
	rl rm -af >/dev/null 2>&1 || true
	rl_teardown_file
}

teardown() {
	if [ -n "${HOST_SERVER_PID:-}" ]; then
		kill "$HOST_SERVER_PID" 2>/dev/null || true
		wait "$HOST_SERVER_PID" 2>/dev/null || true
		HOST_SERVER_PID=
	fi
	rl rm -af >/dev/null 2>&1 || true
}

# free_port [udp]: a port of 127.0.0.1 nothing listens on now.
free_port() {
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1:] == ["udp"] else socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' "$@"
}

# web NAME PORT [rl run options...]: a detached busybox httpd serving
# "hello from NAME" on the container's port 80, published on PORT.
web() {
	local name=$1 port=$2
	shift 2
	rl run -d --name "$name" -p "127.0.0.1:$port:80" "$@" bb \
		sh -c "mkdir -p /www && echo hello from $name >/www/index.html && exec httpd -f -p 80 -h /www" >/dev/null
}

# fetch URL [SECONDS]: curl it, retrying while the server starts.
fetch() {
	local i
	for ((i = 0; i < ${2:-10} * 10; i++)); do
		curl -sf --max-time 5 "$1" && return 0
		sleep 0.1
	done
	curl -sS --max-time 5 "$1"
}

# host_http PORT: a web server on the host's 127.0.0.1:PORT serving a file
# "hostfile" that says "on the host".
host_http() {
	mkdir -p "$RL_TEST_DIR/www"
	echo "on the host" >"$RL_TEST_DIR/www/hostfile"
	python3 -m http.server "$1" --bind 127.0.0.1 --directory "$RL_TEST_DIR/www" \
		>"$RL_TEST_DIR/www.log" 2>&1 &
	HOST_SERVER_PID=$!
	local i
	for ((i = 0; i < 200; i++)); do
		curl -sf --max-time 2 "http://127.0.0.1:$1/hostfile" >/dev/null && return 0
		sleep 0.05
	done
	fail "the host's web server did not start"
}

@test "slirp is the default: tap0 with its address, route, mtu; lo up; resolv.conf and hosts" {
	local net
	for net in "" "--network slirp" "--network=slirp4netns"; do
		# shellcheck disable=SC2086
		run_rl run --rm $net --hostname box bb sh -c 'ip -o -4 addr show tap0; cat /sys/class/net/tap0/mtu; ip route; cat /sys/class/net/lo/operstate /sys/class/net/lo/flags; cat /etc/resolv.conf; grep box /etc/hosts'
		assert_status 0
		assert_match 'tap0 +inet 10\.0\.2\.100/24'
		assert_line 65520
		assert_line "default via 10.0.2.2 dev tap0 "
		assert_line 0x9
		assert_line "nameserver 10.0.2.3"
		refute_match 'nameserver (127\.|::1)'
		assert_line "10.0.2.100	box"
	done
	run_rl run --rm --network slirp:mtu=1500 bb cat /sys/class/net/tap0/mtu
	assert_status 0
	assert_output 1500
	run_rl inspect --format '{{.HostConfig.NetworkMode}}' "$(rl create bb true)"
	assert_status 0
	assert_output slirp4netns
}

@test "-p: a busybox httpd in a -d container is fetched from the host with curl" {
	local port
	port=$(free_port)
	web w1 "$port"
	run fetch "http://127.0.0.1:$port/"
	assert_status 0
	assert_output "hello from w1"
	run_rl port w1
	assert_status 0
	assert_output "80/tcp -> 127.0.0.1:$port"
	run_rl port w1 80
	assert_status 0
	assert_output "127.0.0.1:$port"
	run_rl port w1 81/tcp
	assert_rl_error
	run_rl inspect --format '{{json .NetworkSettings.Ports}} {{.NetworkSettings.IPAddress}}' w1
	assert_status 0
	assert_output "{\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"$port\"}]} 10.0.2.100"
	# Stopped, the port is free again.
	rl stop -t 1 w1 >/dev/null
	run curl -s --max-time 5 "http://127.0.0.1:$port/"
	[ "$status" -ne 0 ] || fail "port $port still answers after the container stopped"
}

@test "-p in the foreground: the run serves the port until it exits" {
	local port
	port=$(free_port)
	rl_bg "$RL_TEST_DIR/fg.out" run --rm --init -p "127.0.0.1:$port:8080" bb \
		sh -c 'mkdir /www && echo foreground >/www/index.html && httpd -p 8080 -h /www && sleep 60'
	run fetch "http://127.0.0.1:$port/"
	assert_status 0
	assert_output "foreground"
	kill -TERM "$RL_BG_PID"
	wait_bg 20
}

@test "20 connections in parallel through a published port all complete" {
	local port i ok=0
	port=$(free_port)
	web par "$port"
	fetch "http://127.0.0.1:$port/" >/dev/null
	for ((i = 0; i < 20; i++)); do
		curl -s --max-time 20 -o "$RL_TEST_DIR/par.$i" "http://127.0.0.1:$port/" &
	done
	wait
	for ((i = 0; i < 20; i++)); do
		[ "$(cat "$RL_TEST_DIR/par.$i" 2>/dev/null)" = "hello from par" ] && ok=$((ok + 1))
	done
	[ "$ok" -eq 20 ] || fail "only $ok of 20 parallel fetches completed"
}

@test "-p .../udp: a UDP echo through a published port" {
	[ -z "$UDP_SKIP" ] || skip "$UDP_SKIP"
	local port
	port=$(free_port udp)
	rl run -d --name udp -p "127.0.0.1:$port:7000/udp" -v "$RL_TEST_DIR/udp:/udp:ro" bb /udp/udp-echo 7000 >/dev/null
	run python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
for i in range(40):
    s.sendto(b"ping %d" % i, ("127.0.0.1", int(sys.argv[1])))
    try:
        print(s.recv(100).decode()); break
    except socket.timeout:
        pass' "$port"
	assert_status 0
	assert_match '^echo:ping [0-9]+$'
	run_rl port udp
	assert_output "7000/udp -> 127.0.0.1:$port"
}

@test "a host port already taken fails the run at once, naming the port, and leaves no record" {
	local port
	port=$(free_port)
	web taken "$port"
	run_rl run --rm -p "127.0.0.1:$port:80" bb true
	assert_rl_error
	assert_match "127\.0\.0\.1:$port/tcp" "$stderr"
	assert_match "in use" "$stderr"
	run_rl run -d --name taken2 -p "127.0.0.1:$port:80" bb sleep 100
	assert_rl_error
	assert_match ":$port/tcp" "$stderr"
	# Nothing is left: no record, and the name is free.
	run_rl ps -a
	assert_status 0
	refute_match "taken2" "$output"
}

@test "-P publishes the image's EXPOSE list on free host ports; rl port lists them" {
	local port
	rl run -d --name pall -P bbweb sh -c 'mkdir /www && echo exposed >/www/index.html && exec httpd -f -p 80 -h /www' >/dev/null
	run_rl port pall
	assert_status 0
	assert_match '^80/tcp -> 0\.0\.0\.0:[0-9]+$'
	port=${output##*:}
	run fetch "http://127.0.0.1:$port/"
	assert_status 0
	assert_output exposed
}

@test "allow_host_loopback=true reaches the host's 127.0.0.1 as 10.0.2.2 and host.containers.internal" {
	local port
	port=$(free_port)
	host_http "$port"
	run_rl run --rm --network slirp:allow_host_loopback=true bb sh -c "wget -q -O- http://10.0.2.2:$port/hostfile && wget -q -O- http://host.containers.internal:$port/hostfile"
	assert_status 0
	assert_output "on the host
on the host"
	# Off by default, as in slirp4netns: no connection, no name.
	run_rl run --rm bb sh -c "nc -w 2 10.0.2.2 $port </dev/null; echo nc=\$?; grep -c host.containers.internal /etc/hosts || true"
	assert_status 0
	assert_output "nc=1
0"
}

@test "--add-host names resolve in the container; /etc/hosts holds the container's name" {
	local port
	port=$(free_port)
	host_http "$port"
	run_rl run --rm --name named --network slirp:allow_host_loopback=true --add-host myhost.test:10.0.2.2 \
		--add-host other:10.9.9.9 bb sh -c "wget -q -O- http://myhost.test:$port/hostfile; cat /etc/hosts"
	assert_status 0
	assert_line "on the host"
	assert_line "10.0.2.2	myhost.test"
	assert_line "10.9.9.9	other"
	assert_match "10\.0\.2\.100	[0-9a-f]{12}"
}

@test "--dns, --dns-search and --dns-option write resolv.conf; --no-hosts keeps the image's hosts" {
	run_rl run --rm --dns 10.0.2.3 --dns 192.0.2.1 --dns-search a.test --dns-search b.test \
		--dns-option ndots:2 bb cat /etc/resolv.conf
	assert_status 0
	assert_line "nameserver 10.0.2.3"
	assert_line "nameserver 192.0.2.1"
	assert_line "search a.test b.test"
	assert_line "options ndots:2"
	run_rl run --rm --no-hosts --add-host x:1.2.3.4 bb cat /etc/hosts
	[ "$status" -eq 0 ] || [ "$status" -eq 1 ] || { show; fail "unexpected status"; }
	refute_match "1\.2\.3\.4"
	refute_match "10\.0\.2\.100"
	run_rl run --rm --dns bogus bb true
	assert_rl_error
}

@test "--network none has only lo" {
	run_rl run --rm --network none bb sh -c 'ls /sys/class/net; cat /etc/resolv.conf'
	assert_status 0
	assert_line lo
	refute_line tap0
}

@test "--network host sees the host's interfaces" {
	run_rl run --rm --network host bb sh -c 'ls /sys/class/net'
	assert_status 0
	assert_output "$(ls /sys/class/net)"
}

@test "--network container:NAME shares another container's network" {
	local port
	port=$(free_port)
	web pod "$port"
	fetch "http://127.0.0.1:$port/" >/dev/null
	run_rl run --rm --network container:pod bb sh -c 'wget -q -O- http://127.0.0.1:80/; ip -o -4 addr show tap0'
	assert_status 0
	assert_line "hello from pod"
	assert_match 'inet 10\.0\.2\.100/24'
	run_rl run --rm --network container:nosuch bb true
	assert_rl_error
	rl create --name stopped bb true >/dev/null
	run_rl run --rm --network container:stopped bb true
	assert_rl_error
	assert_match "not running" "$stderr"
}

@test "bad network options are refused in one line" {
	run_rl run --rm --network slirp:bogus=1 bb true
	assert_rl_error
	assert_match "bogus=1" "$stderr"
	run_rl run --rm --network none -p 8080:80 bb true
	assert_rl_error
	run_rl run --rm -p 80/sctp bb true
	assert_rl_error
	run_rl run --rm --network bridge bb true
	assert_rl_error
}

@test "the monitor is idle (no busy loop) while a -d container with a published port waits" {
	local port mon t0 t1
	port=$(free_port)
	web idle "$port"
	fetch "http://127.0.0.1:$port/" >/dev/null
	mon=$(pgrep -u "$(id -u)" -f -- "--name idle" | head -n1)
	[ -n "$mon" ] || fail "no monitor found"
	t0=$(awk '{ print $14 + $15 }' "/proc/$mon/stat")
	sleep 3
	t1=$(awk '{ print $14 + $15 }' "/proc/$mon/stat")
	# Clock ticks (100/s): a busy loop would use about 300.
	[ $((t1 - t0)) -lt 30 ] || fail "the monitor used $((t1 - t0)) ticks in 3 s"
}

@test "host loopback off: UDP to 10.0.2.2 does not reach the host (on: it does)" {
	local port
	port=$(free_port udp)
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    data, peer = s.recvfrom(2048)
    open(sys.argv[2], "ab").write(b"got\n")' "$port" "$RL_TEST_DIR/udp.got" &
	HOST_SERVER_PID=$!
	# tftp sends a read request to the port (a UDP datagram) at once, then
	# waits for an answer that never comes.  `; true` keeps sh as PID 1:
	# busybox's timeout execs the command in its own process, and a PID 1
	# ignores the SIGTERM it sends (tftp would retry for 10 s).
	rl run --rm bb sh -c "timeout 1 tftp -g -r x -l /tmp/x 10.0.2.2 $port; true" >/dev/null 2>&1 || true
	[ ! -s "$RL_TEST_DIR/udp.got" ] || fail "a datagram reached the host's loopback"
	rl run --rm --network slirp:allow_host_loopback=true bb sh -c "timeout 1 tftp -g -r x -l /tmp/x 10.0.2.2 $port; true" >/dev/null 2>&1 || true
	[ -s "$RL_TEST_DIR/udp.got" ] || fail "with allow_host_loopback=true the datagram did not arrive"
}

@test "a published port keeps working across --restart (a new tap each time)" {
	local port i first second
	port=$(free_port)
	rl run -d --name rs --restart always -p "127.0.0.1:$port:80" bb \
		sh -c 'mkdir -p /w; cat /proc/sys/kernel/random/uuid >/w/index.html; httpd -p 80 -h /w; sleep 1' >/dev/null
	first=$(fetch "http://127.0.0.1:$port/")
	[ -n "$first" ] || fail "no answer before the restart"
	for ((i = 0; i < 200; i++)); do
		second=$(curl -sf --max-time 2 "http://127.0.0.1:$port/" || true)
		[ -n "$second" ] && [ "$second" != "$first" ] && break
		sleep 0.05
	done
	[ -n "$second" ] && [ "$second" != "$first" ] || fail "no answer from the restarted container"
}

@test "IPv6: an fd00::/64 address by router advertisement; enable_ipv6=false: none" {
	run_rl run --rm bb sh -c 'for i in $(seq 100); do ip -6 addr show tap0 | grep -q "inet6 fd00:" && break; sleep 0.1; done; ip -6 addr show tap0 | grep -o "inet6 fd00:[^/]*/64"'
	assert_status 0
	assert_match '^inet6 fd00:'
	run_rl run --rm --network slirp:enable_ipv6=false bb sh -c 'sleep 1; ip -6 addr show tap0 | grep -c "inet6 fd00:" || true'
	assert_status 0
	assert_output 0
}

@test "--network ns:PATH joins the network namespace at PATH" {
	command -v unshare >/dev/null || skip "no unshare"
	unshare -rn sleep 60 &
	HOST_SERVER_PID=$!
	local want i
	for ((i = 0; i < 100; i++)); do
		want=$(readlink "/proc/$HOST_SERVER_PID/ns/net")
		[ -n "$want" ] && [ "$want" != "$(readlink /proc/self/ns/net)" ] && break
		sleep 0.05
	done
	run_rl run --rm --network "ns:/proc/$HOST_SERVER_PID/ns/net" bb sh -c 'readlink /proc/self/ns/net; ls /sys/class/net'
	assert_status 0
	assert_line "$want"
	assert_line lo
	refute_line tap0
	run_rl run --rm --network ns:/nonexistent/net bb true
	assert_rl_error
	assert_match "/nonexistent/net" "$stderr"
}

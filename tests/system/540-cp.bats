#!/usr/bin/env bats
# rl cp, rl export and rl commit: a container's files, stopped or running,
# never anything of the host's through the container's symlinks.

load helpers

setup_file() {
	rl_setup_file
	import_busybox bb >/dev/null
	# The stopped container most tests work on: files added, changed and
	# deleted, a directory replaced (opaque), and symlinks that would lead
	# out of the container if they were followed on the host.
	rl run --name c bb sh -c '
		echo hello >/hello
		mkdir -p /d/sub && echo f1 >/d/sub/f1 && echo top >/d/top
		echo changed >/etc/motd
		rm /bin/ls
		rm -r /usr && mkdir /usr && echo only >/usr/only
		ln -s / /etc/evil
		ln -s ../../.. /d/up
		ln -s /tmp /d/tmpl
		ln -s /hello /lnk
		echo owned >/owned && chown 1:2 /owned' >/dev/null
}

teardown_file() {
	rl_teardown_file
}

# ctr_cat CTR PATH: a file of a container, read through rl export.
ctr_cat() {
	rl export "$1" | tar -xOf - "${2#/}"
}

@test "cp out: a file to a new name and into a directory; it belongs to the caller" {
	cd "$BATS_TEST_TMPDIR"
	run_rl cp c:/hello ./h
	assert_status 0
	[ "$(cat h)" = hello ] || fail "content: $(cat h)"
	[ "$(stat -c %u:%g h)" = "$(id -u):$(id -g)" ] || fail "owner $(stat -c %u:%g h)"
	mkdir into
	run_rl cp c:/hello into
	assert_status 0
	[ "$(cat into/hello)" = hello ] || fail "not copied into the directory"
	# Relative paths in the container are taken from /.
	run_rl cp c:etc/motd motd
	assert_status 0
	[ "$(cat motd)" = changed ]
}

@test "cp out: a directory as DEST, into DEST, and its contents with SRC/." {
	cd "$BATS_TEST_TMPDIR"
	run_rl cp c:/d new
	assert_status 0
	[ "$(cat new/sub/f1)" = f1 ] && [ "$(cat new/top)" = top ] || { find new; fail "new/"; }
	mkdir have
	run_rl cp c:/d have
	assert_status 0
	[ "$(cat have/d/sub/f1)" = f1 ] || { find have; fail "have/d/"; }
	mkdir flat
	run_rl cp c:/d/. flat
	assert_status 0
	[ "$(cat flat/top)" = top ] && [ ! -e flat/d ] || { find flat; fail "flat/"; }
	# Symlinks come out as symlinks, with their text.
	[ "$(readlink new/up)" = ../../.. ] || fail "new/up: $(ls -l new/up)"
	# A directory onto a file is refused, and a file onto a directory.
	touch afile
	run_rl cp c:/d afile
	assert_rl_error
	mkdir -p guard/hello && touch guard/hello/keep
	run_rl cp c:/hello guard
	assert_rl_error
	[ -e guard/hello/keep ] || fail "a directory was replaced by a file"
}

@test "cp out: -L follows SRC, without it the link itself is copied" {
	cd "$BATS_TEST_TMPDIR"
	run_rl cp c:/lnk l1
	assert_status 0
	[ -L l1 ] && [ "$(readlink l1)" = /hello ] || fail "l1: $(ls -l l1)"
	run_rl cp -L c:/lnk l2
	assert_status 0
	[ ! -L l2 ] && [ "$(cat l2)" = hello ] || fail "l2: $(ls -l l2)"
}

@test "cp in: a file and a directory land in the container, owned by its root" {
	cd "$BATS_TEST_TMPDIR"
	echo in-file >in.txt
	mkdir -p tree/a && echo deep >tree/a/deep
	run_rl cp in.txt c:/tmp/
	assert_status 0
	run_rl cp tree c:/newtree
	assert_status 0
	run_rl cp tree/. c:/d
	assert_status 0
	[ "$(ctr_cat c /tmp/in.txt)" = in-file ] || fail "tmp/in.txt"
	[ "$(ctr_cat c /newtree/a/deep)" = deep ] || fail "newtree/a/deep"
	[ "$(ctr_cat c /d/a/deep)" = deep ] || fail "d/a/deep"
	run bash -c "'$RL' export c | tar -tvf - tmp/in.txt"
	assert_match ' 0/0 '
	# A file onto a directory of the container is refused.
	mkdir -p dirs && echo x >dirs/d
	run_rl cp dirs/d c:/
	assert_rl_error
	[ "$(ctr_cat c /d/sub/f1)" = f1 ] || fail "/d was replaced"
	# Into a missing directory: one error line.
	run_rl cp in.txt c:/no/such/dir/x
	assert_rl_error
}

@test "cp -a keeps the owners both ways, mapped as the store maps them" {
	local want us gs
	case $RL_IDMODE in
	root) want=1:2 ;;
	subuid)
		read -r us _ < <(subid_range /etc/subuid)
		read -r gs _ < <(subid_range /etc/subgid)
		want=$us:$((gs + 1))
		;;
	*) want=$(id -u):$(id -g) ;; # chown in the container had no effect
	esac
	# Subordinate ids on the host: where the teardown can remove them.
	local dir=$RL_TEST_DIR/work
	run_rl cp -a c:/owned "$dir/owned"
	assert_status 0
	[ "$(stat -c %u:%g "$dir/owned")" = "$want" ] || fail "owner $(stat -c %u:%g "$dir/owned"), want $want"
	run_rl cp c:/owned "$dir/owned2"
	assert_status 0
	[ "$(stat -c %u:%g "$dir/owned2")" = "$(id -u):$(id -g)" ] || fail "without -a: $(stat -c %u:%g "$dir/owned2")"
	# In: the host's numbers become the container's (root's only, without a range).
	echo mine >"$BATS_TEST_TMPDIR/mine"
	case $RL_IDMODE in
	root) chown 7:8 "$BATS_TEST_TMPDIR/mine" && want=7/8 ;;
	subuid) want=$(id -u)/$(id -g) ;;
	*) want=0/0 ;;
	esac
	run_rl cp -a "$BATS_TEST_TMPDIR/mine" c:/tmp/mine
	assert_status 0
	run bash -c "'$RL' export c | tar -tvf - tmp/mine"
	assert_match " $want "
	run_rl cp "$BATS_TEST_TMPDIR/mine" c:/tmp/mine0
	assert_status 0
	run bash -c "'$RL' export c | tar -tvf - tmp/mine0"
	assert_match ' 0/0 '
}

@test "cp with -: a tar stream on stdout and from stdin" {
	cd "$BATS_TEST_TMPDIR"
	run bash -c "'$RL' cp c:/d - | tar -tf -"
	assert_status 0
	assert_line d/sub/f1
	assert_line d/top
	mkdir s && echo streamed >s/st.txt
	run bash -c "tar -C s -cf - st.txt | '$RL' cp - c:/d"
	assert_status 0
	[ "$(ctr_cat c /d/st.txt)" = streamed ] || fail "d/st.txt"
	# The tar stream must go somewhere else than a terminal.
	run_pty --timeout 20 -- "$RL" cp c:/hello -
	assert_status 125
}

@test "cp: a missing path, no container, two containers: one error line, 125" {
	run_rl cp c:/no-such-file "$BATS_TEST_TMPDIR/x"
	assert_rl_error
	[ "${#stderr_lines[@]}" -eq 1 ] || { show; fail "want one line"; }
	assert_match 'no-such-file' "$stderr"
	[ ! -e "$BATS_TEST_TMPDIR/x" ]
	run_rl cp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	assert_rl_error
	run_rl cp c:/hello c:/x
	assert_rl_error
	run_rl cp nosuchctr:/hello "$BATS_TEST_TMPDIR/x"
	assert_rl_error
	run_rl cp "$BATS_TEST_TMPDIR/nothing-here" c:/tmp
	assert_rl_error
}

@test "cp: symlinks in the container never reach the host" {
	cd "$BATS_TEST_TMPDIR"
	# A host file the container does not have, behind /etc/evil -> /.
	echo host-secret >secret
	run_rl cp "c:/etc/evil$BATS_TEST_TMPDIR/secret" got
	assert_rl_error
	[ ! -e got ] || fail "read a host file: $(cat got)"
	# ../../.. from /d is the container's root: its passwd, not the host's.
	run_rl cp c:/d/up/etc/passwd pw
	assert_status 0
	run_rl cp c:/etc/passwd pw2
	cmp pw pw2 || fail "d/up/etc/passwd is not the container's"
	# Copying in through the links writes nothing on the host.
	echo payload >payload
	mkdir hostdir
	run_rl cp payload "c:/etc/evil$BATS_TEST_TMPDIR/hostdir/"
	assert_rl_error
	run_rl cp payload "c:/d/up$BATS_TEST_TMPDIR/hostdir/p2"
	assert_rl_error
	[ -z "$(ls -A hostdir)" ] || fail "written on the host: $(ls -A hostdir)"
	# /d/tmpl -> /tmp: the container's /tmp, not the host's.
	local name="rl-cp-escape-$$-$BATS_TEST_NUMBER"
	run_rl cp payload "c:/d/tmpl/$name"
	assert_status 0
	[ ! -e "/tmp/$name" ] || { rm -f "/tmp/$name"; fail "written to the host's /tmp"; }
	[ "$(ctr_cat c "/tmp/$name")" = payload ] || fail "not in the container's /tmp"
	# The tree copied out keeps the links as links: nothing outside DEST.
	mkdir out
	run_rl cp c:/d out
	assert_status 0
	[ -L out/d/up ] && [ -L out/d/tmpl ] || fail "links were followed"
}

@test "export: the container's files as a tar; -o FILE; not to a terminal" {
	run bash -c "'$RL' export c | tar -tf -"
	assert_status 0
	assert_line hello
	assert_line d/sub/f1
	assert_line usr/only
	assert_line etc/evil
	refute_line bin/ls
	assert_line bin/sh
	run_rl export -o "$BATS_TEST_TMPDIR/c.tar" c
	assert_status 0
	run tar -xOf "$BATS_TEST_TMPDIR/c.tar" etc/motd
	assert_output changed
	run_pty --timeout 20 -- "$RL" export c
	assert_status 125
	run_rl export nosuchctr
	assert_rl_error
}

@test "commit: the new image has exactly the container's changes" {
	run_rl commit c committed
	assert_status 0
	assert_match '^[0-9a-f]{64}$'
	run_rl run --rm committed sh -c '
		cat /hello /etc/motd /d/sub/f1
		test -e /bin/ls && echo ls-still-there
		ls /usr
		readlink /etc/evil'
	assert_status 0
	assert_output "hello
changed
f1
only
/"
	# Pushable and savable: a standard OCI image.
	run_rl save -o "$BATS_TEST_TMPDIR/img.tar" committed
	assert_status 0
	# The new layer in OCI form: whiteouts as .wh. names, the replaced
	# directory opaque, and none of rl's own mount points.
	local layer
	layer=$(tar -xOf "$BATS_TEST_TMPDIR/img.tar" manifest.json | grep -oE '[0-9a-f]{64}\.tar' | tail -n1)
	run bash -c "tar -xOf '$BATS_TEST_TMPDIR/img.tar' $layer | tar -tf -"
	assert_status 0
	assert_line hello
	assert_line bin/.wh.ls
	assert_line usr/.wh..wh..opq
	refute_line etc/hosts
	refute_line etc/hostname
	run_rl rmi committed
	assert_status 0
	run_rl load -i "$BATS_TEST_TMPDIR/img.tar"
	assert_status 0
	run_rl run --rm committed cat /usr/only
	assert_output only
}

@test "commit --change CMD, -m and -a; the container's command otherwise" {
	run_rl commit -c 'CMD ["cat", "/hello"]' -m "a message" -a "A U Thor" c withcmd
	assert_status 0
	run_rl run --rm withcmd
	assert_status 0
	assert_output hello
	run_rl image inspect withcmd
	assert_status 0
	assert_match 'A U Thor'
	assert_match 'a message'
	run_rl commit -c 'BOGUS x' c bad
	assert_rl_error
	# Without --change the image runs what the container ran.
	rl run --name c2 bb sh -c 'echo from-c2 >/f; cat /f' >/dev/null
	run_rl commit c2 fromc2
	assert_status 0
	run_rl run --rm fromc2
	assert_output from-c2
	rl rm c2 >/dev/null
}

@test "commit of a vfs container computes its diff against the image" {
	rl run --storage-driver vfs --name v bb sh -c '
		echo v >/vfile; echo changed >/etc/motd; rm /bin/ls
		rm -r /usr && mkdir /usr && echo only >/usr/only' >/dev/null
	run_rl commit v vimg
	assert_status 0
	run_rl run --rm vimg sh -c 'cat /vfile /etc/motd; test -e /bin/ls && echo ls-still-there; ls /usr'
	assert_output "v
changed
only"
	run_rl cp v:/vfile "$BATS_TEST_TMPDIR/vf"
	assert_status 0
	[ "$(cat "$BATS_TEST_TMPDIR/vf")" = v ]
	rl rm v >/dev/null
}

@test "a running container: cp both ways, its volumes, export, commit" {
	local out=$BATS_TEST_TMPDIR/out
	mkdir "$BATS_TEST_TMPDIR/vol" && echo in-volume >"$BATS_TEST_TMPDIR/vol/vf"
	rl_bg "$out" run --name r -v "$BATS_TEST_TMPDIR/vol:/vol" bb sh -c '
		echo run >/runfile; ln -s / /evil; echo ready; sleep 1000'
	wait_for "$out" '^ready$' 30
	cd "$BATS_TEST_TMPDIR"
	run_rl cp r:/runfile rf
	assert_status 0
	[ "$(cat rf)" = run ]
	run_rl cp r:/vol/vf vf
	assert_status 0
	[ "$(cat vf)" = in-volume ]
	echo to-running >tr
	run_rl cp tr r:/tmp/tr
	assert_status 0
	run_rl cp r:/tmp/tr back
	assert_status 0
	[ "$(cat back)" = to-running ]
	# Its symlink to / is its own root.
	run_rl cp tr "r:/evil$BATS_TEST_TMPDIR/vol/"
	assert_rl_error
	[ ! -e vol/tr ] || fail "written on the host through /evil"
	run bash -c "'$RL' export r | tar -tf -"
	assert_status 0
	assert_line runfile
	assert_line tmp/tr
	refute_line vol/vf
	refute_match '^proc/[0-9]'
	refute_match '^sys/.'
	run_rl commit r fromrunning
	assert_status 0
	run_rl run --rm fromrunning sh -c 'cat /runfile /tmp/tr; ls /vol'
	assert_output "run
to-running"
	run_rl rm -f r
	assert_status 0
	wait_bg
}

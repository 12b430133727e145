#!/bin/sh

test_description='mlv env: the Python interpreter a command runs and its distributions

Directly, through a venv, a pyenv shim, env(1) and a "#!" line; the
distributions read from dist-info and egg-info metadata; the cache.'

. "$(dirname "$0")"/test-lib.sh

test_lazy_prereq PYTHON3 'command -v python3 >/dev/null'
test_lazy_prereq SYSPYTHON '/usr/bin/python3 -c "import sys"'
test_lazy_prereq VENV '/usr/bin/python3 -m venv --without-pip "$TRASH_DIRECTORY/probe-venv"'
test_lazy_prereq NUMPY '/usr/bin/python3 -c "import numpy"'

manifest () {
	MLV_GPU_INVENTORY= mlv env --json "$@"
}

# A distribution's metadata in site directory $1: dist-info name $2, Name $3, Version $4.
dist_info () {
	mkdir -p "$1/$2.dist-info" &&
	printf "Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: x\n\nName: not-this\n" \
		"$3" "$4" >"$1/$2.dist-info/METADATA"
}

test_expect_success 'setup' '
	test_create_repo repo &&
	(cd repo && mlv init -q) &&
	site=$(pwd)/site &&
	dist_info site Foo_Bar-1.2.3 Foo_Bar 1.2.3 &&
	mkdir -p site/broken-9.9.dist-info &&
	printf "Metadata-Version: 1.1\nName: legacy.pkg\nVersion: 0.9\n" >site/legacy.pkg-0.9-py3.11.egg-info &&
	mkdir -p site/devel.egg-info &&
	printf "Metadata-Version: 1.1\nName: devel\nVersion: 2.0.dev1\n" >site/devel.egg-info/PKG-INFO
'

test_expect_success 'not Python: no python member' '
	(cd repo && manifest -- sh -c true) >m.json &&
	jq -e ".python == null" m.json &&
	(cd repo && manifest) >m.json &&
	jq -e ".python == null" m.json &&
	(cd repo && manifest -- no-such-command-anywhere) >m.json &&
	jq -e ".python == null" m.json
'

test_expect_success SYSPYTHON 'python3 directly: version, prefix and distributions' '
	(cd repo && PYTHONPATH="$site" manifest -- /usr/bin/python3 train.py) >m.json &&
	v=$(/usr/bin/python3 -c "import sys; print(sys.version.split()[0])") &&
	p=$(/usr/bin/python3 -c "import sys; print(sys.prefix)") &&
	jq -e --arg v "$v" --arg p "$p" ".python.version == \$v and .python.prefix == \$p" m.json &&
	jq -e ".python.executable == \"/usr/bin/python3\" and .python.via == \"direct\"" m.json &&
	jq -e ".python.implementation == \"cpython\"" m.json &&
	jq -e ".python.packages[\"foo-bar\"] == \"1.2.3\"" m.json &&
	jq -e ".python.packages[\"legacy-pkg\"] == \"0.9\" and .python.packages.devel == \"2.0.dev1\"" m.json &&
	jq -e ".python.packages.broken == \"9.9\" and .python.packages[\"not-this\"] == null" m.json
'

test_expect_success SYSPYTHON 'the flags that change sys.path are honoured' '
	(cd repo && PYTHONPATH="$site" manifest -- /usr/bin/python3 -I train.py) >m.json &&
	jq -e ".python.packages[\"foo-bar\"] == null" m.json &&
	(cd repo && PYTHONPATH="$site" manifest -- /usr/bin/python3 -u -E -c 1) >m.json &&
	jq -e ".python.packages[\"foo-bar\"] == null" m.json &&
	(cd repo && PYTHONPATH="$site" manifest -- /usr/bin/python3 -u -c 1) >m.json &&
	jq -e ".python.packages[\"foo-bar\"] == \"1.2.3\"" m.json
'

test_expect_success SYSPYTHON,NUMPY "Debian's numpy in dist-packages" '
	(cd repo && manifest -- /usr/bin/python3 x.py) >m.json &&
	v=$(/usr/bin/python3 -c "import numpy; print(numpy.__version__)") &&
	jq -e --arg v "$v" ".python.packages.numpy == \$v" m.json
'

test_expect_success SYSPYTHON 'through env(1), as a command or by its path' '
	mkdir -p bin &&
	ln -s /usr/bin/python3 bin/python3 &&
	(cd repo && PATH="$TRASH_DIRECTORY/bin:$PATH" manifest -- env python3 x.py) >m.json &&
	jq -e ".python.via == \"env\" and (.python.version | length) > 0" m.json &&
	(cd repo && PATH="$TRASH_DIRECTORY/bin:$PATH" manifest -- /usr/bin/env -u FOO A=B python3 x.py) >m.json &&
	jq -e ".python.via == \"env\"" m.json
'

test_expect_success SYSPYTHON 'a script with a "#!" line, and the line'\''s flags' '
	printf "#!/usr/bin/env python3\nprint(1)\n" >repo/train.py &&
	printf "#!/usr/bin/python3 -I\nprint(1)\n" >repo/isolated.py &&
	chmod +x repo/train.py repo/isolated.py &&
	(cd repo && PATH="$TRASH_DIRECTORY/bin:$PATH" PYTHONPATH="$site" manifest -- ./train.py --lr 1) >m.json &&
	jq -e ".python.via == \"shebang\" and .python.packages[\"foo-bar\"] == \"1.2.3\"" m.json &&
	(cd repo && PYTHONPATH="$site" manifest -- ./isolated.py) >m.json &&
	jq -e ".python.via == \"shebang\" and .python.packages[\"foo-bar\"] == null" m.json
'

test_expect_success SYSPYTHON,VENV 'a venv: its prefix and its own site-packages' '
	/usr/bin/python3 -m venv --without-pip venv &&
	vsite=$(echo venv/lib/python3*/site-packages) &&
	dist_info "$vsite" only_in_venv-3.0 only_in_venv 3.0 &&
	(cd repo && manifest -- ../venv/bin/python x.py) >m.json &&
	jq -e --arg p "$TRASH_DIRECTORY/venv" ".python.via == \"venv\" and .python.prefix == \$p" m.json &&
	jq -e ".python.packages[\"only-in-venv\"] == \"3.0\"" m.json &&
	(cd repo && manifest -- /usr/bin/python3 x.py) >m.json &&
	jq -e ".python.packages[\"only-in-venv\"] == null" m.json
'

test_expect_success SYSPYTHON 'a venv made by hand: a symlink beside pyvenv.cfg' '
	mkdir -p hand/bin hand/lib/site &&
	ln -s /usr/bin/python3 hand/bin/python &&
	printf "home = /usr/bin\ninclude-system-site-packages = false\n" >hand/pyvenv.cfg &&
	(cd repo && manifest -- ../hand/bin/python x.py) >m.json &&
	jq -e --arg p "$TRASH_DIRECTORY/hand" ".python.via == \"venv\" and .python.prefix == \$p" m.json
'

test_expect_success SYSPYTHON 'a pyenv shim: PYENV_VERSION, .python-version, the global version' '
	mkdir -p pyenv/shims pyenv/versions/9.1/bin pyenv/versions/9.2/bin &&
	printf "#!/usr/bin/env bash\nset -e\nexport PYENV_ROOT=\"%s\"\nexec \"%s/libexec/pyenv\" exec \"\${0##*/}\" \"\$@\"\n" \
		"$TRASH_DIRECTORY/pyenv" "$TRASH_DIRECTORY/pyenv" >pyenv/shims/python3 &&
	chmod +x pyenv/shims/python3 &&
	ln -s /usr/bin/python3 pyenv/versions/9.1/bin/python3 &&
	ln -s /usr/bin/python3 pyenv/versions/9.2/bin/python3 &&
	echo 9.2 >pyenv/version &&
	sp="$TRASH_DIRECTORY/pyenv/shims:$PATH" &&
	(cd repo && PATH=$sp manifest -- python3 x.py) >m.json &&
	jq -e ".python.via == \"pyenv\"" m.json &&
	jq -e --arg e "$TRASH_DIRECTORY/pyenv/versions/9.2/bin/python3" ".python.executable == \$e" m.json &&
	(cd repo && PATH=$sp PYENV_VERSION=9.1 manifest -- python3 x.py) >m.json &&
	jq -e --arg e "$TRASH_DIRECTORY/pyenv/versions/9.1/bin/python3" ".python.executable == \$e" m.json &&
	mkdir -p repo/sub &&
	echo 9.1 >repo/sub/.python-version &&
	(cd repo/sub && PATH=$sp manifest -- python3 x.py) >m.json &&
	jq -e --arg e "$TRASH_DIRECTORY/pyenv/versions/9.1/bin/python3" ".python.executable == \$e" m.json &&
	mkdir -p pyenv/versions/9.3/bin &&
	(cd repo && PATH=$sp PYENV_VERSION=9.3:9.1 manifest -- python3 x.py) >m.json &&
	jq -e --arg e "$TRASH_DIRECTORY/pyenv/versions/9.1/bin/python3" ".python.executable == \$e" m.json &&
	(cd repo && PATH="$TRASH_DIRECTORY/pyenv/shims:$(dirname "$(command -v mlv)"):/usr/bin:/bin" PYENV_VERSION=system manifest -- python3 x.py) >m.json &&
	jq -e ".python.via == \"pyenv\" and .python.version != null" m.json &&
	jq -e --arg s "$TRASH_DIRECTORY/pyenv/shims/python3" ".python.executable != \$s" m.json
'

test_expect_success SYSPYTHON 'a pyenv version that is no directory: the shim is asked' '
	sp="$TRASH_DIRECTORY/pyenv/shims:$PATH" &&
	(cd repo && PATH=$sp PYENV_VERSION=9 manifest -- python3 x.py) >m.json &&
	jq -e ".python.via == \"pyenv\" and .python.error != null" m.json
'

test_expect_success 'an interpreter that fails is recorded with the error' '
	mkdir -p badbin &&
	ln -s /bin/false badbin/python3 &&
	(cd repo && PATH="$TRASH_DIRECTORY/badbin:$PATH" manifest -- python3 x.py) >m.json &&
	jq -e ".python.error != null and .python.packages == null" m.json
'

cache_files () {
	ls repo/.git/mlv/cache/python-*.json 2>/dev/null
}

test_expect_success SYSPYTHON 'the cache sees distributions installed and removed since' '
	rm -f repo/.git/mlv/cache/python-*.json &&
	(cd repo && PYTHONPATH="$site" manifest -- /usr/bin/python3 x.py) >m.json &&
	cache_files >files &&
	test_line_count = 1 files &&
	! grep "1\.2\.3x" $(cat files) &&
	dist_info site added-4.0 added 4.0 &&
	(cd repo && PYTHONPATH="$site" manifest -- /usr/bin/python3 x.py) >m.json &&
	jq -e ".python.packages.added == \"4.0\"" m.json &&
	rm -r site/added-4.0.dist-info &&
	(cd repo && PYTHONPATH="$site" manifest -- /usr/bin/python3 x.py) >m.json &&
	jq -e ".python.packages.added == null and .python.packages[\"foo-bar\"] == \"1.2.3\"" m.json
'

test_expect_success SYSPYTHON 'a hostile cache file is ignored and replaced' '
	(cd repo && PYTHONPATH="$site" manifest -- /usr/bin/python3 x.py) >good.json &&
	f=$(cache_files) &&
	for bad in garbage "{\"format\": 1}" "[]" \
		"$(jq -c ".dirs[0].dists = [[\"Evil Name\", \"1\"]]" "$f")" \
		"$(jq -c ".dirs[0].dists = [[\"evil\", \"1 2\"]]" "$f")" \
		"$(jq -c ".dirs = \"x\"" "$f")" \
		"$(jq -c ".key = \"0000\"" "$f")"
	do
		printf "%s" "$bad" >"$f" &&
		(cd repo && PYTHONPATH="$site" manifest -- /usr/bin/python3 x.py) >m.json &&
		test_cmp good.json m.json &&
		jq -e ".format == 1" "$f" >/dev/null || return 1
	done &&
	rm "$f" && mkfifo "$f" &&
	(cd repo && PYTHONPATH="$site" manifest -- /usr/bin/python3 x.py) >m.json &&
	test_cmp good.json m.json &&
	rm -f "$f" && ln -s /dev/zero "$f" &&
	(cd repo && PYTHONPATH="$site" manifest -- /usr/bin/python3 x.py) >m.json &&
	test_cmp good.json m.json &&
	test -f "$f" && ! test -h "$f"
'

test_expect_success SYSPYTHON 'a planted package in a valid cache of another key is not used' '
	f=$(cache_files) &&
	jq -c ".dirs[0].dists += [[\"planted\", \"6.6\"]]" "$f" >planted &&
	cp planted "$f" &&
	(cd repo && manifest -- /usr/bin/python3 x.py) >m.json &&
	jq -e ".python.packages.planted == null" m.json
'

test_expect_success SYSPYTHON '--no-cache writes nothing' '
	rm -f repo/.git/mlv/cache/python-*.json &&
	(cd repo && PYTHONPATH="$site" manifest --no-cache -- /usr/bin/python3 x.py) >m.json &&
	test_cmp good.json m.json &&
	test -z "$(cache_files)"
'

test_expect_success SYSPYTHON 'a site directory with many entries and a symlink loop' '
	mkdir -p big &&
	(cd big && i=0 && while test $i -lt 3000; do : >f$i && i=$((i + 1)); done) &&
	dist_info big zz-1.0 zz 1.0 &&
	mkdir -p big/loop-1.0.dist-info &&
	ln -s ../loop-1.0.dist-info big/loop-1.0.dist-info/METADATA &&
	ln -s selfloop big/selfloop &&
	(cd repo && PYTHONPATH="$TRASH_DIRECTORY/big:$TRASH_DIRECTORY/big/selfloop" \
		manifest -- /usr/bin/python3 x.py) >m.json &&
	jq -e ".python.packages.zz == \"1.0\" and .python.packages.loop == \"1.0\"" m.json
'

test_expect_success SYSPYTHON 'outside a repository the cache is under XDG_CACHE_HOME' '
	mkdir -p outside &&
	(cd outside && manifest -- /usr/bin/python3 x.py) >m.json &&
	jq -e ".python.version != null" m.json &&
	ls "$XDG_CACHE_HOME"/mlv/python-*.json
'

test_expect_success SYSPYTHON 'the packages are in the hash, the paths are not' '
	(cd repo && PYTHONPATH="$site" manifest -- /usr/bin/python3 x.py) >a.json &&
	dist_info site added-4.0 added 4.0 &&
	(cd repo && PYTHONPATH="$site" manifest -- /usr/bin/python3 x.py) >b.json &&
	test "$(jq -r .hash a.json)" != "$(jq -r .hash b.json)" &&
	rm -r site/added-4.0.dist-info &&
	cp -R site site2 &&
	(cd repo && PYTHONPATH="$TRASH_DIRECTORY/site2" manifest -- /usr/bin/python3 x.py) >c.json &&
	jq -e ".vars.PYTHONPATH != null" c.json &&
	jq -e ".python.packages == $(jq -c .python.packages a.json)" c.json
'

test_done

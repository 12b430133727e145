#include <string.h>

#include "mlv/error.h"
#include "mlv/path.h"
#include "tap.h"

#define TOP "/home/u/repo"

static void expect_ok(const char *prefix, const char *arg, const char *want)
{
	struct mlv_buf out = MLV_BUF_INIT;
	int ret;

	mlv_buf_adds(&out, "stale");
	ret = mlv_path_from_arg(&out, TOP, prefix, arg);
	is_int(ret, 0, "'%s' in '%s' accepted", arg, prefix);
	if (!is_str(out.ptr, want, "'%s' in '%s' is '%s'", arg, prefix, want) && ret)
		tap_diag("message: %s", mlv_error_last());
	if (ret == 0 && *want)
		ok(mlv_path_valid(out.ptr), "result '%s' is a valid path", out.ptr);
	mlv_buf_release(&out);
}

static void expect_refused(const char *prefix, const char *arg, const char *needle)
{
	struct mlv_buf out = MLV_BUF_INIT;

	mlv_error_clear();
	is_int(mlv_path_from_arg(&out, TOP, prefix, arg), MLV_EINVALID,
	       "'%s' in '%s' refused", arg, prefix);
	if (!ok(strstr(mlv_error_last(), arg) && strstr(mlv_error_last(), needle),
		"message names '%s' and says '%s'", arg, needle))
		tap_diag("message: %s", mlv_error_last());
	is_str(out.ptr, "", "output empty after refusal");
	mlv_buf_release(&out);
}

static void test_from_arg(void)
{
	expect_ok("", "a", "a");
	expect_ok("", "a/b/c", "a/b/c");
	expect_ok("", "a/./b", "a/b");
	expect_ok("", "./a", "a");
	expect_ok("", "a//b", "a/b");
	expect_ok("", "a/../b", "b");
	expect_ok("", "a/b/", "a/b");
	expect_ok("", "a/b//", "a/b");
	expect_ok("", ".", "");
	expect_ok("", "./", "");
	expect_ok("", "a/..", "");
	expect_ok("sub", "x", "sub/x");
	expect_ok("sub", "../x", "x");
	expect_ok("sub/dir", "../../x", "x");
	expect_ok("sub", "..", "");
	expect_ok("sub", ".", "sub");
	expect_ok("", "...", "...");
	expect_ok("", ".gitignore", ".gitignore");
	expect_ok("", "a/.mlvx/b", "a/.mlvx/b");
	expect_ok("", "a/.git/../b", "a/b");
	expect_ok("", TOP, "");
	expect_ok("", TOP "/", "");
	expect_ok("", TOP "/data/x", "data/x");
	expect_ok("sub", TOP "/data/x", "data/x");
	expect_ok("", TOP "/./data//x/", "data/x");
	expect_ok("", "/home/u/./repo/data", "data");
	expect_ok("", "/home/u/other/../repo/data", "data");

	expect_refused("", "../x", "outside repository");
	expect_refused("", "..", "outside repository");
	expect_refused("", "a/../../x", "outside repository");
	expect_refused("sub", "../../x", "outside repository");
	expect_refused("", "/etc/passwd", "outside repository");
	expect_refused("", "/home/u/repository/x", "outside repository");
	expect_refused("", "/home/u/rep", "outside repository");
	expect_refused("", "/home/u", "outside repository");
	expect_refused("", "/../etc", "outside repository");
	expect_refused("", ".git", ".git");
	expect_refused("", ".git/config", ".git");
	expect_refused("", "a/.git/config", ".git");
	expect_refused("", "a/.git", ".git");
	expect_refused("", ".GIT/config", ".GIT");
	expect_refused("", ".mlv", ".mlv");
	expect_refused("", "x/.mlv/y", ".mlv");
	expect_refused("", "x/.Mlv/y", ".Mlv");
	expect_refused("", TOP "/.git/hooks/pre-commit", ".git");
	expect_refused("", "", "empty path");
	expect_refused(".git", "config", ".git");
}

static void test_valid(void)
{
	ok(mlv_path_valid("a"), "valid: a");
	ok(mlv_path_valid("a/b/c.txt"), "valid: a/b/c.txt");
	ok(mlv_path_valid("a/...x/.hidden"), "valid: dot-names");
	ok(!mlv_path_valid(""), "invalid: empty");
	ok(!mlv_path_valid("/a"), "invalid: absolute");
	ok(!mlv_path_valid("a/"), "invalid: trailing slash");
	ok(!mlv_path_valid("a//b"), "invalid: empty component");
	ok(!mlv_path_valid("./a"), "invalid: '.' component");
	ok(!mlv_path_valid("a/.."), "invalid: '..' component");
	ok(!mlv_path_valid("../x"), "invalid: leading '..'");
	ok(!mlv_path_valid(".git/config"), "invalid: .git");
	ok(!mlv_path_valid("a/.mlv"), "invalid: .mlv last");
	ok(!mlv_path_valid("a/.Git/b"), "invalid: .Git");
}

static void rel(const char *path, const char *prefix, const char *want)
{
	struct mlv_buf out = MLV_BUF_INIT;

	mlv_buf_adds(&out, "stale");
	mlv_path_relative(&out, path, prefix);
	is_str(out.ptr, want, "relative('%s', '%s')", path, prefix);
	mlv_buf_release(&out);
}

static void test_relative(void)
{
	struct mlv_buf b = MLV_BUF_INIT;

	rel("a/b/c", "", "a/b/c");
	rel("a/b/c", "a", "b/c");
	rel("a/b/c", "a/b", "c");
	rel("a/b/c", "a/x", "../b/c");
	rel("a/b/c", "x/y", "../../a/b/c");
	rel("a", "a", ".");
	rel("a", "a/b", "..");
	rel("", "a/b", "../..");
	rel("", "", ".");
	rel("ab/c", "a", "../ab/c");
	rel("a", "ab", "../a");
	rel("a/b", "a/bc", "../b");

	mlv_buf_adds(&b, "stale");
	mlv_path_dirname(&b, "a/b/c");
	is_str(b.ptr, "a/b", "dirname a/b/c");
	mlv_path_dirname(&b, "a");
	is_str(b.ptr, "", "dirname a");
	is_str(mlv_path_basename("a/b/c"), "c", "basename a/b/c");
	is_str(mlv_path_basename("c"), "c", "basename c");
	mlv_buf_release(&b);
}

/* mlv_path_check(path, 1, what): the gate every pointer file name passes. */
static void gate_refuses(const char *path, const char *label)
{
	mlv_error_clear();
	is_int(mlv_path_check(path, 1, "x.mlv"), MLV_EINVALID, "gate refuses %s", label);
	ok(!strncmp(mlv_error_last(), "x.mlv: ", 7), "message for %s starts with what", label);
	ok(!mlv_path_valid(path) || strlen(mlv_path_basename(path)) > MLV_ARTIFACT_NAME_MAX,
	   "%s is not a valid tracked path", label);
}

static void gate_accepts(const char *path, const char *label)
{
	if (!is_int(mlv_path_check(path, 1, "x.mlv"), 0, "gate accepts %s", label))
		tap_diag("message: %s", mlv_error_last());
	ok(mlv_path_valid(path), "%s is a valid path", label);
}

/* Names mlv keeps beside a tracked path are valid paths, but not tracked ones. */
static void test_reserved_artifacts(void)
{
	static const char *const names[] = {
		"a.mlv", "d/a.mlv", "a.mlv.lock", ".gitignore", "d/.gitignore.lock",
		".mlv-tmp-1-2-0badcafe",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		mlv_error_clear();
		is_int(mlv_path_check(names[i], 1, "x.mlv"), MLV_EINVALID, "'%s' cannot be tracked",
		       names[i]);
		ok(strstr(mlv_error_last(), "its own files") != NULL, "...because mlv uses it");
		is_int(mlv_path_check(names[i], 0, "x"), 0, "'%s' is still a valid path", names[i]);
	}
	is_int(mlv_path_check("poetry.lock", 1, "x.mlv"), 0, "other .lock names can be tracked");
	is_int(mlv_path_check("a.mlvx", 1, "x.mlv"), 0, "so can names that only start like one");
}

static void test_gate(void)
{
	char name[MLV_NAME_MAX + 2], path[MLV_PATH_MAX + 8];

	/* The artifact paths of "..mlv", ".git.mlv", ".GIT.mlv", ... */
	gate_refuses(".", "'.' (from ..mlv)");
	gate_refuses("..", "'..' (from ...mlv)");
	gate_refuses("", "'' (from .mlv)");
	gate_refuses(".git", ".git");
	gate_refuses(".GIT", ".GIT");
	gate_refuses(".Git", ".Git");
	gate_refuses("sub/.git", "sub/.git");
	gate_refuses("a/b/.git", "a/b/.git");
	gate_refuses(".mlv", ".mlv");
	gate_refuses(".MLV", ".MLV");
	gate_refuses("sub/.mlv", "sub/.mlv");
	gate_refuses(".git ", "'.git ' (NTFS trailing space)");
	gate_refuses(".git.", "'.git.' (NTFS trailing dot)");
	gate_refuses(".git . .", "'.git . .' (NTFS trailing spaces and dots)");
	gate_refuses(".git::$INDEX_ALLOCATION", "NTFS alternate stream");
	gate_refuses("git~1", "git~1 (NTFS short name)");
	gate_refuses("GIT~1", "GIT~1");
	gate_refuses("sub/mlv~1", "sub/mlv~1");
	gate_refuses(".g\xe2\x80\x8cit", "HFS+ .g<U+200C>it");
	gate_refuses(".gi\xe2\x80\x8ft", "HFS+ .gi<U+200F>t");
	gate_refuses("\xef\xbb\xbf.git", "HFS+ <U+FEFF>.git");
	gate_refuses(".git\xe2\x81\xaf", "HFS+ .git<U+206F>");
	gate_refuses(".\xe2\x80\xaaMLV", "HFS+ .<U+202A>MLV");
	gate_refuses("/abs", "an absolute path");
	gate_refuses("a//b", "an empty component");
	gate_refuses("a/./b", "a '.' component");
	gate_refuses("a/../b", "a '..' component");
	gate_refuses("a/", "a trailing slash");

	/* Lengths: the last component leaves room for ".mlv.lock". */
	memset(name, 'n', sizeof(name));
	name[MLV_ARTIFACT_NAME_MAX] = '\0';
	gate_accepts(name, "a last component of MLV_ARTIFACT_NAME_MAX bytes");
	name[MLV_ARTIFACT_NAME_MAX] = 'n';
	name[MLV_ARTIFACT_NAME_MAX + 1] = '\0';
	gate_refuses(name, "a last component one byte longer");
	ok(strstr(mlv_error_last(), "too long") != NULL, "message says too long");
	name[MLV_NAME_MAX + 1] = '\0';
	gate_refuses(name, "a component longer than NAME_MAX");
	memset(path, 'a', sizeof(path));
	for (size_t i = 100; i < MLV_PATH_MAX; i += 101)
		path[i] = '/';
	path[MLV_PATH_MAX] = '\0';
	gate_accepts(path, "a path of MLV_PATH_MAX bytes");
	path[MLV_PATH_MAX] = 'a';
	path[MLV_PATH_MAX + 1] = '\0';
	gate_refuses(path, "a path of MLV_PATH_MAX + 1 bytes");

	/* Odd but valid names; a tracked name must fit on a .gitignore line. */
	gate_accepts("a\nb/c", "a directory name with a newline");
	gate_accepts("a\rb", "a name with an inner carriage return");
	is_int(mlv_path_check("a\nb", 1, "x.mlv"), MLV_EINVALID, "a tracked name with a newline");
	is_int(mlv_path_check("d/a\r", 1, "x.mlv"), MLV_EINVALID,
	       "a tracked name ending in a carriage return");
	is_int(mlv_path_check("a\nb", 0, "x.mlv"), 0, "a newline in a path that is not tracked");
	gate_accepts("a\tb c", "a name with a tab and a space");
	gate_accepts("donn\xc3\xa9" "es/\xe6\xa8\xa1\xe5\x9e\x8b", "UTF-8 names");
	gate_accepts("\xff\xfe", "bytes that are not UTF-8");
	gate_accepts("...", "'...'");
	gate_accepts("..a", "'..a'");
	gate_accepts(".gitx", ".gitx");
	gate_accepts("git~2", "git~2");
	gate_accepts("x.git", "x.git");
	gate_accepts("sub/.mlvrc", "sub/.mlvrc");
	gate_accepts(".g\xe2\x80\x8bit", ".g<U+200B>it (not ignorable)");
}

int main(void)
{
	test_gate();
	test_reserved_artifacts();
	test_from_arg();
	test_valid();
	test_relative();
	return tap_done();
}

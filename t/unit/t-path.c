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

int main(void)
{
	test_from_arg();
	test_valid();
	test_relative();
	return tap_done();
}

/*
 * mlv runs
 */
#include "builtin.h"

int cmd_runs(int argc, const char **argv, struct mlv_ctx *ctx)
{
	die("'mlv runs' is not implemented yet");
}

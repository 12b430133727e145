/*
 * mlv run
 */
#include "builtin.h"

int cmd_run(int argc, const char **argv, struct mlv_ctx *ctx)
{
	die("'mlv run' is not implemented yet");
}

/*
 * mlv diff
 */
#include "builtin.h"

int cmd_diff(int argc, const char **argv, struct mlv_ctx *ctx)
{
	die("'mlv diff' is not implemented yet");
}

/*
 * mlv merge-driver
 */
#include "builtin.h"

int cmd_merge_driver(int argc, const char **argv, struct mlv_ctx *ctx)
{
	die("'mlv merge-driver' is not implemented yet");
}

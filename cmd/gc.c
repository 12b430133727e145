/*
 * mlv gc
 */
#include "builtin.h"

int cmd_gc(int argc, const char **argv, struct mlv_ctx *ctx)
{
	die("'mlv gc' is not implemented yet");
}

/*
 * mlv hooks
 */
#include "builtin.h"

int cmd_hooks(int argc, const char **argv, struct mlv_ctx *ctx)
{
	die("'mlv hooks' is not implemented yet");
}

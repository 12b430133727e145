/*
 * mlv env
 */
#include "builtin.h"

int cmd_env(int argc, const char **argv, struct mlv_ctx *ctx)
{
	die("'mlv env' is not implemented yet");
}

/*
 * mlv log
 */
#include "builtin.h"

int cmd_log(int argc, const char **argv, struct mlv_ctx *ctx)
{
	die("'mlv log' is not implemented yet");
}

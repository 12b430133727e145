/*
 * mlv metrics
 */
#include "builtin.h"

int cmd_metrics(int argc, const char **argv, struct mlv_ctx *ctx)
{
	die("'mlv metrics' is not implemented yet");
}

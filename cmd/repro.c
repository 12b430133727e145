/*
 * mlv repro
 */
#include "builtin.h"

int cmd_repro(int argc, const char **argv, struct mlv_ctx *ctx)
{
	die("'mlv repro' is not implemented yet");
}

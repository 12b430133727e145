/*
 * mlv lineage
 */
#include "builtin.h"

int cmd_lineage(int argc, const char **argv, struct mlv_ctx *ctx)
{
	die("'mlv lineage' is not implemented yet");
}

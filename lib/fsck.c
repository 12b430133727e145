#include "store-priv.h"

int mlv_store_fsck(struct mlv_store *s, int repair, mlv_fsck_report_fn report, void *ctx,
		   struct mlv_fsck_stats *stats)
{
	return 0;
}

/*
 * Names quoted for sh (mlv/quote.h).
 */
#include "mlv/quote.h"

static int is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

int mlv_sq_quote(struct mlv_buf *out, const char *s)
{
	int open = 0, control = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (is_control(c)) {
			if (open)
				mlv_buf_addch(out, '\'');
			open = 0;
			mlv_buf_addf(out, "$'\\%03o'", c);
			control = 1;
			continue;
		}
		if (!open)
			mlv_buf_addch(out, '\'');
		open = 1;
		if (c == '\'')
			mlv_buf_adds(out, "'\\''");
		else
			mlv_buf_addch(out, (char)c);
	}
	if (open)
		mlv_buf_addch(out, '\'');
	else if (!control)
		mlv_buf_adds(out, "''");
	return control;
}

void mlv_sq_quote_raw(struct mlv_buf *out, const char *s)
{
	mlv_buf_addch(out, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			mlv_buf_adds(out, "'\\''");
		else
			mlv_buf_addch(out, *s);
	}
	mlv_buf_addch(out, '\'');
}

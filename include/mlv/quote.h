#ifndef MLV_QUOTE_H
#define MLV_QUOTE_H

/* mlv-layer: util */
#pragma GCC visibility push(default)

#include "buf.h"

/*
 * Quoting a name for sh, so that a command shown in a hint can be pasted
 * into a shell whatever the name holds (names arrive through git pull).
 *
 * The name is always quoted: in single quotes, with each ' written as
 * '\''.  Nothing inside single quotes is expanded, so no name can run a
 * command.
 */

/*
 * Append `s` quoted for a line shown to a person (a hint): a control
 * character (below 0x20, or 0x7f) would break the line or drive the
 * terminal, so it is written as $'\ooo' between the quoted runs
 * ('a'$'\012''b'), which bash, zsh, ksh and POSIX.1-2024 sh read back as
 * the name (an older sh reads a different, harmless name).  1 when `s`
 * held such a character, else 0.
 */
int mlv_sq_quote(struct mlv_buf *out, const char *s);

/* Append `s` quoted for a script sh runs: every byte as it is, in single quotes. */
void mlv_sq_quote_raw(struct mlv_buf *out, const char *s);

#pragma GCC visibility pop

#endif

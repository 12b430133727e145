/*
 * Slow reference checks for the fuzz targets, written independently of
 * lib/util/path.c from the rules in include/mlv/path.h and git's
 * verify_path (is_hfs_dotgit, is_ntfs_dotgit).  They define what must be
 * refused; the library may refuse more.
 */
#ifndef FUZZ_REFERENCE_H
#define FUZZ_REFERENCE_H

#include <stddef.h>
#include <string.h>

#include "mlv/path.h"

static inline unsigned char ref_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* U+200C..U+200F, U+202A..U+202E, U+206A..U+206F, U+FEFF in UTF-8 (HFS+ ignores them). */
static inline int ref_hfs_ignorable(const unsigned char *c, size_t left)
{
	unsigned int cp;

	if (left < 3 || (c[0] & 0xf0) != 0xe0 || (c[1] & 0xc0) != 0x80 || (c[2] & 0xc0) != 0x80)
		return 0;
	cp = (unsigned int)(c[0] & 0x0f) << 12 | (unsigned int)(c[1] & 0x3f) << 6 | (c[2] & 0x3f);
	return (cp >= 0x200c && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x206a && cp <= 0x206f) || cp == 0xfeff;
}

static inline int ref_is(const unsigned char *s, size_t n, const char *word)
{
	return n == strlen(word) && !memcmp(s, word, n);
}

/*
 * 1 when `len` bytes at `c` must not be a path component: empty, too long,
 * holding '/' or NUL, ".", "..", or a name that a file system maps onto
 * ".git" or ".mlv".
 */
static inline int ref_component_bad(const char *cs, size_t len)
{
	const unsigned char *c = (const unsigned char *)cs;
	unsigned char s[MLV_NAME_MAX];
	size_t n, i;

	if (!len || len > MLV_NAME_MAX || memchr(c, '/', len) || memchr(c, '\0', len))
		return 1;
	if (ref_is(c, len, ".") || ref_is(c, len, ".."))
		return 1;

	/* Case-insensitive file systems, HFS+: fold case, drop ignorable code points. */
	for (i = n = 0; i < len; ) {
		if (ref_hfs_ignorable(c + i, len - i)) {
			i += 3;
			continue;
		}
		s[n++] = ref_lower(c[i++]);
	}
	if (ref_is(s, n, ".git") || ref_is(s, n, ".mlv"))
		return 1;

	/* NTFS: "name:stream" is "name"; trailing spaces and dots are dropped; 8.3 names. */
	for (n = 0; n < len && c[n] != ':'; n++)
		s[n] = ref_lower(c[n]);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '.'))
		n--;
	return ref_is(s, n, ".git") || ref_is(s, n, ".mlv") || ref_is(s, n, "git~1") ||
	       ref_is(s, n, "mlv~1");
}

/* 1 when the NUL-terminated `path` must be refused as a repo-relative path. */
static inline int ref_path_bad(const char *path)
{
	size_t total = strlen(path);
	const char *p = path;

	if (!total || total > MLV_PATH_MAX)
		return 1;
	for (;;) {
		const char *end = p;

		while (*end && *end != '/')
			end++;
		if (ref_component_bad(p, (size_t)(end - p)))
			return 1;
		if (!*end)
			return 0;
		p = end + 1;
	}
}

#endif

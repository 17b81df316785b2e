/* slots.h: a cluster's 16384 hash slots as shards own them, shared by the
 * controller (which spreads, stores and shows them) and the agent (which
 * checks the topology it is given). A shard's slots are text ranges
 * ("0-5460,5462"; "-" for none, as CLUSTER SETTOPOLOGY takes them), so a
 * shard can own any set once slots move between shards. Pure functions. */
#ifndef CF_CTL_SLOTS_H
#define CF_CTL_SLOTS_H

#include <stddef.h>

#define SLOTS_COUNT 16384
#define SLOTS_TEXT_MAX (SLOTS_COUNT * 6 + 2) /* "0,2,4,...,16382" and the NUL */

/* The slots of shard `index` (0-based) of `nshards` when they are spread
 * evenly in order: the first 16384 % nshards shards take one slot more.
 * -1 when the arguments are out of range. */
int slots_spread(int nshards, int index, int *first, int *last);

/* Marks the slots of text in owned[SLOTS_COUNT] (0/1 bytes; the caller
 * clears it, so several shards' texts can be checked against each other).
 * 0, or -1 when the text is not "-" or slots and ranges in 0..16383, or
 * names a slot already marked. */
int slots_parse(const char *text, unsigned char *owned);
/* The text of the marked slots: ascending ranges, "-" for none. -1 when it
 * does not fit len. */
int slots_format(const unsigned char *owned, char *out, size_t len);
/* How many slots a valid text names; -1 when it is not valid. */
int slots_count(const char *text);

#endif

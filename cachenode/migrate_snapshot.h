/* migrate_snapshot.h: the slots' keys for a slot move's target, written by
 * the forked child (migrate_snapshot.c). */
#ifndef CN_MIGRATE_SNAPSHOT_H
#define CN_MIGRATE_SNAPSHOT_H

/* Writes the keys of the slots (a SLOT_BITMAP_BYTES bitmap) to fd as
 * commands; *bytes is what was written. 0, or -1 when the socket failed or
 * stalled. */
int migrate_write_slots(int fd, const unsigned char *slots, long long *bytes);

#endif

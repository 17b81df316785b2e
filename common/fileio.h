/* fileio.h: small, careful file helpers shared by the control-plane
 * programs. */
#ifndef CF_FILEIO_H
#define CF_FILEIO_H

#include <stddef.h>

/* Writes all `len` bytes to a blocking descriptor, retrying on EINTR and
 * short writes. Returns 0, or -1 with errno set. */
int write_all(int fd, const void *buf, size_t len);

#endif

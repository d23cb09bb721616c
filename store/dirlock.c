/*
 * A region directory's lock (dirlock.h).
 */
#include "store/dirlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "tidal/errors.h"

int
tidal_dirlock_take(const char *dir, int *fd)
{
    char path[4096];
    *fd = -1;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        tidal__log(TIDAL_EVENT_LOG_REFUSED, 1, "%s: cannot make the directory: %s", dir,
                   strerror(errno));
        return TIDAL_EIO;
    }
    if (snprintf(path, sizeof(path), "%s/LOCK", dir) >= (int)sizeof(path)) {
        return TIDAL_EINVAL;
    }
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (f < 0) {
        tidal__log(TIDAL_EVENT_LOG_REFUSED, 1, "%s: cannot open: %s", path, strerror(errno));
        return TIDAL_EIO;
    }
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(f);
        tidal__log(TIDAL_EVENT_LOG_REFUSED, 1, "%s: %s", path,
                   e == EWOULDBLOCK ? "the directory is in use by another open region "
                                      "(this process or another)"
                                    : strerror(e));
        return e == EWOULDBLOCK ? TIDAL_EBUSY : TIDAL_EIO;
    }
    *fd = f;
    return 0;
}

void
tidal_dirlock_release(int fd)
{
    if (fd >= 0) {
        close(fd); /* the flock goes with the last descriptor of its open file */
    }
}

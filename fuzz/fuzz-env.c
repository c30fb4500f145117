/* fuzz-env.c - .env files: the input is ./.env; loading succeeds or fails with one line. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char dir[] = "/tmp/lc-fuzz-env-XXXXXX";
    static int ready;
    if (!ready) {
        if (!mkdtemp(dir) || chdir(dir) != 0)
            abort();
        unsetenv("DATA_DIR"); /* ./data/.env: absent */
        ready = 1;
    }
    int fd = open(".env", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        abort();
    if (size && write(fd, data, size) != (ssize_t)size)
        abort();
    close(fd);
    struct config c;
    char err[512] = "";
    if (config_load(&c, err, sizeof(err)) != ERR_OK && (!err[0] || strchr(err, '\n')))
        abort(); /* a failure says why, in one line */
    return 0;
}

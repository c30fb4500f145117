/* line-buffered.c - linked into every unit test program: stdout line-buffered from the
 * start, so that a program a sanitizer aborts mid-way still leaves cmocka's lines up to
 * the test it died in (tests/unit/cmocka-count.py counts from them). */
#include <stdio.h>

__attribute__((constructor)) static void line_buffered_stdout(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
}
